"""Configuration: defaults, resolution of relative paths, environment overrides."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bluegreen.config import load as config
from bluegreen.errors import ConfigError
from tests.helpers.paths import ROOT

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
        cfg = config.load(ROOT / "examples" / "bluegreen.toml")
        assert set(cfg.stages) == {"test", "prod"}
        assert len(cfg.stage("prod").varnish) == 2
        assert cfg.deploy.command[:3] == ("python3", "-m", "bluegreen.sampleapp.deploy")


class TestReadEveryTime:
    """The file is parsed and validated by every step; no copy of it is kept anywhere (a copy of
    a 0600 config holding a database password would be readable by others)."""

    def test_a_change_is_seen_and_nothing_is_written(self, tmp_path):
        path = tmp_path / "bluegreen.toml"
        path.write_text(MINIMAL)
        assert config.load(path).app == "shop"
        path.write_text(MINIMAL.replace('"shop"', '"changed"'))
        assert config.load(path).app == "changed"
        assert sorted(p.name for p in tmp_path.rglob("*")) == ["bluegreen.toml"]


def load_text(tmp_path, text: str):
    path = tmp_path / "bluegreen.toml"
    path.write_text(text)
    return config.load(path)


def with_keys(table: str, lines: str, app: str = '"shop"') -> str:
    """MINIMAL with `lines` in [table] (the top level for ""), and another app value."""
    body = MINIMAL.replace('app = "shop"\n', "")
    if table == "deploy":
        return f"app = {app}\n" + body.replace("[deploy]\n", f"[deploy]\n{lines}\n")
    if not table:
        return f"app = {app}\n{lines}\n" + body
    return f"app = {app}\n[{table}]\n{lines}\n" + body


class TestHostileValues:
    """Values that parse as TOML but would break a step later are refused up front (exit 2)."""

    @pytest.mark.parametrize("table, line, message", [
        ("checks", "wait_s = inf", "checks.wait_s: should be a number of seconds from 0 to 3600"),
        ("checks", "wait_s = nan", "checks.wait_s: should be a number of seconds"),
        ("checks", "timeout_s = 1e300", "checks.timeout_s: should be a number of seconds"),
        ("deploy", "timeout_s = -inf", "deploy.timeout_s: should be a number of seconds"),
        ("vcl", "keep = 100000", "vcl.keep: should be a whole number from 1 to 100"),
        ("vcl", "compile_timeout_s = inf", "vcl.compile_timeout_s: should be a number of seconds"),
    ])
    def test_numbers_are_finite_and_bounded(self, tmp_path, table, line, message):
        with pytest.raises(ConfigError, match=message):
            load_text(tmp_path, with_keys(table, line))

    @pytest.mark.parametrize("table, line, message", [
        ("", "", "app: should start with a letter"),
        ("vcl", 'preview_header = "X-Bluegreen-Color\\n"', "vcl.preview_header:"),
        ("checks", 'health_path = "/health\\n"', "checks.health_path:"),
        ("checks", 'version_path = "/version\\r"', "checks.version_path:"),
        ("checks", 'host = "shop.example.com\\n"', "checks.host:"),
    ])
    def test_a_trailing_newline_is_refused(self, tmp_path, table, line, message):
        app = '"shop\\n"' if not line else '"shop"'
        with pytest.raises(ConfigError, match=message):
            load_text(tmp_path, with_keys(table, line, app=app))

    def test_a_stage_name_with_a_newline_is_refused(self, tmp_path):
        with pytest.raises(ConfigError, match="a stage name should start with a letter"):
            load_text(tmp_path, MINIMAL + '[stages."prod\\n"]\nvarnish = ["a:1"]\nblue = ["b:1"]\n'
                                          'green = ["c:1"]\n')

    @pytest.mark.parametrize("entry, message", [
        ("10.1.2.3/8", "no host bits set"), ("0.0.0.0/0", "would trust every client"),
        ("::/0", "would trust every client"), ("10.0.0.0/33", "is not an IP address or CIDR"),
        ("example.com", "is not an IP address"),
    ])
    def test_preview_from_is_strict(self, tmp_path, entry, message):
        with pytest.raises(ConfigError, match=f"vcl.preview_from: '{re.escape(entry)}' .*{message}"):
            load_text(tmp_path, with_keys("vcl", f'preview_from = ["{entry}"]'))

    def test_probe_timeout_must_stay_under_its_interval(self, tmp_path):
        with pytest.raises(ConfigError, match="vcl.probe.timeout_s: 2 should be less than interval_s"):
            load_text(tmp_path, with_keys("vcl.probe", "interval_s = 1\ntimeout_s = 2"))


class TestNewKeys:
    """Label mode, per-instance secrets and the optional sections."""

    def test_defaults_of_the_new_keys(self, tmp_path):
        cfg = load_text(tmp_path, MINIMAL)
        assert cfg.vcl.mode == "vcl" and cfg.stage("prod").label == "shop_prod"
        assert cfg.vcl.probe.timeout_s < cfg.vcl.probe.interval_s
        assert cfg.schema is None and cfg.compare is None and cfg.watch is None and cfg.retire is None
        assert len(cfg.stage("prod").secret_files) == 2

    def test_one_label_for_two_stages_on_one_varnish_is_refused(self, tmp_path):
        text = (with_keys("vcl", 'mode = "label"\nlabel = "shop"')
                + '[stages.test]\nvarnish = ["127.0.0.1:6082"]\nblue = ["10.0.0.3:8080"]\n'
                  'green = ["10.0.0.4:8080"]\n')
        with pytest.raises(ConfigError, match="label 'shop' is also the label of stage prod"):
            load_text(tmp_path, text)

    def test_secret_files_pair_with_varnish(self, tmp_path):
        with pytest.raises(ConfigError, match="stages.prod.secret_files: should list one -S file"):
            load_text(tmp_path, MINIMAL + 'secret_files = ["/a"]\n')
        cfg = load_text(tmp_path, MINIMAL + 'secret_files = ["/a", "b"]\n')
        assert cfg.stage("prod").secret_files == (Path("/a"), tmp_path / "b")

    def test_admin_command_per_stage_or_for_all(self, tmp_path):
        assert load_text(tmp_path, MINIMAL).stage("prod").admin_command == ()
        ssh = '["ssh", "-W", "localhost:{port}", "{host}"]'
        stage = load_text(tmp_path, MINIMAL + f"admin_command = {ssh}\n").stage("prod")
        assert stage.admin_command == ("ssh", "-W", "localhost:{port}", "{host}")
        text = with_keys("", f"admin_command = {ssh}") + 'admin_command = ["./tunnel", "{host}"]\n'
        text += '[stages.test]\nvarnish = ["127.0.0.1:6083"]\nblue = ["a:1"]\ngreen = ["b:1"]\n'
        cfg = load_text(tmp_path, text)
        assert cfg.stage("prod").admin_command == ("./tunnel", "{host}"), "a stage's own wins"
        assert cfg.stage("test").admin_command[:2] == ("ssh", "-W"), "the top level's is the default"

    @pytest.mark.parametrize("table, line, message", [
        ("", 'admin_command = "ssh -W {host}:{port} web1"',
         'admin_command: should be a list of non-empty strings (an argv, no shell), e.g. admin_command = '
         '["ssh", "-W", "localhost:{port}", "-o", "BatchMode=yes", "deploy@{host}"]'),
        ("stages.prod", 'admin_command = ["ssh", "{varnish}"]',
         "stages.prod.admin_command: unknown placeholder {varnish}; use {host}, {port}, e.g. "),
        ("stages.prod", "admin_command = []", "stages.prod.admin_command: should be a non-empty argv list"),
        ("stages.prod", 'admin_command = ["ssh", ""]', "stages.prod.admin_command: should be a list"),
    ])
    def test_admin_command_is_an_argv(self, tmp_path, table, line, message):
        text = MINIMAL + line + "\n" if table else with_keys(table, line)
        with pytest.raises(ConfigError, match=re.escape(message)):
            load_text(tmp_path, text)

    def test_sections(self, tmp_path):
        cfg = load_text(tmp_path, with_keys("", '[schema]\nexpand = ["./m", "expand", "{version}"]\n'
                                            '[watch]\nprometheus = "http://127.0.0.1:9090"\n'
                                            '[retire]\nafter_s = 60\n[compare]\nrequests = "r.txt"'))
        assert cfg.schema.expand == ("./m", "expand", "{version}") and cfg.schema.contract == ()
        assert cfg.watch.source == "prometheus" and cfg.watch.interval_s == 10
        assert cfg.retire.after_s == 60 and cfg.compare.requests == tmp_path / "r.txt"
        with pytest.raises(ConfigError, match="watch.on_inconclusive: should be one of"):
            load_text(tmp_path, with_keys("watch", 'on_inconclusive = "maybe"'))

    def test_warmup(self, tmp_path):
        assert load_text(tmp_path, MINIMAL).warmup is None
        cfg = load_text(tmp_path, with_keys("warmup", 'requests = "w.txt"\ntop = 50'))
        assert (cfg.warmup.requests, cfg.warmup.from_compare) == (tmp_path / "w.txt", False)
        assert (cfg.warmup.top, cfg.warmup.concurrency, cfg.warmup.timeout_s,
                cfg.warmup.budget_s) == (50, 8, 10.0, 60.0)
        cfg = load_text(tmp_path, with_keys("", '[compare]\nrequests = "r.txt"\n[warmup]'))
        assert (cfg.warmup.requests, cfg.warmup.from_compare) == (tmp_path / "r.txt", True)
        with pytest.raises(ConfigError, match=r"warmup.requests: is required without \[compare\]"):
            load_text(tmp_path, with_keys("warmup", "top = 5"))
        with pytest.raises(ConfigError, match="warmup.concurrency: should be a whole number"):
            load_text(tmp_path, with_keys("warmup", 'requests = "w.txt"\nconcurrency = 0'))
