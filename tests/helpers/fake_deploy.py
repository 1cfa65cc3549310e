"""The fake deploy command: fake_deploy.py RELEASES HOST PORT RELEASE COLOR.

Writes RELEASE into RELEASES/HOST_PORT, the file the FakeApp on HOST:PORT answers from, and
appends 'HOST:PORT RELEASE' to RELEASES/deploy.log. A release ending in "-undeployable" fails
(exit 1), as a deploy that cannot start the release does. Standard library only (runs with -I -S).
"""

import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) != 5:
        print("usage: fake_deploy.py RELEASES HOST PORT RELEASE COLOR", file=sys.stderr)
        return 2
    releases, host, port, release, color = Path(argv[0]), argv[1], argv[2], argv[3], argv[4]
    with open(releases / "deploy.log", "a") as log:
        log.write(f"{host}:{port} {release}\n")
    if release.endswith("-undeployable"):
        print(f"{release} does not start on {host}:{port}", file=sys.stderr)
        return 1
    (releases / f"{host}_{port}").write_text(release + "\n")
    print(f"{release} ({color}) on {host}:{port}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
