"""The one writer: every SQL statement of the product lives in this package.

`Store` is a thin holder of small repositories, one per group of tables, plus `transaction()`
so that a state change and the messages it causes commit together (the outbox invariant).
"""
from __future__ import annotations

import contextlib
import json
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Collection, Iterator, Literal, Optional

from sqlite_utils import Database

from bot.base import secretfile
from bot.base.errors import AftercareError
from bot.base.kinds import ConversationStatus, OutboxKind
from bot.base.clock import iso, parse_iso
from bot.store.rows import PastOrder
from bot.store import tables
from bot.store.desk import Desk
from bot.store.files import private_store
from bot.store.fix_notices import FixNotices
from bot.store.privacy import Privacy
from bot.store.referrals import Referrals
from bot.store.reporting import Reporting
from bot.store.rows import (CaseAbout, CaseRow, ConsentEntry, ConversationRow, CustomerRow, EarlierFacts, LineItemRow,
                            MessageRow, OutboxRow, ResponseRow, SentMessage, StoredOrder, TouchpointRow)
from bot.store.run_log import RunLog
from bot.store.schema import migrate


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


_LATEST_SCORE = ("(select score from responses where customer_id = :customer and order_id = :order "
                 "and metric = '{metric}' and score is not null order by id desc limit 1)")
_ORDER_FACTS = (f"select {_LATEST_SCORE.format(metric='csat')}, {_LATEST_SCORE.format(metric='nps')}, "
                "max(coalesce(json_extract(slots, '$.low_score'), 0)), max(coalesce(json_extract(slots, '$.had_case'), 0)) "
                "from conversations where customer_id = :customer and order_id = :order")


_OUTBOX_INSERT = (
    "insert into outbox (channel, address, identity_id, conversation_id, kind, text, buttons, payload, status, "
    "not_before, attempts, created_at) values (:channel, :address, :identity_id, :conversation_id, :kind, :text, "
    ":buttons, :payload, 'pending', max(:at, coalesce((select max(not_before) from outbox where status = 'pending' "
    "and channel = :channel and address is :address), '')), 0, :created_at)")


class StoreFileError(AftercareError, OSError):
    """The store's file cannot be made, or is not a database (a start-up failure, one line)."""


