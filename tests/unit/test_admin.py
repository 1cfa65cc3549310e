"""The Varnish admin client against what a real varnishd cannot show: a port that answers garbage,
stays silent, trickles, asks for no secret, or speaks as an older Varnish (FakeAdmin)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from bluegreen.errors import VarnishError
from bluegreen.model import Address
from bluegreen.varnish.admin import VarnishAdmin, named, quote
from tests.helpers.fakes import FakeAdmin

BACKENDS = {"v.blue_127_0_0_1_9001": "healthy", "v.green_127_0_0_1_9002": "sick"}


@pytest.fixture
def fake():
    """make(banner): an open client of a FakeAdmin that greets with `banner`."""
    made = []

    def make(banner, **kw):
        admin = FakeAdmin(active="v", loaded=["v"], banner=banner, backends=BACKENDS, **kw)
        made.append(admin)
        return VarnishAdmin(Address("127.0.0.1", admin.port), b"secret", timeout=2).open()

    yield make
    for admin in made:
        admin.close()


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


class TestHostileAdmin:
    """Admin ports that trickle, or that ask for no secret."""

    def test_a_trickling_reply_has_one_deadline(self):
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(1)

        def trickle():
            conn, _ = server.accept()
            with conn:
                conn.sendall(b"107 59      \n")
                for _ in range(40):
                    try:
                        conn.sendall(b"a")
                    except OSError:
                        return
                    time.sleep(0.1)

        thread = threading.Thread(target=trickle, daemon=True)
        thread.start()
        admin = VarnishAdmin(Address("127.0.0.1", server.getsockname()[1]), b"x", timeout=0.5)
        start = time.monotonic()
        with pytest.raises(VarnishError, match="did not answer within 0.5 s"):
            admin.open()
        assert time.monotonic() - start < 3, "a byte now and then must not extend the deadline"
        server.close()
        thread.join(10)

    def test_a_port_that_asks_for_no_secret_is_refused(self):
        fake = FakeAdmin(active="boot", loaded=["boot"], auth=False)
        try:
            admin = VarnishAdmin(Address("127.0.0.1", fake.port), b"secret", timeout=2)
            with pytest.raises(VarnishError, match="without asking for authentication"):
                admin.open()
        finally:
            fake.close()

    def test_names_sent_to_the_cli_are_checked(self):
        for bad in ("x\nvcl.discard boot", "a b", '"q"', ""):
            with pytest.raises(VarnishError, match="refusing to send the VCL name"):
                named(bad)


class TestOlderVarnish:
    """6.0 LTS and 6.1 answer differently; anything older than 6.0.2 is refused up front."""

    def test_6_0_without_backend_list_json_falls_back_to_plain(self, fake):
        admin = fake("varnish-6.0.8 revision 0")
        assert admin.version == (6, 0, 8)
        assert admin.backend_list("v.*") == {"v.blue_127_0_0_1_9001": "healthy",
                                             "v.green_127_0_0_1_9002": "sick"}
        assert admin.backend_list("v.blue_*") == {"v.blue_127_0_0_1_9001": "healthy"}

    def test_6_1_probe_message_is_a_string(self, fake):
        admin = fake("varnish-6.1.1 revision 0")
        assert admin.backend_list("v.*") == {"v.blue_127_0_0_1_9001": "healthy",
                                             "v.green_127_0_0_1_9002": "sick"}

    @pytest.mark.parametrize("banner", ["varnish-6.0.1 revision 0", "varnish-5.2.1 revision 0"])
    def test_older_than_6_0_2_is_refused(self, fake, banner):
        with pytest.raises(VarnishError, match="needs Varnish 6.0.2 or newer"):
            fake(banner)


class TestQuote:
    """A CLI argument is quoted onto one line, whatever it holds."""

    @pytest.mark.parametrize("text", ['plain', 'with "quotes"', "back\\slash", "new\nline", "\x01ctl"])
    def test_quote_round_trip_shape(self, text):
        quoted = quote(text)
        assert quoted.startswith('"') and quoted.endswith('"')
        assert "\n" not in quoted and "\x01" not in quoted
