"""Whole releases through the CLI against a real varnishd and real sample app servers."""

from __future__ import annotations

import threading

import xmlschema

from bluegreen.checks import http
from tests.helpers.paths import JUNIT_XSD


class TestRelease:
    """A release and a rollback, step by step, as a pipeline runs them."""

    def test_first_release_goes_to_blue_then_green_then_rolls_back(self, site):
        run = site.ok("passive", "--stage", "test")
        assert run.out.strip() == "blue"
        assert "first release" in run.err
        site.ok("deploy", "--stage", "test", "--version", "1.0.0")
        assert site.actives() == ["boot"], "deploy must not change what is live"
        site.ok("verify", "--stage", "test")
        run = site.ok("switch", "--stage", "test")
        assert run.out.strip() == "blue"
        assert site.served() == ("blue", "1.0.0")
        site.ok("record", "--stage", "test")
        state = site.state()
        assert (state["live"], state["previous"]) == ("blue", None)
        assert state["colors"]["blue"]["release"] == "1.0.0"

        assert site.ok("passive", "--stage", "test").out.strip() == "green"
        site.ok("deploy", "--stage", "test", "--version", "1.1.0")
        assert site.served() == ("blue", "1.0.0"), "deploying onto green leaves blue live"
        site.ok("verify", "--stage", "test")
        site.ok("switch", "--stage", "test")
        assert site.served() == ("green", "1.1.0")
        site.ok("record", "--stage", "test")
        state = site.state()
        assert (state["live"], state["previous"]) == ("green", "blue")
        assert [h["action"] for h in state["history"]] == ["switch", "switch"]
        assert state["switch"]["window_ms"] > 0

        run = site.ok("rollback", "--stage", "test")
        assert run.out.strip() == "blue"
        assert site.served() == ("blue", "1.0.0")
        state = site.state()
        assert (state["live"], state["previous"]) == ("blue", "green")
        assert state["history"][-1]["action"] == "rollback"
        summary = (site.out / "test" / "summary.txt").read_text()
        assert summary.startswith("test: LIVE blue 1.0.0")

    def test_verify_writes_a_valid_junit_file(self, site):
        """Against the Jenkins xUnit plugin's junit-10.xsd (more reports: tests/unit/test_junit.py)."""
        site.release("1.0.0")
        path = site.out / "test" / "junit-verify.xml"
        xmlschema.XMLSchema(str(JUNIT_XSD)).validate(str(path))
        text = path.read_text()
        assert 'classname="test.server"' in text and 'classname="test.varnish"' in text

    def test_release_step_does_all_and_is_repeatable(self, site):
        site.ok("release", "--stage", "test", "--version", "1.0.0")
        site.ok("release", "--stage", "test", "--version", "2.0.0")
        assert site.served() == ("green", "2.0.0")
        run = site.ok("--json", "status", "--stage", "test")
        assert '"recorded_live": "green"' in run.out

    def test_switch_again_after_success_converges(self, site):
        site.release("1.0.0")
        run = site.ok("switch", "--stage", "test")
        assert "already live" in run.err
        assert site.served() == ("blue", "1.0.0")
        assert len(site.state()["history"]) == 1

    def test_switch_killed_after_vcl_use_converges_on_rerun(self, site):
        site.release("1.0.0")
        site.ok("passive", "--stage", "test")
        site.ok("deploy", "--stage", "test", "--version", "1.1.0")
        site.ok("verify", "--stage", "test")
        import json

        green = json.loads((site.out / "test" / "plan.json").read_text())["vcl"]["green"]
        with site.varnish.connect() as admin:  # the vcl.use went out, then the process died
            admin.vcl_use(green)
        run = site.ok("switch", "--stage", "test")
        assert "already live on every instance; recording it" in run.err
        state = site.state()
        assert (state["live"], state["previous"]) == ("green", "blue")
        assert [h["to"] for h in state["history"]] == ["blue", "green"]

    def test_deploy_skips_servers_already_on_the_release(self, site):
        site.ok("passive", "--stage", "test")
        site.ok("deploy", "--stage", "test", "--version", "1.0.0")
        run = site.ok("deploy", "--stage", "test", "--version", "1.0.0")
        assert "1 skipped (already on 1.0.0)" in run.err

    def test_rollback_twice_does_not_flip_back(self, site):
        site.release("1.0.0")
        site.release("1.1.0")
        site.ok("rollback", "--stage", "test")
        run = site.ok("rollback", "--stage", "test")
        assert "already rolled back" in run.err
        assert site.served() == ("blue", "1.0.0")


