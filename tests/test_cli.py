"""The `aftercare` command through click's CliRunner: help everywhere, `flows check` on good and
broken flows, `orders import` of good and bad rows into a temporary store."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.base.secretfile import SecretFileError
from bot.store.store import Store
from tests.support.harness import DIALOGS, ROOT, write_config

BAD_ORDERS = ROOT / "tests" / "data" / "bad_orders.csv"


def commands(group: click.Group, prefix: tuple[str, ...] = ()):
    """Every command, the plugins' included (the group lists them)."""
    ctx = click.Context(group)
    for name in sorted(group.list_commands(ctx)):
        command = group.get_command(ctx, name)
        assert command is not None
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from commands(command, prefix + (name,))


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """The shipped config with the store in a temporary folder and dialogs/ at an absolute path."""
    return write_config(tmp_path, tmp_path / "store" / "aftercare.db")


def run(*args: str, config: Path | None = None):
    prefix = ["--config", str(config)] if config else []
    return CliRunner().invoke(main, prefix + list(args), catch_exceptions=False)


# ---- help text ------------------------------------------------------------------------------

def test_every_command_has_help_text():
    found = list(commands(main))
    assert len(found) >= 12
    names = {" ".join(path) for path, _ in found}
    assert {"flows check", "flows diagram", "orders import", "simulate", "chat", "run", "due", "cases"} <= names
    for path, command in found:
        assert command.help and command.help.strip(), f"`aftercare {' '.join(path)}` has no help text"
        assert command.get_short_help_str().strip()
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"option {param.name} of `{' '.join(path)}` has no help"


@pytest.mark.parametrize("path", [()] + [p for p, _ in commands(main)], ids=lambda p: " ".join(p) or "main")
def test_help_option_works_everywhere(path):
    result = run(*path, "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.output


# ---- flows check / diagram ---------------------------------------------------------------------

def test_flows_check_passes_on_the_shipped_dialogs(config):
    result = run("flows", "check", config=config)
    assert result.exit_code == 0, result.stderr
    for name in ("checkin", "nps", "ces", "inbox", "replenishment", "thank_you"):
        assert f"flow '{name}'" in result.output


def test_flows_check_fails_with_file_and_line_on_a_broken_copy(tmp_path, config):
    broken = tmp_path / "dialogs"
    shutil.copytree(DIALOGS, broken)
    path = broken / "checkin.yml"
    lines = path.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip() == "action: record_text")
    lines[at] = lines[at].replace("record_text", "record_txt")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run("flows", "check", "--dir", str(broken), config=config)
    assert result.exit_code == 1
    assert f"{path}:{at + 1}: step 'thank_feedback': unknown action 'record_txt'" in result.stderr


def test_flows_check_fails_on_bad_yaml(tmp_path, config):
    broken = tmp_path / "dialogs"
    shutil.copytree(DIALOGS, broken)
    (broken / "nps.yml").write_text("flow: nps\nsteps:\n  ask: [\n", encoding="utf-8")
    result = run("flows", "check", "--dir", str(broken), config=config)
    assert result.exit_code == 1
    assert f"{broken / 'nps.yml'}:" in result.stderr and "invalid YAML" in result.stderr


def test_flows_diagram_prints_mermaid(config):
    result = run("flows", "diagram", "--flow", "checkin", config=config)
    assert result.exit_code == 0
    assert "```mermaid\nstateDiagram-v2" in result.output
    assert "ask_csat --> triage: score <= 2" in result.output
    assert "ask_nps" not in result.output


