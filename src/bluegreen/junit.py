"""JUnit XML for verify and compare, valid against the Jenkins xUnit plugin's junit-10.xsd."""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from dataclasses import dataclass

# XML 1.0 forbids most control characters even escaped; replace them so the file always parses.
_BAD = dict.fromkeys([*range(0, 9), 11, 12, *range(14, 32)], "?")


@dataclass
class Check:
    """One verification: what was checked, where, whether it passed, and what was seen."""

    name: str
    ok: bool
    detail: str
    seconds: float = 0.0
    group: str = "server"
    skipped: bool = False

    def as_dict(self) -> dict:
        return {"name": self.name, "ok": self.ok, "detail": self.detail,
                "seconds": round(self.seconds, 3), "group": self.group, "skipped": self.skipped}


def _clean(text: str) -> str:
    return str(text).translate(_BAD)


def render(stage: str, color: str, release: str, checks: list[Check], timestamp: str,
           step: str = "verify") -> str:
    failures = sum(1 for c in checks if not c.ok)
    suite = ET.Element("testsuite", {
        "name": _clean(f"bluegreen {step} {stage} {color} {release}"),
        "tests": str(len(checks)), "failures": str(failures), "errors": "0",
        "skipped": str(sum(1 for c in checks if c.skipped)),
        "time": f"{sum(c.seconds for c in checks):.3f}", "timestamp": timestamp,
        "hostname": socket.gethostname(),
    })
    props = ET.SubElement(suite, "properties")
    for name, value in (("stage", stage), ("color", color), ("release", release)):
        ET.SubElement(props, "property", {"name": name, "value": _clean(value)})
    for check in checks:
        case = ET.SubElement(suite, "testcase", {
            "name": _clean(check.name), "classname": _clean(f"{stage}.{check.group}"),
            "time": f"{check.seconds:.3f}"})
        if check.skipped:
            ET.SubElement(case, "skipped", {"message": _clean(check.detail)})
        elif not check.ok:
            failure = ET.SubElement(case, "failure", {"message": _clean(check.detail),
                                                      "type": "CheckFailed"})
            failure.text = _clean(check.detail)
        else:
            out = ET.SubElement(case, "system-out")
            out.text = _clean(check.detail)
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
