"""The names of our VCLs: readable, carrying app, stage and color, and unambiguous.

    shop_prod_blue_a1b2c33f9a2c1d
    app  stage color  ^^^^^^ tag of (app, stage)   ^^^^^^^^ hash of the content

`_` separates the parts and may also appear inside app and stage names (app `shop` stage `eu_prod`
and app `shop_eu` stage `prod` read alike), so the tag, a hash of the exact (app, stage), tells
them apart: housekeeping of one never touches the other's VCLs. Names made by bluegreen 0.1
(no tag) are still recognised as live colors, but never discarded, since they can be ambiguous.
Pure and cheap: `switch` uses it.
"""

from __future__ import annotations

import hashlib
import re

COLOR_GROUP = r"(blue|green)"


def tag(app: str, stage: str) -> str:
    return hashlib.sha256(f"{app}\0{stage}".encode()).hexdigest()[:6]


def vcl_name(app: str, stage: str, color: str, source: str) -> str:
    """The same content gets the same name, so loading it twice is a no-op."""
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()[:8]
    return f"{app}_{stage}_{color}_{tag(app, stage)}{digest}"


def color_of(app: str, stage: str, name: str | None) -> str | None:
    """The color a VCL of ours makes live, or None for a VCL this tool did not make."""
    if not name:
        return None
    prefix = re.escape(f"{app}_{stage}_") + COLOR_GROUP + "_"
    m = re.fullmatch(prefix + tag(app, stage) + r"[0-9a-f]{8}", name) or \
        re.fullmatch(prefix + r"[0-9a-f]{8}", name)
    return m.group(1) if m else None


def discardable_color(app: str, stage: str, name: str | None) -> str | None:
    """The color of a VCL housekeeping may discard: ours, tagged for exactly this app and stage."""
    if not name:
        return None
    m = re.fullmatch(re.escape(f"{app}_{stage}_") + COLOR_GROUP + "_" + tag(app, stage)
                     + r"[0-9a-f]{8}", name)
    return m.group(1) if m else None


def rendered(name: str, source: str) -> bool:
    """Whether `source` (as `vcl.show` gives it) is the content the VCL's name was made from."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:8] == name[-8:]
