"""What a switch moves on each instance: the active VCL (mode "vcl", `vcl.use`) or a label that the
operator's own active VCL routes to (mode "label", `vcl.label`). Both read what is live from
`vcl.list -j` entries and name the command that moves it; the fleet's two phases are the same."""

from __future__ import annotations

from bluegreen.varnish.admin import named


class ActiveVcl:
    """Mode "vcl": what is live is the active VCL; `vcl.use` moves it."""

    kind = "active VCL"

    def live(self, entries: list[dict]) -> str | None:
        return next((e["name"] for e in entries if e.get("status") == "active"), None)

    def move(self, name: str) -> str:
        return f"vcl.use {named(name)}"


class Label:
    """Mode "label": what is live is the VCL the label points to; `vcl.label` moves it."""

    kind = "label"

    def __init__(self, label: str):
        self.label = named(label)

    def live(self, entries: list[dict]) -> str | None:
        for e in entries:
            if e.get("name") == self.label and e.get("state") == "label":
                target = e.get("label")
                return target.get("name") if isinstance(target, dict) else None
        return None

    def move(self, name: str) -> str:
        return f"vcl.label {self.label} {named(name)}"
