"""Load and validate bluegreen.toml up front; every error starts with the key path."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import NamedTuple

from bluegreen.config import optional, vcl_table
from bluegreen.config import values as read
from bluegreen.config.optional import (
    CompareConfig,
    RetireConfig,
    SchemaConfig,
    StatusConfig,
    WarmupConfig,
    WatchConfig,
)
from bluegreen.config.vcl_table import VclConfig
from bluegreen.errors import ConfigError
from bluegreen.model import Address

NAME_RE = read.NAME_RE
DEPLOY_PLACEHOLDERS = {"host", "port", "version", "color"}
SMOKE_PLACEHOLDERS = {"url", "color", "version"}
ADMIN_PLACEHOLDERS = {"host", "port"}
ADMIN_EXAMPLE = '["ssh", "-W", "localhost:{port}", "-o", "BatchMode=yes", "deploy@{host}"]'


class ChecksConfig(NamedTuple):
    health_path: str = "/health"
    version_path: str = "/version"
    timeout_s: float = 5.0
    wait_s: float = 60.0
    smoke: tuple[str, ...] = ()
    host: str | None = None


class DeployConfig(NamedTuple):
    command: tuple[str, ...] = ()
    parallel: int = 8
    timeout_s: float = 600.0
    pass_secrets: bool = False


class Stage(NamedTuple):
    """One stage: its Varnish admin addresses (with the secret file of each), fronts, servers,
    and the command that carries an admin connection (`admin_command`; () for plain TCP)."""

    name: str
    varnish: tuple[Address, ...]
    front: tuple[Address, ...]
    servers: dict[str, tuple[Address, ...]]
    label: str
    secret_files: tuple[Path, ...]
    preview: tuple[Address, ...] = ()
    admin_command: tuple[str, ...] = ()

    def color_servers(self, color: str) -> tuple[Address, ...]:
        return self.servers[color]


class Config(NamedTuple):
    app: str
    secret_file: Path
    base_dir: Path
    vcl: VclConfig
    checks: ChecksConfig
    deploy: DeployConfig
    stages: dict[str, Stage]
    path: Path | None = None
    schema: SchemaConfig | None = None
    compare: CompareConfig | None = None
    watch: WatchConfig | None = None
    retire: RetireConfig | None = None
    status: StatusConfig | None = None
    warmup: WarmupConfig | None = None

    def stage(self, name: str | None) -> Stage:
        if not name:
            raise ConfigError("--stage is required: name one of " + ", ".join(self.stages))
        if name not in self.stages:
            known = ", ".join(sorted(self.stages)) or "none"
            raise ConfigError(f"unknown stage '{name}': {self._where()} defines {known}")
        return self.stages[name]

    @property
    def label_mode(self) -> bool:
        return self.vcl.mode == "label"

    def _where(self) -> str:
        return str(self.path) if self.path else "the configuration"


def load(path: str | os.PathLike) -> Config:
    """Read and validate the file; raise ConfigError naming the key path of the first fault."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"configuration file {path} not found: pass -c FILE or set BLUEGREEN_CONFIG"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {path}: {exc.strerror}") from None
    return parse(_parse_toml(data, path), base_dir=path.resolve().parent, path=path)


def _parse_toml(data: bytes, path: Path) -> dict:
    import tomllib

    try:
        return tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {read.show(exc, 200)}") from None
    except RecursionError:
        raise ConfigError(f"{path} is not usable TOML: its values are nested too deeply") from None


def parse(raw: dict, base_dir: Path, path: Path | None = None) -> Config:
    read.only(raw, "", {"app", "secret_file", "vcl", "checks", "deploy", "stages", "schema",
                        "compare", "watch", "retire", "status", "warmup", "admin_command"})
    app = read.name(raw, "app", "app", required=True)
    secret = os.environ.get("BLUEGREEN_SECRET_FILE") or read.string(raw, "secret_file",
                                                                     "/etc/varnish/secret", "secret_file")
    vcl = vcl_table.parse(read.table(raw, "vcl"), base_dir)
    checks = _checks(read.table(raw, "checks"))
    deploy = _deploy(read.table(raw, "deploy"))
    stages_raw = read.table(raw, "stages")
    if not stages_raw:
        raise ConfigError("stages: should define at least one stage, e.g. [stages.test]")
    secret_path = read.resolve(base_dir, secret)
    admin = read.argv(raw, "admin_command", "admin_command", ADMIN_PLACEHOLDERS, example=ADMIN_EXAMPLE)
    stages = {name: _stage(name, value, app, vcl, base_dir, secret_path, admin)
              for name, value in stages_raw.items()}
    _labels_distinct(stages)
    watch = optional.watch(read.table(raw, "watch"), base_dir)
    compare = optional.compare(read.table(raw, "compare"), base_dir)
    warmup = read.table(raw, "warmup") if "warmup" in raw else None
    return Config(app=app, secret_file=secret_path, base_dir=base_dir, vcl=vcl,
                  checks=checks, deploy=deploy, stages=stages, path=path,
                  schema=optional.schema(read.table(raw, "schema"), base_dir), compare=compare,
                  watch=watch, retire=optional.retire(read.table(raw, "retire")),
                  status=optional.status(read.table(raw, "status") if "status" in raw else None, watch),
                  warmup=optional.warmup(warmup, base_dir, compare))


