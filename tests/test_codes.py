"""Personal codes (referral codes, milestone gift codes) are keyed with a secret of the install:
knowing a customer's reference is not enough to work out their code. The key is referrals.secret
(${AFTERCARE_SECRET}), else one made on first use beside the store; codes already given stay the
customer's, and orders carrying them still count, whatever the key becomes."""
from __future__ import annotations

import hashlib
import stat
import threading
from datetime import datetime, timezone

import pytest

from bot.base.clock import SimClock
from bot.base.codes import ALPHABET, personal_code
from bot.base.secretfile import SecretFileError, install_secret
from bot.config.settings import ConfigError
from bot.config.loading import load_settings
from bot.conversation.context import build_context, code_key
from bot.live.core import build_core
from bot.orders.importing import import_file
from bot.sandbox.simulate import SIM_CUSTOMER_REF, simulate_file
from bot.store.store import Store
from tests.support.harness import CONFIG, make_settings, shipped_flows
from tests.support.table_parser import TableParser
from tests.test_importing import csv_file, row
from tests.test_simulate_followups import FOLLOWUPS, KEY, YEAR1, play

NOW = datetime(2026, 12, 30, 10, tzinfo=timezone.utc)
OTHER_KEY = "a-different-secret-after-rotation-0123456789"


def customer_id(store: Store) -> int:
    return store.db.execute("select id from customers where ref = ?", [SIM_CUSTOMER_REF]).fetchone()[0]


def unkeyed(purpose: str, ref: str) -> str:
    """What the code used to be: anyone who knew the scheme and a customer's ref could make it."""
    number = int.from_bytes(hashlib.sha256(f"{purpose}:{ref}".encode()).digest()[:8], "big")
    return "".join(ALPHABET[(number >> (5 * i)) & 31] for i in range(8))


def test_a_code_depends_on_the_key_not_only_on_the_customer():
    one, again, other = (personal_code(k, "referral", "C-2") for k in (b"key-one", b"key-one", b"key-two"))
    assert one == again and one != other
    assert one != unkeyed("referral", "C-2")
    assert len(one) == 8 and set(one) <= set(ALPHABET)
    assert personal_code(b"key-one", "gift:anniversary", "C-2") != one          # one code per purpose
    with pytest.raises(ValueError, match="needs a key"):
        personal_code(b"", "referral", "C-2")


async def test_the_code_a_promoter_gets_is_made_with_the_configured_secret(tmp_path):
    store = Store.open(tmp_path / "shop.db")
    await play("referral_nps_promoter", store=store)
    given = store.referrals.of_customer(customer_id(store)).code
    assert given == personal_code(KEY.encode(), "referral", SIM_CUSTOMER_REF)
    assert given != unkeyed("referral", SIM_CUSTOMER_REF)
    assert not (tmp_path / "shop.db.secret").exists()              # a configured secret: none made


def test_the_secret_comes_from_the_environment_never_from_the_file(tmp_path):
    settings = load_settings(CONFIG, environ={"AFTERCARE_SECRET": "from-the-environment"})
    assert code_key(settings, Store.memory()) == b"from-the-environment"
    config = tmp_path / "config.yml"
    config.write_text(CONFIG.read_text(encoding="utf-8").replace("${AFTERCARE_SECRET}", "written-out"),
                      encoding="utf-8")
    with pytest.raises(ConfigError, match="referrals.secret: a secret is never written in the file"):
        load_settings(config, environ={})
    with pytest.raises(ConfigError, match="referrals.secret: shorter than 16 characters: too easy to guess") as error:
        load_settings(CONFIG, environ={"AFTERCARE_SECRET": "tiny-secret"})
    assert "tiny-secret" not in str(error.value)                              # never printed


async def test_without_a_secret_the_install_makes_one_beside_the_store_and_keeps_it(tmp_path):
    db = tmp_path / "shop.db"
    store = Store.open(db)
    await simulate_file(FOLLOWUPS / "referral_nps_promoter.yml", make_settings(), TableParser(), store=store)
    kept = tmp_path / "shop.db.secret"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600                       # its owner's only
    key = kept.read_text(encoding="ascii").strip().encode()
    assert len(key) >= 32
    assert store.referrals.of_customer(customer_id(store)).code == personal_code(key, "referral", SIM_CUSTOMER_REF)
    store.close()
    assert Store.open(db).install_secret() == key                           # the next start: the same key
    assert Store.memory().install_secret() != Store.memory().install_secret()


def test_processes_starting_at_once_agree_on_one_secret(tmp_path):
    path = tmp_path / "data" / "shop.db.secret"
    found: list[bytes] = []
    threads = [threading.Thread(target=lambda: found.append(install_secret(path))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 8 and len(set(found)) == 1
    assert [p.name for p in path.parent.iterdir()] == ["shop.db.secret"]   # no half-made files left behind


async def test_codes_already_given_keep_working_after_the_key_changes(tmp_path):
    store = Store.open(tmp_path / "shop.db")
    await play("referral_nps_promoter", store=store)
    promoter = customer_id(store)
    given = store.referrals.of_customer(promoter).code
    rotated = make_settings(referrals={"secret": OTHER_KEY})
    assert personal_code(OTHER_KEY.encode(), "referral", SIM_CUSTOMER_REF) != given
    ctx = build_context(store, rotated, promoter, "A-3020", "NCH-700", shipped_flows().vocabulary)
    assert ctx.variables["referral.code"] == given                          # still theirs
    assert ctx.variables["referral.url"] == f"https://shop.example/r/{given}"
    friend = csv_file(tmp_path, row(order_id="F-1", customer_ref="FRIEND-1", address="9009", referral_code=given))
    assert import_file(store, rotated, friend, NOW).errors == []
    assert store.referrals.referred_orders(promoter) == ["F-1"]               # the order still counts


async def test_a_gift_code_given_stays_the_customers_after_the_key_changes():
    store = Store.memory()
    await play("anniversary", store=store)
    assert [g.code for g in store.referrals.gifts()] == [YEAR1]
    rotated = make_settings(referrals={"secret": OTHER_KEY})
    ctx = build_context(store, rotated, customer_id(store), None, None, shipped_flows().vocabulary,
                        touchpoint="anniversary")
    assert ctx.variables["milestone.gift_code"] == YEAR1


def test_a_broken_secret_file_is_one_clear_error_naming_it(tmp_path):
    path = tmp_path / "shop.db.secret"
    path.write_text("short\n", encoding="ascii")
    with pytest.raises(SecretFileError, match=r"shop\.db\.secret: the install secret is shorter than 32"):
        install_secret(path)
    path.unlink()
    path.mkdir()                                                   # a folder where the file should be
    with pytest.raises(SecretFileError, match=r"shop\.db\.secret: cannot read or make the install secret"):
        install_secret(path)


def test_the_bot_stops_at_the_start_on_a_broken_secret_file(tmp_path):
    (tmp_path / "shop.db.secret").write_text("short\n", encoding="ascii")
    store = Store.open(tmp_path / "shop.db")
    with pytest.raises(SecretFileError, match=r"shop\.db\.secret: the install secret is shorter than 32"):
        build_core(make_settings(), store, TableParser(), SimClock(NOW), {})
    assert build_core(make_settings(referrals={"secret": KEY}), store, TableParser(), SimClock(NOW), {})  # set: fine
