"""Redraw docs/img/report.png, the README's picture of `aftercare report --html`.

Usage (after `make run`, whose store is kept at data/last-run.db):
    AFTERCARE_DB=data/last-run.db .venv/bin/aftercare report --html /tmp/report.html
    .venv/bin/python scripts/report_screenshot.py /tmp/report.html docs/img/report.png
Needs Debian's chromium (apt-get install chromium); the page is opened offline.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright


def main(page: Path, out: Path, width: int = 1280, keep_width: int = 900) -> None:
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as p:
        shot = Path(folder) / "full.png"
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        context = browser.new_context(offline=True, viewport={"width": width, "height": 900})
        tab = context.new_page()
        tab.goto(page.resolve().as_uri(), wait_until="load")
        tab.wait_for_selector("#chart-reach-hour .main-svg")
        tab.screenshot(path=str(shot), full_page=True)
        browser.close()
        image = Image.open(shot).convert("RGB")
        image = image.resize((keep_width, round(image.height * keep_width / image.width)), Image.LANCZOS)
        out.parent.mkdir(parents=True, exist_ok=True)
        image.quantize(colors=128, method=Image.MEDIANCUT).save(out, optimize=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
