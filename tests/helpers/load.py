"""wrk through Varnish for the length of a block: started before, stopped (SIGINT) after, read."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from dataclasses import dataclass


@dataclass
class Load:
    requests: int
    non_2xx: int
    socket_errors: int
    output: str

    @property
    def failed(self) -> int:
        return self.non_2xx + self.socket_errors


class Wrk:
    """`with Wrk(url, host="shop") as load: ...` then `load.result` (wrk stops on SIGINT and prints)."""

    def __init__(self, url: str, host: str | None = None, connections: int = 4):
        self.argv = ["wrk", "-t1", f"-c{connections}", "-d600s", "--timeout", "5s", url]
        if host:
            self.argv[1:1] = ["-H", f"Host: {host}"]
        self.result: Load | None = None

    def __enter__(self) -> Wrk:
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, start_new_session=True)
        return self

    def __exit__(self, *exc) -> None:
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            out, _ = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            out, _ = self.proc.communicate()
        self.result = parse(out)


def parse(out: str) -> Load:
    requests = re.search(r"(\d+) requests in", out)
    non = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    assert requests, f"wrk printed no summary:\n{out}"
    return Load(int(requests.group(1)), int(non.group(1)) if non else 0,
                sum(int(g) for g in errors.groups()) if errors else 0, out)
