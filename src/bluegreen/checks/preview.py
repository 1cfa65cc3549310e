"""How bluegreen asks Varnish for one color: the preview request of verify and compare.

Trust in the preview header rests on up to three things, all configured in [vcl] and enforced by
the VCL: the client address (`preview_from`), a dedicated listener (`preview_listener`, whose
addresses are `stages.S.preview`), and a secret token sent in the header's value
(`preview_token_file`, read here and by Varnish's std.fileread; never printed).
"""

from __future__ import annotations

import os

from bluegreen.config.load import Config, Stage
from bluegreen.errors import ConfigError
from bluegreen.model import Address

TOKEN_ENV = "BLUEGREEN_PREVIEW_TOKEN_FILE"
MIN_TOKEN = 16


def addresses(stage: Stage) -> tuple[Address, ...]:
    """Where previews go: the preview listeners when configured, else the fronts."""
    return stage.preview or stage.front


def headers(config: Config, color: str, token: str | None) -> dict[str, str]:
    """The headers of a request for `color` (with the token, if any; and checks.host)."""
    value = f"{color}:{token}" if token else color
    out = {config.vcl.preview_header: value}
    if config.checks.host:
        out["Host"] = config.checks.host
    return out


def read_token(config: Config, environ=os.environ) -> str | None:
    """The preview token, from BLUEGREEN_PREVIEW_TOKEN_FILE or vcl.preview_token_file; None if unset."""
    path = environ.get(TOKEN_ENV) or config.vcl.preview_token_file
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            token = fh.read().strip()
    except OSError as exc:
        raise ConfigError(f"vcl.preview_token_file: cannot read {path} ({exc.strerror}): point it "
                          f"(or {TOKEN_ENV}) at the token file Varnish reads too") from None
    if len(token) < MIN_TOKEN or any(ch.isspace() or ord(ch) < 0x21 or ch in ':"' for ch in token):
        raise ConfigError(f"vcl.preview_token_file: the token in {path} should be at least "
                          f"{MIN_TOKEN} printable characters, with no spaces, ':' or '\"'")
    return token
