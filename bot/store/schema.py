"""The database schema as sqlite-utils Migrations: each step applied once, in a transaction."""
from __future__ import annotations

from pathlib import Path

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from bot.base import secretfile
from bot.store.privacy import keyed

migrations = Migrations("aftercare")


@migrations()
def m001_core(db: Database) -> None:
    """Customers, identities, orders, conversations, messages, scores, cases, consent, outbox."""
    db.table("customers").create({
        "id": int, "ref": str, "name": str, "email": str, "timezone": str, "language": str,
        "created_at": str,
    }, pk="id", not_null={"ref"})
    db.table("customers").create_index(["ref"], unique=True)

    # One row per (channel, address). `address` is empty until a channel's deep link binds it.
    db.table("identities").create({
        "id": int, "customer_id": int, "channel": str, "address": str, "reachable": int,
        "consent": int, "opted_out": int, "language_code": str, "linked_at": str,
    }, pk="id", foreign_keys=[("customer_id", "customers", "id")],
        defaults={"reachable": 1, "consent": 1, "opted_out": 0})
    db.table("identities").create_index(["channel", "address"])
    db.table("identities").create_index(["customer_id", "channel"], unique=True)

    db.table("orders").create({
        "order_id": str, "customer_id": int, "channel": str, "status": str, "purchased_at": str,
        "shipped_at": str, "delivered_at": str, "updated_at": str,
    }, pk="order_id", foreign_keys=[("customer_id", "customers", "id")])
    db.table("orders").create_index(["customer_id"])

    db.table("line_items").create({
        "id": int, "order_id": str, "product": str, "sku": str, "category": str,
        "quantity": int, "price": float,
    }, pk="id", foreign_keys=[("order_id", "orders", "order_id")])
    db.table("line_items").create_index(["order_id", "sku"], unique=True)

    db.table("touchpoints").create({
        "id": int, "order_id": str, "sku": str, "kind": str, "flow": str, "due_at": str,
        "status": str, "held_reason": str, "conversation_id": int, "started_at": str,
    }, pk="id", defaults={"status": "pending"})
    db.table("touchpoints").create_index(["order_id", "sku", "kind"], unique=True)
    db.table("touchpoints").create_index(["status", "due_at"])

    db.table("conversations").create({
        "id": int, "customer_id": int, "identity_id": int, "order_id": str, "sku": str,
        "flow": str, "step": str, "slots": str, "owner": str, "status": str, "wake_at": str,
        "wake_kind": str, "reminded": int, "created_at": str, "updated_at": str,
        "question_message_id": int,
    }, pk="id", defaults={"owner": "bot", "status": "active", "reminded": 0, "slots": "{}"})
    db.table("conversations").create_index(["status", "wake_at"])
    db.table("conversations").create_index(["identity_id", "status"])

    db.table("messages").create({
        "id": int, "conversation_id": int, "identity_id": int, "direction": str, "sender": str,
        "text": str, "buttons": str, "platform_message_id": str, "outbox_id": int, "at": str,
    }, pk="id")
    db.table("messages").create_index(["conversation_id", "id"])

    db.table("responses").create({
        "id": int, "conversation_id": int, "customer_id": int, "order_id": str, "sku": str,
        "metric": str, "score": int, "text": str, "intent": str, "entities": str, "at": str,
    }, pk="id")
    db.table("responses").create_index(["metric", "sku"])

    db.table("escalations").create({
        "id": int, "conversation_id": int, "customer_id": int, "order_id": str, "reason": str,
        "problem_type": str, "status": str, "agent": str, "text": str, "photos": str,
        "opened_at": str, "claimed_at": str, "first_reply_at": str, "resolved_at": str,
        "sla_due_at": str, "card_channel": str, "card_ts": str, "sla_reminded": int, "nudged": int,
    }, pk="id", defaults={"status": "open", "sla_reminded": 0, "nudged": 0})
    db.table("escalations").create_index(["status"])
    db.table("escalations").create_index(["card_ts"])
    db.table("escalations").create_index(["conversation_id"])

    db.table("consent_ledger").create({
        "id": int, "customer_id": int, "identity_id": int, "channel": str, "action": str,
        "source": str, "at": str,
    }, pk="id")

    db.table("processed_events").create({"channel": str, "event_id": str, "at": str},
                                  pk=("channel", "event_id"))

    # Proactive contacts (check-ins, reminders, offers): what the weekly cap counts.
    db.table("contacts").create({"id": int, "customer_id": int, "kind": str, "at": str}, pk="id")
    db.table("contacts").create_index(["customer_id", "at"])

    # Every outbound message is written here in the same transaction as its cause.
    db.table("outbox").create({
        "id": int, "channel": str, "address": str, "identity_id": int, "conversation_id": int,
        "kind": str, "text": str, "buttons": str, "payload": str, "status": str,
        "not_before": str, "attempts": int, "last_error": str, "platform_message_id": str,
        "created_at": str, "sent_at": str, "claimed_at": str,
    }, pk="id", defaults={"status": "pending", "attempts": 0, "kind": "message"})
    db.table("outbox").create_index(["status", "not_before"])
    db.table("outbox").create_index(["conversation_id"])


