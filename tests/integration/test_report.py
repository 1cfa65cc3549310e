"""The stage report as a person sees it in Jenkins, and the summary line."""

from __future__ import annotations

import re

from PIL import Image

from tests.helpers.browser import CSPServer, blocked, render

BLUE_BANNER = (0x1F, 0x5F, 0xBF)
GREEN_BANNER = (0x1F, 0x8A, 0x4C)


class TestReportInBrowser:
    """Rendered by headless Chromium under Jenkins' CSP: styled, and nothing blocked."""

    def test_stylesheet_applies_and_nothing_is_blocked(self, site, tmp_path):
        site.release("1.0.0")
        site.release("1.1.0")
        folder = site.out / "test"
        (folder / "control.html").write_text(  # proves the detector sees a violation
            '<!DOCTYPE html><link rel="stylesheet" href="report.css"><p style="color:red">x</p>')
        with CSPServer(folder) as server:
            log = render(server.url("report.html"), tmp_path / "report.png", tmp_path / "p1")
            control = render(server.url("control.html"), tmp_path / "control.png", tmp_path / "p2")
            assert "/report.css" in server.requested
        assert blocked(control), "the control page's inline style must be reported as blocked"
        assert blocked(log) == []
        image = Image.open(tmp_path / "report.png").convert("RGB")
        assert image.getpixel((10, 10)) == GREEN_BANNER, "the banner is styled in the live color"

    def test_report_has_no_inline_style_script_or_external_resource(self, site):
        site.release("1.0.0")
        html = (site.out / "test" / "report.html").read_text()
        assert "<script" not in html and "style=" not in html and "<style" not in html
        assert not re.search(r'(href|src)="(https?:)?//', html)
        assert 'href="report.css"' in html
        assert (site.out / "test" / "report.css").exists()


class TestContent:
    """What the report and summary say."""

    def test_hostile_release_string_shows_as_text(self, site):
        hostile = '<script>alert("x")</script><b>1.0</b>'
        site.release(hostile)
        html = (site.out / "test" / "report.html").read_text()
        assert hostile not in html
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;b&gt;1.0&lt;/b&gt;" in html

    def test_report_holds_the_facts(self, site):
        site.release("1.0.0")
        site.release("1.1.0")
        html = (site.out / "test" / "report.html").read_text()
        for fact in ("live now", "live before", "switch window", "rollback", "Recent history",
                     "Checks of green 1.1.0", "1.0.0", "1.1.0", str(site.varnish.admin)):
            assert fact in html, fact
        summary = (site.out / "test" / "summary.txt").read_text().strip()
        assert re.fullmatch(r"test: LIVE green 1\.1\.0 \(switch window \d+\.\d\d ms\), "
                            r"rollback to blue 1\.0\.0 ready", summary), summary

    def test_build_from_jenkins_is_linked(self, site):
        site.monkeypatch.setenv("BUILD_NUMBER", "42")
        site.monkeypatch.setenv("BUILD_URL", "https://ci.example/job/shop/42/")
        site.release("1.0.0")
        state = site.state()
        assert state["build"] == {"number": 42, "url": "https://ci.example/job/shop/42/"}
        html = (site.out / "test" / "report.html").read_text()
        assert '<a href="https://ci.example/job/shop/42/">#42</a>' in html
