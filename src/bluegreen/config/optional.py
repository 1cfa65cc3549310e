"""The optional sections of bluegreen.toml: [schema], [compare], [watch], [retire], [status],
[warmup].

Each is None when its table is absent, so a step can say plainly that it is not configured.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from bluegreen.config import values as read
from bluegreen.errors import ConfigError
from bluegreen.model import show, shown_url

SCHEMA_PLACEHOLDERS = {"version"}
RETIRE_PLACEHOLDERS = {"host", "port", "color", "version"}
INCONCLUSIVE = ("pass", "fail", "rollback")
WATCH_LOG_PLACEHOLDERS = {"host", "port", "instance", "name", "format"}
WATCH_KEYS = {"seconds", "interval_s", "max_error_rate", "min_requests", "on_inconclusive", "source",
              "prometheus", "requests_query", "errors_query", "baseline_s", "log_command",
              "log_names", "timeout_s", "on_source_error", "prometheus_auth_file"}
WATCH_SOURCES = ("prometheus", "varnish")
STAT_PLACEHOLDERS = {"host", "port", "instance", "name", "vcl"}


class SchemaConfig(NamedTuple):
    expand: tuple[str, ...] = ()
    contract: tuple[str, ...] = ()
    pending: tuple[str, ...] = ()
    inspect: tuple[str, ...] = ()
    database: str | None = None
    timeout_s: float = 600.0


class CompareConfig(NamedTuple):
    requests: Path | None = None
    ignore: tuple[str, ...] = ()
    expected: Path | None = None
    headers: tuple[str, ...] = ()
    allow_unsafe: bool = False
    concurrency: int = 16
    timeout_s: float = 10.0


class WatchConfig(NamedTuple):
    seconds: float = 120.0
    interval_s: float = 10.0
    max_error_rate: float = 0.02
    min_requests: int = 50
    on_inconclusive: str = "pass"
    source: str = "varnish"
    prometheus: str | None = None
    requests_query: str | None = None
    errors_query: str | None = None
    baseline_s: float = 0.0
    log_command: tuple[str, ...] = ()
    log_names: dict[str, str] = {}
    timeout_s: float = 5.0
    on_source_error: str = "stop"
    prometheus_auth: tuple[str, str] | None = None  # from the URL; never shown (__repr__)
    prometheus_auth_file: Path | None = None

    def __repr__(self) -> str:
        """The table as a traceback or a debugger shows it: the URL's credentials left out."""
        shown = ", ".join(f"{k}={v!r}" for k, v in zip(self._fields, self, strict=True)
                          if k != "prometheus_auth")
        return f"WatchConfig({shown}, prometheus_auth={'***' if self.prometheus_auth else None})"

    def prometheus_credentials(self) -> tuple[str, str] | None:
        """(user, password) for Prometheus's basic auth: the URL's, or the auth file's first
        line `user:password`; None without either. ConfigError when the file is unusable."""
        if self.prometheus_auth_file is None:
            return self.prometheus_auth
        key = "watch.prometheus_auth_file"
        try:
            lines = self.prometheus_auth_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeError) as exc:
            raise ConfigError(f"{key}: cannot read {show(self.prometheus_auth_file)} "
                              f"({getattr(exc, 'strerror', None) or 'not UTF-8'}): it should hold "
                              "one line, user:password") from None
        user, colon, password = (lines[0].strip() if lines else "").partition(":")
        if not colon or not user or any(not ch.isprintable() for ch in user + password):
            raise ConfigError(f"{key}: {show(self.prometheus_auth_file)} should hold one line, "
                              "user:password")
        return user, password


class RetireConfig(NamedTuple):
    after_s: float = 3600.0
    command: tuple[str, ...] = ()
    timeout_s: float = 600.0


class StatusConfig(NamedTuple):
    stat_command: tuple[str, ...] = ()
    names: dict[str, str] = {}
    timeout_s: float = 5.0


class WarmupConfig(NamedTuple):
    """from_compare: the requests file is compare's (its unsafe lines are left out, not refused)."""

    requests: Path | None = None
    from_compare: bool = False
    top: int = 200
    concurrency: int = 8
    timeout_s: float = 10.0
    budget_s: float = 60.0


