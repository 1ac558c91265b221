"""`aftercare customer bind REF CHANNEL:ADDRESS` (#24): besides the signed deep link, the only way
a chat becomes a customer's. Through the CLI, on a store file, as an admin would run it."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.ops.data_rights import os_user
from bot.store.check import problems
from bot.store.store import Store
from tests.support.harness import write_config

NOW = datetime(2026, 11, 23, 12, tzinfo=timezone.utc)


@pytest.fixture
def shop(tmp_path: Path):
    """A store with Ana (no chat yet) and Bob (Telegram 2002), and a config pointing at it."""
    db = tmp_path / "aftercare.db"
    store = Store.open(db)
    ana = store.customers.upsert("C-ANA", "Ana", "ana@example.com", None, "en", NOW)
    bob = store.customers.upsert("C-BOB", "Bob", "bob@example.com", None, "en", NOW)
    store.customers.ensure_identity(bob, "telegram", "2002", True, NOW, source="order-import:1")
    yield store, write_config(tmp_path, db), ana, bob
    store.close()


def cli(config: Path, *args: str):
    return CliRunner().invoke(main, ["--config", str(config), "customer", "bind", *args])


def test_an_admin_binds_a_chat_and_the_ledger_names_them(shop):
    store, config, ana, _ = shop
    result = cli(config, "email:ana@example.com", "telegram:1001")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"telegram:1001 bound to customer {ana} by {os_user()}\n"
    identity, = store.customers.identities_of(ana)
    assert (identity.address, identity.contactable) == ("1001", True)
    assert [(e.action, e.source) for e in store.customers.ledger(ana)] == [("admin_link", f"admin:{os_user()}")]
    again = cli(config, f"id:{ana}", "telegram:1001")
    assert (again.exit_code, again.stdout) == (0, f"telegram:1001 is already customer {ana}'s; nothing to do\n")
    assert len(store.customers.ledger(ana)) == 1


def test_another_customers_chat_is_taken_only_with_move(shop):
    store, config, ana, bob = shop
    refused = cli(config, f"id:{ana}", "telegram:2002")
    assert refused.exit_code == 1
    assert f"telegram:2002 is customer {bob}'s chat; give --move" in refused.stderr
    assert store.customers.identity_at("telegram", "2002").customer_id == bob
    assert store.customers.identities_of(ana) == []
    moved = cli(config, f"id:{ana}", "telegram:2002", "--move")
    assert moved.exit_code == 0 and f"(taken from customer {bob})" in moved.stdout
    assert store.customers.identity_at("telegram", "2002").customer_id == ana
    assert [i.address for i in store.customers.identities_of(bob)] == [None]
    assert store.customers.ledger(bob)[-1].action == "unlink"


def test_a_customers_stop_stays_in_force(shop):
    store, config, ana, _ = shop
    identity_id = store.customers.ensure_identity(ana, "telegram", None, False, NOW, source="order-import:2")
    store.customers.opt_out(identity_id, NOW, source="telegram:STOP")
    result = cli(config, f"id:{ana}", "telegram:1001")
    assert result.exit_code == 0
    assert "stays so until they send /start" in result.stderr
    identity = store.customers.identity(identity_id)
    assert identity.address == "1001" and identity.opted_out and not identity.contactable
    assert problems(store) == []


def test_forgotten_customers_and_their_chats_are_refused(shop):
    store, config, ana, bob = shop
    forget = CliRunner().invoke(main, ["--config", str(config), "customer", "forget", f"id:{bob}", "--yes"])
    assert forget.exit_code == 0, forget.output
    taken = cli(config, f"id:{ana}", "telegram:2002", "--move")
    assert taken.exit_code == 1 and "belonged to a forgotten customer" in taken.stderr
    again = cli(config, f"id:{bob}", "telegram:3003")
    assert again.exit_code == 1 and "was forgotten" in again.stderr
    assert store.customers.identities_of(ana) == [] and store.customers.identity_at("telegram", "3003") is None


@pytest.mark.parametrize("address, says", [("1001", "is not CHANNEL:ADDRESS"), ("telegram:", "is not CHANNEL:ADDRESS"),
                                           ("fax:1001", "unknown channel 'fax'")])
def test_a_bad_address_is_a_usage_error(shop, address, says):
    store, config, ana, _ = shop
    result = cli(config, f"id:{ana}", address)
    assert result.exit_code == 2 and says in result.stderr
    assert store.customers.identities_of(ana) == []
