"""Varnish as operators run it: truncated replies, busy and cold VCLs, warm VCLs after a switch,
a VCL changed by hand, against a real varnishd (older Varnish versions: tests/unit/test_admin.py)."""

from __future__ import annotations

import json
import threading

import pytest

from bluegreen.checks import http
from bluegreen.errors import VarnishError
from bluegreen.varnish.fleet import Fleet
from tests.helpers.local_watch import Traffic


class TestRealVarnish:
    """Against a real varnishd."""

    def test_a_reply_cut_at_cli_limit_says_to_raise_it(self, site):
        with site.varnish.connect() as admin:
            admin.call("param.set cli_limit 128")
            with pytest.raises(VarnishError, match="cut its answer to 'vcl.list' at cli_limit"):
                admin.vcl_list()

    def test_only_the_live_and_the_rollback_vcl_stay_warm(self, site):
        site.write_config(vcl="keep = 3\n", checks="timeout_s = 2\nwait_s = 8\n")
        for n, timeout in enumerate((2, 3, 4)):  # a changed config: new VCLs each release
            site.write_config(vcl=f"keep = 3\n[vcl.backend]\nfirst_byte_timeout = {timeout}\n",
                              checks="timeout_s = 2\nwait_s = 8\n")
            site.release(f"1.{n}.0")
        state = site.state()
        warm = {state["colors"][c]["vcl"] for c in ("blue", "green")}
        with site.varnish.connect() as admin:
            entries = [e for e in admin.vcl_list() if e["name"].startswith("shop_test_")]
        states = {e["name"]: e["state"] for e in entries}
        rollback_target = state["colors"][state["previous"]]["vcl"]
        assert states[rollback_target] == "warm", "the rollback target stays warm"
        cooling = [n for n in states if n not in warm]
        assert cooling, states
        assert all(states[n] == "auto" for n in cooling), "every other VCL of ours may cool down"

    def test_a_cold_rollback_vcl_is_warmed_and_its_probes_awaited(self, site):
        site.release("1.0.0")
        site.release("1.1.0")
        blue = site.state()["colors"]["blue"]["vcl"]
        with site.varnish.connect() as admin:
            admin.vcl_state(blue, "cold")
        site.ok("rollback", "--stage", "test")
        assert site.served() == ("blue", "1.0.0")

    def test_a_discarded_but_busy_vcl_counts_as_absent(self, site):
        site.release("1.0.0")
        site.release("1.1.0")
        blue = site.state()["colors"]["blue"]["vcl"]
        answer = {}
        slow = threading.Thread(target=lambda: answer.update(
            a=http.get(site.varnish.http, "/slow?ms=4000&id=busy", 10, {"X-Bluegreen-Color": "blue"})))
        slow.start()
        from bluegreen.demo.local import wait_for

        def busy():
            with site.varnish.connect() as admin:
                entry = next(e for e in admin.vcl_list() if e["name"] == blue)
            return entry.get("busy", 0) > 0 or entry["status"] == "active"

        with site.varnish.connect() as admin:
            admin.vcl_use(blue)  # blue's VCL takes the slow request, then green is live again
            wait_for(busy, 5, "the slow request to hold blue's VCL")
            admin.vcl_use(site.state()["colors"]["green"]["vcl"])
            admin.vcl_discard(blue)
            listed = {e["name"]: e["status"] for e in admin.vcl_list()}
        if listed.get(blue) == "discarded":
            with Fleet((site.varnish.admin,), site.varnish.secret_path.read_bytes()) as fleet:
                assert fleet.missing(blue) == [str(site.varnish.admin)]
        slow.join(15)
        # An idle worker keeps the last VCL it ran up to 60 s (Varnish 7.1's Pool_Work_Thread), so
        # blue's stays busy until traffic gives that worker other work; the rollback waits for it.
        with Traffic(site.varnish.http, rate=20, limit_s=120):
            run = site.cli("rollback", "--stage", "test")  # loads blue's VCL again once it is gone
        assert run.code == 0, run.text
        assert site.served() == ("blue", "1.0.0")


class TestLiveSource:
    """status checks that the live VCL's source is the one bluegreen rendered under its name."""

    def test_a_vcl_changed_under_our_name_is_reported(self, site):
        site.release("1.0.0")
        assert site.ok("status", "--stage", "test").code == 0
        live = site.actives()[0]
        forged = live[:-8] + ("0" * 8 if not live.endswith("0" * 8) else "1" * 8)
        with site.varnish.connect() as admin:
            source = admin.vcl_show(live)
            admin.vcl_inline(forged, source + "\n# changed by hand\n", "warm")
            admin.vcl_use(forged)
        state = site.state()
        state["colors"]["blue"]["vcl"] = forged  # the record agrees; the content does not
        (site.out / "test" / "state.json").write_text(json.dumps(state))
        run = site.cli("status", "--stage", "test")
        assert run.code == 1 and "whose source is not what bluegreen rendered" in run.out
