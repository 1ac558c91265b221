"""`aftercare report --html FILE` opened in headless Chromium with the network off: every chart
drawn by the inlined Plotly, no console error, nothing fetched, and the page's numbers are the
report's."""
from __future__ import annotations

import json
from datetime import date

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.report.page import CHART_IDS, render_page
from bot.store.reporting import Period, Reporting
from bot.store.store import Store
from tests.store.shop_fixture import Shop, at, write_shop
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


def test_the_onboarding_tips_are_on_the_page_per_product(tmp_path):
    """A category's tip that went out about two products gets a row for each and a total; the
    counts are the report's (`--json`), read off the page Chromium rendered."""
    db = tmp_path / "tips.db"
    store = Store.open(db)
    shop = Shop(store)
    ana, ben, yuki = (shop.customer(ref, name) for ref, name in
                      (("C-ANA", "Ana Silva"), ("C-BEN", "Ben Carter"), ("C-YUKI", "Yuki Tanaka")))
    shop.order("A1", ana, "TR2-44", "footwear", 129.00, at(1))
    shop.order("B1", ben, "SOCKS", "footwear", 10.00, at(1))
    shop.order("B2", ben, "TR2-44", "footwear", 129.00, at(1))
    shop.order("Y1", yuki, "SERUM-30", "skincare", 38.50, at(1))
    for order, sku, who, helpful in (("A1", "TR2-44", ana, True), ("B1", "SOCKS", ben, False),
                                     ("B2", "TR2-44", ben, None)):
        shop.touch("tip_week1", order, sku, who, at(4), answered=helpful is not None,
                   slots={"tip": "tip_week1:footwear", **({} if helpful is None else {"tip_helpful": helpful})})
    shop.touch("tip_day1", "Y1", "SERUM-30", yuki, at(5), answered=True,
               slots={"tip": "tip_day1:SERUM-30", "tip_helpful": True})
    store.close()

    def report(*args: str) -> str:
        result = CliRunner().invoke(main, ["--config", str(CONFIG), "report", "--since", "2026-11-02", "--until",
                                           "2026-11-08", *args], env={"AFTERCARE_DB": str(db)}, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    tips = json.loads(report("--json"))["tips"]
    assert [(t["tip"], t["sent"], t["helpful"], t["not_helpful"]) for t in tips] == [
        ("tip_week1:footwear", 3, 1, 1), ("tip_day1:SERUM-30", 1, 1, 0)]
    page = tmp_path / "report.html"
    report("--html", str(page))
    seen = visit(page, CHART_IDS)
    assert seen.console_errors == [] and seen.page_errors == [] and seen.requests_off_disk == []
    rows = [line.split("\t") for line in seen.text.splitlines() if line.startswith("tip_")]
    assert rows == [["tip_week1:footwear", "Tr2-44 (TR2-44)", "2", "1", "0"],
                    ["tip_week1:footwear", "Socks (SOCKS)", "1", "0", "1"],
                    ["tip_week1:footwear", "all products", "3", "1", "1"],
                    ["tip_day1:SERUM-30", "Serum-30 (SERUM-30)", "1", "1", "0"]]
    assert "tips sent · helpful\n4 · 2" in seen.text


def test_a_period_without_tips_says_so():
    reporting = Reporting(Store.memory().db)
    page = render_page(reporting.report(WEEK, at(30)), [], [])
    assert "No onboarding tips in this period." in page and 'id="tips"' not in page