def schema(raw: dict, base_dir: Path) -> SchemaConfig | None:
    if not raw:
        return None
    read.only(raw, "schema", {"expand", "contract", "pending", "inspect", "database", "timeout_s"})
    database = read.string(raw, "database", None, "schema.database") if "database" in raw else None
    if database and not database.startswith(("sqlite:///", "postgresql://", "postgres://")):
        raise ConfigError("schema.database: should be a sqlite:///PATH or postgresql://... URL; for "
                          "another database, set schema.inspect to a command printing the catalogue")
    fault = database and not database.startswith("sqlite:///") and read.database_url_fault(database)
    if fault:
        raise ConfigError(f"schema.database: {shown_url(database)} {fault}")
    if database and database.startswith("sqlite:///") and not database.startswith("sqlite:////"):
        database = "sqlite:///" + str(read.resolve(base_dir, database[len("sqlite:///"):]))
    if "pending" in raw and "expand" not in raw:
        raise ConfigError("schema.pending: needs schema.expand, the command that does what it "
                          "finds pending (switch refuses a release whose expand is pending)")
    return SchemaConfig(
        database=database,
        expand=read.argv(raw, "expand", "schema.expand", SCHEMA_PLACEHOLDERS),
        contract=read.argv(raw, "contract", "schema.contract", SCHEMA_PLACEHOLDERS),
        pending=read.argv(raw, "pending", "schema.pending", SCHEMA_PLACEHOLDERS),
        inspect=read.argv(raw, "inspect", "schema.inspect", set()),
        timeout_s=read.seconds(raw, "timeout_s", 600, "schema.timeout_s"))


def compare(raw: dict, base_dir: Path) -> CompareConfig | None:
    if not raw:
        return None
    read.only(raw, "compare", {"requests", "ignore", "expected", "headers", "allow_unsafe",
                               "concurrency", "timeout_s"})
    if "requests" not in raw:
        raise ConfigError("compare.requests: is required, the requests file, e.g. "
                          "requests = \"compare/requests.txt\"")
    return CompareConfig(
        requests=read.file_path(raw, "requests", base_dir, "compare.requests", must_exist=False),
        ignore=tuple(read.str_list(raw, "ignore", [], "compare.ignore")),
        expected=read.file_path(raw, "expected", base_dir, "compare.expected", must_exist=False),
        headers=tuple(read.str_list(raw, "headers", [], "compare.headers")),
        allow_unsafe=read.boolean(raw, "allow_unsafe", False, "compare.allow_unsafe"),
        concurrency=read.whole(raw, "concurrency", 16, "compare.concurrency", minimum=1, maximum=256),
        timeout_s=read.seconds(raw, "timeout_s", 10, "compare.timeout_s", maximum=300))


def watch(raw: dict, base_dir: Path = Path(".")) -> WatchConfig | None:
    if not raw:
        return None
    read.only(raw, "watch", WATCH_KEYS)
    interval = read.seconds(raw, "interval_s", 10, "watch.interval_s", minimum=1, maximum=3600)
    seconds = read.seconds(raw, "seconds", 120, "watch.seconds", minimum=interval)
    source = read.choice(raw, "source", "prometheus" if "prometheus" in raw else "varnish",
                         "watch.source", WATCH_SOURCES)
    prometheus, auth = None, None  # kept only where used: it may hold credentials
    if source == "prometheus":
        prometheus, auth = read.url_with_credentials(read.string(raw, "prometheus", None, "watch.prometheus"),
                                                       "watch.prometheus")
    auth_file = read.file_path(raw, "prometheus_auth_file", base_dir, "watch.prometheus_auth_file",
                               must_exist=False)
    if auth and auth_file:
        raise ConfigError("watch.prometheus_auth_file: watch.prometheus holds credentials too; "
                          "keep them in one place (the file)")
    return WatchConfig(
        prometheus_auth=auth, prometheus_auth_file=auth_file,
        seconds=seconds, interval_s=interval,
        max_error_rate=read.number(raw, "max_error_rate", 0.02, "watch.max_error_rate", 0.0, 1.0,
                                   "a share"),
        min_requests=read.whole(raw, "min_requests", 50, "watch.min_requests", minimum=0),
        on_source_error=read.choice(raw, "on_source_error", "stop", "watch.on_source_error",
                                    ("stop", "rollback")),
        on_inconclusive=read.choice(raw, "on_inconclusive", "pass", "watch.on_inconclusive",
                                    INCONCLUSIVE),
        source=source, prometheus=prometheus,
        requests_query=read.string(
            raw, "requests_query",
            'sum(increase(http_requests_total{color="{color}"}[{interval}s]))', "watch.requests_query"),
        errors_query=read.string(
            raw, "errors_query",
            'sum(increase(http_requests_total{color="{color}",code=~"5.."}[{interval}s]))',
            "watch.errors_query"),
        baseline_s=read.seconds(raw, "baseline_s", 300, "watch.baseline_s", minimum=0, maximum=86400),
        timeout_s=read.seconds(raw, "timeout_s", 5, "watch.timeout_s", maximum=60),
        **_watch_log(raw))


