"""The fakes the unit tests run the steps against answer as the real parts do: FakeAdmin and a
real varnishd given the same admin commands (tests/helpers/fakes.py)."""

from __future__ import annotations

import json

import pytest

from bluegreen.varnish.admin import Reply, VarnishAdmin, quote
from tests.helpers.fakes import FakeAdmin

SOURCE = 'vcl 4.1;\nbackend blue_127_0_0_1_9 {\n    .host = "127.0.0.1";\n    .port = "{port}";\n}\n'
A, B = quote(SOURCE.replace("{port}", "9")), quote(SOURCE.replace("{port}", "8"))

# Each command in turn, on both: loading, labels, states, the active VCL, refusals, listings.
COMMANDS = [
    f"vcl.inline a {A} warm", f"vcl.inline a {A} warm", f"vcl.inline b {B} cold", "vcl.label lab a",
    "vcl.list -j", "vcl.discard a", "vcl.state lab warm", "vcl.use nope", "vcl.use b",
    "vcl.state b warm", "vcl.use b", "vcl.list -j", "vcl.discard b", "backend.list -j a.*",
    "backend.list -j", "vcl.show a", "ban req.url ~ x", "vcl.label lab b", "vcl.discard a",
    "vcl.list -j", "vcl.use boot", "vcl.state b auto", "vcl.list -j", "vcl.label lab nope",
    "vcl.discard lab", "vcl.list -j", "vcl.show nope", "ping", "frobnicate",
]
LISTED = ("status", "state", "temperature", "name", "labels", "label")


def seen(line: str, reply: Reply):
    """What must be alike: the status, and the content of listings and sources (not the wording
    of a success, nor a probe's verdict, which the fake takes from its table of healths)."""
    if not reply.ok or line.split()[0] not in ("vcl.list", "backend.list", "vcl.show"):
        return reply.status
    if line.startswith("vcl.list"):
        return [{k: e.get(k) for k in LISTED} for e in json.loads(reply.body)[3:]]
    if line.startswith("backend.list"):
        return sorted(json.loads(reply.body)[3])
    return reply.body


class TestFakeAdmin:
    """Command by command, FakeAdmin answers what a real varnishd answers."""

    @pytest.fixture
    def both(self, site):
        fake = FakeAdmin()
        real = site.varnish.connect()
        faked = VarnishAdmin(fake.address, b"any secret", timeout=2).open()
        yield real, faked
        real.close()
        faked.close()
        fake.close()

    def test_the_same_answers(self, both):
        real, faked = both
        for line in COMMANDS:
            want, got = real.call(line, check=False), faked.call(line, check=False)
            assert seen(line, got) == seen(line, want), (line, want.status, want.body, got.body)
