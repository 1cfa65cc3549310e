"""Small typed readers for bluegreen.toml: each checks one value and names its key path when wrong.

Every number of seconds is finite and bounded (no `inf`, `nan` or 1e300), every name and path
pattern is matched to the true end of the string (no trailing newline slips through).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from bluegreen.errors import ConfigError
from bluegreen.model import show, shown_url

NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,39}")
HEADER_RE = re.compile(r"[A-Za-z0-9-]{1,64}")
PATH_RE = re.compile(r"/[!-~]*")
DAY_S = 86400.0


def only(raw: dict, where: str, allowed: set[str]) -> None:
    for key in raw:
        if key not in allowed:
            key = show(key)
            path = f"{where}.{key}" if where else key
            raise ConfigError(f"{path}: unknown key; expected one of {', '.join(sorted(allowed))}")


def table(raw: dict, key: str, where: str = "") -> dict:
    value = raw.get(key, {})
    path = f"{where}.{key}" if where else key
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: should be a table ([{path}])")
    return value


def name(raw: dict, key: str, path: str, required: bool = False, default: str | None = None) -> str:
    value = raw.get(key, default)
    if value is None and required:
        raise ConfigError(f"{path}: is required, e.g. {key} = \"shop\"")
    if not isinstance(value, str) or not NAME_RE.fullmatch(value):
        raise ConfigError(f"{path}: should start with a letter and hold only letters, digits, "
                          "'-' and '_' (at most 40)")
    return value


def string(raw: dict, key: str, default, path: str) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{path}: should be a non-empty string")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ConfigError(f"{path}: should hold no control characters (a newline, a tab)")
    return value


def url_path(raw: dict, key: str, default: str, path: str) -> str:
    value = string(raw, key, default, path)
    if not PATH_RE.fullmatch(value) or '"' in value or "\\" in value:
        raise ConfigError(f"{path}: '{value}' should be a URL path starting with '/' "
                          "(printable, no spaces, no quotes)")
    return value


def header(raw: dict, key: str, default: str, path: str) -> str:
    value = string(raw, key, default, path)
    if not HEADER_RE.fullmatch(value):
        raise ConfigError(f"{path}: '{value}' should be a header name (letters, digits, '-')")
    return value


def str_list(raw: dict, key: str, default, path: str) -> list[str]:
    value = raw.get(key, default)
    if value is None:
        raise ConfigError(f"{path}: is required, a list of strings")
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{path}: should be a list of non-empty strings")
    return value


def argv(raw: dict, key: str, path: str, placeholders: set[str], required: bool = False,
         example: str | None = None) -> tuple:
    """An argv list (no shell), each {placeholder} one of `placeholders`; () when absent.

    `example` (the value of a right one) is shown in every message about it."""
    if key not in raw and not required:
        return ()
    hint = f", e.g. {key} = {example}" if example else ""
    values = raw.get(key)
    if values is None:
        raise ConfigError(f"{path}: is required, a list of strings{hint}")
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise ConfigError(f"{path}: should be a list of non-empty strings (an argv, no shell){hint}")
    if not values:
        raise ConfigError(f"{path}: should be a non-empty argv list"
                          + (hint or ', e.g. ["./deploy.sh", "{host}"]'))
    for arg in values:
        for found in re.findall(r"\{([^{}]*)\}", arg):
            if found not in placeholders:
                known = ", ".join("{" + p + "}" for p in sorted(placeholders)) or "none"
                raise ConfigError(f"{path}: unknown placeholder {{{found}}}; use {known}{hint}")
    return tuple(values)


def seconds(raw: dict, key: str, default, path: str, minimum: float = 0.001,
            maximum: float = DAY_S) -> float:
    """A finite number of seconds within [minimum, maximum]."""
    return number(raw, key, default, path, minimum, maximum, "a number of seconds")


def number(raw: dict, key: str, default, path: str, minimum: float, maximum: float,
           what: str = "a number") -> float:
    value = raw.get(key, default)
    if not finite(value) or not minimum <= value <= maximum:
        raise ConfigError(f"{path}: should be {what} from {minimum:g} to {maximum:g}")
    return float(value)


def finite(value) -> bool:
    """A number that is no bool, no inf or nan, and fits a float (10**400 does not)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if isinstance(value, int):
        return abs(value) < 1e300
    return math.isfinite(value)


def whole(raw: dict, key: str, default, path: str, minimum: int, maximum: int = 1_000_000) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise ConfigError(f"{path}: should be a whole number from {minimum} to {maximum}")
    return value


def boolean(raw: dict, key: str, default: bool, path: str) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{path}: should be true or false")
    return value


def choice(raw: dict, key: str, default: str, path: str, allowed: tuple[str, ...]) -> str:
    value = raw.get(key, default)
    if value not in allowed:
        raise ConfigError(f"{path}: should be one of {', '.join(repr(a) for a in allowed)}")
    return value


def resolve(base_dir: Path, value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else base_dir / path


def file_path(raw: dict, key: str, base_dir: Path, path: str, must_exist: bool = True) -> Path | None:
    """An optional file, relative to the configuration file; None when the key is absent."""
    if key not in raw:
        return None
    found = resolve(base_dir, string(raw, key, None, path))
    try:
        exists = found.is_file()
    except OSError as exc:
        raise ConfigError(f"{path}: {show(found)} cannot be used as a file name ({exc.strerror})") from None
    if must_exist and not exists:
        raise ConfigError(f"{path}: file {show(found)} not found")
    return found


def database_url_fault(url: str) -> str | None:
    """What in a database URL a driver would misread (and quote back, password included), and
    how to write it; None when nothing."""
    rest = url.partition("://")[2]
    userinfo = rest.rpartition("@")[0]
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        return "holds a space or a control character: percent-encode it (a space is %20)"
    if re.search(r"%(?![0-9A-Fa-f]{2})", url):
        return "holds a '%' that is not followed by two hex digits: write a '%' as %25"
    if "@" in userinfo:
        return "holds more than one '@': write an '@' in the user or the password as %40"
    if any(ch in userinfo for ch in "/?#[]"):
        return ("holds a '/', '?', '#', '[' or ']' before its '@': percent-encode it in the user "
                "or the password (%2F, %3F, %23, %5B, %5D)")
    if rest.count("[") != rest.count("]"):
        return "opens an IPv6 address with '[' and does not close it: write [::1]"
    return None


def url_with_credentials(url: str, path: str) -> tuple[str, tuple[str, str] | None]:
    """An http(s) URL split into (the URL without user:password@, (user, password) or None): the
    URL is shown in every message and record, the credentials never."""
    from urllib.parse import unquote, urlsplit

    shown = shown_url(url)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (a port that is no number raises here)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{path}: '{shown}' should be a URL, e.g. "
                          "http://127.0.0.1:9090")
    userinfo, _at, hostport = parts.netloc.rpartition("@")
    clean = parts._replace(netloc=hostport).geturl()
    if not userinfo:
        return clean, None
    user, colon, password = userinfo.partition(":")
    if not colon:
        raise ConfigError(f"{path}: '{shown}' names a user without a password: "
                          f"write user:password@, or set {path}_auth_file")
    return clean, (unquote(user), unquote(password))