def test_bad_config_is_a_clean_error(tmp_path):
    path = tmp_path / "config.yml"
    path.write_text("schedule:\n  reminder_after: 3 dayz\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(path), "flows", "check"])
    assert result.exit_code == 1
    assert f'{path}:2: schedule.reminder_after: "3 dayz" is not a duration' in result.stderr
    assert "Traceback" not in result.stderr


# ---- orders import --------------------------------------------------------------------------

def test_orders_import_good_and_bad_rows(config, tmp_path):
    result = run("orders", "import", str(BAD_ORDERS), config=config)
    assert result.exit_code == 3, result.stderr           # done, but rows were skipped (README, "Exit codes")
    assert "2 new, 0 updated, 0 unchanged orders; 8 bad rows skipped" in result.output
    assert f"{BAD_ORDERS}:3: missing order_id (row skipped)" in result.stderr
    assert f'{BAD_ORDERS}:7: channel: "whatsapp" is not a channel (telegram or slack) (row skipped)' in result.stderr
    store = Store.open(tmp_path / "store" / "aftercare.db")
    assert {r["order_id"] for r in store.db["orders"].rows} == {"B-1", "B-9"}
    store.close()
    again = run("orders", "import", str(BAD_ORDERS), config=config)
    assert "0 new, 0 updated, 2 unchanged orders; 8 bad rows skipped" in again.output


def test_orders_import_of_an_unreadable_file(config, tmp_path):
    path = tmp_path / "orders.txt"
    path.write_text("hello", encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(config), "orders", "import", str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert str(path) in result.stderr


def test_cases_lists_open_cases(config, tmp_path):
    Store.open(tmp_path / "store" / "aftercare.db").close()       # `cases` reads: it never makes a store
    result = run("cases", config=config)
    assert result.exit_code == 0
    assert "case" in result.output and "SLA" in result.output


def test_cases_show_the_problem_and_the_request(config, tmp_path):
    from datetime import datetime, timedelta, timezone

    store = Store.open(tmp_path / "store" / "aftercare.db")
    now = datetime.now(timezone.utc)
    customer_id = store.customers.upsert("C-1", "Ana Silva", "ana@example.com", "Europe/Lisbon", "en", now)
    identity_id = store.customers.ensure_identity(customer_id, "telegram", "1001", True, now, source="test")
    conversation = store.conversations.create(customer_id, identity_id, "A-1", "TR2-44", "checkin", "triage", now)
    store.cases.open(conversation, customer_id, "A-1", "product_problem", "damaged", "arrived broken, refund please",
                     [], now, timedelta(minutes=30), request="refund")
    store.close()
    result = run("cases", config=config)
    assert result.exit_code == 0
    assert "damaged" in result.output and "refund" in result.output


def test_due_says_why_each_touchpoint_waits_or_is_dropped(config, tmp_path):
    from datetime import datetime, timedelta, timezone

    now = datetime.now(timezone.utc).replace(microsecond=0)
    stamp = lambda days: (now - timedelta(days=days)).isoformat().replace("+00:00", "Z")  # noqa: E731
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_id,customer_ref,customer_name,channel,address,product,sku,category,purchased_at,shipped_at,"
        "delivered_at,status\n"
        f"D-1,C-1,Ana Silva,telegram,4242,Trail Runner 2 shoes,TR2-44,footwear,{stamp(19)},{stamp(18)},"
        f"{stamp(16)},delivered\n", encoding="utf-8")
    assert run("orders", "import", str(orders), config=config).exit_code == 0
    store = Store.open(tmp_path / "store" / "aftercare.db")
    customer = store.db.execute("select id from customers where ref = 'C-1'").fetchone()[0]
    identity = store.customers.identities_of(customer)[0]
    store.customers.opt_out(identity.id, now, source="test")
    store.fix_notices.queue(customer, identity.id, "TR2-44", "defective", "Fixed.", now)
    store.close()
    result = CliRunner(env={"COLUMNS": "250"}).invoke(main, ["--config", str(config), "due", "--within", "1d"],
                                                      catch_exceptions=False)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    tip = next(line for line in lines if "tip_week1" in line)
    assert "dropped: too old: delivered 16 days ago" in tip and "never sent late" in tip     # its window ended on day 14
    checkin = next(line for line in lines if " checkin " in line)
    assert "dropped: the customer opted out" in checkin
    notice = next(line for line in lines if "tell_fixed" in line)
    assert "fix#" in notice and "opted out" in notice
# ---- a channel's own commands ------------------------------------------------------------------

def test_a_channel_brings_its_own_command_the_opt_in_link(config, monkeypatch):
    """`aftercare telegram link` is declared by the channel (its spec's `commands`), not the core CLI."""
    import time

    from bot.channels.telegram_links import verify_link_token
    from bot.plugins.manager import Plugins

    assert Plugins.load(entry_points=False).channels().get("telegram").command().name == "telegram"
    run("orders", "import", str(BAD_ORDERS), config=config)
    monkeypatch.setenv("AFTERCARE_LINK_SECRET", "s3cret-link-signing-key")
    result = run("telegram", "link", "B-1", config=config)
    assert result.exit_code == 0, result.output
    url = result.output.strip()
    assert url.startswith("https://t.me/AftercareDemoBot?start=")
    store = Store.open(config.parent / "store" / "aftercare.db")
    order = store.orders.get("B-1")
    assert verify_link_token(url.split("start=")[1], b"s3cret-link-signing-key", time.time()) == order.customer_id
    assert run("telegram", "link", "NO-SUCH", config=config).exit_code != 0


def test_a_link_is_signed_only_with_the_configured_secret_the_bot_verifies_with(config, monkeypatch):
    """#24: a config without link_secret once fell back to the raw environment variable, unchecked
    (a 3-character key was accepted) and unknown to the running bot, which refused the link."""
    run("orders", "import", str(BAD_ORDERS), config=config)
    text = config.read_text(encoding="utf-8")
    config.write_text("\n".join(line for line in text.splitlines() if "link_secret:" not in line) + "\n",
                      encoding="utf-8")
    monkeypatch.setenv("AFTERCARE_LINK_SECRET", "abc")
    result = CliRunner().invoke(main, ["--config", str(config), "telegram", "link", "B-1"])
    assert result.exit_code == 1 and "t.me" not in result.output
    assert "channels.telegram.link_secret is not set" in result.output


def test_run_prints_its_peak_memory_when_it_ends(config, monkeypatch):
    """`aftercare run` (the live bot and `make run`'s sandbox alike) says at the end how much
    memory it took at its peak, start-up included: the figure a host is sized by."""
    async def ran(*args, **kwargs) -> int:
        return 0

    monkeypatch.setattr("bot.live.app.run_app", ran)
    result = CliRunner().invoke(main, ["--config", str(config), "run"])
    assert result.exit_code == 0, result.stderr
    peak = re.search(r"^peak memory: (\d+) MB resident \(start-up included\)$", result.stderr, re.M)
    status = Path("/proc/self/status").read_text()            # the kernel's own figure
    high_water = int(re.search(r"^VmHWM:\s+(\d+) kB$", status, re.M).group(1)) / 1024
    assert peak and abs(int(peak.group(1)) - high_water) <= 2


def test_a_broken_secret_file_is_one_line_whichever_command_meets_it(config, tmp_path):
    """`run` is not the only command that starts the core: `due` does too (the group turns the
    error into one line for every command)."""
    command = ["due", "--within", "1d"]
    Store.open(tmp_path / "store" / "aftercare.db").close()
    (tmp_path / "store" / "aftercare.db.secret").write_text("short\n", encoding="ascii")
    result = CliRunner().invoke(main, ["--config", str(config), *command])
    assert result.exit_code == 1, result.output
    assert result.exception is not None and not isinstance(result.exception, SecretFileError)
    assert "aftercare.db.secret: the install secret is shorter than 32" in result.output
    assert "Traceback" not in result.output
