"""The rendered VCL in a real varnishd: it compiles, serves, previews, purges, moves to label mode
(names and rendering: tests/unit/test_vcl.py; behaviour case by case: test_vtc.py)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from bluegreen.checks import http
from bluegreen.demo import local
from bluegreen.varnish import vcl
from tests.helpers import ports
from tests.helpers.configs import prod_config


@pytest.mark.skipif(shutil.which("varnishd") is None, reason="varnishd not installed")
class TestCompiles:
    """Varnish compiles what we render, with every option at once, IPv6 backends included."""

    def test_everything_configured(self, workdir):
        tmp_path = workdir
        token = tmp_path / "token"
        token.write_text("s3cr3t-preview-token-0123456789\n")
        cfg = prod_config(tmp_path,
                   f'[vcl]\npreview_from = ["10.0.0.0/8", "::1"]\npurge_from = ["127.0.0.1"]\n'
                   f'preview_listener = "preview"\npreview_token_file = "{token}"\nreveal_color = true\n'
                   "cache_split = false\n[vcl.backend]\nconnect_timeout = 0.5\nfirst_byte_timeout = 60\n"
                   "between_bytes_timeout = 10\nmax_connections = 50\n"
                   "[vcl.probe]\ninterval_s = 5\ntimeout_s = 2.5\nwindow = 8\nthreshold = 5\n",
                   checks_part='host = "shop.example.com"\nhealth_path = "/status/health"\n',
                   servers='blue = ["127.0.0.1:9101", "[::1]:9102"]\ngreen = ["[2001:db8::7]:9201"]\n'
                           'preview = ["127.0.0.1:6090"]\n')
        for color in ("blue", "green"):
            path = tmp_path / f"{color}.vcl"
            path.write_text(vcl.render(cfg, cfg.stage("prod"), color))
            done = subprocess.run(["varnishd", "-C", "-n", str(tmp_path / "n"), "-f", str(path)],
                                  capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stderr[-3000:]


class TestServing:
    """The VCL in a real varnishd behind a real release (the Site fixture)."""

    def test_varnishncsa_counts_requests_by_color(self, site):
        site.release("1.0.0")
        for _ in range(3):
            http.get(site.varnish.http, "/page", 5)
        http.get(site.varnish.http, "/page", 5, {"X-Bluegreen-Color": "green"})
        lines = local.wait_for(lambda: _ncsa(site).count("200 blue") >= 3 and _ncsa(site), 10,
                               "varnishncsa to show three blue requests")
        assert "200 green" in lines or "503 green" in lines, lines

    def test_purge_and_probe_host_through_a_release(self, site):
        site.write_config(vcl='[vcl.backend]\nfirst_byte_timeout = 20\n',
                          checks='timeout_s = 2\nwait_s = 8\nhost = "shop.example.com"\n')
        site.release("1.0.0")
        site.ok("passive", "--stage", "test")
        site.ok("deploy", "--stage", "test", "--version", "1.1.0")
        site.ok("verify", "--stage", "test")  # waits until green's probes pass
        with site.varnish.connect() as admin:
            listed = admin.call("backend.list").body
        assert re.search(r"\.green_127_0_0_1_\d+ +probe +\S+ +healthy", listed), listed
        for headers in (None, {"X-Bluegreen-Color": "green"}):
            http.get(site.varnish.http, "/page", 5, headers)
            assert _hit(http.get(site.varnish.http, "/page", 5, headers))
        assert _purge(site.varnish.http, "/page") == 200
        for headers in (None, {"X-Bluegreen-Color": "green"}):
            assert not _hit(http.get(site.varnish.http, "/page", 5, headers))


class TestPreviewBehindAProxy:
    """A preview listener and a token, end to end: varnishd with `-a preview=...`, verify, a release."""

    TOKEN = "e2e-preview-token-0123456789abcdef"

    def test_only_the_listener_with_the_token_previews(self, site, monkeypatch):
        varnish = site.use_preview_listener(self.TOKEN)
        listener = varnish.listeners["preview"]
        site.release("1.0.0")
        site.ok("passive", "--stage", "test")
        site.ok("deploy", "--stage", "test", "--version", "1.1.0")
        site.ok("verify", "--stage", "test")  # previews green through the listener, with the token

        green = {"X-Bluegreen-Color": f"green:{self.TOKEN}"}
        assert site.served(headers=green) == (None, "1.0.0"), "public listener: no preview, no color"
        assert _color_and_body(listener, green) == ("green", "1.1.0")
        assert _color_and_body(listener, {"X-Bluegreen-Color": "green"}) == (None, "1.0.0")

        with varnish.connect() as admin:
            active = next(e["name"] for e in admin.vcl_list() if e.get("status") == "active")
            assert self.TOKEN not in admin.call(f"vcl.show {active}").body
        assert self.TOKEN not in site.outputs_text()

        other = site.root / "other.token"
        other.write_text("another-token-0123456789abcdef\n")
        monkeypatch.setenv("BLUEGREEN_PREVIEW_TOKEN_FILE", str(other))
        run = site.cli("verify", "--stage", "test")
        assert run.code == 1, run.text
        assert "got 1.0.0" in run.err, run.err


class TestMovingToLabelMode:
    """A stage released in vcl mode moves to label mode as docs/vcl.md says, without downtime."""

    def test_reconcile_creates_the_label_then_the_site_vcl_takes_over(self, site):
        site.write_config(checks='timeout_s = 2\nwait_s = 8\nhost = "shop"\n')
        site.release("1.0.0")
        blue_vcl = site.state()["colors"]["blue"]["vcl"]
        assert site.actives() == [blue_vcl]

        site.write_config(vcl='mode = "label"\n', checks='timeout_s = 2\nwait_s = 8\nhost = "shop"\n')
        run = site.cli("status", "--stage", "test")
        assert run.code == 1 and "reconcile --stage test" in run.out, run.text
        site.ok("reconcile", "--stage", "test")  # makes the label, points it at the live color
        assert site.actives() == [blue_vcl], "bluegreen's VCL still serves until the site VCL is used"
        snippet = site.ok("vcl-snippet", "--stage", "test").out
        other = ports.address()
        site.deploy_by_hand(other, "site-1", "other")
        site_vcl = (f'vcl 4.1;\nbackend other {{ .host = "127.0.0.1"; .port = "{other.port}"; }}\n'
                    + snippet + "\nsub vcl_recv {\n    set req.backend_hint = other;\n}\n")
        with site.varnish.connect() as admin:
            admin.vcl_inline("site", site_vcl, "warm")
            admin.vcl_use("site")
        assert site.served(headers={"Host": "shop"}) == ("blue", "1.0.0")
        assert site.served(headers={"Host": "elsewhere"}) == (None, "site-1")

        site.release("1.1.0")
        assert site.actives() == ["site"]
        assert site.served(headers={"Host": "shop"}) == ("green", "1.1.0")


def _color_and_body(address, headers):
    answer = http.get(address, "/version", 5, headers)
    return answer.headers.get("x-bluegreen-color"), answer.body.strip()


def _ncsa(site) -> str:
    done = subprocess.run(["varnishncsa", "-d", "-n", str(site.varnish.workdir),
                           "-F", "%s %{VCL_Log:bluegreen-color}x"],
                          capture_output=True, text=True, timeout=30)
    return done.stdout


def _hit(answer) -> bool:
    return len(answer.headers["x-varnish"].split()) == 2


def _purge(address, path) -> int:
    import http.client as http_client

    conn = http_client.HTTPConnection(address.host, address.port, timeout=5)
    try:
        conn.request("PURGE", path)
        return conn.getresponse().status
    finally:
        conn.close()