class Store:
    """Opens the database, applies migrations and exposes the repositories."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # Driver-level autocommit: a statement outside transaction() commits on its own, and
        # transaction() is sqlite-utils' atomic() (BEGIN ... COMMIT, savepoints when nested).
        # Python's implicit transactions would otherwise mix with atomic(), whose own COMMIT
        # inside every insert/update committed half of an outer transaction.
        db.conn.isolation_level = None
        migrate(db)
        self._lock = threading.RLock()
        self._depth = 0                      # open transaction() blocks (nested ones count)
        self._outbox_added = False           # an outbox row was added in the open transaction
        self._outbox_listeners: list[Callable[[], None]] = []
        self.customers = Customers(db)
        self.orders = Orders(db)
        self.conversations = Conversations(db)
        self.outbox = Outbox(db, self._outbox_written)
        self.cases = Cases(db)
        self.desk = Desk(db)
        self.events = Events(db)
        self.privacy = Privacy(db, self.install_secret)
        self.reporting = Reporting(db)
        self.fix_notices = FixNotices(db)
        self.referrals = Referrals(db)
        self.run_log = RunLog(db)
        self._secret: Optional[bytes] = None

    @classmethod
    def open(cls, path: Path | str) -> "Store":
        """A store on a file (created with its folder when missing); StoreFileError, one line
        naming the file and the problem, when it cannot be made or is not a database."""
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            private_store(path)              # 0600 before SQLite opens it: its -wal and -shm follow
        except OSError as exc:
            raise StoreFileError(f"store {path}: cannot create or open it ({exc.strerror or exc}); give --db "
                                 "FILE, or set AFTERCARE_DB or store.path to a file in a folder you can write") from None
        database = Database(path)
        try:
            return cls(database)
        except sqlite3.DatabaseError as exc:
            database.close()
            raise StoreFileError(f"store {path}: {exc} (not an Aftercare store, or damaged: restore it from a "
                                 "backup with `aftercare restore`, or point --db at the right file)") from None

    @classmethod
    def memory(cls) -> "Store":
        return cls(Database(memory=True))

    def install_secret(self) -> bytes:
        """This install's own key for personal codes when the config sets none (bot/base/secretfile.py): kept
        beside the database file, so it lasts as long as the codes recorded there; a database in
        memory gets one for its lifetime."""
        if self._secret is None:
            row = self.db.execute("pragma database_list").fetchone()      # (seq, name, file)
            file = row[2] if row else ""
            self._secret = (secretfile.install_secret(secretfile.secret_path(Path(file))) if file
                            else secrets.token_hex(secretfile.SECRET_BYTES).encode())
        return self._secret

    @contextlib.contextmanager
    def transaction(self, savepoint: bool = True) -> Iterator[None]:
        """All writes inside commit together or not at all; nested calls become savepoints, so
        a caller that catches an error inside its own transaction keeps what it wrote before.
        `savepoint=False`: a nested call joins the open transaction as it is (two statements
        fewer), for a caller whose every error undoes that whole transaction.

        sqlite-utils' own writes join the open transaction (`Database.atomic`), so nothing
        commits early."""
        with self._lock:
            outer = self._depth == 0
            self._depth += 1
            try:
                with self.db.atomic() if outer or savepoint else contextlib.nullcontext():
                    yield
            except BaseException:
                if outer:
                    self._outbox_added = False       # rolled back: nothing new to send
                raise
            finally:
                self._depth -= 1
            if outer and self._outbox_added:
                self._outbox_added = False
                self._notify_outbox()

    def on_outbox_written(self, listener: Callable[[], None]) -> None:
        """Call `listener` after every commit that added outbox rows (the dispatcher's wake-up:
        a reply goes out as soon as it is committed, not when a timer next fires)."""
        self._outbox_listeners.append(listener)

    def _outbox_written(self) -> None:
        if self._depth:
            self._outbox_added = True            # told after the commit, never before
        else:
            self._notify_outbox()                # autocommitted on its own

    def _notify_outbox(self) -> None:
        for listener in list(self._outbox_listeners):
            listener()

    @property
    def path(self) -> str:
        """The database file (":memory:" for a store in memory)."""
        return self.db.execute("pragma database_list").fetchone()[2] or ":memory:"

    def close(self) -> None:
        self.db.close()


# ---- customers, identities, consent ----------------------------------------------------

@dataclass(frozen=True)
class Identity:
    id: int
    customer_id: int
    channel: str
    address: Optional[str]
    reachable: bool
    consent: bool
    opted_out: bool
    language_code: Optional[str]

    @property
    def contactable(self) -> bool:
        """Anything at all may be sent (invariant 5)."""
        return bool(self.address) and self.reachable and self.consent and not self.opted_out


class Customers:
    def __init__(self, db: Database) -> None:
        self.db = db

    def upsert(self, ref: str, name: str, email: Optional[str], timezone: Optional[str],
               language: Optional[str], now: datetime) -> int:
        row = self.db.execute("select id, name, timezone, language from customers where ref = ?", [ref]).fetchone()
        fields = {"name": name, "email": email, "timezone": timezone, "language": language}
        if row:
            # What the bot calls a customer, and when and in which language it writes, come from
            # their first order: a later order only fills what is missing. Anyone can place an
            # order under a known e-mail (a guest checkout joins that customer), and must not
            # rename them, move their quiet hours or change their language (#24).
            held = {"name": None if row[1] == ref else row[1], "timezone": row[2], "language": row[3]}
            tables.update(self.db, "customers", row[0], {k: v for k, v in fields.items() if v and not held.get(k)})
            return row[0]
        return tables.insert(self.db, "customers", {"ref": ref, **fields, "created_at": iso(now)})

    def id_of_ref(self, ref: str) -> Optional[int]:
        """The customer whose shop reference is `ref`, if any."""
        row = self.db.execute("select id from customers where ref = ?", [ref]).fetchone()
        return row[0] if row else None

    def get(self, customer_id: int) -> CustomerRow:
        return CustomerRow.from_row(tables.get(self.db, "customers", customer_id))

    def choose_language(self, customer_id: int, tag: Optional[str]) -> None:
        """The customer's own choice of language (None: forget it, back to the automatic pick)."""
        tables.update(self.db, "customers", customer_id, {"language_choice": tag})

    def ensure_identity(self, customer_id: int, channel: str, address: Optional[str], consent: bool,
                        now: datetime, source: str) -> int:
        """The customer's identity on `channel`, made with `address` and `consent` when there is
        none yet. Order data never rebinds an existing identity nor grants it consent: only the
        signed deep link or an admin (`bind_address`) bind a chat, and only the customer opts in.
        It may still withdraw consent (the shop's word that they must not be contacted)."""
        row = self.db.execute("select id, address, consent from identities where customer_id = ? and channel = ?",
                              [customer_id, channel]).fetchone()
        if row:
            identity_id = row[0]
            if row[2] and not consent:
                tables.update(self.db, "identities", identity_id, {"consent": 0})
                self._ledger(customer_id, identity_id, channel, "consent_withdrawn", source, now)
            return identity_id
        if address and self.identity_at(channel, address) is not None:
            address = None              # someone else's chat already: proposing it binds nothing
        identity_id = tables.insert(self.db, "identities", {
            "customer_id": customer_id, "channel": channel, "address": address or None,
            "consent": int(consent), "reachable": 1, "opted_out": 0,
            "linked_at": iso(now) if address else None,
        })
        if consent:
            self._ledger(customer_id, identity_id, channel, "opt_in", source, now)
        return identity_id

    def identity(self, identity_id: int) -> Identity:
        return _identity(tables.get(self.db, "identities", identity_id))

    def identity_at(self, channel: str, address: str) -> Optional[Identity]:
        rows = list(tables.where(self.db, "identities", "channel = ? and address = ?", [channel, address], limit=1))
        return _identity(rows[0]) if rows else None

    def identity_and_customer_at(self, channel: str, address: str) -> tuple[Optional[Identity], Optional[CustomerRow]]:
        """`identity_at` and its customer in one read (None, None for a chat bound to no one; the
        customer None when its row is missing)."""
        rows = tables.query(self.db, "select i.id as identity_id, i.customer_id, i.channel, i.address, i.reachable, "
                            "i.consent, i.opted_out, i.language_code, c.* from identities i left join customers c "
                            "on c.id = i.customer_id where i.channel = ? and i.address = ? limit 1", [channel, address])
        if not rows:
            return None, None
        row = rows[0]
        identity = _identity({**row, "id": row["identity_id"]})
        return identity, CustomerRow.from_row(row) if row["id"] is not None else None

    def customer_at(self, channel: str, address: str) -> Optional[tuple[CustomerRow, Optional[str]]]:
        """The customer whose chat this is, with the language code their platform reported
        (the identity's), in one read; None for a chat bound to no one."""
        rows = tables.query(self.db, "select c.*, i.language_code as platform_language from identities i "
                            "join customers c on c.id = i.customer_id where i.channel = ? and i.address = ? limit 1",
                            [channel, address])
        return (CustomerRow.from_row(rows[0]), rows[0]["platform_language"]) if rows else None

    def identities_of(self, customer_id: int) -> list[Identity]:
        return [_identity(r) for r in tables.where(self.db, "identities", "customer_id = ?", [customer_id])]

    def bind_address(self, identity_id: int, address: str, now: datetime, source: str,
                     by: Literal["customer", "admin", "lookup"] = "customer") -> None:
        """Bind a chat to the customer's identity. `by` the customer (a channel's deep link): opts
        them in and undoes their STOP. By an admin (`bot.ops.binding`): opts them in, a STOP stays.
        By a platform lookup of an email from order data: the address only, consent and STOP
        as they were (order data never grants consent). Whoever held the address loses it
        (ledger: unlink)."""
        identity = self.identity(identity_id)
        for other in tables.where(self.db, "identities", "channel = ? and address = ? and id != ?",
                                  [identity.channel, address, identity_id]):
            tables.update(self.db, "identities", other["id"], {"address": None})
            self._ledger(other["customer_id"], other["id"], identity.channel, "unlink", source, now)
        fields: dict[str, object] = {"address": address, "linked_at": iso(now), "reachable": 1}
        if by != "lookup":
            fields["consent"] = 1
        if by == "customer":
            fields["opted_out"] = 0
        tables.update(self.db, "identities", identity_id, fields)
        self._ledger(identity.customer_id, identity_id, identity.channel, _BIND_ACTIONS[by], source, now)

    def opt_out(self, identity_id: int, now: datetime, source: str) -> None:
        identity = self.identity(identity_id)
        tables.update(self.db, "identities", identity_id, {"opted_out": 1})
        self._ledger(identity.customer_id, identity_id, identity.channel, "opt_out", source, now)

    def opt_in(self, identity_id: int, now: datetime, source: str) -> None:
        identity = self.identity(identity_id)
        tables.update(self.db, "identities", identity_id, {"opted_out": 0, "consent": 1, "reachable": 1})
        self._ledger(identity.customer_id, identity_id, identity.channel, "opt_in", source, now)

    def mark_unreachable(self, identity_id: int) -> None:
        tables.update(self.db, "identities", identity_id, {"reachable": 0})

    def mark_reachable(self, identity_id: int) -> None:
        """The customer wrote to us from this identity: whatever blocked it is gone."""
        tables.update(self.db, "identities", identity_id, {"reachable": 1})

    def unresolved_by_email(self, channel: str, limit: int = 50) -> list[tuple[int, str]]:
        """(identity id, email) of identities with no address yet whose email was never looked up."""
        rows = self.db.execute(
            "select i.id, c.email from identities i join customers c on c.id = i.customer_id "
            "where i.channel = ? and i.address is null and i.lookup_tried_at is null and c.email is not null "
            "limit ?", [channel, limit]).fetchall()
        return [(r[0], r[1]) for r in rows]

    def without_language(self, channel: str, after_id: int = 0, limit: int = 20) -> list[tuple[int, str]]:
        """(identity id, address) of reachable identities on `channel` whose customer's
        language nothing tells yet (no choice, no order language, no platform language), by
        id after `after_id`: whom to ask the platform about before the first message."""
        rows = self.db.execute(
            "select i.id, i.address from identities i join customers c on c.id = i.customer_id "
            "where i.channel = ? and i.address is not null and i.language_code is null and i.opted_out = 0 "
            "and c.language is null and c.language_choice is null and i.id > ? order by i.id limit ?",
            [channel, after_id, limit]).fetchall()
        return [(r[0], r[1]) for r in rows]

    def lookup_tried(self, identity_id: int, now: datetime) -> None:
        tables.update(self.db, "identities", identity_id, {"lookup_tried_at": iso(now)})

    def set_language(self, identity_id: int, language_code: str) -> None:
        tables.update(self.db, "identities", identity_id, {"language_code": language_code})

    def ledger(self, customer_id: int) -> list[ConsentEntry]:
        return [ConsentEntry.from_row(r)
                for r in tables.where(self.db, "consent_ledger", "customer_id = ?", [customer_id], order_by="id")]

    def _ledger(self, customer_id: int, identity_id: int, channel: str, action: str, source: str, now: datetime) -> None:
        tables.insert(self.db, "consent_ledger", {"customer_id": customer_id, "identity_id": identity_id, "channel": channel,
                                          "action": action, "source": source, "at": iso(now)})

    def use_link(self, token_id: str, customer_id: int, now: datetime) -> bool:
        """Mark a deep-link token used; False when it already was."""
        cursor = self.db.execute("insert or ignore into used_links (token_id, customer_id, at) values (?, ?, ?)",
                                 [token_id, customer_id, iso(now)])
        return cursor.rowcount == 1

    def record_contact(self, customer_id: int, kind: str, now: datetime) -> None:
        """A proactive contact: counted by the weekly cap."""
        tables.insert(self.db, "contacts", {"customer_id": customer_id, "kind": kind, "at": iso(now)})

    def contacts_since(self, customer_id: int, since: datetime) -> list[datetime]:
        rows = self.db.execute("select at from contacts where customer_id = ? and at > ? order by at",
                               [customer_id, iso(since)]).fetchall()
        return [at for at in (parse_iso(r[0]) for r in rows) if at is not None]


