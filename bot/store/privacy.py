"""Data rights in SQL: find a customer by whatever the shop has, export everything held about
them, forget them (erase personal data and free text, keep anonymous scores), and erase free
text past its retention. The product's only SQL for these lives here, like the rest of bot/store.

What "forget" keeps, on purpose: the customer row (its numeric id only, name/email/ref gone),
scores with their metric, SKU and time, orders renamed `forgotten-<id>-<n>` with their items and
dates (cohorts, revenue per customer), case reasons and times, contact counts. What it erases:
name, email, timezone, language, channel addresses, order numbers, every message text, free-text
answers and their entities, case words and photos, the text of every outbox row to them or about
them. The hashes in `suppressed` are what keeps them from being contacted or re-created again.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterable, Optional

from sqlite_utils import Database

from bot.base.clock import iso
from bot.store import tables
from bot.store.rows import CaseRow, ErasureEntry

ERASED = "[erased]"
CUSTOMER_POST_PREFIX = "Customer: "      # thread posts that carry the customer's own words
_JSON_COLUMNS = {"slots", "buttons", "payload", "entities", "photos", "counts"}


@dataclass(frozen=True)
class Match:
    """A customer found by a REF, and how it matched (for messages)."""

    customer_id: int
    how: str


@dataclass(frozen=True)
class SupportPost:
    """A bot post in the support channel that shows a customer's words (to delete on the desk's platform)."""

    outbox_id: int
    channel: str
    ts: str
    case_id: int


def suppression_hash(kind: str, value: str, key: bytes) -> str:
    """HMAC-SHA256 under the install's key of sha256("<kind>:<value>") (kind: ref, email, order,
    or a channel name; emails compare lowercased). Keyed, so a copy of the store does not tell
    whether a given e-mail or order number was forgotten (an unkeyed sha256 of an e-mail is
    guessed from a list of e-mails); the inner sha256 is what rows made before the key had
    (migration m014 keyed them). The key is the install's own secret (`<db>.secret`, made at the
    first forget), not referrals.secret: a changed config must not make the forgotten contactable."""
    value = value.strip().lower() if kind == "email" else value.strip()
    return keyed(hashlib.sha256(f"{kind}:{value}".encode()).hexdigest(), key)


def keyed(unkeyed: str, key: bytes) -> str:
    return hmac.new(key, b"suppressed:" + unkeyed.encode(), hashlib.sha256).hexdigest()


class Privacy:
    def __init__(self, db: Database, key: Callable[[], bytes]) -> None:
        self.db = db
        self._key = key          # the install's own secret, read when first needed

    # ---- finding -----------------------------------------------------------------------

    def find(self, ref: str) -> list[Match]:
        """Customers matching REF: `id:N`, `order:ID`, `email:ADDR`, `ref:REF`, `<channel>:<address>`,
        or a bare value tried as all of those. Forgotten customers match by id only."""
        ref = ref.strip()
        kind, _, value = ref.partition(":")
        lookups = self._lookups()
        if value and kind in lookups:
            return self._unique(lookups[kind](value.strip()))
        if value and kind in self._channels():
            return self._unique(self._by_address(kind, value.strip()))
        found: list[Match] = []
        for run in lookups.values():
            found.extend(run(ref))
        found.extend(self._by_address(None, ref))
        return self._unique(found)

    def _lookups(self) -> dict:
        return {"id": self._by_id, "order": self._by_order, "email": self._by_email, "ref": self._by_ref}

    def _channels(self) -> set[str]:
        return {r[0] for r in self.db.execute("select distinct channel from identities").fetchall()}

    def _by_id(self, value: str) -> list[Match]:
        if not value.isdigit():
            return []
        row = self.db.execute("select id from customers where id = ?", [int(value)]).fetchone()
        return [Match(row[0], f"customer id {value}")] if row else []

    def _by_order(self, value: str) -> list[Match]:
        rows = self.db.execute("select customer_id from orders o join customers c on c.id = o.customer_id "
                               "where o.order_id = ? and c.forgotten_at is null", [value]).fetchall()
        return [Match(r[0], f"order {value}") for r in rows]

    def _by_email(self, value: str) -> list[Match]:
        rows = self.db.execute("select id from customers where lower(email) = lower(?) and forgotten_at is null",
                               [value]).fetchall()
        return [Match(r[0], f"email {value}") for r in rows]

    def _by_ref(self, value: str) -> list[Match]:
        rows = self.db.execute("select id from customers where ref = ? and forgotten_at is null", [value]).fetchall()
        return [Match(r[0], f"customer ref {value}") for r in rows]

    def _by_address(self, channel: Optional[str], value: str) -> list[Match]:
        sql = "select customer_id, channel from identities where address = ?"
        params: list[Any] = [value]
        if channel:
            sql += " and channel = ?"
            params.append(channel)
        return [Match(r[0], f"{r[1]} address {value}") for r in self.db.execute(sql, params).fetchall()]

    @staticmethod
    def _unique(matches: Iterable[Match]) -> list[Match]:
        seen: dict[int, Match] = {}
        for match in matches:
            seen.setdefault(match.customer_id, match)
        return list(seen.values())

    def forgotten_at(self, customer_id: int) -> Optional[str]:
        row = self.db.execute("select forgotten_at from customers where id = ?", [customer_id]).fetchone()
        return row[0] if row else None

    # ---- export ------------------------------------------------------------------------

    def export(self, customer_id: int) -> dict:
        """Everything held about one customer, JSON columns decoded."""
        q = self._rows
        orders = q("select * from orders where customer_id = ? order by purchased_at, order_id", [customer_id])
        for order in orders:
            order["items"] = q("select * from line_items where order_id = ? order by id", [order["order_id"]])
            order["touchpoints"] = q("select * from touchpoints where order_id = ? order by due_at, id",
                                     [order["order_id"]])
        conversations = q("select * from conversations where customer_id = ? order by id", [customer_id])
        for conversation in conversations:
            conversation["messages"] = q("select * from messages where conversation_id = ? order by id",
                                         [conversation["id"]])
        cases = q("select * from escalations where customer_id = ? order by id", [customer_id])
        for case in cases:
            case["thread_posts"] = q(
                "select id, kind, text, status, platform_message_id, created_at, sent_at from outbox "
                "where channel = 'support' and json_extract(payload, '$.case_id') = ? order by id", [case["id"]])
        identities = "(select id from identities where customer_id = ?)"
        return {
            "customer": next(iter(q("select * from customers where id = ?", [customer_id])), None),
            "identities": q("select * from identities where customer_id = ? order by id", [customer_id]),
            "consent_ledger": q("select * from consent_ledger where customer_id = ? order by id", [customer_id]),
            "orders": orders,
            "conversations": conversations,
            "messages_outside_conversations": q(
                f"select * from messages where conversation_id is null and identity_id in {identities} order by id",
                [customer_id]),
            "scores": q("select * from responses where customer_id = ? order by id", [customer_id]),
            "cases": cases,
            "outbox": q(f"select * from outbox where identity_id in {identities} order by id", [customer_id]),
            "contacts": q("select * from contacts where customer_id = ? order by id", [customer_id]),
            "fix_notices": q("select * from fix_notices where customer_id = ? order by id", [customer_id]),
            "referral_codes": q("select * from referral_codes where customer_id = ?", [customer_id]),
            "gift_codes": q("select * from gift_codes where customer_id = ? order by id", [customer_id]),
            "erasures": q("select * from erasure_log where customer_id = ? order by id", [customer_id]),
        }

    def _rows(self, sql: str, params: list) -> list[dict]:
        rows = [dict(r) for r in self.db.query(sql, params)]
        for row in rows:
            for column in _JSON_COLUMNS & row.keys():
                if isinstance(row[column], str):
                    try:
                        row[column] = json.loads(row[column])
                    except ValueError:
                        pass
        return rows

    # ---- forget ------------------------------------------------------------------------

    def customer_posts(self, case_ids: list[int], before: Optional[datetime] = None) -> list[SupportPost]:
        """Sent support-thread posts of these cases that carry the customer's words (not yet erased)."""
        if not case_ids:
            return []
        marks = ",".join("?" * len(case_ids))
        sql = (f"select o.id, o.address, o.platform_message_id, json_extract(o.payload, '$.case_id'), "
               f"e.card_channel from outbox o join escalations e on e.id = json_extract(o.payload, '$.case_id') "
               f"where o.channel = 'support' and o.kind = 'thread' and o.status = 'sent' "
               f"and o.platform_message_id is not null and o.text != ? "
               f"and (json_extract(o.payload, '$.customer_text') = 1 or o.text like ?) "
               f"and json_extract(o.payload, '$.case_id') in ({marks})")
        params: list[Any] = [ERASED, CUSTOMER_POST_PREFIX + "%", *case_ids]
        if before is not None:
            sql += " and o.created_at < ?"
            params.append(iso(before))
        return [SupportPost(r[0], r[4] or r[1], r[2], r[3]) for r in self.db.execute(sql, params).fetchall()]

    def case_ids(self, customer_id: int) -> list[int]:
        return [r[0] for r in self.db.execute("select id from escalations where customer_id = ? order by id",
                                              [customer_id]).fetchall()]

    def carded_cases(self, case_ids: list[int]) -> list[CaseRow]:
        """The cases among `case_ids` whose card was posted (to redraw once their words are gone)."""
        if not case_ids:
            return []
        marks = ",".join("?" * len(case_ids))
        return [CaseRow.from_row(r) for r in tables.query(
            self.db, f"select * from escalations where card_ts is not null and id in ({marks})", case_ids)]

    def forget(self, customer_id: int, actor: str, now: datetime) -> dict[str, int]:
        """Erase one customer's personal data and free text; log who and when. Call inside a
        transaction. Returns how many rows of each table changed (the log keeps only that)."""
        at = iso(now)
        ex = self.db.execute
        ids = lambda sql: [r[0] for r in ex(sql, [customer_id]).fetchall()]  # noqa: E731
        identities = ids("select id from identities where customer_id = ?")
        conversations = ids("select id from conversations where customer_id = ?")
        orders = ids("select order_id from orders where customer_id = ? order by purchased_at, order_id")
        customer = tables.get(self.db, "customers", customer_id)
        self._suppress(customer, identities, at)
        counts: dict[str, int] = {}
        ident, conv = _marks(identities), _marks(conversations)
        counts["messages"] = ex(
            f"update messages set text = ? where conversation_id in ({conv}) or identity_id in ({ident})",
            [ERASED, *conversations, *identities]).rowcount
        counts["responses"] = ex(
            "update responses set text = case when coalesce(text, '') = '' then text else ? end, entities = '[]' "
            "where customer_id = ?", [ERASED, customer_id]).rowcount
        counts["cases"] = ex(
            "update escalations set text = ?, photos = '[]', resolved_at = coalesce(resolved_at, ?), "
            "status = 'resolved' where customer_id = ?", [ERASED, at, customer_id]).rowcount
        # agents' notes on their cases may name them: the desk's log keeps the act, not the words
        ex("update desk_actions set detail = ? where kind = 'note' and case_id in "
           "(select id from escalations where customer_id = ?)", [ERASED, customer_id])
        counts["conversations"] = ex(
            "update conversations set slots = json_remove(coalesce(slots, '{}'), '$.last_text', '$.photos'), "
            "status = 'closed', wake_at = null, wake_kind = null, owner = 'bot', updated_at = ? "
            "where customer_id = ?", [at, customer_id]).rowcount
        counts["outbox"] = ex(
            f"update outbox set text = ?, address = case when identity_id in ({ident}) then null else address end, "
            f"last_error = case when status = 'pending' then 'customer forgotten' else last_error end, "
            f"status = case when status = 'pending' then 'cancelled' else status end "
            f"where identity_id in ({ident}) or conversation_id in ({conv})",
            [ERASED, *identities, *identities, *conversations]).rowcount
        # Answers to them before they were linked (a deep link not yet opened, a message from an
        # address we did not know yet) were queued with no identity: found by their address.
        addresses = ex("select channel, address from identities where customer_id = ? and address is not null",
                       [customer_id]).fetchall()
        counts["outbox_unlinked"] = sum(ex(
            "update outbox set text = ?, address = null, "
            "last_error = case when status = 'pending' then 'customer forgotten' else last_error end, "
            "status = case when status = 'pending' then 'cancelled' else status end "
            "where identity_id is null and channel = ? and address = ?", [ERASED, channel, address]).rowcount
            for channel, address in addresses)
        counts["identities"] = ex(
            "update identities set address = null, language_code = null, consent = 0, opted_out = 1, "
            "reachable = 0 where customer_id = ?", [customer_id]).rowcount
        ex("update consent_ledger set source = 'order-import' where customer_id = ? and source like 'order-import:%'",
           [customer_id])
        tables.insert(self.db, "consent_ledger", {"customer_id": customer_id, "identity_id": None, "channel": None,
                                          "action": "forgotten", "source": "aftercare customer forget", "at": at})
        counts["touchpoints"] = ex(
            f"update touchpoints set status = 'cancelled', held_reason = 'customer forgotten' "
            f"where status in ('pending', 'held') and order_id in ({_marks(orders)})", orders).rowcount
        counts["fix_notices"] = ex(
            "update fix_notices set status = 'cancelled', held_reason = 'customer forgotten' "
            "where status in ('pending', 'held') and customer_id = ?", [customer_id]).rowcount
        counts["orders"] = self._rename_orders(customer_id, orders)
        ex("update customers set ref = ?, name = null, email = null, timezone = null, language = null, "
           "forgotten_at = ? where id = ?", [f"forgotten-{customer_id}", at, customer_id])
        self.log("forget", actor, now, counts, customer_id)
        return counts

    def _suppress(self, customer: dict, identities: list[int], at: str) -> None:
        key = self._key()
        hashes = []
        if customer.get("ref") and not customer.get("forgotten_at"):
            hashes.append(suppression_hash("ref", customer["ref"], key))
        if customer.get("email"):
            hashes.append(suppression_hash("email", customer["email"], key))
        orders = self.db.execute("select order_id from orders where customer_id = ? and order_id not like "
                                 "'forgotten-%'", [customer["id"]]).fetchall()
        hashes.extend(suppression_hash("order", row[0], key) for row in orders)
        for identity_id in identities:
            row = tables.get(self.db, "identities", identity_id)
            if row["address"]:
                hashes.append(suppression_hash(row["channel"], row["address"], key))
        for value in hashes:
            self.db.execute("insert or ignore into suppressed (hash, at) values (?, ?)", [value, at])

    def _rename_orders(self, customer_id: int, orders: list[str]) -> int:
        """Order numbers lead back to the person in the shop's own system: replace them."""
        for n, old in enumerate(orders, start=1):
            new = f"forgotten-{customer_id}-{n}"
            for table in ("orders", "line_items", "touchpoints", "conversations", "responses", "escalations"):
                self.db.execute(f"update {table} set order_id = ? where order_id = ?", [new, old])
            self.db.execute("delete from fulfillment_versions where order_id = ?", [old])   # the shop's ids
        return len(orders)

    def is_suppressed(self, kind: str, value: Optional[str]) -> bool:
        """Was a customer with this ref / email / channel address forgotten?"""
        if not value or self.db.execute("select 1 from suppressed limit 1").fetchone() is None:
            return False            # nobody forgotten: no key needed (none is made before the first forget)
        return self.db.execute("select 1 from suppressed where hash = ?",
                               [suppression_hash(kind, value, self._key())]).fetchone() is not None

    # ---- retention ---------------------------------------------------------------------

    def cases_with_text_before(self, cutoff: datetime) -> list[int]:
        """Cases whose words (or customer posts in their thread) are older than `cutoff` and still held."""
        rows = self.db.execute(
            "select id from escalations where opened_at < ? and (text != ? or photos != '[]') "
            "union select json_extract(payload, '$.case_id') from outbox where channel = 'support' "
            "and kind = 'thread' and created_at < ? and text != ? "
            "and (json_extract(payload, '$.customer_text') = 1 or text like ?)",
            [iso(cutoff), ERASED, iso(cutoff), ERASED, CUSTOMER_POST_PREFIX + "%"]).fetchall()
        return sorted({r[0] for r in rows if r[0] is not None})

    def erase_free_text_before(self, cutoff: datetime) -> dict[str, int]:
        """The customers' own words written before `cutoff`: messages in, free-text answers, case
        words and photos, conversation slots that hold them, support posts that quote them."""
        ex, before = self.db.execute, iso(cutoff)
        counts = {
            "messages": ex("update messages set text = ? where direction = 'in' and at < ? and text != ?",
                           [ERASED, before, ERASED]).rowcount,
            "responses": ex("update responses set text = ?, entities = '[]' where at < ? and coalesce(text, '') "
                            "not in ('', ?)", [ERASED, before, ERASED]).rowcount,
            "cases": ex("update escalations set text = ?, photos = '[]' where opened_at < ? and "
                        "(text != ? or photos != '[]')", [ERASED, before, ERASED]).rowcount,
            "conversations": ex(
                "update conversations set slots = json_remove(slots, '$.last_text', '$.photos') where updated_at < ? "
                "and (json_extract(slots, '$.last_text') is not null or json_extract(slots, '$.photos') is not null)",
                [before]).rowcount,
            "outbox": ex("update outbox set text = ? where channel = 'support' and kind = 'thread' and created_at < ? "
                         "and text != ? and (json_extract(payload, '$.customer_text') = 1 or text like ?)",
                         [ERASED, before, ERASED, CUSTOMER_POST_PREFIX + "%"]).rowcount,
        }
        return counts

    # ---- the log -----------------------------------------------------------------------

    def log(self, kind: str, actor: str, now: datetime, counts: dict[str, int],
            customer_id: Optional[int] = None) -> None:
        tables.insert(self.db, "erasure_log", {"kind": kind, "customer_id": customer_id, "actor": actor, "at": iso(now),
                                       "counts": json.dumps(counts, sort_keys=True)})

    def erasures(self) -> list[ErasureEntry]:
        return [ErasureEntry.from_row(r) for r in tables.where(self.db, "erasure_log", order_by="id")]


def _marks(values: list) -> str:
    """Placeholders for an `in (...)` list; `null` keeps an empty list valid SQL."""
    return ",".join("?" * len(values)) or "null"
