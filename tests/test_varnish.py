"""The Varnish admin client against a real varnishd and against fakes."""

from __future__ import annotations

import socket

import pytest

from bluegreen.errors import VarnishAuthError, VarnishError, VclCompileError
from bluegreen.model import Address
from bluegreen.varnish.admin import VarnishAdmin, quote
from tests.fakes import FakeAdmin


@pytest.fixture
def varnish(site):
    return site.varnish


class TestProtocol:
    """Auth, framing and commands against a real varnishd."""

    def test_authenticates_and_lists_vcls(self, varnish):
        with varnish.connect() as admin:
            assert admin.active_vcl() == "boot"
            assert [e["name"] for e in admin.vcl_list()] == ["boot"]

    def test_wrong_secret_is_an_auth_error(self, varnish):
        admin = VarnishAdmin(varnish.admin, b"wrong\n", timeout=2)
        with pytest.raises(VarnishAuthError, match="rejected the secret") as err:
            admin.open()
        assert err.value.exit_code == 2

    def test_inline_vcl_survives_quotes_backslashes_and_newlines(self, varnish):
        source = ('vcl 4.1;\nbackend b none;\nsub vcl_recv {\n'
                  '  set req.http.x = {"a\\b "q"\ttab"};\n  return (synth(200, "ok"));\n}\n')
        with varnish.connect() as admin:
            admin.vcl_inline("quoted", source, "warm")
            shown = admin.call("vcl.show quoted").body
        assert shown.strip() == source.strip()

    def test_compile_error_shows_varnish_message(self, varnish):
        with varnish.connect() as admin, pytest.raises(VclCompileError) as err:
            admin.vcl_inline("broken", "vcl 4.1;\nbackend b none;\nsub vcl_recv { nonsense; }\n")
        assert "VCC-compiler" in err.value.message and "nonsense" in err.value.message

    def test_unknown_vcl_is_a_clear_error(self, varnish):
        with varnish.connect() as admin, pytest.raises(VarnishError, match="refused 'vcl.use'"):
            admin.vcl_use("no_such_vcl")

    def test_large_reply_is_read_whole(self, varnish):
        with varnish.connect() as admin:
            body = admin.call("help -j").body
        assert body.rstrip().endswith("]")

    @pytest.mark.parametrize("text", ['plain', 'with "quotes"', "back\\slash", "new\nline", "\x01ctl"])
    def test_quote_round_trip_shape(self, text):
        quoted = quote(text)
        assert quoted.startswith('"') and quoted.endswith('"')
        assert "\n" not in quoted and "\x01" not in quoted


class TestFaults:
    """What the client says when the other end is not a healthy Varnish."""

    def test_not_listening(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            with pytest.raises(VarnishError, match="not reachable .Connection refused."):
                VarnishAdmin(Address("127.0.0.1", port), b"x", timeout=1).open()

    def test_garbage_answer(self):
        fake = FakeAdmin(active="boot", loaded=["boot"], on="vcl.list", mode="garbage")
        try:
            with VarnishAdmin(Address("127.0.0.1", fake.port), b"", timeout=1) as admin, \
                    pytest.raises(VarnishError, match="not the Varnish CLI protocol"):
                admin.vcl_list()
        finally:
            fake.close()

    def test_silence_times_out(self):
        fake = FakeAdmin(active="boot", loaded=["boot"], on="vcl.list", mode="silent")
        try:
            with VarnishAdmin(Address("127.0.0.1", fake.port), b"", timeout=0.3) as admin, \
                    pytest.raises(VarnishError, match="did not answer within 0.3 s"):
                admin.vcl_list()
        finally:
            fake.close()
