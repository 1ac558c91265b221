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
