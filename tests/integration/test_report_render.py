"""The report as a person sees it: built from a real recorded game day and opened in headless
Chromium (Debian's package, network cut, tests/browser.py), it renders with no console error and
no failed load, shows its title and every verdict, and draws its charts; a full-page screenshot
is kept under runs/screenshots/<test>.png to look at. The detector's own test opens a page that
does throw and does load from outside, so that a clean report means something."""

import json

import pytest

from edge.rundir import RunDir
from reports.build import build_report
from tests.browser import render
from tests.integration.local import REPO
from tests.recorded import recorded_run

SCREENSHOTS = REPO / "runs/screenshots"
CHART_SIZES = ("[...document.querySelectorAll('svg.chart')]"
               ".map(svg => { const box = svg.getBoundingClientRect(); return [box.width, box.height]; })")


@pytest.mark.timeout(120)
def test_report_renders_without_console_errors(tmp_path, request):
    run = recorded_run("node-failure-failover", tmp_path)
    verdicts = RunDir(run).record["verdicts"]  # recorded before verdicts had their check apart: named anew
    title = json.loads((run / "journal.json").read_text())["experiment"]["title"]

    page = render(build_report(run), screenshot=SCREENSHOTS / f"{request.node.name}.png",
                  queries={"charts": CHART_SIZES})

    assert page.errors == [], f"console errors; the whole console: {page.console}"
    assert page.failed_loads == []
    assert title in page.title and title in page.text
    assert [v["name"] for v in verdicts if v["name"] not in page.text] == [], "verdicts not shown"
    assert any(width > 0 and height > 0 for width, height in page.values["charts"]), page.values["charts"]
    assert page.screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


BROKEN_PAGE = """<!doctype html><title>broken</title><p>shown</p>
<script>console.error("said an error"); throw new Error("thrown on purpose")</script>
<img src="http://example.invalid/x.png"><img src="not-there.png">"""


@pytest.mark.timeout(120)
def test_detector_sees_errors_and_failed_loads(tmp_path):
    """The same detector on a page that throws and loads from the network and a missing file."""
    broken = tmp_path / "broken.html"
    broken.write_text(BROKEN_PAGE)

    page = render(broken)

    assert page.text == "shown"
    assert any("said an error" in e for e in page.errors), page.errors
    assert any("thrown on purpose" in e for e in page.errors), page.errors
    failed = "\n".join(page.failed_loads)
    assert "http://example.invalid/x.png: net::ERR_NAME_NOT_RESOLVED" in failed
    assert "not-there.png: net::ERR_FILE_NOT_FOUND" in failed
