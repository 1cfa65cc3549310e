"""Small configurations for tests that load one without a running stage."""

from __future__ import annotations

from pathlib import Path

from bluegreen.config import load


def prod_config(tmp_path: Path, extra: str = "", checks_part: str = "", servers: str | None = None):
    """The config of app 'shop' with one stage 'prod' (blue on ports 1 and 2, green on 3, unless
    `servers`), `extra` before [checks] and `checks_part` inside it."""
    servers = servers or 'blue = ["127.0.0.1:1", "127.0.0.1:2"]\ngreen = ["127.0.0.1:3"]\n'
    path = tmp_path / "bluegreen.toml"
    path.write_text('app = "shop"\n' + extra + f'[checks]\n{checks_part}[deploy]\ncommand = ["x"]\n'
                    '[stages.prod]\nvarnish = ["127.0.0.1:6082"]\n' + servers)
    return load.load(path)
