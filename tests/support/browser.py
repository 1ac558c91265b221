"""A real headless Chromium (Debian's `chromium`, driven by Playwright) with the network off:
opens a local page and reports what rendered, what the console said, and what it tried to fetch."""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pytest

CHROMIUM = os.environ.get("AFTERCARE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def need_chromium() -> str:
    """The browser's path. A missing browser fails the test, in CI and on a developer's machine
    alike (the page is never left unchecked): `.ci/run` installs it, elsewhere apt-get does."""
    if CHROMIUM:
        return CHROMIUM
    pytest.fail("chromium is not installed, so the report page cannot be checked: "
                "apt-get install chromium (Debian's package; .ci/run installs it when missing)")


@dataclass
class PageVisit:
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests_off_disk: list[str] = field(default_factory=list)
    charts: dict[str, dict] = field(default_factory=dict)
    text: str = ""
    figures: list[dict] = field(default_factory=list)      # every number tagged with its place in the JSON
    overflowing: list[str] = field(default_factory=list)    # elements reaching past the viewport's right edge
    page_width: int = 0                                     # the document's scroll width


def visit(page_file: Path, chart_ids: tuple[str, ...], screenshot: Optional[Path] = None,
          width: int = 1280) -> PageVisit:
    """Open `page_file` offline; for each chart id: whether Plotly drew it, its traces and its size."""
    from playwright.sync_api import sync_playwright

    chromium = need_chromium()
    out = PageVisit()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--no-proxy-server"])
        try:
            context = browser.new_context(offline=True, viewport={"width": width, "height": 900})
            page = context.new_page()
            page.on("console", lambda m: out.console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: out.page_errors.append(str(e)))

            def only_disk(route) -> None:
                if route.request.url.startswith("file:"):
                    route.continue_()
                else:
                    out.requests_off_disk.append(route.request.url)
                    route.abort()

            page.route("**/*", only_disk)
            page.goto(page_file.resolve().as_uri(), wait_until="load")
            for chart_id in chart_ids:
                page.wait_for_selector(f"#{chart_id} .main-svg", timeout=15_000)
                out.charts[chart_id] = page.evaluate("""id => {
                    const el = document.getElementById(id);
                    const svg = el.querySelector('.main-svg');
                    const box = svg.getBoundingClientRect();
                    return {traces: (el._fullData || []).length, width: box.width, height: box.height,
                            title: (el.querySelector('.gtitle') || {}).textContent || '',
                            marks: el.querySelectorAll('.trace path, .trace .point, .funnel path, .bars path').length,
                            points: (el._fullData || []).reduce((n, t) => n + (t.visible === false ? 0 :
                                (t.type === 'funnel' || t.orientation === 'h' ? (t.x || []) : (t.y || []))
                                .filter(v => v !== null && v !== undefined).length), 0),
                            notes: Array.from(el.querySelectorAll('.annotation-text')).map(a => a.textContent)};
                }""", chart_id)
            out.text = page.inner_text("body")
            out.figures = page.evaluate("""() => Array.from(document.querySelectorAll('[data-json]')).map(e => (
                {path: e.dataset.json, kind: e.dataset.kind, value: e.dataset.value, text: e.textContent}))""")
            out.page_width = page.evaluate("() => document.documentElement.scrollWidth")
            out.overflowing = page.evaluate("""width => Array.from(document.querySelectorAll('body *'))
                .filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.right > width + 0.5; })
                .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + e.className
                          + ' right=' + Math.round(e.getBoundingClientRect().right))""", width)
            if screenshot:
                page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return out
