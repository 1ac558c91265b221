"""`orders import`: an upsert keyed on order id. Bad rows are reported and skipped, good rows
kept; the same file twice changes nothing; a later file updates the order and its schedule."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.base.clock import iso
from bot.orders.importing import import_file
from bot.orders.files import COLUMNS
from bot.store.rows import TouchpointRow
from bot.store.store import Store
from tests.support.harness import ROOT, make_settings

UTC = timezone.utc
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
BAD = ROOT / "tests" / "data" / "bad_orders.csv"
SAMPLE = ROOT / "data" / "sample_orders.csv"


@pytest.fixture
def store() -> Store:
    return Store.memory()


@pytest.fixture
def settings():
    return make_settings()


def row(**changes) -> dict:
    base = {"order_id": "A-1", "customer_ref": "C-1", "customer_name": "Ana Silva", "channel": "telegram",
            "address": "1001", "product": "Trail Runner 2 shoes", "sku": "TR2-44", "category": "footwear",
            "quantity": "1", "price": "129.00", "purchased_at": "2026-11-01T10:00:00Z",
            "delivered_at": "2026-11-04T10:00:00Z", "status": "delivered", "consent": "yes"}
    base.update(changes)
    return base


def csv_file(tmp_path: Path, *rows: dict, name: str = "orders.csv") -> Path:
    lines = [",".join(COLUMNS)] + [",".join(str(r.get(c, "")) for c in COLUMNS) for r in rows]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def snapshot(store: Store) -> dict:
    tables = ("customers", "identities", "orders", "line_items", "touchpoints", "consent_ledger")
    return {t: [{k: v for k, v in r.items() if k not in ("updated_at",)} for r in store.db[t].rows] for t in tables}


def touchpoints(store: Store, order_id: str = "A-1") -> dict[str, TouchpointRow]:
    return {t.kind: t for t in store.orders.touchpoints(order_id)}


# ---- good and bad rows --------------------------------------------------------------------

def test_bad_rows_reported_with_line_and_reason_good_rows_kept(store, settings):
    report = import_file(store, settings, BAD, NOW)
    assert report.inserted == 2 and report.rows_ok == 2
    assert {r["order_id"] for r in store.db["orders"].rows} == {"B-1", "B-9"}
    lines = {e.line: e.reason for e in report.errors}
    assert lines == {
        3: "missing order_id",
        4: 'delivered_at: "2026-13-01" is not a date',
        6: "quantity: must be a whole number >= 1",
        7: 'channel: "whatsapp" is not a channel (telegram or slack)',
        8: 'timezone: "Mars/Olympus" is not a known time zone (e.g. Europe/Lisbon)',
        9: 'delivered_at: "2026-11-02T10:00:00Z" is before purchased_at "2026-11-10T10:00:00Z"',
        10: 'duplicate line item: order_id "B-1" with sku "TR2-44" is already on line 2',
        11: 'price: "-1" must be a number >= 0; consent: "maybe" is not yes or no',
    }


def test_sample_orders_import_cleanly(store, settings):
    report = import_file(store, settings, SAMPLE, NOW)
    assert report.errors == [] and report.inserted > 5


def test_json_file(store, settings, tmp_path):
    path = tmp_path / "orders.json"
    path.write_text(json.dumps({"orders": [row(), row(order_id="A-2", customer_ref="C-2", address="1002"),
                                           row(order_id="A-3", channel="fax")]}, indent=1), encoding="utf-8")
    report = import_file(store, settings, path, NOW)
    assert report.inserted == 2
    [bad] = report.errors
    assert "fax" in bad.reason and bad.line > 1


# ---- idempotence and updates ---------------------------------------------------------------

def test_same_file_twice_changes_nothing(store, settings, tmp_path):
    path = csv_file(tmp_path, row(), row(order_id="A-2", customer_ref="C-2", address="1002"))
    first = import_file(store, settings, path, NOW)
    before = snapshot(store)
    again = import_file(store, settings, path, NOW + timedelta(hours=5))
    assert (first.inserted, again.inserted, again.updated, again.unchanged) == (2, 0, 0, 2)
    assert snapshot(store) == before


def test_sample_file_twice_changes_nothing(store, settings):
    import_file(store, settings, SAMPLE, NOW)
    before = snapshot(store)
    report = import_file(store, settings, SAMPLE, NOW + timedelta(days=1))
    assert report.inserted == 0 and report.updated == 0
    assert snapshot(store) == before


def test_delivery_date_arriving_later_schedules_the_checkin(store, settings, tmp_path):
    import_file(store, settings, csv_file(tmp_path, row(delivered_at="", status="placed")), NOW)
    assert "checkin" not in touchpoints(store)               # neither shipped nor delivered
    report = import_file(store, settings, csv_file(tmp_path, row(delivered_at="2026-11-10T10:00:00Z")), NOW)
    assert report.updated == 1
    checkin = touchpoints(store)["checkin"]
    assert checkin.status == "pending"
    assert checkin.due_at == iso(datetime(2026, 11, 14, 10, 0, tzinfo=UTC))   # footwear: 4d after delivery
    assert store.orders.get("A-1").status == "delivered"


def test_changed_delivery_date_moves_pending_touchpoints(store, settings, tmp_path):
    import_file(store, settings, csv_file(tmp_path, row()), NOW)
    import_file(store, settings, csv_file(tmp_path, row(delivered_at="2026-11-06T10:00:00Z")), NOW)
    points = touchpoints(store)
    assert points["checkin"].due_at == iso(datetime(2026, 11, 10, 10, 0, tzinfo=UTC))
    assert points["nps"].due_at == iso(datetime(2026, 12, 6, 10, 0, tzinfo=UTC))


def test_cancellation_cancels_pending_touchpoints(store, settings, tmp_path):
    import_file(store, settings, csv_file(tmp_path, row()), NOW)
    report = import_file(store, settings, csv_file(tmp_path, row(status="cancelled")), NOW)
    assert report.updated == 1
    # what was pending is cancelled; what was past its expiry at the first import stays dropped
    assert {k: t.status for k, t in touchpoints(store).items() if t.status != "cancelled"} == \
        {"thank_you": "expired", "tip_day1": "expired", "tip_week1": "expired"}
    assert store.orders.get("A-1").status == "cancelled"


def test_started_touchpoint_is_not_rescheduled_by_a_reimport(store, settings, tmp_path):
    import_file(store, settings, csv_file(tmp_path, row()), NOW)
    checkin = touchpoints(store)["checkin"]
    store.orders.finish_touchpoint(checkin.id, "started", NOW, conversation_id=1)
    import_file(store, settings, csv_file(tmp_path, row(delivered_at="2026-11-08T10:00:00Z")), NOW)
    again = touchpoints(store)["checkin"]
    assert (again.status, again.due_at) == ("started", checkin.due_at)


def test_one_checkin_per_order_on_its_first_item(store, settings, tmp_path):
    path = csv_file(tmp_path, row(), row(sku="SOCK-3", product="Trail socks", category="apparel"))
    report = import_file(store, settings, path, NOW)
    assert report.inserted == 1
    kinds = sorted((t.sku, t.kind) for t in store.orders.touchpoints("A-1"))
    # the customer's first order also carries their first-purchase anniversary (a milestone), and tips
    assert kinds == [("TR2-44", "anniversary"), ("TR2-44", "checkin"), ("TR2-44", "nps"), ("TR2-44", "thank_you"),
                     ("TR2-44", "tip_day1"), ("TR2-44", "tip_month1"), ("TR2-44", "tip_week1")]   # socks: none
    assert len(store.orders.items("A-1")) == 2


def test_replenishment_touchpoint_for_consumables(store, settings, tmp_path):
    path = csv_file(tmp_path, row(sku="SERUM-30", product="Hydrating Serum", category="skincare", quantity="2"))
    import_file(store, settings, path, NOW)
    refill = touchpoints(store)["replenishment"]
    # 2 bottles x 30 days after delivery, minus a 3-day margin
    assert refill.due_at == iso(datetime(2026, 11, 4, 10, 0, tzinfo=UTC) + timedelta(days=57))


def test_changed_line_item_counts_as_update(store, settings, tmp_path):
    import_file(store, settings, csv_file(tmp_path, row()), NOW)
    report = import_file(store, settings, csv_file(tmp_path, row(quantity="2")), NOW)
    assert report.updated == 1 and store.orders.items("A-1")[0].quantity == 2


def test_customer_identity_and_consent(store, settings, tmp_path):
    import_file(store, settings, csv_file(tmp_path, row(timezone="Europe/Berlin")), NOW)
    customer = store.db.execute("select id, name, timezone from customers where ref = 'C-1'").fetchone()
    assert customer[1:] == ("Ana Silva", "Europe/Berlin")
    [identity] = store.customers.identities_of(customer[0])
    assert (identity.channel, identity.address, identity.consent) == ("telegram", "1001", True)
    assert [r.action for r in store.customers.ledger(customer[0])] == ["opt_in"]
    import_file(store, settings, csv_file(tmp_path, row(consent="no")), NOW)
    assert not store.customers.identity(identity.id).consent
    assert [r.action for r in store.customers.ledger(customer[0])] == ["opt_in", "consent_withdrawn"]


def test_telegram_customer_without_chat_waits_for_a_link(store, settings, tmp_path):
    import_file(store, settings, csv_file(tmp_path, row(address="")), NOW)
    [identity] = store.customers.identities_of(store.db.execute("select id from customers").fetchone()[0])
    assert identity.address is None and not identity.contactable


def test_import_is_one_transaction(store, settings, tmp_path, monkeypatch):
    """A failure half-way leaves nothing behind (the whole file or nothing)."""
    path = csv_file(tmp_path, row(), row(order_id="A-2", customer_ref="C-2", address="1002"))
    calls = {"n": 0}
    original = store.orders.set_touchpoints

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return original(*args, **kwargs)

    monkeypatch.setattr(store.orders, "set_touchpoints", failing)
    with pytest.raises(RuntimeError):
        import_file(store, settings, path, NOW)
    assert store.db["orders"].count == 0 and store.db["customers"].count == 0


# ---- backfill safety: expiry and history ------------------------------------------------------

def test_a_touchpoint_past_its_expiry_is_recorded_dropped_at_import_with_its_reason(store, settings, tmp_path):
    # delivered 36 days before NOW: the check-in (4d after delivery, 14 days to go out) is long past
    import_file(store, settings, csv_file(tmp_path, row(purchased_at="2026-10-12T10:00:00Z",
                                                        delivered_at="2026-10-15T12:00:00Z")), NOW)
    checkin = touchpoints(store)["checkin"]
    assert checkin.status == "expired" and checkin.started_at == iso(NOW)
    assert checkin.held_reason == ("dropped: too old: delivered 36 days ago; a checkin goes out within 14 days of "
                                   "its time or not at all (never sent late)")
    assert touchpoints(store)["nps"].status == "pending"               # 30d after delivery: still to come
    assert [t.id for t in store.orders.dropped_since(NOW)] == [t.id for t in store.orders.touchpoints("A-1")
                                                               if t.status == "expired"]


def test_a_plain_import_sends_what_is_still_in_its_window_a_history_import_does_not(store, settings, tmp_path):
    yesterday = row(purchased_at="2026-11-19T12:00:00Z", delivered_at="", status="placed")
    import_file(store, settings, csv_file(tmp_path, yesterday), NOW)
    assert touchpoints(store)["thank_you"].status == "pending"         # a day late, within its 2 days
    other = Store.memory()
    import_file(other, settings, csv_file(tmp_path, yesterday), NOW, history_before=NOW)
    thanks = touchpoints(other)["thank_you"]
    assert thanks.status == "skipped:history"
    assert thanks.held_reason == ("dropped: history import: ordered 1 day ago, the thank_you was due 1 day ago "
                                  "(history is recorded, not sent)")


def test_since_splits_history_from_new_orders(store, settings, tmp_path):
    old = row(purchased_at="2026-11-19T12:00:00Z", delivered_at="", status="placed")
    new = row(order_id="A-2", customer_ref="C-2", address="1002", purchased_at="2026-11-20T09:00:00Z",
              delivered_at="", status="placed")
    import_file(store, settings, csv_file(tmp_path, old, new), NOW, history_before=datetime(2026, 11, 20, tzinfo=UTC))
    assert touchpoints(store)["thank_you"].status == "skipped:history"
    assert touchpoints(store, "A-2")["thank_you"].status == "pending"


def test_the_cli_takes_history_and_since_and_refuses_a_bad_date(tmp_path):
    from click.testing import CliRunner

    from bot.cli import main
    from tests.support.harness import write_config

    config = write_config(tmp_path, tmp_path / "a.db")
    path = csv_file(tmp_path, row(purchased_at=iso(datetime.now(UTC) - timedelta(hours=5)), delivered_at="",
                                  status="placed"))
    bad = CliRunner().invoke(main, ["--config", str(config), "orders", "import", "--since", "last week", str(path)])
    assert bad.exit_code == 2 and '"last week" is not a date (use YYYY-MM-DD)' in bad.output
    assert not (tmp_path / "a.db").exists()
    ok = CliRunner().invoke(main, ["--config", str(config), "orders", "import", "--history", str(path)])
    assert ok.exit_code == 0, ok.output
    assert "1 touchpoint(s) already past: recorded, not sent (aftercare due --dropped says why)" in ok.output
