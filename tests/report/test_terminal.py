"""`aftercare report` in a terminal or a pipe: one row per group within 100 columns, and `--csv`
with every table, its figures equal to `--json`'s."""
from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.report.csv_export import write_csv
from bot.store.store import Store
from tests.store.shop_fixture import Shop, at, write_shop
from tests.support.harness import CONFIG

PRODUCTS = 50


@pytest.fixture(scope="module")
def fifty_products(tmp_path_factory):
    """50 products with long names and long SKUs, each checked in on and scored; a few cases."""
    path = tmp_path_factory.mktemp("fifty") / "shop.db"
    store = Store.open(path)
    shop = Shop(store)
    for n in range(PRODUCTS):
        who = shop.customer(f"C-{n:03d}", f"Customer {n}")
        sku = f"SKU-{n:03d}-EXTRA-LONG-VARIANT-CODE"
        shop.order(f"O{n}", who, sku, "gear", 10.0 + n, at(2))
        store.db.execute("update line_items set product = ? where order_id = ?",
                         [f"Product number {n:03d} with a name far too long for any table cell", f"O{n}"])
        conversation = shop.touch("checkin", f"O{n}", sku, who, at(3 + n % 5), answered=n % 4 != 0)
        if n % 4:
            shop.score(conversation, "csat", 1 + n % 5, at(3 + n % 5, 11), "words " * 30)
        if n % 7 == 0:
            shop.case(conversation, at(3 + n % 5, 12), "defective", "broke " * 40, claim=5, reply=9)
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return path


def report(db, *args: str):
    result = CliRunner().invoke(main, ["--config", str(CONFIG), "report", *args], env={"AFTERCARE_DB": str(db)},
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_by_sku_fits_100_columns_one_row_per_product(fifty_products):
    out = report(fifty_products, "--since", "2026-11-02", "--until", "2026-11-08", "--compare", "--by", "sku")
    lines = out.splitlines()
    too_wide = [line for line in lines if len(line) > 100]
    assert too_wide == []
    header = next(n for n, line in enumerate(lines) if line.startswith("product ") and "CSAT (n)" in line)
    rows = lines[header + 2: header + 2 + PRODUCTS]                       # under the header and its rule
    assert len(rows) == PRODUCTS and all(row.startswith("Product number") for row in rows)   # no wrapped cell
    assert len({row[:3] for row in rows}) == 1 and all("…" in row[:25] for row in rows)     # short names
    # numbers right-aligned: every row's last cell ends in the same column as the header's
    assert {len(row.rstrip()) for row in rows} == {len(lines[header].rstrip())}
    data = json.loads(report(fifty_products, "--since", "2026-11-02", "--until", "2026-11-08", "--by", "sku",
                             "--json"))
    for row, group in zip(rows, data["groups"]):                          # the row's CSAT cell is the JSON's
        csat = group["csat"]
        assert f"{'—' if csat['mean'] is None else format(csat['mean'], 'g')} ({csat['n']})" in row


def test_every_table_also_as_csv_with_the_json_figures(fifty_products, tmp_path):
    args = ("--since", "2026-11-02", "--until", "2026-11-08", "--by", "sku", "--compare")
    out = report(fifty_products, *args, "--csv", str(tmp_path / "csv"))
    data = json.loads(report(fifty_products, *args, "--json"))
    names = sorted(p.name for p in (tmp_path / "csv").iterdir())
    assert names == sorted(["figures.csv", "groups.csv", "previous_groups.csv", "problems.csv", "drivers.csv",
                            "reach_channel.csv", "reach_time.csv", "nps_by_tenure.csv", "testimonials.csv",
                            "tips.csv", "at_risk.csv", "agents.csv"])
    assert "CSV files written to" in out
    with (tmp_path / "csv" / "figures.csv").open(encoding="utf-8") as handle:
        figures = {row["figure"]: row for row in csv.DictReader(handle)}
    assert figures["csat.mean"]["value"] == str(data["overall"]["csat"]["mean"])
    assert figures["checkins_sent"]["value"] == str(data["overall"]["checkins_sent"])
    assert figures["nps.score"]["value"] == ""                                    # no data: an empty cell
    with (tmp_path / "csv" / "groups.csv").open(encoding="utf-8") as handle:
        groups = list(csv.DictReader(handle))
    assert len(groups) == PRODUCTS
    assert [g["sku"] for g in groups] == [g["key"] for g in data["groups"]]
    assert [g["csat.n"] for g in groups] == [str(g["csat"]["n"]) for g in data["groups"]]


def test_markup_in_the_data_is_printed_as_written(tmp_path):
    """A customer's or product's text is data, never rich markup."""
    path = tmp_path / "shop.db"
    store = Store.open(path)
    shop = Shop(store)
    eve = shop.customer("C-EVE", "Eve [/]")
    shop.order("E1", eve, "[bold]SKU", "gear", 10.0, at(2))
    conversation = shop.touch("checkin", "E1", "[bold]SKU", eve, at(3), answered=True)
    shop.score(conversation, "csat", 1, at(3, 11))
    shop.case(conversation, at(3, 12), "defective", "[red]it broke[/red]")
    store.close()
    out = report(path, "--since", "2026-11-02", "--until", "2026-11-08", "--by", "sku")
    assert "“[red]it broke[/red]”" in out and "Eve [/]" in out and "[Bold]Sku" in out


def test_the_hand_computed_shop_reads_the_same(tmp_path):
    path = tmp_path / "shop.db"
    write_shop(path)
    out = report(path, "--since", "2026-11-02", "--until", "2026-11-08", "--compare")
    assert "▼ -1.8" in out                                 # CSAT 2.2 against 4 the week before
    assert "Fixing damaged on Tr2-44 would lift CSAT by 0.3 (1 customer)." in out


def test_the_agents_table_shows_the_desks_figures_in_the_terminal_and_on_the_page(tmp_path):
    """The per-agent figures (computed by the desk's reporting, `report["agents"]`) in one row each."""
    from rich.console import Console

    from bot.report.page import render_page
    from bot.report.terminal import render
    from bot.store.reporting import Period, Reporting

    store = Store.memory()
    data = Reporting(store.db).report(Period(), at(30))
    data["agents"] = [{"agent": "U1", "name": "Kim Park", "cases": 3, "median_minutes_to_claim": 4.0,
                       "median_minutes_to_first_reply": 9.5, "median_minutes_to_resolve": 130.0,
                       "ces": {"n": 2, "mean": 6.5}, "goodwill_codes": 1, "notes": 2}]
    data["by"] = "agent"                          # `--by agent`: the agents' table, not a slice of every figure
    console = Console(width=100, record=True)
    render(console, data, "store.db")
    text = console.export_text()
    assert "By agent" not in text and "Agents: cases claimed" in text
    row = next(line for line in text.splitlines() if line.startswith("Kim Park"))
    assert row.split() == ["Kim", "Park", "3", "4", "min", "10", "min", "2.2", "h", "6.5", "(2)", "1", "2"]
    page = render_page(data, [], [])
    assert '<table id="agents">' in page and "<td>Kim Park</td>" in page and "6.5 (2)" in page
    written = write_csv(tmp_path, data)
    assert (tmp_path / "agents.csv") in written