class TestServing:
    """What clients see through Varnish around a switch."""

    def test_request_in_flight_finishes_on_the_old_color(self, site):
        site.release("1.0.0")
        site.ok("passive", "--stage", "test")
        site.ok("deploy", "--stage", "test", "--version", "1.1.0")
        site.ok("verify", "--stage", "test")
        result = {}

        def slow():
            result["answer"] = http.get(site.varnish.http, "/slow?ms=1500&id=inflight", 10)

        thread = threading.Thread(target=slow)
        thread.start()
        # wait until the slow request has reached the blue server (it is in flight)
        from bluegreen.demo.local import wait_for

        wait_for(lambda: _busy(site), 5, "the slow request to be in Varnish")
        site.ok("switch", "--stage", "test")
        assert site.served() == ("green", "1.1.0"), "new requests get the new color"
        thread.join(10)
        answer = result["answer"]
        assert answer.status == 200
        assert answer.body.strip() == "blue 1.0.0"
        assert answer.headers["x-bluegreen-color"] == "blue"

    def test_page_cached_on_blue_is_not_served_after_switch(self, site):
        site.release("1.0.0")
        first = http.get(site.varnish.http, "/page", 5)
        again = http.get(site.varnish.http, "/page", 5)
        assert "release 1.0.0" in again.body and int(again.headers.get("age", "0")) >= 0
        assert first.headers["x-varnish"] != again.headers["x-varnish"]
        assert len(again.headers["x-varnish"].split()) == 2, "second request is a cache hit"
        site.release("1.1.0")
        after = http.get(site.varnish.http, "/page", 5)
        assert "release 1.1.0" in after.body and after.headers["x-bluegreen-color"] == "green"
        site.ok("rollback", "--stage", "test")
        back = http.get(site.varnish.http, "/page", 5)
        assert "release 1.0.0" in back.body
        assert len(back.headers["x-varnish"].split()) == 2, "rollback finds blue's cache warm"

    def test_a_color_released_again_never_serves_what_it_cached_for_its_older_release(self, site):
        site.release("1.0.0")  # blue caches /page for 1.0.0 (max-age 60)
        assert "release 1.0.0" in http.get(site.varnish.http, "/page", 5).body
        site.release("1.1.0")  # green; blue's object stays for a rollback
        assert "release 1.1.0" in http.get(site.varnish.http, "/page", 5).body
        run = site.ok("release", "--stage", "test", "--version", "1.2.0")  # blue again, within the TTL
        assert "cache test: blue's cached objects banned on 1 instance(s)" in run.err
        page = http.get(site.varnish.http, "/page", 5)
        assert "color blue, release 1.2.0" in page.body
        assert len(page.headers["x-varnish"].split()) == 1, "a fresh fetch, not 1.0.0's object"
        site.ok("rollback", "--stage", "test")  # green's cache is still warm for the rollback
        back = http.get(site.varnish.http, "/page", 5)
        assert "release 1.1.0" in back.body and len(back.headers["x-varnish"].split()) == 2

    def test_preview_header_routes_trusted_clients_to_the_passive_color(self, site):
        site.release("1.0.0")
        site.ok("passive", "--stage", "test")
        site.ok("deploy", "--stage", "test", "--version", "1.1.0")
        site.ok("verify", "--stage", "test")  # waits until Varnish's probe sees green healthy
        assert site.served(headers={"X-Bluegreen-Color": "green"}) == ("green", "1.1.0")
        assert site.served() == ("blue", "1.0.0")

    def test_preview_header_from_outside_preview_from_reaches_the_live_color(self, site):
        # reveal_color: the color is shown to this host, outside preview_from, so verify can say so
        site.write_config(vcl='preview_from = ["127.0.0.2"]\nreveal_color = true\n')
        site.ok("passive", "--stage", "test")
        site.ok("deploy", "--stage", "test", "--version", "1.0.0")
        site.ok("verify", "--stage", "test")  # first release: the preview check is skipped
        site.ok("switch", "--stage", "test")
        site.ok("passive", "--stage", "test")
        site.ok("deploy", "--stage", "test", "--version", "1.1.0")
        run = site.cli("verify", "--stage", "test")
        assert run.code == 1, "this host is outside preview_from, so its preview reaches blue"
        assert "from blue" in run.err and "preview_from" in run.err
        assert site.served(headers={"X-Bluegreen-Color": "green"}) == ("blue", "1.0.0")


def _busy(site) -> bool:
    with site.varnish.connect() as admin:
        body = admin.call("backend.list -j").body
    # a request in flight holds a connection to a blue backend; the stats say so via busy VCL
    return ".blue_" in body and _in_flight(site)


def _in_flight(site) -> bool:
    import subprocess

    stats = subprocess.run(["varnishstat", "-n", str(site.varnish.workdir), "-1", "-f",
                            "MAIN.busy_sleep", "-f", "VBE.*.conn"], capture_output=True, text=True)
    return any(line.split()[1] != "0" for line in stats.stdout.splitlines()
               if ".conn" in line.split()[0])
