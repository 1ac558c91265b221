"""The one writer: migrations, transactions, and each repository's contract."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlite_utils import Database

from bot.base.clock import iso
from bot.store.store import Store

UTC = timezone.utc
T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def store() -> Store:
    return Store.memory()


def customer(store: Store, ref: str = "C-1", address: str = "1001", channel: str = "telegram") -> tuple[int, int]:
    customer_id = store.customers.upsert(ref, "Ana Silva", "ana@example.com", "Europe/Lisbon", "en", T0)
    identity_id = store.customers.ensure_identity(customer_id, channel, address, True, T0, source="test")
    return customer_id, identity_id


# ---- schema -------------------------------------------------------------------------------

def test_migrations_create_every_table_and_are_idempotent(tmp_path):
    path = tmp_path / "sub" / "aftercare.db"
    first = Store.open(path)
    first.close()
    again = Store.open(path)
    tables = set(again.db.table_names())
    assert {"customers", "identities", "orders", "line_items", "touchpoints", "conversations", "messages",
            "responses", "escalations", "consent_ledger", "processed_events", "contacts", "outbox",
            "used_links"} <= tables
    assert again.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    applied = [r[0] for r in again.db.execute("select name from _sqlite_migrations").fetchall()] \
        if "_sqlite_migrations" in tables else None
    if applied is not None:
        assert len(applied) == len(set(applied))


@pytest.mark.parametrize("sql,params,index", [
    ("select * from touchpoints where status in ('pending', 'held') and due_at <= ? order by due_at", [iso(T0)],
     "touchpoints"),
    ("select * from outbox where status = 'pending' and not_before <= ? order by not_before, id", [iso(T0)], "outbox"),
    ("select id from conversations where status != 'closed' and wake_at is not null and wake_at <= ?", [iso(T0)],
     "conversations"),
    ("select id from identities where channel = ? and address = ?", ["telegram", "1"], "identities"),
    ("select * from escalations where card_ts = ?", ["1.0"], "escalations"),
    # every inbound message or send (m016): a customer's conversations about an order, the
    # message row of a sent outbox row, an earlier pending row to the same address
    ("select slots from conversations where customer_id = ? and order_id = ?", [1, "A-1"], "conversations"),
    ("update messages set platform_message_id = ? where outbox_id = ?", ["9", 1], "messages"),
    ("select 1 from outbox where status = 'pending' and channel = ? and address is ? and not_before < ?",
     ["telegram", "1", iso(T0)], "outbox"),
])
def test_hot_queries_use_an_index(store, sql, params, index):
    plan = " ".join(str(row[-1]) for row in store.db.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall())
    assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan


# ---- transactions ---------------------------------------------------------------------------

def test_transaction_rolls_back_everything_on_error(store):
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.customers.upsert("C-1", "Ana", None, None, None, T0)
            store.outbox.add("telegram", "1", None, None, "hi", T0)
            raise RuntimeError("boom")
    assert store.db["customers"].count == 0 and store.db["outbox"].count == 0


def test_rolled_back_write_is_invisible_to_another_connection(tmp_path):
    """Invariant 2 on a real file: another process never sees half a transaction."""
    path = tmp_path / "a.db"
    store = Store.open(path)
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.conversations.create(1, 1, None, None, "checkin", "greet", T0)
            store.outbox.add("telegram", "1", None, None, "hi", T0)
            raise RuntimeError("crash between the state and its messages")
    other = Database(path)
    assert other["conversations"].count == 0 and other["outbox"].count == 0


def test_writes_outside_a_transaction_are_committed_at_once(tmp_path):
    path = tmp_path / "a.db"
    store = Store.open(path)
    store.outbox.add("telegram", "1", None, None, "hi", T0)
    store.outbox.reconcile()              # a raw UPDATE outside transaction()
    assert Database(path)["outbox"].count == 1
    assert not store.db.conn.in_transaction


def test_nested_transactions_join_the_outer_one(store):
    with pytest.raises(RuntimeError):
        with store.transaction():
            with store.transaction():
                store.outbox.add("telegram", "1", None, None, "inner", T0)
            store.outbox.add("telegram", "1", None, None, "outer", T0)
            raise RuntimeError("boom")
    assert store.db["outbox"].count == 0
    with store.transaction():
        with store.transaction():
            store.outbox.add("telegram", "1", None, None, "kept", T0)
    assert store.db["outbox"].count == 1
    # an inner block that fails and is caught undoes only itself
    with store.transaction():
        store.outbox.add("telegram", "1", None, None, "outer kept", T0)
        with pytest.raises(RuntimeError):
            with store.transaction():
                store.outbox.add("telegram", "1", None, None, "inner undone", T0)
                raise RuntimeError("inner")
    assert [r["text"] for r in store.db["outbox"].rows] == ["kept", "outer kept"]


def test_a_nested_block_without_a_savepoint_is_undone_with_the_whole_transaction(store):
    seen: list[str] = []
    store.db.conn.set_trace_callback(seen.append)
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.outbox.add("telegram", "1", None, None, "outer", T0)
            with store.transaction(savepoint=False):
                store.outbox.add("telegram", "1", None, None, "joined", T0)
                raise RuntimeError("boom")
    store.db.conn.set_trace_callback(None)
    assert store.db["outbox"].count == 0
    assert not any("SAVEPOINT" in sql.upper() for sql in seen), seen
    with store.transaction(savepoint=False):           # on its own it is a transaction as any
        store.outbox.add("telegram", "1", None, None, "alone", T0)
    assert [r["text"] for r in store.db["outbox"].rows] == ["alone"]


# ---- inbound dedup ------------------------------------------------------------------------

def test_event_processed_once_per_channel(store):
    assert store.events.first_time("telegram", "42", T0)
    assert not store.events.first_time("telegram", "42", T0 + timedelta(hours=1))
    assert store.events.first_time("slack", "42", T0)


# ---- customers, identities, consent -----------------------------------------------------------

def test_customer_upsert_by_ref_keeps_known_fields(store):
    """A later order fills what is missing and never renames a customer, moves their time zone or
    changes their language (#24: anyone can order under a known e-mail)."""
    first = store.customers.upsert("C-1", "C-1", "ana@example.com", None, None, T0)          # no name given
    again = store.customers.upsert("C-1", "Ana", None, "Europe/Lisbon", "pt", T0)
    assert first == again
    store.customers.upsert("C-1", "Mallory [/]", "new@example.com", "Pacific/Kiritimati", "de", T0)
    row = store.customers.get(first)
    assert (row.name, row.email, row.timezone, row.language) == ("Ana", "new@example.com", "Europe/Lisbon", "pt")


def test_identity_consent_and_ledger(store):
    customer_id, identity_id = customer(store)
    identity = store.customers.identity(identity_id)
    assert identity.contactable and identity.address == "1001"
    assert store.customers.identity_at("telegram", "1001").id == identity_id
    store.customers.opt_out(identity_id, T0, source="conversation:1")
    assert store.customers.identity(identity_id).opted_out
    assert not store.customers.identity(identity_id).contactable
    store.customers.opt_in(identity_id, T0, source="telegram:/start")
    assert store.customers.identity(identity_id).contactable
    assert [(r.action, r.source) for r in store.customers.ledger(customer_id)] == [
        ("opt_in", "test"), ("opt_out", "conversation:1"), ("opt_in", "telegram:/start")]


def test_consent_withdrawn_by_a_later_import_is_ledgered(store):
    customer_id, identity_id = customer(store)
    store.customers.ensure_identity(customer_id, "telegram", "1001", False, T0, source="order-import:A-2")
    assert not store.customers.identity(identity_id).consent
    assert store.customers.ledger(customer_id)[-1].action == "consent_withdrawn"


def test_an_identity_and_its_customer_in_one_read(store):
    customer_id, identity_id = customer(store)
    assert store.customers.identity_and_customer_at("telegram", "1001") == (
        store.customers.identity(identity_id), store.customers.get(customer_id))
    assert store.customers.identity_and_customer_at("telegram", "9999") == (None, None)
    store.db.execute("delete from customers where id = ?", [customer_id])       # a dangling identity
    assert store.customers.identity_and_customer_at("telegram", "1001") == (store.customers.identity(identity_id), None)


def test_unreachable_identity_is_not_contactable(store):
    _, identity_id = customer(store)
    store.customers.mark_unreachable(identity_id)
    assert not store.customers.identity(identity_id).contactable


def test_identity_without_address_is_not_contactable(store):
    customer_id = store.customers.upsert("C-2", "Bo", None, None, None, T0)
    identity_id = store.customers.ensure_identity(customer_id, "telegram", None, True, T0, source="import")
    assert not store.customers.identity(identity_id).contactable


def test_binding_a_chat_moves_it_from_another_identity(store):
    _, first = customer(store, "C-1", "1001")
    other_customer = store.customers.upsert("C-2", "Bo", None, None, None, T0)
    second = store.customers.ensure_identity(other_customer, "telegram", None, True, T0, source="import")
    store.customers.bind_address(second, "1001", T0, source="telegram-link")
    assert store.customers.identity_at("telegram", "1001").id == second
    assert store.customers.identity(first).address is None


def test_link_token_used_once(store):
    assert store.customers.use_link("tok-1", 1, T0)
    assert not store.customers.use_link("tok-1", 1, T0)


def test_contacts_in_a_rolling_window(store):
    customer_id, _ = customer(store)
    for days in (10, 6, 1):
        store.customers.record_contact(customer_id, "checkin", T0 - timedelta(days=days))
    assert store.customers.contacts_since(customer_id, T0 - timedelta(days=7)) == [
        T0 - timedelta(days=6), T0 - timedelta(days=1)]


# ---- orders, touchpoints -------------------------------------------------------------------

ORDER = {"order_id": "A-1", "customer_id": 1, "channel": "telegram", "status": "delivered",
         "purchased_at": iso(T0), "shipped_at": None, "delivered_at": iso(T0 + timedelta(days=3))}


def test_order_upsert_reports_what_changed(store):
    assert store.orders.upsert_order(dict(ORDER), T0) == "inserted"
    assert store.orders.upsert_order(dict(ORDER), T0) == "unchanged"
    assert store.orders.upsert_order({**ORDER, "status": "returned"}, T0) == "updated"
    assert store.orders.get("A-1").status == "returned" and store.orders.count() == 1


def test_line_item_upsert(store):
    item = {"order_id": "A-1", "product": "Shoes", "sku": "S", "category": "footwear", "quantity": 1, "price": 9.5}
    assert store.orders.upsert_item(dict(item))
    assert not store.orders.upsert_item(dict(item))
    assert store.orders.upsert_item({**item, "quantity": 2})
    assert [i.quantity for i in store.orders.items("A-1")] == [2]


def test_the_latest_order_with_its_items_in_one_read(store):
    assert store.orders.latest_with_items(1) == (None, [])
    store.orders.upsert_order(dict(ORDER), T0)
    assert store.orders.latest_with_items(1) == (store.orders.get("A-1"), [])          # no line items
    later = {**ORDER, "order_id": "A-2", "purchased_at": iso(T0 + timedelta(days=1))}
    store.orders.upsert_order(later, T0)
    for sku in ("B", "A"):
        store.orders.upsert_item({"order_id": "A-2", "product": f"P{sku}", "sku": sku, "category": "c",
                                  "quantity": 1, "price": None})
    store.orders.upsert_item({"order_id": "A-1", "product": "old", "sku": "Z", "category": "c", "quantity": 1,
                              "price": 1.0})
    order, items = store.orders.latest_with_items(1)
    assert (order, items) == (store.orders.latest_for_customer(1), store.orders.items("A-2"))
    assert order is not None and order.order_id == "A-2" and [i.sku for i in items] == ["B", "A"]


def test_touchpoints_follow_the_wanted_schedule(store):
    due = lambda days: iso(T0 + timedelta(days=days))  # noqa: E731
    store.orders.set_touchpoints("A-1", "S", [{"kind": "checkin", "flow": "checkin", "due_at": due(4)},
                                              {"kind": "nps", "flow": "nps", "due_at": due(30)}])
    assert [(t.kind, t.status) for t in store.orders.touchpoints("A-1")] == [("checkin", "pending"),
                                                                                  ("nps", "pending")]
    # the delivery moved: due dates follow; a kind no longer wanted is cancelled
    store.orders.set_touchpoints("A-1", "S", [{"kind": "checkin", "flow": "checkin", "due_at": due(6)}])
    rows = {t.kind: t for t in store.orders.touchpoints("A-1")}
    assert rows["checkin"].due_at == due(6) and rows["nps"].status == "cancelled"
    # a started touchpoint is history: never rescheduled
    store.orders.finish_touchpoint(rows["checkin"].id, "started", T0, conversation_id=7)
    store.orders.set_touchpoints("A-1", "S", [{"kind": "checkin", "flow": "checkin", "due_at": due(9)}])
    checkin = next(t for t in store.orders.touchpoints("A-1") if t.kind == "checkin")
    assert (checkin.status, checkin.due_at, checkin.conversation_id) == ("started", due(6), 7)


def test_due_and_held_touchpoints(store):
    store.orders.set_touchpoints("A-1", "S", [{"kind": "checkin", "flow": "checkin", "due_at": iso(T0)}])
    [row] = store.orders.due_touchpoints(T0)
    assert store.orders.due_touchpoints(T0 - timedelta(seconds=1)) == []
    store.orders.hold_touchpoint(row.id, T0 + timedelta(hours=1), "quiet_hours")
    assert store.orders.due_touchpoints(T0) == []
    assert store.orders.next_touchpoint_at() == T0 + timedelta(hours=1)
    assert store.orders.due_touchpoints(T0 + timedelta(hours=1))[0].held_reason == "quiet_hours"


def test_skip_touchpoints_before(store):
    store.orders.set_touchpoints("A-1", "S", [{"kind": "thank_you", "flow": "thank_you", "due_at": iso(T0)},
                                              {"kind": "checkin", "flow": "checkin", "due_at": iso(T0 + timedelta(days=4))}])
    store.orders.skip_touchpoints_before("A-1", T0 + timedelta(days=1))
    assert [t.status for t in store.orders.touchpoints("A-1")] == ["skipped", "pending"]


# ---- conversations -----------------------------------------------------------------------------

def test_conversation_state_round_trip(store):
    customer_id, identity_id = customer(store)
    cid = store.conversations.create(customer_id, identity_id, "A-1", "S", "checkin", "greet", T0)
    state = {"flow": "checkin", "step": "ask_csat", "slots": {"csat": 5, "text": "çà 🙂"}, "status": "waiting",
             "owner": "bot", "wake_at": T0 + timedelta(hours=24), "wake_kind": "remind", "reminded": False}
    store.conversations.save(cid, state, T0)
    row = store.conversations.get(cid)
    assert row.slots == {"csat": 5, "text": "çà 🙂"}
    assert (row.step, row.status, row.wake_kind) == ("ask_csat", "waiting", "remind")
    assert store.conversations.current_for_identity(identity_id).id == cid
    assert store.conversations.due_wakeups(T0) == []
    assert [c.id for c in store.conversations.due_wakeups(T0 + timedelta(hours=24))] == [cid]
    store.conversations.save(cid, {**state, "status": "closed", "wake_at": None}, T0)
    assert store.conversations.current_for_identity(identity_id) is None
    assert store.conversations.latest_for_identity(identity_id).id == cid


def test_each_distinct_offer_once_and_order_facts(store):
    customer_id, identity_id = customer(store)
    cid = store.conversations.create(customer_id, identity_id, "A-1", "S", "checkin", "greet", T0)
    assert not store.conversations.offer_made_before(customer_id, "upsell:S")
    store.conversations.save(cid, {"flow": "checkin", "step": "upsell",
                                   "slots": {"csat": 5, "upsell_offered": True, "offer": "upsell:S"},
                                   "status": "closed", "owner": "bot", "wake_at": None, "wake_kind": None,
                                   "reminded": False}, T0)
    store.conversations.add_response(cid, customer_id, "A-1", "S", "csat", 2, "", None, [], T0)
    store.conversations.add_response(cid, customer_id, "A-1", "S", "csat", 5, "", None, [], T0)
    assert store.conversations.offer_made_before(customer_id, "upsell:S")
    assert not store.conversations.offer_made_before(customer_id, "refill:S")      # another offer
    assert not store.conversations.offer_made_before(customer_id, "upsell:OTHER")
    assert store.conversations.order_facts(customer_id, "A-1") == {"csat": 5}
    assert store.conversations.order_facts(customer_id, "A-2") == {}


def test_messages_keep_platform_ids(store):
    customer_id, identity_id = customer(store)
    cid = store.conversations.create(customer_id, identity_id, None, None, "inbox", "listen", T0)
    outbox_id = store.outbox.add("telegram", "1001", identity_id, cid, "hello", T0)
    mid = store.conversations.add_message(cid, identity_id, "out", "bot", "hello", T0, outbox_id=outbox_id)
    store.conversations.set_platform_id(outbox_id, "777")
    assert store.conversations.message(mid).platform_message_id == "777"
    assert store.conversations.message_by_outbox(outbox_id).id == mid
    for n in range(10):
        store.conversations.add_message(cid, identity_id, "in", "customer", f"m{n}", T0)
    assert [m.text for m in store.conversations.last_messages(cid, 3)] == ["m7", "m8", "m9"]


# ---- cases -----------------------------------------------------------------------------

def test_a_case_keeps_the_request_beside_the_problem_type(store):
    customer_id, identity_id = customer(store)
    cid = store.conversations.create(customer_id, identity_id, "A-1", "S", "checkin", "greet", T0)
    case_id = store.cases.open(cid, customer_id, "A-1", "product_problem", "damaged",
                               "arrived broken, I want a refund", [], T0, timedelta(minutes=30),
                               request="refund")
    case = store.cases.get(case_id)
    assert (case.reason, case.problem_type, case.request) == \
        ("product_problem", "damaged", "refund")


def test_case_lifecycle_and_sla_queries(store):
    customer_id, identity_id = customer(store)
    cid = store.conversations.create(customer_id, identity_id, "A-1", "S", "checkin", "greet", T0)
    case_id = store.cases.open(cid, customer_id, "A-1", "product_problem", "defective", "it broke", ["p1"], T0,
                               timedelta(minutes=30))
    assert store.cases.active_for_conversation(cid).id == case_id
    assert store.cases.active_for_customer(customer_id).id == case_id
    assert store.cases.next_sla_at() == T0 + timedelta(minutes=30)
    assert store.cases.overdue(T0 + timedelta(minutes=29)) == []
    assert [c.id for c in store.cases.overdue(T0 + timedelta(minutes=30))] == [case_id]
    store.cases.update(case_id, sla_reminded=1, card_ts="1.0001")
    assert store.cases.overdue(T0 + timedelta(hours=2)) == []
    assert store.cases.by_card("1.0001").id == case_id
    store.cases.add_photos(case_id, ["p2"])
    assert store.cases.get(case_id).photos == ["p1", "p2"]
    store.cases.update(case_id, status="resolved", resolved_at=T0)
    assert store.cases.active_for_customer(customer_id) is None and store.cases.all_active() == []


# ---- outbox ------------------------------------------------------------------------------

def test_outbox_claim_is_exclusive_and_counts_attempts(store):
    oid = store.outbox.add("telegram", "1", None, None, "hi", T0)
    assert [r.id for r in store.outbox.due(T0)] == [oid]
    assert store.outbox.claim(oid, T0)
    assert not store.outbox.claim(oid, T0)
    assert store.outbox.due(T0) == []
    store.outbox.sent(oid, "p1", T0)
    row = store.outbox.get(oid)
    assert (row.status, row.attempts, row.platform_message_id) == ("sent", 1, "p1")


def test_outbox_retry_pushes_later_rows_to_the_same_address(store):
    first = store.outbox.add("telegram", "1", None, None, "one", T0)
    second = store.outbox.add("telegram", "1", None, None, "two", T0)
    other = store.outbox.add("telegram", "2", None, None, "else", T0)
    store.outbox.claim(first, T0)
    store.outbox.retry(first, T0 + timedelta(seconds=30), "429")
    assert [r.id for r in store.outbox.due(T0)] == [other]
    assert [r.id for r in store.outbox.due(T0 + timedelta(seconds=30))] == [other, first, second]


def test_outbox_reconcile_requeues_in_flight_rows(store):
    oid = store.outbox.add("telegram", "1", None, None, "hi", T0)
    store.outbox.claim(oid, T0)
    assert store.outbox.reconcile() == 1
    assert store.outbox.get(oid).status == "pending" and store.outbox.get(oid).attempts == 1


def test_outbox_cancel_for_identity_only_touches_pending(store):
    _, identity_id = customer(store)
    sent = store.outbox.add("telegram", "1001", identity_id, None, "a", T0)
    pending = store.outbox.add("telegram", "1001", identity_id, None, "b", T0)
    store.outbox.claim(sent, T0)
    store.outbox.sent(sent, "p", T0)
    assert store.outbox.cancel_for_identity(identity_id, "opted out") == 1
    assert store.outbox.get(sent).status == "sent" and store.outbox.get(pending).status == "cancelled"
    assert store.outbox.counts() == {"sent": 1, "cancelled": 1}


def test_file_store_survives_reopen(tmp_path):
    path = tmp_path / "a.db"
    store = Store.open(path)
    with store.transaction():
        store.events.first_time("telegram", "1", T0)
    store.close()
    assert not Store(Database(path)).events.first_time("telegram", "1", T0)
