"""Load and validate bluegreen.toml up front; every error starts with the key path."""

from __future__ import annotations

import os
import re
from pathlib import Path

from bluegreen.errors import ConfigError

COLORS = ("blue", "green")
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")
HEADER_RE = re.compile(r"^[A-Za-z0-9-]{1,64}$")
PATH_RE = re.compile(r"^/[!-~]*$")
DEPLOY_PLACEHOLDERS = {"host", "port", "version", "color"}
SMOKE_PLACEHOLDERS = {"url", "color", "version"}


def other(color: str) -> str:
    return "green" if color == "blue" else "blue"


class _Record:
    """A small immutable record; plain classes start faster than dataclasses (fast `switch`)."""

    __slots__ = ()

    def __init__(self, *args, **kwargs):
        if len(args) > len(self.__slots__):
            raise TypeError(f"{type(self).__name__} takes at most {len(self.__slots__)} values")
        values = dict(zip(self.__slots__[:len(args)], args, strict=True)) | kwargs
        for name in self.__slots__:
            object.__setattr__(self, name, values.get(name, self._defaults().get(name)))

    def _defaults(self) -> dict:
        return {}

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _key(self) -> tuple:
        return tuple(getattr(self, n) for n in self.__slots__)

    def __eq__(self, other):
        return type(self) is type(other) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{n}={getattr(self, n)!r}' for n in self.__slots__)})"


class Address(_Record):
    __slots__ = ("host", "port")

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self}"


class VclConfig(_Record):
    __slots__ = ("template", "preview_from", "preview_header", "keep")

    def _defaults(self):
        return {"preview_from": ("127.0.0.1",), "preview_header": "X-Bluegreen-Color", "keep": 3}


class ChecksConfig(_Record):
    __slots__ = ("health_path", "version_path", "timeout_s", "wait_s", "smoke")

    def _defaults(self):
        return {"health_path": "/health", "version_path": "/version", "timeout_s": 5.0,
                "wait_s": 60.0, "smoke": ()}


class DeployConfig(_Record):
    __slots__ = ("command", "parallel", "timeout_s")

    def _defaults(self):
        return {"command": (), "parallel": 8, "timeout_s": 600.0}


class Stage(_Record):
    __slots__ = ("name", "varnish", "front", "servers")

    def color_servers(self, color: str) -> tuple[Address, ...]:
        return self.servers[color]


class Config(_Record):
    __slots__ = ("app", "secret_file", "base_dir", "vcl", "checks", "deploy", "stages", "path")

    def stage(self, name: str | None) -> Stage:
        if not name:
            raise ConfigError("--stage is required: name one of " + ", ".join(self.stages))
        if name not in self.stages:
            known = ", ".join(sorted(self.stages)) or "none"
            raise ConfigError(f"unknown stage '{name}': {self._where()} defines {known}")
        return self.stages[name]

    def _where(self) -> str:
        return str(self.path) if self.path else "the configuration"


