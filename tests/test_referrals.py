"""Referral codes on imported orders: the `referral_code` column of an order file and the
Shopify note attribute; an order carrying a promoter's code counts as a referral (never the
promoter's own order, never an unknown code), whichever way it arrives."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from bot.orders.importing import import_file
from bot.orders.files import read_orders
from bot.store.store import Store
from bot.webhooks.shopify import map_order
from tests.support.harness import ROOT, make_settings
from tests.test_importing import csv_file, row

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def promoter(store: Store, tmp_path) -> int:
    """Customer C-1 (order A-1), who was asked and given code ANA12345."""
    import_file(store, make_settings(), csv_file(tmp_path, row(), name="promoter.csv"), NOW)
    customer_id = store.orders.get("A-1").customer_id
    assert store.referrals.give(customer_id, "ANA12345", "https://shop.example/r/ANA12345", None, NOW)
    return customer_id


def test_an_imported_order_with_a_promoters_code_counts_as_a_referral(tmp_path):
    store = Store.memory()
    ana = promoter(store, tmp_path)
    path = csv_file(tmp_path, row(order_id="B-1", customer_ref="C-2", address="2002", referral_code="ana12345"),
                    row(order_id="B-2", customer_ref="C-3", address="3003", referral_code="NOBODY99"),
                    row(order_id="A-2", referral_code="ANA12345"),                 # her own order: no referral
                    name="friends.csv")
    report = import_file(store, make_settings(), path, NOW)
    assert (report.inserted, report.errors) == (3, [])
    assert store.orders.get("B-1").referral_code == "ANA12345"           # codes compare case-blind
    assert store.referrals.referred_orders(ana) == ["B-1"]
    again = import_file(store, make_settings(), path, NOW)                   # the same file twice: nothing new
    assert (again.unchanged, store.referrals.referred_orders(ana)) == (3, ["B-1"])


def test_a_bad_referral_code_is_a_row_error_with_its_line(tmp_path):
    path = csv_file(tmp_path, row(), row(order_id="B-1", customer_ref="C-2", referral_code="not a code!"))
    rows, errors = read_orders(path)
    assert [r.order_id for r in rows] == ["A-1"]
    assert [(e.line, e.reason) for e in errors] == [
        (3, 'referral_code: "not a code!" is not a referral code (letters, digits, - and _, at most 64)')]


def test_a_shopify_order_carries_the_code_of_its_note_attribute():
    payload = json.loads((ROOT / "tests" / "fixtures" / "shopify" / "orders_create.json").read_text())
    payload["note_attributes"].append({"name": "referral_code", "value": "ANA12345"})
    records = map_order(payload, [], "telegram").records
    assert {r["referral_code"] for r in records} == {"ANA12345"}
    payload["note_attributes"] = [a for a in payload["note_attributes"] if a["name"] != "referral_code"]
    assert {r["referral_code"] for r in map_order(payload, [], "telegram").records} == {None}
