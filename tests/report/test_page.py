"""`aftercare report --html FILE` opened in headless Chromium (never skipped: a missing browser
fails) with the network off: every chart drawn with data points by the inlined Plotly, no console
error, nothing fetched, every number on the page equal to `--json`'s, nothing wider than a 1280 px
window; screenshots of the overall, `--by sku` and `--compare` pages land in build/report-screenshots/."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.report.page import CHART_IDS, render_page
from bot.store.reporting import Period, Reporting
from bot.store.store import Store
from tests.store.shop_fixture import Shop, at, write_shop
from tests.support.browser import visit
from tests.report.busy_shop import write_busy_shop
from tests.support.harness import CONFIG, ROOT

WEEK = Period(date(2026, 11, 2), date(2026, 11, 8))


SCREENSHOTS = ROOT / "build" / "report-screenshots"      # `make test` leaves the pictures here to look at
VIEWS = {"overall": (), "by-sku": ("--by", "sku"), "compare": ("--compare",)}


@pytest.fixture(scope="module")
def shop_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("page") / "shop.db"
    write_shop(path)
    return path


@pytest.fixture(scope="module")
def busy_db(tmp_path_factory):
    return write_busy_shop(tmp_path_factory.mktemp("busy") / "busy.db")


def cli(db: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["--config", str(CONFIG), "report", *args], env={"AFTERCARE_DB": str(db)},
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def as_shown(value, kind: str) -> str:
    """How a reader should see a JSON value (written here apart from the page's own formatting)."""
    if value is None:
        return "—"
    if kind == "pct":
        return f"{round(100 * value)}%"
    if kind == "min":
        return f"{value:.0f} min" if value < 120 else f"{value / 60:.1f} h"
    return f"{value:g}"


def resolve(data, path: str):
    for part in path.split("/"):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


@pytest.mark.parametrize("view", list(VIEWS))
def test_each_view_draws_every_chart_shows_the_json_and_fits_1280_px(busy_db, tmp_path, view):
    args = ("--since", "2026-11-02", "--until", "2026-11-08", *VIEWS[view])
    page = tmp_path / f"{view}.html"
    cli(busy_db, *args, "--html", str(page))
    data = json.loads(cli(busy_db, *args, "--json"))
    source = page.read_text(encoding="utf-8")
    assert "<script src" not in source.lower() and "plotly.js v" in source.lower()    # Plotly inlined
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / f"report-{view}.png"
    seen = visit(page, CHART_IDS, screenshot=shot, width=1280)
    assert shot.stat().st_size > 50_000
    assert seen.console_errors == [] and seen.page_errors == [] and seen.requests_off_disk == []
    assert set(seen.charts) == set(CHART_IDS)
    for chart_id, chart in seen.charts.items():
        assert chart["points"] >= 1 and chart["marks"] >= 1, chart_id           # data points, drawn
        assert chart["width"] > 300 and chart["height"] > 200, chart_id
    # every number on the page is the JSON's, shown as a person reads it
    assert len(seen.figures) >= 60
    for number in seen.figures:
        value = resolve(data, number["path"])
        assert json.loads(number["value"]) == value, number
        assert number["text"] == as_shown(value, number["kind"]), number
    traced = {n["path"] for n in seen.figures}
    for key in ("checkins_sent", "responses", "response_rate", "csat/mean", "csat/n", "nps/score", "ces/mean",
                "escalation_rate", "cases/opened", "cases/sla_breaches", "reviews/requested", "upsells/offered",
                "replenishment/offered", "referrals/asked", "referrals/rate", "opt_outs", "unreachable",
                "csat/distribution/1", "csat/distribution/5", "nps/passives"):
        assert f"overall/{key}" in traced, key                                  # every overall figure
    assert seen.overflowing == [] and seen.page_width <= 1280
    if view == "by-sku":
        assert {n["path"].split("/")[1] for n in seen.figures if n["path"].startswith("groups/")} == {
            str(i) for i in range(len(data["groups"]))}                        # a row per product
        assert "Noise Cancelling Headphones 700 NCH-700" in seen.text           # the name, the SKU as a hint
    if view == "compare":
        assert any(n["path"] == "previous/overall/csat/mean" for n in seen.figures)
        assert "▲ +0.92 from 3.47" in seen.text                                # CSAT 4.39 against 3.47
    sentence = next(d for d in data["drivers"])
    assert f"would lift CSAT by {sentence['csat']['impact']:g}" in seen.text


def test_a_mean_of_fewer_than_3_answers_is_a_gap_with_a_note(shop_db, tmp_path):
    """The hand-computed shop: the week before has one CSAT answer, so its week has no point."""
    page = tmp_path / "report.html"
    cli(shop_db, "--since", "2026-11-02", "--until", "2026-11-08", "--compare", "--html", str(page))
    seen = visit(page, CHART_IDS)
    assert seen.console_errors == [] and seen.page_errors == []
    weekly = seen.charts["chart-csat-weekly"]
    assert weekly["traces"] == 1 and weekly["points"] == 1                     # 11-02 (n=5); 10-26 (n=1) a gap
    assert "A week with fewer than 3 answers shows no mean (a gap)" in seen.text
    assert seen.charts["chart-nps-weekly"]["points"] == 0 and "every week has fewer than 3 answers" in seen.text
    # problem types only: the human-reason case is not a problem
    assert seen.charts["chart-problems"]["traces"] == 2                        # damaged, defective
    assert "Fixing damaged on Tr2-44 would lift CSAT by 0.3 (1 customer)." in seen.text
    assert "the sole came off" in seen.text and "asked for refund ×1" in seen.text
    assert "Yuki Tanaka" in seen.text and "stopped answering" in seen.text
    assert "FAY" not in seen.text.upper()                                      # the forgotten customer


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