def migrate(db: Database) -> None:
    """Bring `db` to the current schema (idempotent) and set the pragmas we rely on."""
    if db.memory is False:
        db.enable_wal()
        # With WAL, NORMAL syncs at checkpoints, not at every commit: a commit survives the
        # process being killed (kill -9), and only an OS crash or power loss can take back the
        # last few. FULL cost ~3.5 ms of fsync per commit, the loop blocked (README: durability).
        db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA foreign_keys = OFF")
    db.execute("PRAGMA busy_timeout = 5000")
    # Erased text is overwritten with zeros, not just unlinked from the b-tree: `customer forget`
    # and retention must not depend on how this SQLite happened to be compiled.
    db.execute("PRAGMA secure_delete = ON")
    migrations.apply(db)


@migrations()
def m002_used_links(db: Database) -> None:
    """Deep-link tokens bind once: remember the ones used."""
    db.table("used_links").create({"token_id": str, "customer_id": int, "at": str}, pk="token_id")


@migrations()
def m003_identity_lookup(db: Database) -> None:
    """Customers imported by email on a channel that looks them up: remember when the one lookup was tried."""
    db.table("identities").add_column("lookup_tried_at", str)


@migrations()
def m004_data_rights(db: Database) -> None:
    """Erasure: when a customer was forgotten, who ran it, and the hashes that keep them from
    being contacted (or re-created by an inbound message) again."""
    db.table("customers").add_column("forgotten_at", str)
    # One row per erasure (forget or retention run): who, when, how many rows; never the data.
    db.table("erasure_log").create({
        "id": int, "kind": str, "customer_id": int, "actor": str, "at": str, "counts": str,
    }, pk="id")
    # sha256 of "ref:<ref>", "email:<email>", "<channel>:<address>" of forgotten customers.
    db.table("suppressed").create({"hash": str, "at": str}, pk="hash")


@migrations()
def m005_case_request(db: Database) -> None:
    """What the customer asked for beside the problem ("arrived broken, I want a refund"):
    refund, replacement, exchange, return or repair; NULL when they asked for nothing."""
    db.table("escalations").add_column("request", str)


@migrations()
def m006_language_choice(db: Database) -> None:
    """A language the customer chose (/language): it wins over the order's and the platform's."""
    db.table("customers").add_column("language_choice", str)


@migrations()
def m007_reporting_indexes(db: Database) -> None:
    """What `aftercare report` looks up per row: a touchpoint by its conversation, a customer's
    scores and cases (without these the report grows with the square of the store)."""
    db.table("touchpoints").create_index(["conversation_id"], if_not_exists=True)
    db.table("responses").create_index(["customer_id", "at"], if_not_exists=True)
    db.table("escalations").create_index(["customer_id"], if_not_exists=True)


@migrations()
def m008_shipping(db: Database) -> None:
    """Live orders: the carrier's latest shipment status and delivery estimate; touchpoints
    remember the moment they were timed from, so a delay notice fires again for a new delay."""
    db.table("orders").add_column("expected_at", str)
    db.table("orders").add_column("shipment_status", str)
    db.table("touchpoints").add_column("anchor", str)


@migrations()
def m009_tell_fixed(db: Database) -> None:
    """`aftercare tell-fixed`: one "it has been fixed" notice per customer, SKU and problem type
    (the unique index is what makes a second run send nothing), held by the governor like a
    touchpoint until the weekly cap and quiet hours let it go."""
    db.table("fix_notices").create({
        "id": int, "customer_id": int, "identity_id": int, "sku": str, "problem_type": str, "text": str,
        "status": str, "due_at": str, "held_reason": str, "created_at": str, "sent_at": str, "outbox_id": int,
    }, pk="id", defaults={"status": "pending"})
    db.table("fix_notices").create_index(["customer_id", "sku", "problem_type"], unique=True)
    db.table("fix_notices").create_index(["status", "due_at"])


