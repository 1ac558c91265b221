"""The record read back as it grows: what the sandbox's narrator, its end-of-run summary and
the crash drills look at. Read-only, so that those clients need no SQL of their own (only
bot/store writes SQL)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from sqlite_utils import Database

from bot.base.clock import parse_iso
from bot.store import tables
from bot.store.rows import MessageRow, OutboxRow


@dataclass(frozen=True)
class CaseRecord:
    """One support case as the summary tells it, with the customer's name."""

    id: int
    reason: str
    customer: str
    order_id: Optional[str]
    status: str
    opened_at: datetime
    claimed_at: Optional[datetime]
    first_reply_at: Optional[datetime]
    resolved_at: Optional[datetime]
    sla_reminded: bool

    def minutes(self, until: Optional[datetime]) -> Optional[float]:
        """Minutes from opening to `until` (None when it has not happened)."""
        return None if until is None else (until - self.opened_at).total_seconds() / 60


@dataclass(frozen=True)
class IdentityFlags:
    """Who may not be written to, and why (one row per identity)."""

    opted_out: bool
    reachable: bool
    consent: bool


def _required(at: Optional[datetime]) -> datetime:
    if at is None:
        raise ValueError("a case without its opening time")
    return at


class RunLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ---- the narrator's feed -----------------------------------------------------------

    def outbox_from(self, first_id: int) -> list[OutboxRow]:
        """Outbox rows with id >= `first_id`, in id order."""
        return [OutboxRow.from_row(r) for r in tables.where(self.db, "outbox", "id >= ?", [first_id], order_by="id")]

    def inbound_after(self, message_id: int) -> list[MessageRow]:
        """Customers' messages stored after message `message_id`, in order."""
        return [MessageRow.from_row(r)
                for r in tables.where(self.db, "messages", "direction = 'in' and id > ?", [message_id], order_by="id")]

    # ---- the summary at the end --------------------------------------------------------

    def outbox(self) -> list[OutboxRow]:
        return [OutboxRow.from_row(r) for r in tables.where(self.db, "outbox")]

    def inbound_conversation_ids(self) -> list[Optional[int]]:
        """The conversation of every inbound message (one entry per message)."""
        return [r[0] for r in self.db.execute("select conversation_id from messages where direction = 'in'")]

    def touchpoint_conversations(self, kind: str, status: str) -> list[Optional[int]]:
        """The conversation each touchpoint of `kind` in `status` started."""
        return [r[0] for r in self.db.execute("select conversation_id from touchpoints where kind = ? and status = ?",
                                              [kind, status])]

    def touchpoint_dues(self, kind: str) -> list[datetime]:
        """When every touchpoint of `kind` falls (or fell) due."""
        rows = self.db.execute("select due_at from touchpoints where kind = ?", [kind])
        return [at for (due,) in rows if (at := parse_iso(due)) is not None]

    def conversation_slots(self) -> list[dict]:
        """Every conversation's slots."""
        return [json.loads(r[0] or "{}") for r in self.db.execute("select slots from conversations")]

    def identity_flags(self) -> list[IdentityFlags]:
        return [IdentityFlags(bool(o), bool(r), bool(c))
                for o, r, c in self.db.execute("select opted_out, reachable, consent from identities")]

    def cases(self) -> list[CaseRecord]:
        """Every case, oldest first."""
        rows = self.db.execute(
            "select e.id, e.reason, case when c.id is null then '?' else c.name end, e.order_id, e.status, e.opened_at, e.claimed_at, "
            "e.first_reply_at, e.resolved_at, e.sla_reminded "
            "from escalations e left join customers c on c.id = e.customer_id order by e.id")
        return [CaseRecord(id_, reason, name, order_id, status, _required(parse_iso(opened)), parse_iso(claimed),
                           parse_iso(replied), parse_iso(resolved), bool(reminded))
                for id_, reason, name, order_id, status, opened, claimed, replied, resolved, reminded in rows]

    def first_resolved_problem(self) -> Optional[tuple[str, str, str, datetime]]:
        """(sku, problem type, product, resolved at) of the first case that named a problem type
        and was resolved: what the sandbox's shop fixes and runs tell-fixed for."""
        row = self.db.execute(
            "select li.sku, e.problem_type, li.product, e.resolved_at from escalations e "
            "left join conversations c on c.id = e.conversation_id "
            "join line_items li on li.order_id = e.order_id and (li.sku = c.sku or nullif(c.sku, '') is null) "
            "where e.status = 'resolved' and e.problem_type is not null and e.resolved_at is not null "
            "order by e.resolved_at, e.id, li.id limit 1").fetchone()
        resolved = parse_iso(row[3]) if row else None
        return (row[0], row[1], row[2], resolved) if row and resolved else None

    def fix_notices_sent(self) -> int:
        """"It has been fixed" notices (aftercare tell-fixed) that went out."""
        return self.db.execute("select count(*) from fix_notices where status = 'sent'").fetchone()[0]

    # ---- the crash drills --------------------------------------------------------------

    def outbox_texts(self, status: str) -> set[str]:
        """The texts of outbox rows in `status` (e.g. claimed but unconfirmed: 'sending')."""
        return {r[0] for r in self.db.execute("select text from outbox where status = ?", [status])}

    def processed_event_ids(self, channel: str) -> list[str]:
        return [r[0] for r in self.db.execute("select event_id from processed_events where channel = ?", [channel])]

    def processed_count(self, channel: str) -> int:
        return self.db.execute("select count(*) from processed_events where channel = ?", [channel]).fetchone()[0]

    def inbound_platform_ids(self) -> list[Optional[str]]:
        return [r[0] for r in self.db.execute("select platform_message_id from messages where direction = 'in'")]