def parse_address(text: str, key: str) -> Address:
    if not isinstance(text, str):
        raise ConfigError(f"{key}: should be a string 'host:port'")
    m = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:(\d{1,5})|([A-Za-z0-9.-]+):(\d{1,5})", text)
    if not m:
        raise ConfigError(f"{key}: '{read.show(text)}' should be 'host:port' (IPv6 as '[::1]:port')")
    host, port = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
    if not 0 < int(port) < 65536:
        raise ConfigError(f"{key}: port {port} should be between 1 and 65535")
    return Address(host, int(port))


def _checks(raw: dict) -> ChecksConfig:
    read.only(raw, "checks", {"health_path", "version_path", "timeout_s", "wait_s", "smoke", "host"})
    host = raw.get("host")
    if host is not None:
        host = read.string(raw, "host", None, "checks.host")
        if not re.fullmatch(r"[A-Za-z0-9.-]{1,253}(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?", host):
            raise ConfigError(f"checks.host: '{host}' should be a host name, e.g. shop.example.com")
    return ChecksConfig(
        health_path=read.url_path(raw, "health_path", "/health", "checks.health_path"),
        version_path=read.url_path(raw, "version_path", "/version", "checks.version_path"),
        timeout_s=read.seconds(raw, "timeout_s", 5, "checks.timeout_s", maximum=300),
        wait_s=read.seconds(raw, "wait_s", 60, "checks.wait_s", minimum=0, maximum=3600),
        smoke=read.argv(raw, "smoke", "checks.smoke", SMOKE_PLACEHOLDERS), host=host)


def _deploy(raw: dict) -> DeployConfig:
    read.only(raw, "deploy", {"command", "parallel", "timeout_s", "pass_secrets"})
    return DeployConfig(
        command=read.argv(raw, "command", "deploy.command", DEPLOY_PLACEHOLDERS, required=True),
        parallel=read.whole(raw, "parallel", 8, "deploy.parallel", minimum=1, maximum=256),
        timeout_s=read.seconds(raw, "timeout_s", 600, "deploy.timeout_s"),
        pass_secrets=read.boolean(raw, "pass_secrets", False, "deploy.pass_secrets"))


def _stage(name: str, raw, app: str, vcl, base_dir: Path, secret: Path,
           admin_command: tuple = ()) -> Stage:
    key = f"stages.{name}"
    if not NAME_RE.fullmatch(name):
        raise ConfigError(f"{key}: a stage name should start with a letter and hold only "
                          "letters, digits, '-' and '_' (at most 40)")
    if not isinstance(raw, dict):
        raise ConfigError(f"{key}: should be a table")
    read.only(raw, key, {"varnish", "front", "blue", "green", "secret_files", "preview",
                         "admin_command"})
    lists = {}
    for part in ("varnish", "front", "blue", "green", "preview"):
        required = part not in ("front", "preview")
        values = read.str_list(raw, part, None if required else [], f"{key}.{part}")
        if required and not values:
            raise ConfigError(f"{key}.{part}: should list at least one 'host:port'")
        lists[part] = tuple(parse_address(v, f"{key}.{part}") for v in values)
        if len(set(lists[part])) != len(lists[part]):
            raise ConfigError(f"{key}.{part}: lists an address twice")
    if set(lists["blue"]) & set(lists["green"]):
        raise ConfigError(f"{key}: blue and green share a server; the halves must be disjoint")
    if lists["front"] and len(lists["front"]) != len(lists["varnish"]):
        raise ConfigError(f"{key}.front: should list one HTTP address per varnish instance "
                          f"({len(lists['varnish'])}), in the same order")
    if lists["preview"] and len(lists["preview"]) != len(lists["varnish"]):
        raise ConfigError(f"{key}.preview: should list one preview listener address per varnish "
                          f"instance ({len(lists['varnish'])}), in the same order")
    if vcl.preview_listener and not lists["preview"]:
        raise ConfigError(f"{key}.preview: is required with vcl.preview_listener: the address of "
                          f"the '{vcl.preview_listener}' listener (-a) of every varnish instance")
    secrets = read.str_list(raw, "secret_files", [], f"{key}.secret_files")
    if secrets and len(secrets) != len(lists["varnish"]):
        raise ConfigError(f"{key}.secret_files: should list one -S file per varnish instance "
                          f"({len(lists['varnish'])}), in the same order")
    secret_files = tuple(read.resolve(base_dir, s) for s in secrets) or (secret,) * len(lists["varnish"])
    label = vcl.label.replace("{app}", app).replace("{stage}", name)
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,99}", label):
        raise ConfigError(f"vcl.label: '{label}' (for stage {name}) is not a VCL label name: start "
                          "with a letter, then letters, digits, '-' and '_'")
    if "admin_command" in raw:
        admin_command = read.argv(raw, "admin_command", f"{key}.admin_command", ADMIN_PLACEHOLDERS,
                                  example=ADMIN_EXAMPLE)
    return Stage(name, lists["varnish"], lists["front"],
                 {"blue": lists["blue"], "green": lists["green"]}, label, secret_files,
                 lists["preview"], admin_command)


def _labels_distinct(stages: dict) -> None:
    """Two stages that would move the same label on the same Varnish would take each other's site."""
    seen: dict[tuple, str] = {}
    for stage in stages.values():
        for address in stage.varnish:
            other_stage = seen.setdefault((stage.label, address), stage.name)
            if other_stage != stage.name:
                raise ConfigError(f"stages.{stage.name}: its label '{stage.label}' is also the "
                                  f"label of stage {other_stage} on {address}; give vcl.label "
                                  "a {stage} placeholder")