_BIND_ACTIONS = {"customer": "link", "admin": "admin_link", "lookup": "address_found"}


def _identity(row: dict) -> Identity:
    return Identity(row["id"], row["customer_id"], row["channel"], row["address"], bool(row["reachable"]),
                    bool(row["consent"]), bool(row["opted_out"]), row.get("language_code"))


# ---- orders and touchpoints ------------------------------------------------------------

class Orders:
    def __init__(self, db: Database) -> None:
        self.db = db

    def upsert_order(self, order: dict, now: datetime) -> str:
        """Insert or update one order; returns 'inserted', 'updated' or 'unchanged'."""
        keys = ("customer_id", "channel", "status", "purchased_at", "shipped_at", "delivered_at", "expected_at",
                "shipment_status", "referral_code")
        existing = self.db.execute(f"select {', '.join(keys)} from orders where order_id = ?",
                                   [order["order_id"]]).fetchone()
        if existing and tuple(existing) == tuple(order.get(k) for k in keys):
            return "unchanged"
        self.db.table("orders").upsert({**order, "updated_at": iso(now)}, pk="order_id")
        return "updated" if existing else "inserted"

    def shop_version(self, order_id: str) -> Optional[str]:
        """The shop's own `updated_at` of the newest order payload applied (None: none yet)."""
        row = self.db.execute("select shop_updated_at from orders where order_id = ?", [order_id]).fetchone()
        return row[0] if row else None

    def set_shop_version(self, order_id: str, updated_at: str) -> None:
        self.db.execute("update orders set shop_updated_at = ? where order_id = ?", [updated_at, order_id])

    def fulfillment_version(self, fulfillment: str) -> Optional[str]:
        """The shop's own `updated_at` of the newest payload applied for one fulfilment."""
        row = self.db.execute("select updated_at from fulfillment_versions where fulfillment = ?",
                              [fulfillment]).fetchone()
        return row[0] if row else None

    def set_fulfillment_version(self, fulfillment: str, order_id: str, updated_at: str) -> None:
        self.db.execute("insert into fulfillment_versions (fulfillment, order_id, updated_at) values (?, ?, ?) "
                        "on conflict(fulfillment) do update set updated_at = excluded.updated_at",
                        [fulfillment, order_id, updated_at])

    def upsert_item(self, item: dict) -> bool:
        """Insert or update one line item; True when anything changed."""
        row = self.db.execute("select id, product, category, quantity, price from line_items where order_id = ? and sku = ?",
                              [item["order_id"], item["sku"]]).fetchone()
        if row and tuple(row[1:]) == (item["product"], item["category"], item["quantity"], item.get("price")):
            return False
        if row:
            tables.update(self.db, "line_items", row[0], item)
        else:
            tables.insert(self.db, "line_items", item)
        return True

    def get(self, order_id: str) -> Optional[StoredOrder]:
        rows = tables.where(self.db, "orders", "order_id = ?", [order_id])
        return StoredOrder.from_row(rows[0]) if rows else None

    def items(self, order_id: str) -> list[LineItemRow]:
        return [LineItemRow.from_row(r) for r in tables.where(self.db, "line_items", "order_id = ?", [order_id],
                                                               order_by="id")]

    def latest_for_customer(self, customer_id: int) -> Optional[StoredOrder]:
        rows = tables.where(self.db, "orders", "customer_id = ?", [customer_id], order_by="purchased_at desc", limit=1)
        return StoredOrder.from_row(rows[0]) if rows else None

    def latest_with_items(self, customer_id: int) -> tuple[Optional[StoredOrder], list[LineItemRow]]:
        """`latest_for_customer` and its `items`, in one read (what starts a conversation)."""
        rows = tables.query(self.db, "select o.*, li.id, li.sku, li.product, li.category, li.quantity, li.price "
                            "from orders o left join line_items li on li.order_id = o.order_id where o.order_id = "
                            "(select order_id from orders where customer_id = ? order by purchased_at desc limit 1) "
                            "order by li.id", [customer_id])
        if not rows:
            return None, []
        return StoredOrder.from_row(rows[0]), [LineItemRow.from_row(r) for r in rows if r["id"] is not None]

    def count(self) -> int:
        return self.db["orders"].count

    def count_for_customer(self, customer_id: int) -> int:
        """The customer's orders that stand (not cancelled or returned)."""
        return self.db.execute("select count(*) from orders where customer_id = ? and status not in "
                               "('cancelled', 'returned')", [customer_id]).fetchone()[0]

    def ids_of_customer(self, customer_id: int) -> list[str]:
        return [r[0] for r in self.db.execute("select order_id from orders where customer_id = ? order by purchased_at, "
                                              "order_id", [customer_id]).fetchall()]

    def ids_with_pending(self, customer_id: int, kinds: set[str]) -> list[str]:
        """The customer's orders holding a pending (or held) touchpoint of one of `kinds`."""
        if not kinds:
            return []
        marks = ", ".join("?" for _ in kinds)
        return [r[0] for r in self.db.execute(
            f"select distinct order_id from touchpoints where order_id in (select order_id from orders "
            f"where customer_id = ?) and +status in ('pending', 'held') and kind in ({marks})",
            [customer_id, *sorted(kinds)]).fetchall()]

    def history(self, customer_id: int) -> tuple[PastOrder, ...]:
        """The customer's orders that stand (not cancelled or returned), oldest first, with their
        products: what milestones are timed from."""
        rows = self.db.execute(
            "select o.order_id, o.purchased_at, group_concat(li.sku, char(31)), group_concat(li.category, char(31)) "
            "from orders o left join line_items li on li.order_id = o.order_id "
            "where o.customer_id = ? and o.status not in ('cancelled', 'returned') "
            "group by o.order_id order by o.purchased_at, o.order_id", [customer_id]).fetchall()
        return tuple(PastOrder(r[0], parse_iso(r[1]) or datetime.min.replace(tzinfo=timezone.utc),
                               frozenset((r[2] or "").split("\x1f")) - {""},
                               frozenset((r[3] or "").split("\x1f")) - {""}) for r in rows)

    def later_order_with(self, customer_id: int, order_id: str, sku: str) -> Optional[str]:
        """The customer's first order placed after `order_id` (not cancelled or returned) that
        holds `sku`, or None."""
        row = self.db.execute(
            "select o.order_id from orders o join line_items li on li.order_id = o.order_id "
            "where o.customer_id = ? and li.sku = ? and o.order_id != ? and o.status not in ('cancelled', 'returned') "
            "and o.purchased_at > (select purchased_at from orders where order_id = ?) "
            "order by o.purchased_at, o.order_id limit 1", [customer_id, sku, order_id, order_id]).fetchone()
        return row[0] if row else None

    # touchpoints -------------------------------------------------------------------------

    def set_touchpoints(self, order_id: str, sku: str, wanted: list[dict], kinds: Optional[set[str]] = None) -> int:
        """Make the pending touchpoints of an order item match `wanted` (kind, flow, due_at,
        optional anchor, expires_at and repeatable); with `kinds`, only touchpoints of those kinds.
        A wanted one with a `status` (and `why`, `decided_at`) is born dropped: past its expiry,
        or history; a pending one becomes that, one that went out stays as it is. Returns how
        many were recorded dropped.

        A held touchpoint keeps its hold unless it is wanted later than that. One that already
        went out stays done, except a `repeatable` one whose anchor moved later (a second delay):
        it is pending again."""
        current = {r["kind"]: r for r in tables.where(self.db, "touchpoints", "order_id = ? and sku = ?", [order_id, sku])}
        wanted_kinds = {w["kind"] for w in wanted}
        dropped = 0
        for kind, old in current.items():
            if kinds is not None and kind not in kinds:
                continue
            if kind not in wanted_kinds and old["status"] in ("pending", "held"):
                tables.update(self.db, "touchpoints", old["id"], {"status": "cancelled"})
        for touch in wanted:
            row = current.get(touch["kind"])
            anchor = touch.get("anchor")
            expires = touch.get("expires_at")
            dead = touch.get("status")           # born dropped (past its expiry, or history): with its reason
            if dead:
                if row is not None and (row["status"] not in ("pending", "held", "cancelled") or (
                        row["status"] != "cancelled" and (row.get("expires_at"), row.get("anchor")) == (expires, anchor))):
                    continue    # went out or dropped already; or unchanged (the same file twice changes nothing:
                                # the scheduler drops it at its time, with the same reason)
                record = {"flow": touch["flow"], "due_at": touch["due_at"], "status": dead, "anchor": anchor,
                          "expires_at": expires, "held_reason": touch.get("why"), "started_at": touch.get("decided_at")}
                if row is None:
                    tables.insert(self.db, "touchpoints", {"order_id": order_id, "sku": sku, "kind": touch["kind"],
                                                           **record})
                else:
                    tables.update(self.db, "touchpoints", row["id"], record)
                dropped += 1
                continue
            if row is None:
                tables.insert(self.db, "touchpoints", {"order_id": order_id, "sku": sku, "kind": touch["kind"],
                                               "flow": touch["flow"], "due_at": touch["due_at"], "status": "pending",
                                               "anchor": anchor, "expires_at": expires})
            elif row["status"] == "held" and touch["due_at"] <= row["due_at"] and anchor == row.get("anchor"):
                if row.get("expires_at") != expires:
                    tables.update(self.db, "touchpoints", row["id"], {"expires_at": expires})
            elif row["status"] in ("pending", "held", "cancelled"):
                if (row["due_at"], row["status"], row.get("anchor"), row.get("expires_at")) != \
                        (touch["due_at"], "pending", anchor, expires):
                    tables.update(self.db, "touchpoints", row["id"], {"due_at": touch["due_at"], "status": "pending",
                                                              "held_reason": None, "anchor": anchor,
                                                              "expires_at": expires})
            elif touch.get("repeatable") and anchor and (row.get("anchor") or "") < anchor:
                tables.update(self.db, "touchpoints", row["id"], {"due_at": touch["due_at"], "status": "pending",
                                                          "held_reason": None, "anchor": anchor,
                                                          "expires_at": expires})
        return dropped

    def touchpoints(self, order_id: str) -> list[TouchpointRow]:
        return [TouchpointRow.from_row(r)
                for r in tables.where(self.db, "touchpoints", "order_id = ?", [order_id], order_by="due_at")]

    def due_touchpoints(self, now: datetime, limit: int = 500) -> list[TouchpointRow]:
        """Pending touchpoints whose time has come (index on status, due_at: no scan)."""
        return [TouchpointRow.from_row(r) for r in tables.query(self.db,
            "select * from touchpoints where status in ('pending', 'held') and due_at <= ? order by due_at limit ?",
            [iso(now), limit])]

    def count_due(self, now: datetime) -> int:
        """How many touchpoints `due_touchpoints(now)` would list with no limit."""
        return self.db.execute("select count(*) from touchpoints where status in ('pending', 'held') and due_at <= ?",
                               [iso(now)]).fetchone()[0]

    def count_dropped_since(self, since: datetime) -> int:
        """How many touchpoints `dropped_since(since)` would list with no limit."""
        return self.db.execute(f"select count(*) from touchpoints where {_DROPPED} and started_at >= ?",
                               [iso(since)]).fetchone()[0]

    def next_touchpoint_at(self) -> Optional[datetime]:
        row = self.db.execute("select min(due_at) from touchpoints where status in ('pending', 'held')").fetchone()
        return parse_iso(row[0]) if row and row[0] else None

    def hold_touchpoint(self, touchpoint_id: int, until: datetime, reason: str) -> None:
        tables.update(self.db, "touchpoints", touchpoint_id, {"status": "held", "due_at": iso(until), "held_reason": reason})
        tables.remember_reason(self.db, "touchpoints", touchpoint_id, reason)

    def finish_touchpoint(self, touchpoint_id: int, status: str, now: datetime, conversation_id: Optional[int] = None,
                          why: Optional[str] = None) -> None:
        """Started, or done for good (`why`: the sentence `aftercare due` shows for a dropped one)."""
        tables.update(self.db, "touchpoints", touchpoint_id, {"status": status, "started_at": iso(now),
                                                              "conversation_id": conversation_id, "held_reason": why})

    def waiting_for_customer(self, customer_id: int, before: datetime) -> list[TouchpointRow]:
        """The customer's pending or held touchpoints (any order) due before `before`, soonest first."""
        return [TouchpointRow.from_row(r) for r in tables.query(
            self.db,
            "select t.* from touchpoints t join orders o on o.order_id = t.order_id "
            "where o.customer_id = ? and t.status in ('pending', 'held') and t.due_at < ? order by t.due_at, t.id",
            [customer_id, iso(before)])]

    def dropped_since(self, since: datetime, limit: int = 1000) -> list[TouchpointRow]:
        """Touchpoints that will never go out, decided at or after `since` (cancelled ones aside)."""
        return [TouchpointRow.from_row(r) for r in tables.query(
            self.db,
            f"select * from touchpoints where {_DROPPED} "
            "and started_at >= ? order by started_at, id limit ?", [iso(since), limit])]

    def started_for_customer(self, customer_id: int, kind: str) -> bool:
        """Did a touchpoint of `kind` already go out to this customer (on any of their orders)?"""
        return self.db.execute("select 1 from touchpoints where order_id in (select order_id from orders "
                               "where customer_id = ?) and kind = ? and +status = 'started' limit 1",
                               [customer_id, kind]).fetchone() is not None

    def skip_touchpoints_before(self, order_id: str, before: datetime) -> None:
        self.db.execute("update touchpoints set status = 'skipped' where order_id = ? and status = 'pending' and due_at < ?",
                        [order_id, iso(before)])


