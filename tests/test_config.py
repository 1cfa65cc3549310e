"""Configuration: defaults, resolution of relative paths, environment overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from bluegreen import config
from bluegreen.errors import ConfigError

MINIMAL = """
app = "shop"
[deploy]
command = ["./deploy.sh", "{host}", "{port}", "{version}", "{color}"]
[stages.prod]
varnish = ["127.0.0.1:6082", "[::1]:6082"]
blue = ["10.0.0.1:8080"]
green = ["10.0.0.2:8080"]
"""


class TestLoad:
    """A minimal file gets the documented defaults."""

    def test_defaults(self, tmp_path, monkeypatch):
        monkeypatch.delenv("BLUEGREEN_SECRET_FILE", raising=False)
        path = tmp_path / "bluegreen.toml"
        path.write_text(MINIMAL)
        cfg = config.load(path)
        assert cfg.secret_file == Path("/etc/varnish/secret")
        assert cfg.vcl.preview_header == "X-Bluegreen-Color" and cfg.vcl.keep == 3
        assert cfg.checks.health_path == "/health" and cfg.checks.wait_s == 60
        assert cfg.deploy.parallel == 8
        stage = cfg.stage("prod")
        assert [str(a) for a in stage.varnish] == ["127.0.0.1:6082", "[::1]:6082"]
        assert stage.front == ()

    def test_secret_file_from_environment_wins(self, tmp_path, monkeypatch):
        monkeypatch.setenv("BLUEGREEN_SECRET_FILE", "/run/secrets/varnish")
        path = tmp_path / "bluegreen.toml"
        path.write_text(MINIMAL + 'secret_file = "x"\n'.replace("x", "relative"))
        with pytest.raises(ConfigError):  # secret_file after a table is stage data: rejected
            config.load(path)
        path.write_text('secret_file = "relative"\n' + MINIMAL)
        assert config.load(path).secret_file == Path("/run/secrets/varnish")

    def test_front_must_pair_with_varnish(self, tmp_path):
        path = tmp_path / "bluegreen.toml"
        path.write_text(MINIMAL + 'front = ["127.0.0.1:6081"]\n')
        with pytest.raises(ConfigError, match="stages.prod.front: should list one HTTP address"):
            config.load(path)


class TestExample:
    """The example configuration in examples/ is valid as shipped."""

    def test_example_loads(self):
        root = Path(__file__).resolve().parents[1]
        cfg = config.load(root / "examples" / "bluegreen.toml")
        assert set(cfg.stages) == {"test", "prod"}
        assert len(cfg.stage("prod").varnish) == 2
        assert (cfg.base_dir / cfg.deploy.command[0]).resolve().is_file()


class TestCache:
    """The parsed-TOML cache: keyed by content, validated every time, never stale."""

    def test_second_load_uses_the_cache_and_a_change_is_seen(self, tmp_path):
        path = tmp_path / "bluegreen.toml"
        path.write_text(MINIMAL)
        cache = tmp_path / "out"
        assert config.load(path, cache).app == "shop"
        cached = list((cache / ".config-cache").glob("*.json"))
        assert len(cached) == 1
        cached[0].write_text(cached[0].read_text().replace('"shop"', '"fromcache"'))
        assert config.load(path, cache).app == "fromcache", "the TOML was not parsed again"
        path.write_text(MINIMAL.replace('"shop"', '"changed"'))
        assert config.load(path, cache).app == "changed"

    def test_invalid_configuration_is_not_cached_and_still_refused(self, tmp_path):
        path = tmp_path / "bluegreen.toml"
        path.write_text('app = "1bad"\n')
        with pytest.raises(ConfigError, match="app: should start with a letter"):
            config.load(path, tmp_path / "out")
        assert not (tmp_path / "out" / ".config-cache").exists()
