"""`aftercare report --html FILE` opened in headless Chromium with the network off: every chart
drawn by the inlined Plotly, no console error, nothing fetched, and the page's numbers are the
report's."""
from __future__ import annotations

from datetime import date

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.report.page import CHART_IDS, render_page
from bot.store.reporting import Period, Reporting
from bot.store.store import Store
from tests.store.shop_fixture import at, write_shop
from tests.support.browser import visit
from tests.support.harness import CONFIG

WEEK = Period(date(2026, 11, 2), date(2026, 11, 8))


@pytest.fixture(scope="module")
def shop_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("page") / "shop.db"
    write_shop(path)
    return path


def test_the_page_is_self_contained_and_draws_every_chart_offline(shop_db, tmp_path):
    page = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["--config", str(CONFIG), "report", "--since", "2026-10-26", "--until",
                                       "2026-11-08", "--html", str(page)],
                                env={"AFTERCARE_DB": str(shop_db)}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    source = page.read_text(encoding="utf-8")
    assert "<script src" not in source.lower() and "plotly.js v" in source.lower()    # Plotly inlined
    seen = visit(page, CHART_IDS)
    assert seen.console_errors == [] and seen.page_errors == []
    assert seen.requests_off_disk == []
    assert set(seen.charts) == set(CHART_IDS)
    for chart_id, chart in seen.charts.items():
        assert chart["traces"] >= 1 and chart["marks"] >= 1, chart_id
        assert chart["width"] > 300 and chart["height"] > 200, chart_id
    assert seen.charts["chart-weekly"]["traces"] == 4          # CSAT, NPS and the answers behind each
    assert seen.charts["chart-themes"]["traces"] == 2          # damaged, defective
    assert "first reply after a median 20 min" in seen.charts["chart-funnel"]["title"]
    # the at-risk table and the customers' words, but never the forgotten customer's
    assert "refund ×1" in seen.text                               # asked for, under the SKU
    assert "Yuki Tanaka" in seen.text and "stopped answering" in seen.text and "the sole came off" in seen.text
    assert "FAY" not in seen.text.upper()


def test_an_empty_period_still_renders_every_chart_saying_so(tmp_path):
    reporting = Reporting(Store.memory().db)
    now = at(30)
    page = tmp_path / "empty.html"
    page.write_text(render_page(reporting.report(WEEK, now), reporting.groups(WEEK, "week", now),
                                reporting.groups(WEEK, "sku", now)), encoding="utf-8")
    seen = visit(page, CHART_IDS)
    assert seen.console_errors == [] and seen.page_errors == []
    assert seen.text.count("no data in this period") == len(CHART_IDS)
    assert "Nobody is at risk." in seen.text
