"""Turn a Varnish access log into a requests file for compare: the safe requests users really make.

    varnishncsa -n /var/lib/varnish/NAME -d > access.log       (the default format)
    python -m bluegreen.requests_from_log access.log --top 500 -o compare/requests.txt

Reads varnishncsa's default format (`%h %l %u %t "%r" %s %b "%{Referer}i" "%{User-agent}i"`),
keeps GET and HEAD requests, drops the scheme and host of the URL, deduplicates, and ranks them
by how often they were asked (the most frequent first). Nothing of a client's credentials goes
into the output: no cookies, no Authorization (the default format logs neither; the %u user is
dropped), and query parameters named like credentials (token, key, password, secret, session,
auth, signature, ...) are removed, as are a sign-in's one-time `code`, `state`, `nonce` and
`ticket`. Lines in another format are counted and left out.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

from bluegreen.compare.requests import SAFE, TARGET_RE

LINE_RE = re.compile(r'^\S+ \S+ \S+ \[[^\]]*\] "(?P<method>[A-Z]+) (?P<url>\S+) [^"]*" '
                     r'(?P<status>\d{3}|-) ')
SECRET_WORDS = {"token", "key", "apikey", "password", "passwd", "pass", "pwd", "secret", "session",
                "sessionid", "sid", "auth", "authorization", "signature", "sig", "jwt", "credential",
                "credentials", "otp"}
# Named exactly so: one-time credentials of an OAuth, OpenID or SAML sign-in (a zip_code stays).
SECRET_NAMES = {"code", "state", "nonce", "code_verifier", "oauth_verifier", "ticket",
                "samlresponse", "samlrequest", "relaystate"}


class Harvest:
    """What a log held: how often each (method, target) was asked, and how many lines did not fit."""

    def __init__(self):
        self.counts: Counter = Counter()
        self.unsafe = 0
        self.unparsed = 0
        self.lines = 0

    def add(self, line: str) -> None:
        self.lines += 1
        match = LINE_RE.match(line)
        target = _target(match.group("url")) if match else None
        if target is None:
            self.unparsed += 1
        elif match.group("method") not in SAFE:
            self.unsafe += 1
        else:
            self.counts[(match.group("method"), target)] += 1

    def ranked(self, top: int | None = None) -> list[tuple[str, str, int]]:
        """(method, target, count), the most frequent first, ties in the order first seen."""
        return [(m, t, n) for (m, t), n in self.counts.most_common(top)]


def harvest(lines: Iterable[str]) -> Harvest:
    out = Harvest()
    for line in lines:
        if line.strip():
            out.add(line.rstrip("\n"))
    return out


def render(found: Harvest, top: int | None, source: str) -> str:
    ranked = found.ranked(top)
    head = [f"# requests for bluegreen compare, from {source}: {len(ranked)} of "
            f"{len(found.counts)} distinct safe requests, most frequent first",
            f"# ({found.lines} lines read, {found.unsafe} unsafe requests and {found.unparsed} "
            "lines in another format left out)"]
    return "\n".join(head + [f"{m} {t}" for m, t, _n in ranked]) + "\n"


def _target(url: str) -> str | None:
    """The path and query of a logged URL, without scheme, host or credential-like parameters;
    None for a URL that does not parse (any client can log `GET http://[::1/x`)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    path = parts.path or "/"
    if not path.startswith("/"):
        return None
    query = [pair for pair in parts.query.split("&") if pair and not _secret(pair.split("=", 1)[0])]
    target = path + ("?" + "&".join(query) if query else "")
    return target if TARGET_RE.fullmatch(target) else None


def _secret(name: str) -> bool:
    """A parameter named like a credential: access_token, api-key, sessionId, X-Amz-Signature..."""
    name = unquote(name)
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name).lower()
    return (name.strip().lower() in SECRET_NAMES
            or any(word in SECRET_WORDS for word in re.split(r"[^a-z0-9]+", spaced)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bluegreen.requests_from_log",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("logs", nargs="*", help="varnishncsa logs (default: standard input)")
    parser.add_argument("--top", type=int, default=500, help="keep the N most frequent (default 500)")
    parser.add_argument("-o", "--output", help="write the requests file here (default: stdout)")
    args = parser.parse_args(argv)
    if args.top < 1:
        parser.error("--top should be at least 1")
    found = Harvest()
    try:
        for name in args.logs or ["-"]:
            stream = sys.stdin if name == "-" else open(name, encoding="utf-8", errors="replace")  # noqa: SIM115
            with stream:
                for line in stream:
                    if line.strip():
                        found.add(line.rstrip("\n"))
    except OSError as exc:
        print(f"requests_from_log: cannot read {exc.filename} ({exc.strerror})", file=sys.stderr)
        return 2
    if not found.counts:
        print(f"requests_from_log: no safe request in varnishncsa's default format among "
              f"{found.lines} lines ({found.unparsed} in another format): is this a varnishncsa "
              "log in the default format?", file=sys.stderr)
        return 2
    text = render(found, args.top, ", ".join(args.logs) or "standard input")
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            print(f"requests_from_log: cannot write {args.output} ({exc.strerror})", file=sys.stderr)
            return 2
    else:
        sys.stdout.write(text)
    print(f"requests_from_log: {min(args.top, len(found.counts))} requests written "
          f"({found.unsafe} unsafe and {found.unparsed} unparsed lines left out)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
