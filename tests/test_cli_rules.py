"""The rules every `aftercare` command keeps (README, "Exit codes"): an example in every --help,
a global --db and --version, exit 0 success / 1 failure / 2 usage / 3 done with rows skipped,
one error style ("error: ..." on one line), and commands that only read never create a store."""
from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from bot.cli import main
from tests.support.harness import ROOT, write_config

BAD_ORDERS = ROOT / "tests" / "data" / "bad_orders.csv"
ORDER = ("order_id,customer_ref,customer_name,email,channel,address,product,sku,category,purchased_at,status\n"
         "A-1,C-1,Ana Silva,ana@example.com,telegram,1001,Trail Runner 2 shoes,TR2-44,footwear,"
         "2026-11-01T10:00:00Z,placed\n")


def commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from commands(command, prefix + (name,))


def aftercare(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, list(args), env=env)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path, tmp_path / "store" / "aftercare.db")


@pytest.fixture
def orders_csv(tmp_path: Path) -> Path:
    path = tmp_path / "orders.csv"
    path.write_text(ORDER, encoding="utf-8")
    return path


@pytest.mark.parametrize("path", [()] + [p for p, _ in commands(main)], ids=lambda p: " ".join(p) or "main")
def test_every_help_shows_an_example(path):
    result = aftercare(*path, "--help")
    assert result.exit_code == 0
    assert "Example:" in result.output and "aftercare" in result.output.split("Example:")[1]


def test_version():
    result = aftercare("--version")
    assert result.exit_code == 0 and result.output.startswith("aftercare ")
    assert result.output.split()[1][0].isdigit()


def test_db_names_the_store_for_every_command(tmp_path, config, orders_csv):
    db = tmp_path / "elsewhere.db"
    imported = aftercare("--config", str(config), "--db", str(db), "orders", "import", str(orders_csv))
    assert imported.exit_code == 0, imported.output
    assert db.is_file() and not (tmp_path / "store" / "aftercare.db").exists()
    due = aftercare("--config", str(config), "--db", str(db), "due", "--within", "400d")
    assert due.exit_code == 0 and "A-1" in due.output


def test_exit_3_when_rows_were_skipped_with_each_row_named(config):
    result = aftercare("--config", str(config), "orders", "import", str(BAD_ORDERS))
    assert result.exit_code == 3
    assert f"{BAD_ORDERS}:" in result.stderr and "(row skipped)" in result.stderr
    assert "bad rows skipped" in result.stdout


def test_usage_errors_exit_2_in_the_one_error_style(config):
    for args in (["orders", "import"], ["due", "--within", "soon"], ["no-such-command"],
                 ["orders", "import", "--since", "yesterday", str(BAD_ORDERS)]):
        result = aftercare("--config", str(config), *args)
        assert result.exit_code == 2, (args, result.output)
        assert "error: " in result.stderr and "Error:" not in result.output, result.output


def test_failures_exit_1_in_the_one_error_style(tmp_path, config):
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"\xff\xfe not an orders file")
    for args in (["orders", "import", str(broken)], ["--config", str(tmp_path / "none.yml"), "due"]):
        result = aftercare(*(args if args[0] == "--config" else ["--config", str(config), *args]))
        assert result.exit_code == 1, (args, result.output)
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr


@pytest.mark.parametrize("args", [["due"], ["cases"], ["report"], ["customer", "export", "A-1"],
                                  ["telegram", "link", "A-1"], ["backup", "copy.db"],
                                  ["tell-fixed", "--sku", "TR2-44", "--problem-type", "defective",
                                   "--message", "en=fixed", "--dry-run"]], ids=lambda a: " ".join(a[:2]))
def test_a_command_that_reads_never_creates_a_store(tmp_path, config, args):
    result = aftercare("--config", str(config), *args)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: no store at ") and result.stderr.count("\n") == 1
    assert not (tmp_path / "store").exists()


def test_a_second_forget_says_already_forgotten(config, orders_csv):
    assert aftercare("--config", str(config), "orders", "import", str(orders_csv)).exit_code == 0
    first = aftercare("--config", str(config), "customer", "forget", "A-1", "--yes")
    assert first.exit_code == 0 and "forgotten by" in first.output
    again = aftercare("--config", str(config), "customer", "forget", "A-1", "--yes")
    assert again.exit_code == 0 and "already forgotten" in again.output, again.output
    export = aftercare("--config", str(config), "customer", "export", "A-1")
    assert export.exit_code == 2 and "forgotten" in export.stderr
    reimport = aftercare("--config", str(config), "orders", "import", str(orders_csv))
    assert reimport.exit_code == 0
    assert "1 order of a forgotten customer skipped" in reimport.output
