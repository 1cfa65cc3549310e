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


def render_watch(stage: str, record: dict, on_inconclusive: str, timestamp: str) -> str:
    """junit-watch.xml: one case per interval of a watch; an inconclusive interval is skipped
    when on_inconclusive is "pass", a failure otherwise."""
    intervals = record.get("intervals") or []
    unsure_fails = on_inconclusive != "pass"
    failed = [i for i in intervals if i["verdict"] == "fail"
              or (i["verdict"] == "inconclusive" and unsure_fails)]
    skipped = [i for i in intervals if i["verdict"] == "inconclusive" and not unsure_fails]
    errors = 1 if record.get("exit") == 3 else 0
    suite = ET.Element("testsuite", {
        "name": _clean(f"bluegreen watch {stage} {record.get('color')} {record.get('release')}"),
        "tests": str(len(intervals) + errors), "failures": str(len(failed)), "errors": str(errors),
        "skipped": str(len(skipped)), "time": f"{len(intervals) * _interval(record):.3f}",
        "timestamp": timestamp, "hostname": socket.gethostname(),
    })
    props = ET.SubElement(suite, "properties")
    for name in ("color", "release", "source", "verdict", "why"):
        ET.SubElement(props, "property", {"name": name, "value": _clean(record.get(name) or "")})
    for entry in intervals:
        case = ET.SubElement(suite, "testcase", {
            "name": f"interval {entry['n']}", "classname": _clean(f"{stage}.watch"),
            "time": f"{_interval(record):.3f}"})
        detail = _clean(f"{entry['requests']} requests, {entry['errors']} errors, share "
                        f"{entry['share']}, threshold {entry['threshold']}: {entry['verdict']} "
                        f"({entry['why']})")
        if entry in skipped:
            ET.SubElement(case, "skipped", {"message": detail})
        elif entry in failed:
            failure = ET.SubElement(case, "failure", {"message": detail, "type": entry["verdict"]})
            failure.text = detail
        else:
            ET.SubElement(case, "system-out").text = detail
    if errors:
        case = ET.SubElement(suite, "testcase", {"name": "source", "classname": _clean(f"{stage}.watch"),
                                                 "time": "0.000"})
        ET.SubElement(case, "error", {"message": _clean(record.get("why") or ""),
                                      "type": "MetricsError"}).text = _clean(record.get("why") or "")
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"


def _interval(record: dict) -> float:
    return (record.get("settings") or {}).get("interval_s") or 0.0
