"""The Varnish admin client against a real varnishd (against fakes: tests/unit/test_admin.py)."""

from __future__ import annotations

import pytest

from bluegreen.errors import VarnishAuthError, VarnishError, VclCompileError
from bluegreen.varnish.admin import VarnishAdmin


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

