"""The rendered VCL in varnishtest: each tests/vtc/*.vtc case runs bluegreen's real VCL.

A case names the VCL it loads as `@VCL:blue@` (the VCL that makes blue live) or `@VCL:green@`;
this module renders both from a small configuration (the case's entry in CASES), binds the
configured servers to varnishtest's servers (blue to s1, green to s2), and runs varnishtest.
Varnishtest's own servers, clients and PROXY-protocol clients stand in for the app and the
public; varnishd is real.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bluegreen import commands
from bluegreen.config import load as config
from bluegreen.demo import local
from bluegreen.varnish import vcl
from tests.helpers.paths import TESTS

VTC = TESTS / "vtc"
BLUE, GREEN = "127.0.0.1:9101", "127.0.0.1:9201"
TOKEN = "s3cr3t-preview-token-0123456789"

pytestmark = pytest.mark.skipif(shutil.which("varnishtest") is None,
                                reason="varnishtest not installed (Debian package varnish)")

# One poll a backend per test (the cases force health with backend.set_health); probe.vtc
# tests the probe itself with its own settings.
QUIET_PROBE = "interval_s = 600\ntimeout_s = 1\nwindow = 1\nthreshold = 1\n"

CASES = {
    "routing.vtc": {},
    "reveal.vtc": {"vcl": "reveal_color = true\n"},
    "cache_split.vtc": {},
    "cache_shared.vtc": {"vcl": "cache_split = false\n"},
    "health.vtc": {},
    "esi.vtc": {"template": "esi.vcl.j2"},
    "restart.vtc": {"template": "restart.vcl.j2"},
    "recv_first.vtc": {"template": "recv_first.vcl.j2"},
    "purge.vtc": {"vcl": 'purge_from = ["127.0.0.1"]\n'},
    "purge_shared.vtc": {"vcl": "cache_split = false\n"},
    "listener_token.vtc": {"vcl": 'preview_listener = "preview"\npreview_token_file = "@TOKEN_FILE@"\n',
                           "stage": 'preview = ["127.0.0.1:6090"]\n'},
    "token.vtc": {"vcl": 'preview_token_file = "@TOKEN_FILE@"\n'},
    "compare_pass.vtc": {"vcl": 'preview_token_file = "@TOKEN_FILE@"\n'},  # compare (issue 11)
    "token_missing.vtc": {"vcl": 'preview_token_file = "/nonexistent/bluegreen/preview.token"\n'},
    "probe.vtc": {"checks": 'host = "shop.example.com"\n',
                  "probe": "interval_s = 0.2\ntimeout_s = 0.1\nwindow = 2\nthreshold = 2\n",
                  "backend": "first_byte_timeout = 0.5\nconnect_timeout = 0.3\nmax_connections = 10\n"},
    "label.vtc": {"vcl": 'mode = "label"\n'},
    "backend_attrs.vtc": {"backend": "first_byte_timeout = 0.5\nconnect_timeout = 1\nmax_connections = 4\n"},
}


def load(root: Path, case: dict) -> config.Config:
    """The configuration of a case: one server a color, everything else from the case."""
    token_file = root / "preview.token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o644)
    vcl_part = case.get("vcl", "").replace("@TOKEN_FILE@", str(token_file))
    if "template" in case:
        shutil.copy(VTC / case["template"], root / case["template"])
        vcl_part += f'template = "{case["template"]}"\n'
    text = (f'app = "shop"\n[vcl]\n{vcl_part}'
            + f'[vcl.probe]\n{case.get("probe", QUIET_PROBE)}'
            + (f'[vcl.backend]\n{case["backend"]}' if "backend" in case else "")
            + f'[checks]\n{case.get("checks", "")}[deploy]\ncommand = ["x"]\n'
            + f'[stages.test]\nvarnish = ["127.0.0.1:6082"]\nblue = ["{BLUE}"]\ngreen = ["{GREEN}"]\n'
            + case.get("stage", ""))
    path = root / "bluegreen.toml"
    path.write_text(text)
    return config.load(path)


def bind(source: str) -> str:
    """The rendered VCL with blue's server at varnishtest's s1 and green's at s2."""
    for address, server in ((BLUE, "s1"), (GREEN, "s2")):
        host, port = address.split(":")
        lines = f'    .host = "{host}";\n    .port = "{port}";\n'
        assert source.count(lines) == 1, f"{address} should appear once in the VCL"
        bound = f'    .host = "${{{server}_addr}}";\n    .port = "${{{server}_port}}";\n'
        source = source.replace(lines, bound)
    return source


def build(root: Path, name: str) -> tuple[Path, dict[str, str]]:
    """The runnable .vtc of a case, and both rendered VCLs (for assertions on the source)."""
    cfg = load(root, CASES[name])
    sources = {color: vcl.render(cfg, cfg.stage("test"), color) for color in ("blue", "green")}
    text = (VTC / name).read_text().replace("@TOKEN@", TOKEN)
    for color, source in sources.items():
        text = text.replace(f"@VCL:{color}@", bind(source))
    assert "@VCL:" not in text
    out = root / name
    out.write_text(text)
    return out, sources


def varnishtest(path: Path) -> commands.Finished:
    """Run one case; on a timeout its whole process group (varnishd included) is killed."""
    return commands.run(["varnishtest", "-t", "60", str(path)], path.parent, 120)


@pytest.fixture
def root():
    path = local.shared_tempdir("bluegreen-vtc-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


class TestVarnishtest:
    """Every case in tests/vtc passes in varnishtest against the VCL bluegreen renders."""

    @pytest.mark.parametrize("name", sorted(CASES))
    def test_case(self, root, name):
        """Each case passes in varnishtest against the VCL bluegreen renders."""
        path, sources = build(root, name)
        done = varnishtest(path)
        assert done.ok, _failure(done)
        for source in sources.values():
            assert TOKEN not in source, "the preview token must never be written into the VCL"

    def test_every_vtc_file_is_a_case(self):
        """A .vtc file left out of CASES would never run."""
        assert {p.name for p in VTC.glob("*.vtc")} == set(CASES)


def _failure(done: commands.Finished) -> str:
    """The part of varnishtest's log that says what failed."""
    log = done.output + (done.problem or "")
    marks = [m.start() for m in re.finditer(r"^---- ", log, re.M)]
    start = max(0, (marks[0] if marks else len(log)) - 6000)
    return log[start:start + 9000]