# a touchpoint that will never go out (cancelled ones aside)
_DROPPED = ("(status like 'suppressed:%' or status like 'dropped:%' or status like 'skipped:%' "
            "or status = 'expired')")


# ---- conversations, messages, responses ------------------------------------------------

class Conversations:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, customer_id: int, identity_id: int, order_id: Optional[str], sku: Optional[str],
               flow: str, step: str, now: datetime) -> int:
        return tables.insert(self.db, "conversations", {
            "customer_id": customer_id, "identity_id": identity_id, "order_id": order_id, "sku": sku,
            "flow": flow, "step": step, "slots": "{}", "owner": "bot", "status": "active",
            "created_at": iso(now), "updated_at": iso(now),
        })

    def get(self, conversation_id: int) -> ConversationRow:
        return ConversationRow.from_row(tables.get(self.db, "conversations", conversation_id))

    def save(self, conversation_id: int, state: dict, now: datetime, said: bool = False,
             question_message_id: Optional[int] = None) -> None:
        """Store a conversation's state. `said`: the step sent messages, so the question the
        customer now sees is `question_message_id` (its message row; None: no question)."""
        fields = {
            "flow": state["flow"], "step": state["step"], "slots": _json(state["slots"]),
            "status": state["status"], "owner": state["owner"], "wake_at": iso(state["wake_at"]),
            "wake_kind": state["wake_kind"], "reminded": int(state["reminded"]), "updated_at": iso(now),
        }
        if said:
            fields["question_message_id"] = question_message_id
        tables.update(self.db, "conversations", conversation_id, fields)

    def set_owner(self, conversation_id: int, owner: str, now: datetime) -> None:
        tables.update(self.db, "conversations", conversation_id, {"owner": owner, "updated_at": iso(now)})

    def current_for_identity(self, identity_id: int) -> Optional[ConversationRow]:
        """The identity's conversation that is still open (the newest), if any."""
        rows = tables.query(self.db, "select * from conversations where identity_id = ? and status != 'closed' "
                            "order by id desc limit 1", [identity_id])
        return ConversationRow.from_row(rows[0]) if rows else None

    def open_and_latest(self, identity_id: int) -> tuple[Optional[ConversationRow], Optional[ConversationRow]]:
        """(`current_for_identity`, `latest_for_identity`) in one read: the newest open
        conversation if there is one (it is then also the latest that matters), else the newest."""
        # two lookups in the (identity_id, status) index, then one row: sorting every
        # conversation of the identity read each of them whole
        rows = tables.query(self.db, "select * from conversations where id = coalesce("
                            "(select max(id) from conversations where identity_id = :identity and status != 'closed'), "
                            "(select max(id) from conversations where identity_id = :identity))", {"identity": identity_id})
        row = ConversationRow.from_row(rows[0]) if rows else None
        return (row if row is not None and row.status != ConversationStatus.CLOSED else None), row

    def latest_for_identity(self, identity_id: int) -> Optional[ConversationRow]:
        rows = tables.query(self.db, "select * from conversations where identity_id = ? order by id desc limit 1",
                            [identity_id])
        return ConversationRow.from_row(rows[0]) if rows else None

    def for_customer(self, customer_id: int) -> list[ConversationRow]:
        ids = [r["id"] for r in tables.query(self.db, "select id from conversations where customer_id = ? order by id",
                                              [customer_id])]
        return [self.get(i) for i in ids]

    def due_wakeups(self, now: datetime, limit: int = 500) -> list[ConversationRow]:
        ids = [r["id"] for r in tables.query(self.db,
            "select id from conversations where status != 'closed' and wake_at is not null and wake_at <= ? "
            "order by wake_at limit ?", [iso(now), limit])]
        return [self.get(i) for i in ids]

    def resumes_for_customer(self, customer_id: int, before: datetime) -> list[ConversationRow]:
        """The customer's rescheduled conversations ("not used yet") that resume before `before`."""
        return [ConversationRow.from_row(r) for r in tables.query(
            self.db, "select * from conversations where customer_id = ? and status != 'closed' "
            "and wake_kind = 'resume' and wake_at < ? order by wake_at", [customer_id, iso(before)])]

    def next_wakeup_at(self) -> Optional[datetime]:
        row = self.db.execute("select min(wake_at) from conversations where status != 'closed' and wake_at is not null").fetchone()
        return parse_iso(row[0]) if row and row[0] else None

    def postpone_wakeup(self, conversation_id: int, until: datetime, kind: Optional[str] = None) -> None:
        fields: dict[str, Any] = {"wake_at": iso(until)}
        if kind:
            fields["wake_kind"] = kind
        tables.update(self.db, "conversations", conversation_id, fields)

    def offer_made_before(self, customer_id: int, offer_key: str) -> bool:
        """Was this distinct offer ("upsell:SKU", "refill:SKU") already made to the customer?
        (Conversations from before offers had keys count as the SKU's upsell.)"""
        rows = self.db.execute("select slots from conversations where customer_id = ? and slots like "
                               "'%\"upsell_offered\": true%'", [customer_id]).fetchall()
        for (raw,) in rows:
            made = json.loads(raw or "{}").get("offer")
            if made == offer_key or (made is None and offer_key.startswith("upsell:")):
                return True
        return False

    def offer_declined(self, customer_id: int, offer_key: str) -> bool:
        """Did the customer say no to this distinct offer (`offer_declined` beside its `offer` key)?"""
        rows = self.db.execute("select slots from conversations where customer_id = ? and slots like "
                               "'%\"offer_declined\": true%'", [customer_id]).fetchall()
        return any(json.loads(raw or "{}").get("offer") == offer_key for (raw,) in rows)

    def order_facts(self, customer_id: int, order_id: str) -> EarlierFacts:
        """What the customer's conversations about one order established: the latest csat and nps,
        and `low_score` / `had_case` when any of them had a score <= 3 or a case."""
        facts: EarlierFacts = {}
        # one statement (it runs at every engine step): the two latest scores and the flags
        row = self.db.execute(_ORDER_FACTS, {"customer": customer_id, "order": order_id}).fetchone()
        csat, nps, low_score, had_case = row if row else (None, None, None, None)
        if csat is not None:
            facts["csat"] = csat
        if nps is not None:
            facts["nps"] = nps
        if low_score:
            facts["low_score"] = True
        if had_case:
            facts["had_case"] = True
        return facts

    def add_message(self, conversation_id: Optional[int], identity_id: Optional[int], direction: str, sender: str,
                    text: str, now: datetime, buttons: Optional[list] = None, outbox_id: Optional[int] = None,
                    platform_message_id: Optional[str] = None) -> int:
        return tables.insert(self.db, "messages", {
            "conversation_id": conversation_id, "identity_id": identity_id, "direction": direction,
            "sender": sender, "text": text, "buttons": _json(buttons or []), "outbox_id": outbox_id,
            "platform_message_id": platform_message_id, "at": iso(now),
        })

    def message(self, message_id: int) -> MessageRow:
        return MessageRow.from_row(tables.get(self.db, "messages", message_id))

    def message_by_outbox(self, outbox_id: int) -> Optional[MessageRow]:
        rows = tables.where(self.db, "messages", "outbox_id = ?", [outbox_id], limit=1)
        return MessageRow.from_row(rows[0]) if rows else None

    def set_platform_id(self, outbox_id: int, platform_message_id: Optional[str]) -> None:
        self.db.execute("update messages set platform_message_id = ? where outbox_id = ?", [platform_message_id, outbox_id])

    def bot_said_since(self, conversation_id: int, text: str, since: datetime) -> bool:
        """Did the bot send `text` in this conversation at or after `since`?"""
        row = self.db.execute("select 1 from messages where conversation_id = ? and direction = 'out' and sender = 'bot'"
                              " and text = ? and at >= ? limit 1", [conversation_id, text, iso(since)]).fetchone()
        return row is not None

    def last_messages(self, conversation_id: int, count: int = 6) -> list[MessageRow]:
        rows = tables.query(self.db, "select * from messages where conversation_id = ? order by id desc limit ?",
                            [conversation_id, count])
        return [MessageRow.from_row(r) for r in reversed(rows)]

    def add_response(self, conversation_id: int, customer_id: int, order_id: Optional[str], sku: Optional[str],
                     metric: str, score: Optional[int], text: str, intent: Optional[str], entities: list, now: datetime) -> None:
        tables.insert(self.db, "responses", {
            "conversation_id": conversation_id, "customer_id": customer_id, "order_id": order_id, "sku": sku,
            "metric": metric, "score": score, "text": text, "intent": intent, "entities": _json(entities),
            "at": iso(now),
        })

    def last_score(self, customer_id: int) -> Optional[ResponseRow]:
        """The customer's latest score (any metric, any order), or None."""
        rows = tables.query(self.db, "select * from responses where customer_id = ? and score is not null "
                            "order by id desc limit 1", [customer_id])
        return ResponseRow.from_row(rows[0]) if rows else None

    def responses(self, customer_id: Optional[int] = None) -> list[ResponseRow]:
        if customer_id is None:
            rows = tables.where(self.db, "responses", order_by="id")
        else:
            rows = tables.where(self.db, "responses", "customer_id = ?", [customer_id], order_by="id")
        return [ResponseRow.from_row(r) for r in rows]


