"""The SQL of `aftercare tell-fixed`: who reported a problem on a SKU, and the notices queued
for them (one per customer, SKU and problem type, ever)."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlite_utils import Database

from bot.base.clock import iso, parse_iso
from bot.store import tables
from bot.store.rows import FixNoticeRow, ProblemReport

# The SKU a case is about: its conversation's, else the order's line item with that SKU.
_REPORTS = """
    select e.id as case_id, e.customer_id, e.opened_at, c.identity_id, cu.name, cu.forgotten_at
    from escalations e
    join customers cu on cu.id = e.customer_id
    left join conversations c on c.id = e.conversation_id
    where e.problem_type = :problem
      and (nullif(c.sku, '') = :sku
           or (nullif(c.sku, '') is null
               and exists(select 1 from line_items li where li.order_id = e.order_id and li.sku = :sku)))
      and (:since is null or e.opened_at >= :since)
    order by e.opened_at, e.id
"""


class FixNotices:
    def __init__(self, db: Database) -> None:
        self.db = db

    def sku_known(self, sku: str) -> bool:
        """Has any order ever contained this SKU?"""
        return self.db.execute("select 1 from line_items where sku = ? limit 1", [sku]).fetchone() is not None

    def product_name(self, sku: str) -> Optional[str]:
        """The SKU's product name in its latest order (a name can change; the latest is the one
        the shop uses now), None when no order names it."""
        row = self.db.execute("select product from line_items where sku = ? and nullif(product, '') is not null "
                              "order by id desc limit 1", [sku]).fetchone()
        return row[0] if row else None

    def reports(self, sku: str, problem_type: str, since: Optional[datetime] = None) -> list[ProblemReport]:
        """Every case with this problem type on this SKU (opened at or after `since`), oldest first."""
        return [ProblemReport.from_row(r)
                for r in tables.query(self.db, _REPORTS, {"problem": problem_type, "sku": sku, "since": iso(since)})]

    def told(self, sku: str, problem_type: str) -> set[int]:
        """Customers who already have a notice for this SKU and problem (whatever became of it)."""
        rows = self.db.execute("select customer_id from fix_notices where sku = ? and problem_type = ?",
                               [sku, problem_type]).fetchall()
        return {row[0] for row in rows}

    def queue(self, customer_id: int, identity_id: int, sku: str, problem_type: str, text: str,
              now: datetime) -> bool:
        """One pending notice; False when this customer already has one for this SKU and problem."""
        cursor = self.db.execute(
            "insert or ignore into fix_notices (customer_id, identity_id, sku, problem_type, text, status, "
            "due_at, created_at) values (?, ?, ?, ?, ?, 'pending', ?, ?)",
            [customer_id, identity_id, sku, problem_type, text, iso(now), iso(now)])
        return cursor.rowcount == 1

    def for_customer(self, customer_id: int) -> list[FixNoticeRow]:
        return [FixNoticeRow.from_row(r)
                for r in tables.where(self.db, "fix_notices", "customer_id = ?", [customer_id], order_by="id")]

    def due(self, now: datetime, limit: int = 500) -> list[FixNoticeRow]:
        """Pending or held notices whose time has come (index on status, due_at)."""
        return [FixNoticeRow.from_row(r) for r in tables.query(self.db,
            "select * from fix_notices where status in ('pending', 'held') and due_at <= ? order by due_at, id "
            "limit ?", [iso(now), limit])]

    def count_due(self, now: datetime) -> int:
        """How many notices `due(now)` would list with no limit."""
        return self.db.execute("select count(*) from fix_notices where status in ('pending', 'held') and due_at <= ?",
                               [iso(now)]).fetchone()[0]

    def next_at(self) -> Optional[datetime]:
        row = self.db.execute("select min(due_at) from fix_notices where status in ('pending', 'held')").fetchone()
        return parse_iso(row[0]) if row and row[0] else None

    def hold(self, notice_id: int, until: datetime, reason: str) -> None:
        tables.update(self.db, "fix_notices", notice_id, {"status": "held", "due_at": iso(until), "held_reason": reason})
        tables.remember_reason(self.db, "fix_notices", notice_id, reason)

    def finish(self, notice_id: int, status: str, now: datetime, outbox_id: Optional[int] = None) -> None:
        """'sent' (with its outbox row), or 'suppressed:<reason>' / 'cancelled' for good."""
        tables.update(self.db, "fix_notices", notice_id, {"status": status, "sent_at": iso(now), "outbox_id": outbox_id,
                                                  "held_reason": None})
