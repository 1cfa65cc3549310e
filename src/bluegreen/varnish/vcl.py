"""VCL per color: rendering from the template (jinja2, imported only when rendering).

What goes into the template is decided here, in plain functions: backend names that carry color,
host and port (`blue_127_0_0_1_9101`, `green_2001_db8__1_9201`), Varnish durations, ACL entries,
and strings that are safe inside a VCL string literal.
"""

from __future__ import annotations

import re
from pathlib import Path

from bluegreen.config.load import Config, Stage
from bluegreen.errors import ConfigError
from bluegreen.model import COLORS, Address
from bluegreen.varnish.names import vcl_name

TEMPLATES = Path(__file__).parent / "templates"
OBJ_COLOR_HEADER = "X-Bluegreen-Obj-Color"  # on each cached object: the color that made it
OBJ_SITE_HEADER = "X-Bluegreen-Obj-Site"  # and its app/stage, so a ban spares other sites
LOG_KEY = "bluegreen-color"


def backend_name(color: str, address: Address) -> str:
    """The VCL name of a server's backend: color first (fleet.probe_view looks for `color_`)."""
    return f"{color}_{re.sub(r'[^A-Za-z0-9]', '_', address.host)}_{address.port}"


def backends(stage: Stage) -> list[dict]:
    """Every server of both colors, named; a name seen twice gets a suffix (never two alike)."""
    out, seen = [], set()
    for color in COLORS:
        for address in stage.color_servers(color):
            name, n = backend_name(color, address), 1
            while name in seen:
                n += 1
                name = f"{backend_name(color, address)}_{n}"
            seen.add(name)
            out.append({"name": name, "color": color, "host": address.host, "port": address.port})
    return out


def duration(seconds: float) -> str:
    """A VCL duration literal: whole seconds as `2s`, anything finer in milliseconds."""
    if float(seconds).is_integer():
        return f"{int(seconds)}s"
    return f"{max(1, round(seconds * 1000))}ms"


def backend_attrs(attrs: dict) -> dict[str, str]:
    """[vcl.backend] as VCL values: timeouts are durations, max_connections a count."""
    return {key: str(value) if key == "max_connections" else duration(value)
            for key, value in attrs.items()}


def vcl_string(value) -> str:
    """A value inside "..." in VCL, which has no escapes: refuse what would break out of it."""
    text = str(value)
    if '"' in text or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
        raise ConfigError(f"'{text}' cannot go into the VCL: it holds a '\"' or a control character")
    return text


def path_regex(path: str) -> str:
    """The path with or without a query string: /health matches /health and /health?full=1."""
    return "^" + re.escape(path) + ("(&|$)" if "?" in path else r"(\?|$)")


def acl_entry(entry: str) -> str:
    address, _, bits = entry.partition("/")
    return f'"{vcl_string(address)}"' + (f"/{bits}" if bits else "")


def _environment(config: Config):
    import jinja2

    user = config.vcl.template
    loaders = [jinja2.FileSystemLoader(str(TEMPLATES))]
    if user is not None:
        loaders.insert(0, jinja2.FileSystemLoader(str(user.parent)))
    env = jinja2.Environment(loader=jinja2.ChoiceLoader(loaders), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, autoescape=False)
    env.filters.update(vcl_string=vcl_string, duration=duration, path_regex=path_regex,
                       acl_entry=acl_entry)
    return env


def context(config: Config, stage: Stage, color: str) -> dict:
    """Everything a template sees (docs/vcl.md lists it)."""
    v = config.vcl
    return {
        "app": config.app, "stage": stage.name, "color": color, "colors": COLORS,
        "servers": {c: stage.color_servers(c) for c in COLORS}, "backends": backends(stage),
        "preview_from": v.preview_from, "purge_from": v.purge_from, "header": v.preview_header,
        "preview_listener": v.preview_listener,
        "token_file": _token_path(v.preview_token_file),
        "reveal_color": v.reveal_color, "cache_split": v.cache_split,
        "health_path": config.checks.health_path, "version_path": config.checks.version_path,
        "host_header": config.checks.host, "probe": v.probe,
        "backend_attrs": backend_attrs(v.backend),
        "log_key": LOG_KEY, "obj_color_header": OBJ_COLOR_HEADER, "obj_site_header": OBJ_SITE_HEADER,
    }


def _token_path(path) -> str | None:
    """Varnish reads the token itself (std.fileread): only the path goes into the VCL."""
    if path is None:
        return None
    text = str(path)
    if '"' in text or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
        raise ConfigError(f"vcl.preview_token_file: '{text}' cannot go into the VCL: move the "
                          "token to a path without '\"' or control characters")
    return text


def render(config: Config, stage: Stage, color: str) -> str:
    import jinja2

    user = config.vcl.template
    try:
        template = _environment(config).get_template(user.name if user is not None else "site.vcl.j2")
        return template.render(context(config, stage, color))
    except jinja2.TemplateError as exc:
        where = f"{user}" if user is not None else "the built-in template"
        lineno = getattr(exc, "lineno", None)
        line = f" line {lineno}" if lineno else ""
        raise ConfigError(f"vcl.template: {where}{line}: {exc.message}") from None


def render_both(config: Config, stage: Stage) -> dict[str, tuple[str, str]]:
    """{color: (name, source)} for both colors of the stage."""
    out = {}
    for color in COLORS:
        source = render(config, stage, color)
        out[color] = (vcl_name(config.app, stage.name, color, source), source)
    return out


def ban_of_color(app: str, stage: str, color: str) -> str:
    """The ban (lurker-friendly: obj.* only) of one color's cached objects of one app and stage."""
    return (f"obj.http.{OBJ_COLOR_HEADER} == {color} && "
            f"obj.http.{OBJ_SITE_HEADER} == {app}/{stage}")