# ---- cases -----------------------------------------------------------------------------

_LATEST_CASE = """
    select e.*, c.sku as conversation_sku
    from escalations e left join conversations c on c.id = e.conversation_id
    where e.customer_id = ? {resolved}
    order by e.id desc limit 1
"""

class Cases:
    def __init__(self, db: Database) -> None:
        self.db = db

    def open(self, conversation_id: int, customer_id: int, order_id: Optional[str], reason: str,
             problem_type: Optional[str], text: str, photos: list, now: datetime, sla: timedelta,
             request: Optional[str] = None) -> int:
        """A new open case; `request` is what the customer asked for beside the problem
        (refund, replacement, ...), kept apart so a case shows both."""
        return tables.insert(self.db, "escalations", {
            "conversation_id": conversation_id, "customer_id": customer_id, "order_id": order_id,
            "reason": reason, "problem_type": problem_type, "request": request, "status": "open",
            "text": text,
            "photos": _json(photos), "opened_at": iso(now), "sla_due_at": iso(now + sla),
        })

    def get(self, case_id: int) -> Optional[CaseRow]:
        rows = tables.where(self.db, "escalations", "id = ?", [case_id])
        return CaseRow.from_row(rows[0]) if rows else None

    def require(self, case_id: int) -> CaseRow:
        """The case, which must exist (LookupError otherwise)."""
        case = self.get(case_id)
        if case is None:
            raise LookupError(f"no case {case_id}")
        return case

    def by_card(self, card_ts: str) -> Optional[CaseRow]:
        rows = tables.where(self.db, "escalations", "card_ts = ?", [card_ts], limit=1)
        return CaseRow.from_row(rows[0]) if rows else None

    def active_for_conversation(self, conversation_id: int) -> Optional[CaseRow]:
        rows = tables.where(self.db, "escalations", "conversation_id = ? and status != 'resolved'",
                            [conversation_id], order_by="id desc", limit=1)
        return CaseRow.from_row(rows[0]) if rows else None

    def active_for_customer(self, customer_id: int) -> Optional[CaseRow]:
        rows = tables.where(self.db, "escalations", "customer_id = ? and status != 'resolved'",
                            [customer_id], order_by="id desc", limit=1)
        return CaseRow.from_row(rows[0]) if rows else None

    def for_customer(self, customer_id: int) -> list[CaseRow]:
        return [CaseRow.from_row(r)
                for r in tables.where(self.db, "escalations", "customer_id = ?", [customer_id], order_by="id")]

    def latest_for_customer(self, customer_id: int, resolved: bool = False) -> Optional[CaseAbout]:
        """The customer's latest case (the latest resolved one with `resolved`), with the `sku` and
        `product` it was about: its conversation's line item, else the order's first."""
        rows = tables.query(self.db, _LATEST_CASE.format(resolved="and e.status = 'resolved'" if resolved else ""),
                            [customer_id])
        if not rows:
            return None
        case = rows[0]
        item = self.db.execute("select sku, product from line_items where order_id = ? order by (sku = ?) desc, id "
                               "limit 1", [case["order_id"], case["conversation_sku"]]).fetchone()
        sku, product = item if item else (None, None)
        return CaseAbout(case=CaseRow.from_row(case), sku=sku, product=product)

    def all_active(self) -> list[CaseRow]:
        return [CaseRow.from_row(r)
                for r in tables.where(self.db, "escalations", "status != 'resolved'", order_by="opened_at")]

    def update(self, case_id: int, **fields: Any) -> None:
        tables.update(self.db, "escalations", case_id, {k: (iso(v) if isinstance(v, datetime) else v) for k, v in fields.items()})

    def add_photos(self, case_id: int, photos: list) -> None:
        merged = self.require(case_id).photos + list(photos)
        tables.update(self.db, "escalations", case_id, {"photos": _json(merged)})

    def overdue(self, now: datetime) -> list[CaseRow]:
        """Cases past their SLA that have not had their one reminder or nudge."""
        return [CaseRow.from_row(r) for r in tables.query(self.db,
            "select * from escalations where sla_due_at <= ? and sla_paused_at is null "
            "and ((status = 'open' and sla_reminded = 0) "
            "or (status = 'claimed' and first_reply_at is null and nudged = 0))", [iso(now)])]

    def next_sla_at(self) -> Optional[datetime]:
        row = self.db.execute("select min(sla_due_at) from escalations where sla_paused_at is null and "
                              "((status = 'open' and sla_reminded = 0) "
                              "or (status = 'claimed' and first_reply_at is null and nudged = 0))").fetchone()
        return parse_iso(row[0]) if row and row[0] else None


