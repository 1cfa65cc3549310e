"""`FakeStage`: stage 'test' of app 'shop' on fakes only, for fast unit tests of the steps.

Each Varnish instance is a FakeAdmin (an in-memory varnishd), each server a FakeApp, the deploy
command fake_deploy.py; the steps run in-process through `bluegreen.cli.main`, as with `Site`.
The stage lists no fronts: verify checks the servers and Varnish's probes (previews through a
real Varnish are the integration tests' part).
"""

from __future__ import annotations

import json
from pathlib import Path

from bluegreen.cli import main
from tests.helpers.fake_app import FakeApp, deploy_argv, deployed
from tests.helpers.fakes import FakeAdmin
from tests.helpers.site import Run


class FakeStage:
    def __init__(self, root: Path, capsys, instances: int = 1, blue: int = 1, green: int = 1):
        self.root, self.capsys = Path(root), capsys
        self.releases = self.root / "releases"
        self.admins = [FakeAdmin() for _ in range(instances)]
        self.blue = [FakeApp(self.releases) for _ in range(blue)]
        self.green = [FakeApp(self.releases) for _ in range(green)]
        self.secret = self.root / "secret"
        self.secret.write_text("fake admins take any secret\n")
        self.secret.chmod(0o600)
        self.write_config()

    @property
    def config(self) -> Path:
        return self.root / "bluegreen.toml"

    @property
    def out(self) -> Path:
        return self.root / "out"

    def write_config(self, extra: str = "") -> None:
        """The stage's config; `extra` is appended (more tables, e.g. [retire])."""
        listed = lambda items: json.dumps([str(i.address) for i in items])  # noqa: E731
        self.config.write_text(
            f'app = "shop"\nsecret_file = "{self.secret}"\n\n'
            "[checks]\ntimeout_s = 1\nwait_s = 0.5\n\n"
            f"[deploy]\ncommand = {json.dumps(deploy_argv(self.releases))}\nparallel = 4\ntimeout_s = 30\n\n"
            f"[stages.test]\nvarnish = {listed(self.admins)}\nblue = {listed(self.blue)}\n"
            f"green = {listed(self.green)}\n" + extra)

    def cli(self, *argv: str, out: Path | None = None) -> Run:
        self.capsys.readouterr()
        code = main(["-c", str(self.config), "--out", str(out or self.out), *argv])
        captured = self.capsys.readouterr()
        return Run(code, captured.out, captured.err)

    def ok(self, *argv: str, **kw) -> Run:
        run = self.cli(*argv, **kw)
        assert run.code == 0, run.text
        return run

    def release(self, version: str) -> None:
        for argv in (["passive"], ["deploy", "--version", version], ["verify"], ["switch"], ["record"]):
            self.ok(*argv, "--stage", "test")

    def actives(self) -> list[str]:
        return [a.active for a in self.admins]

    def mark(self) -> list[int]:
        """Where each instance's command log stands now, for `changes_since`."""
        return [len(a.commands) for a in self.admins]

    def changes_since(self, mark: list[int]) -> list[str]:
        """The commands that changed something on any instance since `mark` (vcl.use, ban ...)."""
        return [c for a, n in zip(self.admins, mark, strict=True)
                for c in FakeAdmin.changes_of(a.commands[n:])]

    def deployed(self) -> list[str]:
        return deployed(self.releases)

    def state(self) -> dict:
        return json.loads((self.out / "test" / "state.json").read_text())

    def plan(self) -> dict:
        return json.loads((self.out / "test" / "plan.json").read_text())

    def vcl(self, color: str) -> str:
        """The name of the color's newest VCL loaded on the first instance."""
        return [n for n in self.admins[0].loaded if n.startswith(f"shop_test_{color}_")][-1]

    def close(self) -> None:
        for part in [*self.admins, *self.blue, *self.green]:
            part.close()