def load(path: str | os.PathLike, cache_dir: str | os.PathLike | None = None) -> Config:
    """Read and validate the file; raise ConfigError naming the key path of the first fault.

    With cache_dir, the parsed TOML is kept there as JSON under the sha256 of the file's bytes,
    so a later step (a `switch` measured in milliseconds) skips the TOML parser; it is still
    validated every time, and any change to the file gives another key.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"configuration file {path} not found: pass -c FILE or set BLUEGREEN_CONFIG"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {path}: {exc.strerror}") from None
    cached = _cache_path(cache_dir, data)
    raw = _read_cache(cached)
    if raw is None:
        raw = _parse_toml(data, path)
    config = parse(raw, base_dir=path.resolve().parent, path=path)
    if cached is not None and not cached.exists():
        _write_cache(cached, raw)
    return config


def _parse_toml(data: bytes, path: Path) -> dict:
    import tomllib

    try:
        return tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None


def _cache_path(cache_dir, data: bytes) -> Path | None:
    if cache_dir is None:
        return None
    import hashlib

    return Path(cache_dir) / ".config-cache" / f"{hashlib.sha256(data).hexdigest()}.json"


def _read_cache(cached: Path | None) -> dict | None:
    if cached is None:
        return None
    import json

    try:
        raw = json.loads(cached.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return raw if isinstance(raw, dict) else None


def _write_cache(cached: Path, raw: dict) -> None:
    import json

    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_name(f".{cached.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(raw, default=str), encoding="utf-8")
        os.replace(tmp, cached)
    except OSError:
        pass  # a cache that cannot be written only costs the next step a TOML parse


def parse(raw: dict, base_dir: Path, path: Path | None = None) -> Config:
    _only(raw, "", {"app", "secret_file", "vcl", "checks", "deploy", "stages"})
    app = _name(raw, "app", required=True)
    secret = os.environ.get("BLUEGREEN_SECRET_FILE") or _str(raw, "secret_file", "/etc/varnish/secret")
    vcl = _vcl(_table(raw, "vcl"), base_dir)
    checks = _checks(_table(raw, "checks"))
    deploy = _deploy(_table(raw, "deploy"))
    stages_raw = _table(raw, "stages")
    if not stages_raw:
        raise ConfigError("stages: should define at least one stage, e.g. [stages.test]")
    stages = {name: _stage(name, value) for name, value in stages_raw.items()}
    return Config(app=app, secret_file=_resolve(base_dir, secret), base_dir=base_dir, vcl=vcl,
                  checks=checks, deploy=deploy, stages=stages, path=path)


def parse_address(text: str, key: str) -> Address:
    if not isinstance(text, str):
        raise ConfigError(f"{key}: should be a string 'host:port'")
    m = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:(\d{1,5})|([A-Za-z0-9.-]+):(\d{1,5})", text)
    if not m:
        raise ConfigError(f"{key}: '{text}' should be 'host:port' (IPv6 as '[::1]:port')")
    host, port = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
    if not 0 < int(port) < 65536:
        raise ConfigError(f"{key}: port {port} should be between 1 and 65535")
    return Address(host, int(port))


def _vcl(raw: dict, base_dir: Path) -> VclConfig:
    _only(raw, "vcl", {"template", "preview_from", "preview_header", "keep"})
    template = raw.get("template")
    if template is not None:
        template = _resolve(base_dir, _str(raw, "template", None, "vcl.template"))
        if not template.is_file():
            raise ConfigError(f"vcl.template: file {template} not found")
    preview_from = tuple(_str_list(raw, "preview_from", ["127.0.0.1"], "vcl.preview_from"))
    for entry in preview_from:
        if not re.fullmatch(r"[0-9A-Fa-f:.]+(/\d{1,3})?", entry):
            raise ConfigError(f"vcl.preview_from: '{entry}' should be an IP address or CIDR")
    header = _str(raw, "preview_header", "X-Bluegreen-Color", "vcl.preview_header")
    if not HEADER_RE.match(header):
        raise ConfigError(f"vcl.preview_header: '{header}' should be a header name (letters, digits, '-')")
    keep = _int(raw, "keep", 3, "vcl.keep", minimum=1)
    return VclConfig(template, preview_from, header, keep)


def _checks(raw: dict) -> ChecksConfig:
    _only(raw, "checks", {"health_path", "version_path", "timeout_s", "wait_s", "smoke"})
    paths = {}
    for key, default in (("health_path", "/health"), ("version_path", "/version")):
        paths[key] = _str(raw, key, default, f"checks.{key}")
        if not PATH_RE.match(paths[key]) or '"' in paths[key]:
            raise ConfigError(f"checks.{key}: '{paths[key]}' should be a URL path starting with '/'")
    smoke = _argv(raw, "smoke", "checks.smoke", SMOKE_PLACEHOLDERS, required=False)
    return ChecksConfig(timeout_s=_num(raw, "timeout_s", 5, "checks.timeout_s"),
                        wait_s=_num(raw, "wait_s", 60, "checks.wait_s", minimum=0),
                        smoke=smoke, **paths)


def _deploy(raw: dict) -> DeployConfig:
    _only(raw, "deploy", {"command", "parallel", "timeout_s"})
    command = _argv(raw, "command", "deploy.command", DEPLOY_PLACEHOLDERS, required=True)
    return DeployConfig(command=command,
                        parallel=_int(raw, "parallel", 8, "deploy.parallel", minimum=1),
                        timeout_s=_num(raw, "timeout_s", 600, "deploy.timeout_s"))


def _stage(name: str, raw) -> Stage:
    key = f"stages.{name}"
    if not NAME_RE.match(name):
        raise ConfigError(f"{key}: a stage name should start with a letter and hold only "
                          "letters, digits, '-' and '_'")
    if not isinstance(raw, dict):
        raise ConfigError(f"{key}: should be a table")
    _only(raw, key, {"varnish", "front", "blue", "green"})
    lists = {}
    for part in ("varnish", "front", "blue", "green"):
        required = part != "front"
        values = _str_list(raw, part, None if required else [], f"{key}.{part}")
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
    return Stage(name, lists["varnish"], lists["front"],
                 {"blue": lists["blue"], "green": lists["green"]})


# -- small typed readers -------------------------------------------------------------------------

def _only(raw: dict, where: str, allowed: set[str]) -> None:
    for key in raw:
        if key not in allowed:
            path = f"{where}.{key}" if where else key
            raise ConfigError(f"{path}: unknown key; expected one of {', '.join(sorted(allowed))}")


def _table(raw: dict, key: str) -> dict:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: should be a table ([{key}])")
    return value


def _name(raw: dict, key: str, required: bool) -> str:
    value = raw.get(key)
    if value is None and required:
        raise ConfigError(f"{key}: is required, e.g. {key} = \"shop\"")
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise ConfigError(f"{key}: should start with a letter and hold only letters, digits, "
                          "'-' and '_' (at most 40)")
    return value


def _str(raw: dict, key: str, default, path: str | None = None) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{path or key}: should be a non-empty string")
    return value


def _str_list(raw: dict, key: str, default, path: str) -> list[str]:
    value = raw.get(key, default)
    if value is None:
        raise ConfigError(f"{path}: is required, a list of strings")
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{path}: should be a list of non-empty strings")
    return value


def _argv(raw: dict, key: str, path: str, placeholders: set[str], required: bool) -> tuple:
    if key not in raw and not required:
        return ()
    argv = _str_list(raw, key, None, path)
    if not argv:
        raise ConfigError(f"{path}: should be a non-empty argv list, e.g. [\"./deploy.sh\", \"{{host}}\"]")
    for arg in argv:
        for name in re.findall(r"\{([^{}]*)\}", arg):
            if name not in placeholders:
                raise ConfigError(f"{path}: unknown placeholder {{{name}}}; "
                                  f"use {', '.join('{' + p + '}' for p in sorted(placeholders))}")
    return tuple(argv)


def _num(raw: dict, key: str, default, path: str, minimum: float = 0.001) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise ConfigError(f"{path}: should be a number of seconds, at least {minimum:g}")
    return float(value)


def _int(raw: dict, key: str, default, path: str, minimum: int) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{path}: should be a whole number, at least {minimum}")
    return value


def _resolve(base_dir: Path, value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else base_dir / path
