"""Kill this Python process at its Nth change (the kill matrix).

Put this folder first on PYTHONPATH and set BLUEGREEN_KILL_AT to `change:N` (the Nth Varnish admin
command that changes something: vcl.use, vcl.label, vcl.inline, vcl.state, vcl.discard), `send:N`
(any socket send) or `replace:N` (the Nth file replaced, i.e. a record written): just before that
call the process SIGKILLs itself, as an OOM killer or a lost agent would.
It wraps the standard library's socket and os calls, not bluegreen's own code.
"""

import os
import signal
import socket

_spec = os.environ.get("BLUEGREEN_KILL_AT", "")
_counts = {"send": 0, "change": 0, "replace": 0}
CHANGES = (b"vcl.use ", b"vcl.label ", b"vcl.inline ", b"vcl.state ", b"vcl.discard ")
_kind, _, _at = _spec.partition(":")


def _tick(kind: str) -> None:
    _counts[kind] += 1
    if kind == _kind and _counts[kind] == int(_at):
        os.kill(os.getpid(), signal.SIGKILL)


def _wrap_send(original):
    def send(self, data, *args, **kwargs):
        if bytes(data[:12]).startswith(CHANGES):
            _tick("change")
        _tick("send")
        return original(self, data, *args, **kwargs)
    return send


def _replace(src, dst, *args, _original=os.replace, **kwargs):
    _tick("replace")
    return _original(src, dst, *args, **kwargs)


if _kind:
    socket.socket.send = _wrap_send(socket.socket.send)
    socket.socket.sendall = _wrap_send(socket.socket.sendall)
    os.replace = _replace
