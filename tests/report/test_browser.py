"""The HTML report in a real browser: headless Chromium (Debian's ``chromium``) driven
by playwright. Skipped, with the reason, only where no browser can be had.

Each test saves a screenshot to its temporary directory (printed with ``-s``).
"""

from __future__ import annotations

import concurrent.futures
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from flowdsl import MemoryCache
from tests.report._flows import layered_flow, run_small

# Slow: a browser, and a report of 10,000 vertices.
pytestmark = pytest.mark.slow

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed: pip install -e '.[test]'"
)

T = TypeVar("T")

#: Where a Chromium may be (playwright's own download is not used).
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: The 10,000-vertex report is to load and render within 3 s on the project's
#: machine (measured by ``benchmarks/report.py``); here only a gross regression fails.
SANITY_SECONDS = 30.0


def _elsewhere(function: Callable[[], T]) -> T:
    # Playwright's sync API runs an asyncio loop on this thread, and a flow's run
    # that needs a loop of its own cannot start one here: the run goes to a thread.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(function).result()


def _executable() -> str | None:
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = _executable()
    if executable is None:
        pytest.skip("no Chromium on this machine: apt-get install chromium")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield launched
        finally:
            launched.close()


class Page:
    """A page of the browser, with every console error, page error and request kept."""

    def __init__(self, browser: Any) -> None:
        self.page = browser.new_page(viewport={"width": 1300, "height": 900})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("request", lambda request: self.requests.append(request.url))

    def open(self, path: Path) -> float:
        """Open ``path``; return seconds from navigation to the first frame drawn after the
        report's script ran (the browser's own clock)."""
        self.page.goto(path.as_uri(), timeout=120_000)
        self.page.wait_for_selector("body[data-ready]", timeout=120_000)
        drawn: float = self.page.evaluate(
            "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame("
            "() => done(performance.now()))))"
        )
        return drawn / 1000


def _details(page: Any) -> dict[str, str]:
    # The details panel's rows: field to text.
    rows: list[list[str]] = page.evaluate(
        "() => Array.from(document.querySelectorAll('#fd-details tr'))"
        ".map(row => [row.cells[0].textContent, row.cells[1].textContent])"
    )
    return dict(rows)


def test_small_report_shows_its_parts_and_details(browser: Any, tmp_path: Path) -> None:
    store = MemoryCache()
    _elsewhere(lambda: run_small(cache=store))
    result = _elsewhere(lambda: run_small(cache=store))
    path = result.report(tmp_path / "run.html")
    view = Page(browser)
    view.open(path)
    page = view.page
    names = list(result.states)
    assert page.locator(".fd-graph rect[data-v]").count() == len(names)
    assert page.locator(".fd-timeline .fd-b").count() == len(result.timeline.spans)
    assert page.locator(".fd-timeline .fd-b.fd-retried").count() == 1
    assert page.locator(".fd-timeline .fd-b.fd-hit").count() == 1
    assert page.locator(".fd-timeline .fd-skip").count() == 2
    assert page.locator(".fd-graph .fd-n.fd-cp").count() == len(result.timeline.critical_path)
    details = page.locator("#fd-details")
    assert details.is_hidden()

    page.hover(f'.fd-graph rect[data-v="{names.index("fetch")}"]')
    assert details.is_visible()
    assert details.locator("h3").inner_text() == "fetch"
    assert _details(page)["attempts"] == "2"
    assert _details(page)["state"] == "completed"
    lit = page.locator(".fd-hl").count()
    assert lit == 1 + 2  # its box and its two calls

    page.click(f'.fd-graph rect[data-v="{names.index("broken")}"]')
    page.mouse.move(5, 5)  # pinned: moving away keeps it
    assert details.locator("h3").inner_text() == "broken"
    assert "</script><script>alert" in _details(page)["error"]  # shown as text, not run

    page.fill("#fd-find", "review")
    page.press("#fd-find", "Enter")
    assert details.locator("h3").inner_text() == "review"
    assert _details(page)["skipped"] == "condition 'large' was false"

    screenshot = tmp_path / "small.png"
    page.screenshot(path=str(screenshot), full_page=True)
    print(f"screenshot: {screenshot}")
    assert view.errors == []
    assert view.requests == [path.as_uri()]  # nothing fetched from anywhere else


def test_10000_vertices_load_and_render(browser: Any, tmp_path: Path) -> None:
    flow = layered_flow(10_000)
    result = _elsewhere(lambda: flow.run({"x": 1}, backend="thread", max_workers=4))
    started = time.perf_counter()
    path = result.report(tmp_path / "run.html")
    written = time.perf_counter() - started
    view = Page(browser)
    seconds = view.open(path)
    page = view.page
    assert page.locator(".fd-graph rect[data-v]").count() == 10_000
    assert page.locator(".fd-timeline .fd-b").count() == 10_000
    page.hover('.fd-graph rect[data-v="5000"]')
    assert page.locator("#fd-details h3").inner_text() == "v5000"
    screenshot = tmp_path / "layered-10000.png"
    page.screenshot(path=str(screenshot))
    size = path.stat().st_size
    print(
        f"10,000 vertices: written in {written:.2f} s, {size / 1e6:.1f} MB, "
        f"loaded and drawn in {seconds:.2f} s; screenshot: {screenshot}"
    )
    assert view.errors == []
    assert seconds < SANITY_SECONDS