def _watch_log(raw: dict) -> dict:
    """Source 2: the argv that reads one instance's log, and each instance's varnishd -n name."""
    names = _instance_names(raw, "log_names", "watch.log_names")
    default = ["varnishncsa", "-n", "{name}"] if names else ["varnishncsa"]
    command = _instance_command(raw, "log_command", "watch", default, WATCH_LOG_PLACEHOLDERS, names,
                                "watch.log_names")
    return {"log_command": command, "log_names": names}


def _instance_command(raw: dict, key: str, section: str, default: list[str], placeholders: set[str],
                      names: dict[str, str], names_path: str) -> tuple:
    """An argv run for each Varnish instance (`default` when absent); {name} needs `names`."""
    path = f"{section}.{key}"
    command = read.argv({key: raw.get(key, default)}, key, path, placeholders)
    if any("{name}" in arg for arg in command) and not names:
        raise ConfigError(f"{path}: uses {{name}} but {names_path} is not set: name each "
                          f'instance\'s varnishd -n, e.g. [{names_path}] "127.0.0.1:6082" = "web1"')
    return command


def _instance_names(raw: dict, key: str, path: str) -> dict[str, str]:
    """A table of Varnish admin address = that instance's varnishd -n name."""
    names = raw.get(key, {})
    if not isinstance(names, dict) or not all(isinstance(k, str) and isinstance(v, str) and v
                                              for k, v in names.items()):
        raise ConfigError(f"{path}: should be a table of Varnish admin address = varnishd "
                          '-n name, e.g. "127.0.0.1:6082" = "/var/lib/varnish/web1"')
    return dict(names)


def retire(raw: dict) -> RetireConfig | None:
    if not raw:
        return None
    read.only(raw, "retire", {"after_s", "command", "timeout_s"})
    return RetireConfig(
        after_s=read.seconds(raw, "after_s", 3600, "retire.after_s", minimum=0, maximum=90 * 86400),
        command=read.argv(raw, "command", "retire.command", RETIRE_PLACEHOLDERS),
        timeout_s=read.seconds(raw, "timeout_s", 600, "retire.timeout_s"))


def status(raw: dict | None, watch: WatchConfig | None) -> StatusConfig | None:
    """Per-color counters in `status`: how to run varnishstat for each instance; an empty table
    turns them on with the defaults."""
    if raw is None:
        return None
    read.only(raw, "status", {"stat_command", "names", "timeout_s"})
    names = _instance_names(raw, "names", "status.names") or (watch.log_names if watch else {})
    default = ["varnishstat", "-1", "-j", *(["-n", "{name}"] if names else []), "-f", "VBE.{vcl}.*"]
    command = _instance_command(raw, "stat_command", "status", default, STAT_PLACEHOLDERS, names,
                                "status.names")
    return StatusConfig(stat_command=command, names=names,
                        timeout_s=read.seconds(raw, "timeout_s", 5, "status.timeout_s", maximum=60))


def warmup(raw: dict | None, base_dir: Path, compare_config: CompareConfig | None) -> WarmupConfig | None:
    """[warmup]; an empty table turns it on with the defaults (compare's requests file)."""
    if raw is None:
        return None
    read.only(raw, "warmup", {"requests", "top", "concurrency", "timeout_s", "budget_s"})
    requests = read.file_path(raw, "requests", base_dir, "warmup.requests", must_exist=False)
    if requests is None and compare_config is None:
        raise ConfigError("warmup.requests: is required without [compare], a requests file of GET "
                          "and HEAD lines, e.g. requests = \"warmup/requests.txt\"")
    return WarmupConfig(
        requests=requests or compare_config.requests, from_compare=requests is None,
        top=read.whole(raw, "top", 200, "warmup.top", minimum=1, maximum=100_000),
        concurrency=read.whole(raw, "concurrency", 8, "warmup.concurrency", minimum=1, maximum=256),
        timeout_s=read.seconds(raw, "timeout_s", 10, "warmup.timeout_s", maximum=300),
        budget_s=read.seconds(raw, "budget_s", 60, "warmup.budget_s", maximum=3600))