# ---- inbound dedup ---------------------------------------------------------------------

class Events:
    def __init__(self, db: Database) -> None:
        self.db = db

    def first_time(self, channel: str, event_id: str, now: datetime) -> bool:
        """Record (channel, event_id); False when it was already processed (invariant 1)."""
        cursor = self.db.execute("insert or ignore into processed_events (channel, event_id, at) values (?, ?, ?)",
                                 [channel, event_id, iso(now)])
        return cursor.rowcount == 1

    def seen(self, channel: str, event_id: str) -> bool:
        """Has (channel, event_id) been processed?"""
        return self.db.execute("select 1 from processed_events where channel = ? and event_id = ?",
                               [channel, event_id]).fetchone() is not None


# ---- outbox ----------------------------------------------------------------------------

class Outbox:
    """Messages waiting to go out. Claimed (attempt recorded) before the platform call."""

    def __init__(self, db: Database, on_add: Callable[[], None] = lambda: None) -> None:
        self.db = db
        self._on_add = on_add

    def add(self, channel: str, address: Optional[str], identity_id: Optional[int], conversation_id: Optional[int],
            text: str, now: datetime, buttons: Optional[list] = None, kind: str = OutboxKind.MESSAGE,
            payload: Optional[dict] = None, not_before: Optional[datetime] = None, reply: bool = False) -> int:
        """Queue one send. `reply`: part of an answer to someone who just wrote, which may go out
        in a short burst; anything else keeps to the per-address rate."""
        at = iso(not_before or now)
        if reply:
            payload = {**(payload or {}), "reply": True}
        # Never ahead of a message to the same address that still waits (a retry's back-off):
        # not_before is the later of `at` and theirs, worked out inside the insert.
        row_id = self.db.execute(_OUTBOX_INSERT, {
            "channel": channel, "address": address, "identity_id": identity_id, "conversation_id": conversation_id,
            "kind": OutboxKind(kind).value, "text": text, "buttons": _json(buttons or []), "payload": _json(payload or {}),
            "at": at, "created_at": iso(now),
        }).lastrowid
        if row_id is None:
            raise RuntimeError("insert into outbox gave no row id")
        self._on_add()
        return row_id

    def get(self, outbox_id: int) -> OutboxRow:
        return OutboxRow.from_row(tables.get(self.db, "outbox", outbox_id))

    def due(self, now: datetime, limit: int = 200, channel: Optional[str] = None, offset: int = 0) -> list[OutboxRow]:
        sql = "select * from outbox where status = 'pending' and not_before <= ?"
        params: list[Any] = [iso(now)]
        if channel:
            sql += " and channel = ?"
            params.append(channel)
        return [OutboxRow.from_row(r)
                for r in tables.query(self.db, sql + " order by not_before, id limit ? offset ?", params + [limit, offset])]

    def due_heads(self, now: datetime, limit: int = 200, offset: int = 0,
                  excluding: Collection[str] = ()) -> list[OutboxRow]:
        """The first due row of each address (by not_before, then id), in send order: the only
        row of an address the dispatcher may start (never one past an earlier row to the same
        address). A long queue to a few addresses costs one row per address, not one per message.
        `excluding`: channels left out (the dispatcher's that can start nothing now)."""
        # a due row with no earlier pending row to its address (an earlier one is due too); a
        # window function (row_number() over the address) said the same at ~15x the CPU when
        # nothing waits, and read every due row when many did
        skip = sorted(excluding)
        channels = f"and o.channel not in ({', '.join('?' * len(skip))}) " if skip else ""
        sql = ("select * from outbox o where status = 'pending' and not_before <= ? " + channels + "and not exists "
               "(select 1 from outbox p where p.status = 'pending' and p.channel = o.channel and p.address is o.address "
               "and (p.not_before < o.not_before or (p.not_before = o.not_before and p.id < o.id))) "
               "order by not_before, id limit ? offset ?")
        return [OutboxRow.from_row(r) for r in tables.query(self.db, sql, [iso(now), *skip, limit, offset])]

    def next_due_at(self) -> Optional[datetime]:
        row = self.db.execute("select min(not_before) from outbox where status = 'pending'").fetchone()
        return parse_iso(row[0]) if row and row[0] else None

    def claim(self, outbox_id: int, now: datetime) -> bool:
        """Record the attempt before the call (crash safety); False if someone else has it."""
        cursor = self.db.execute("update outbox set status = 'sending', attempts = attempts + 1, claimed_at = ? "
                                 "where id = ? and status = 'pending'", [iso(now), outbox_id])
        return cursor.rowcount == 1

    def sent(self, outbox_id: int, platform_message_id: Optional[str], now: datetime) -> None:
        self.db.execute("update outbox set status = 'sent', platform_message_id = ?, sent_at = ? where id = ?",
                        [platform_message_id, iso(now), outbox_id])

    def retry(self, outbox_id: int, not_before: datetime, error: str) -> None:
        """Send again at `not_before`; later messages to the same address wait too, keeping order."""
        row = self.get(outbox_id)
        self.db.execute("update outbox set status = 'pending', not_before = ?, last_error = ? where id = ?",
                        [iso(not_before), error, outbox_id])
        self.db.execute("update outbox set not_before = ? where channel = ? and address is ? and id > ? "
                        "and status = 'pending' and not_before < ?",
                        [iso(not_before), row.channel, row.address, outbox_id, iso(not_before)])

    def fail(self, outbox_id: int, status: str, error: str) -> None:
        self.db.execute("update outbox set status = ?, last_error = ? where id = ?", [status, error, outbox_id])

    def cancel_for_identity(self, identity_id: int, reason: str) -> int:
        cursor = self.db.execute("update outbox set status = 'cancelled', last_error = ? "
                                 "where identity_id = ? and status = 'pending'", [reason, identity_id])
        return cursor.rowcount

    def has_kind(self, channel: str, kind: str, field: str, value: str) -> bool:
        """Is a row of `kind` with payload[field] == value queued or sent (never cancelled)? What
        posts a once-per-slot notice (the weekly digest) exactly once."""
        row = self.db.execute("select 1 from outbox where channel = ? and kind = ? and status != 'cancelled' "
                              "and json_extract(payload, '$.' || ?) = ? limit 1",
                              [channel, OutboxKind(kind).value, field, value]).fetchone()
        return row is not None

    def reconcile(self) -> int:
        """After a crash: sends that were claimed but never confirmed go out again (at most one duplicate each)."""
        cursor = self.db.execute("update outbox set status = 'pending' where status = 'sending'")
        return cursor.rowcount

    def sent_to(self, channel: str, address: str) -> list[SentMessage]:
        """Messages delivered to one address, in the order they went out, with who wrote them."""
        return [SentMessage.from_row(r) for r in tables.query(self.db,
            "select o.id, o.text, o.buttons, o.sent_at, o.platform_message_id, coalesce(m.sender, 'bot') as sender "
            "from outbox o left join messages m on m.outbox_id = o.id "
            "where o.channel = ? and o.address = ? and o.kind = 'message' and o.status = 'sent' "
            "order by o.sent_at, o.id", [channel, address])]

    def counts(self) -> dict[str, int]:
        return {r["status"]: r["n"] for r in tables.query(self.db, "select status, count(*) as n from outbox group by status")}
