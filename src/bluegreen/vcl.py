"""VCL per color: rendering from the template (jinja2, imported only when rendering)."""

from __future__ import annotations

from pathlib import Path

from bluegreen.config import COLORS, Config, Stage
from bluegreen.errors import ConfigError
from bluegreen.names import vcl_name

TEMPLATES = Path(__file__).parent / "templates"


def render(config: Config, stage: Stage, color: str) -> str:
    import jinja2

    user = config.vcl.template
    loaders = [jinja2.FileSystemLoader(str(TEMPLATES))]
    if user is not None:
        loaders.insert(0, jinja2.FileSystemLoader(str(user.parent)))
    env = jinja2.Environment(loader=jinja2.ChoiceLoader(loaders), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, autoescape=False)
    try:
        template = env.get_template(user.name if user is not None else "site.vcl.j2")
        return template.render(
            app=config.app, stage=stage.name, color=color, colors=COLORS,
            servers={c: stage.color_servers(c) for c in COLORS},
            preview_from=config.vcl.preview_from, header=config.vcl.preview_header,
            health_path=config.checks.health_path, version_path=config.checks.version_path,
            probe_timeout=f"{max(0.1, min(config.checks.timeout_s, 5.0)):g}s",
        )
    except jinja2.TemplateError as exc:
        where = f"{user}" if user is not None else "the built-in template"
        line = f" line {exc.lineno}" if getattr(exc, "lineno", None) else ""
        raise ConfigError(f"vcl.template: {where}{line}: {exc.message}") from None


def render_both(config: Config, stage: Stage) -> dict[str, tuple[str, str]]:
    """{color: (name, source)} for both colors of the stage."""
    out = {}
    for color in COLORS:
        source = render(config, stage, color)
        out[color] = (vcl_name(config.app, stage.name, color, source), source)
    return out