@migrations()
def m010_milestones_referrals(db: Database) -> None:
    """Milestones and referrals. A touchpoint may expire (dropped when it could not go out in
    time, never sent late); an order may carry the referral code it was placed with; the codes
    given to promoters and the gift codes given at milestones are recorded, one row each, so the
    report can count referred orders and the shop can see which code went to whom."""
    db.table("touchpoints").add_column("expires_at", str)
    db.table("orders").add_column("referral_code", str)
    db.table("orders").create_index(["referral_code"], if_not_exists=True)
    db.table("referral_codes").create({
        "code": str, "customer_id": int, "conversation_id": int, "link": str, "given_at": str,
    }, pk="code")
    db.table("referral_codes").create_index(["customer_id"], unique=True)
    db.table("gift_codes").create({
        "id": int, "customer_id": int, "kind": str, "code": str, "conversation_id": int, "given_at": str,
    }, pk="id")
    db.table("gift_codes").create_index(["customer_id", "kind"], unique=True)


@migrations()
def m011_hold_history(db: Database) -> None:
    """The report's reach section counts what the governor held (quiet hours, weekly cap): a
    touchpoint's or notice's `held_reason` is cleared when it goes out, so each also keeps every
    reason it was ever held for (comma-separated, each once)."""
    db.table("touchpoints").add_column("held_reasons", str)
    db.table("fix_notices").add_column("held_reasons", str)


@migrations()
def m012_desk(db: Database) -> None:
    """The support desk in the thread: snoozes (the SLA clock paused while one lasts), the 75 %
    SLA warning, the customer-state notice posted once, goodwill codes from a weekly budget, and
    one row per desk action (who did what to which case: the per-agent figures and the demo's
    counts read it). Agents' private notes are desk actions of kind `note` with their text."""
    for column, kind in (("snoozed_until", str), ("snooze_until_customer", int), ("sla_paused_at", str),
                         ("sla_warn_at", str), ("sla_warned", int), ("state_noted", str)):
        db.table("escalations").add_column(column, kind)
    db.table("goodwill_codes").create({
        "id": int, "code": str, "case_id": int, "customer_id": int, "agent": str, "issued_at": str,
    }, pk="id")
    db.table("goodwill_codes").create_index(["code"], unique=True)
    db.table("goodwill_codes").create_index(["issued_at"])
    db.table("desk_actions").create({
        "id": int, "case_id": int, "agent": str, "kind": str, "detail": str, "at": str,
    }, pk="id")
    db.table("desk_actions").create_index(["case_id"])
    db.table("desk_actions").create_index(["kind", "at"])


@migrations()
def m013_shop_versions(db: Database) -> None:
    """The shop's own `updated_at` of the newest order payload applied: an older payload
    (a replayed orders/create after orders/cancelled) is refused instead of undoing it."""
    db.table("orders").add_column("shop_updated_at", str)


@migrations()
def m014_keyed_suppression(db: Database) -> None:
    """`suppressed` held plain sha256 hashes of forgotten e-mails, refs, order ids and addresses,
    which a list of guesses reverses. Each becomes HMAC(install secret, that hash)
    (bot/store/privacy.py), which is what lookups compute from now on."""
    rows = [r[0] for r in db.execute("select hash from suppressed").fetchall()]
    if not rows:
        return
    file = db.execute("pragma database_list").fetchone()[2]
    key = secretfile.install_secret(secretfile.secret_path(Path(file)))
    for old in rows:
        db.execute("update suppressed set hash = ? where hash = ?", [keyed(old, key), old])


@migrations()
def m015_fulfillment_versions(db: Database) -> None:
    """The shop's `updated_at` of the newest payload applied per fulfilment: a replayed older
    fulfilments/update ("in_transit" after "delivered") is refused instead of rolling back
    the order's shipment status."""
    db.table("fulfillment_versions").create({"fulfillment": str, "order_id": str, "updated_at": str},
                                            pk="fulfillment")


@migrations()
def m016_message_path_indexes(db: Database) -> None:
    """What every inbound message and every send looks up: a customer's conversations (about an
    order: the earlier scores and offers the engine step may ask for), the message row of a
    sent outbox row (without these two, each was a scan of the whole table, growing with the
    store), and the rows still waiting for one address (the dispatcher's due heads: is there
    an earlier one?), a small index of pending rows only."""
    db.table("conversations").create_index(["customer_id", "order_id"], if_not_exists=True)
    db.table("messages").create_index(["outbox_id"], if_not_exists=True)
    db.execute("create index if not exists idx_outbox_pending_address on outbox (channel, address, not_before) "
               "where status = 'pending'")
