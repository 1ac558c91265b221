"""Issue #24, finding 6: data never reaches Rich as markup. A customer named `Eve [/]` (and a SKU
words and product names with brackets) made `aftercare report` exit 1 with a MarkupError; now every name, SKU,
quote and column heading is shown as typed."""
from __future__ import annotations

import sqlite3
from pathlib import Path

from click.testing import CliRunner

from bot.cli import main
from tests.store.shop_fixture import write_shop
from tests.support.harness import CONFIG


def test_names_skus_and_words_with_brackets_are_printed_as_typed(tmp_path: Path):
    db = tmp_path / "shop.db"
    write_shop(db)
    with sqlite3.connect(db) as conn:
        conn.execute("update customers set name = 'Eve [/]' where ref = 'C-YUKI'")
        conn.execute("update line_items set product = '[bold]Trail[/bold] Runner' where sku = 'TR2-44'")
        conn.execute("update escalations set text = '[/red] the sole came off' where text = 'the sole came off'")
        conn.execute("update responses set text = '[/red] the sole came off' where text = 'the sole came off'")
    for args in ((), ("--by", "sku"), ("--since", "2026-11-02", "--until", "2026-11-08", "--compare")):
        result = CliRunner().invoke(main, ["--config", str(CONFIG), "report", *args], env={"AFTERCARE_DB": str(db)},
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert "Eve [/]" in result.output
        assert "[bold]Trail[/bold] Run" in result.output
    assert "[/red] the sole came off" in result.output


def test_every_terminal_table_and_line_shows_its_data_as_typed():
    """Each printer on its own, so a cell that lost its escaping cannot hide behind a note that
    repeats the same words (the report above prints a product in a table and in a note)."""
    from rich.console import Console

    from bot.report.tables import Column, Sheet
    from bot.report.terminal import print_sheet, render_at_risk, render_testimonials, render_tips

    console = Console(record=True, width=300, color_system=None)
    typed = ["[bold]Trail[/bold] Runner", "Eve [/]", "[/red] the sole came off", "[link=x]tip[/link]"]
    print_sheet(console, Sheet("s", "What is wrong", [Column("product", numeric=False), Column("n")],
                               rows=[[typed[0], 1]]), "none")
    render_testimonials(console, [{"at": "2026-11-05T10:00:00", "name": typed[1], "sku": typed[0], "text": typed[2]}])
    render_tips(console, [{"tip": typed[3], "sent": 1, "helpful": 1, "not_helpful": 0}])
    render_at_risk(console, [{"customer": "C-1", "name": typed[1], "order_id": "A-1", "reason": typed[2],
                              "since": "2026-11-05"}])
    lines = console.export_text().splitlines()
    assert any(line.startswith(typed[0]) and line.rstrip().endswith("1") for line in lines)     # the table cell
    assert any(line.startswith("  2026-11-05") and typed[2] in line and typed[1] in line and typed[0] in line
               for line in lines)                                                                # the testimonial
    assert any(line.startswith(typed[3]) for line in lines)                                       # the tip
    assert any(line.startswith("C-1") and typed[1] in line and typed[2] in line for line in lines)


def test_due_and_cases_show_order_ids_and_agents_as_typed(tmp_path: Path):
    from datetime import datetime, timedelta, timezone

    db = tmp_path / "shop.db"
    write_shop(db)
    soon = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    with sqlite3.connect(db) as conn:
        for (table,) in conn.execute("select name from sqlite_master where type = 'table'").fetchall():
            if any(column[1] == "order_id" for column in conn.execute(f"pragma table_info([{table}])")):
                conn.execute(f"update [{table}] set order_id = '[b]A1[/b]' where order_id = 'A1'")
                conn.execute(f"update [{table}] set order_id = '[/]L1' where order_id = 'L1'")
        conn.execute("update escalations set agent = 'Eve [/]'")
        conn.execute("update touchpoints set status = 'pending', due_at = ? where order_id = '[b]A1[/b]'", [soon])
    shown = {}
    for command in ("cases", "due"):
        result = CliRunner().invoke(main, ["--config", str(CONFIG), command], env={"AFTERCARE_DB": str(db)},
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output
        shown[command] = result.output
    assert "[/]L1" in shown["cases"] and "Eve [/]" in shown["cases"]
    assert "[b]A1[/b]" in shown["due"]
