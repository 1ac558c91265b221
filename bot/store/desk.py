"""The SQL of the support desk's actions: who owns a case (claim, release and hand-over as
compare-and-set updates, so two agents acting at once cannot both win), snoozes and the paused
SLA clock, the 75 % warning, goodwill codes and the log of desk actions."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlite_utils import Database

from bot.base.clock import iso, parse_iso
from bot.store import tables
from bot.store.rows import CaseRow, DeskActionRow

# cases whose SLA clock runs and is not decided yet: open, or claimed with no reply so far
_SLA_RUNNING = ("sla_paused_at is null and ((status = 'open') "
                "or (status = 'claimed' and first_reply_at is null))")


class Desk:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ---- ownership: compare-and-set ------------------------------------------------------

    def claim(self, case_id: int, agent: str, now: datetime, sla_due: datetime, warn_at: datetime) -> bool:
        """Make `agent` the owner of an open case; False when it was not open any more (someone
        else won, or it was resolved): the one update decides, whatever runs at the same time."""
        cursor = self.db.execute(
            "update escalations set status = 'claimed', agent = ?, claimed_at = ?, sla_due_at = ?, "
            "sla_warn_at = ?, sla_warned = 0 where id = ? and status = 'open'",
            [agent, iso(now), iso(sla_due), iso(warn_at), case_id])
        return cursor.rowcount == 1

    def hand_over(self, case_id: int, owner: Optional[str], to: str) -> bool:
        """Give the case to `to`: from `owner` when claimed (None: it must be open); False
        when the case changed meanwhile."""
        if owner is None:
            cursor = self.db.execute("update escalations set status = 'claimed', agent = ? "
                                     "where id = ? and status = 'open'", [to, case_id])
        else:
            cursor = self.db.execute("update escalations set agent = ? where id = ? and status = 'claimed' "
                                     "and agent = ?", [to, case_id, owner])
        return cursor.rowcount == 1

    def release(self, case_id: int, owner: str) -> bool:
        """The owner gives the case back to the queue; False when they did not own it any more."""
        cursor = self.db.execute("update escalations set status = 'open', agent = null where id = ? "
                                 "and status = 'claimed' and agent = ?", [case_id, owner])
        return cursor.rowcount == 1

    # ---- snoozes and the SLA clock --------------------------------------------------------

    def snooze(self, case_id: int, until: Optional[datetime], until_customer: bool, now: datetime) -> None:
        """Pause the case's SLA clock until `until` or until the customer writes."""
        self.db.execute("update escalations set snoozed_until = ?, snooze_until_customer = ?, "
                        "sla_paused_at = coalesce(sla_paused_at, ?) where id = ?",
                        [iso(until) if until else None, int(until_customer), iso(now), case_id])

    def unsnooze(self, case_id: int, now: datetime) -> Optional[datetime]:
        """End the snooze: the SLA's due time (and its warning) move on by the time it lasted.
        Returns the new due time (None when the case was not snoozed)."""
        rows = tables.where(self.db, "escalations", "id = ?", [case_id])
        if not rows or not rows[0]["sla_paused_at"]:
            return None
        row = rows[0]
        paused = now - (parse_iso(row["sla_paused_at"]) or now)
        due = parse_iso(row["sla_due_at"])
        warn = parse_iso(row["sla_warn_at"])
        new_due = due + paused if due else None
        self.db.execute("update escalations set snoozed_until = null, snooze_until_customer = 0, "
                        "sla_paused_at = null, sla_due_at = ?, sla_warn_at = ? where id = ?",
                        [iso(new_due) if new_due else None, iso(warn + paused) if warn else None, case_id])
        return new_due

    def snoozes_over(self, now: datetime) -> list[CaseRow]:
        return [CaseRow.from_row(r) for r in tables.query(
            self.db, "select * from escalations where status != 'resolved' and snoozed_until <= ?", [iso(now)])]

    def warnings_due(self, now: datetime) -> list[CaseRow]:
        """Cases at 75 % of their SLA, not warned yet, still running (not snoozed, not answered)."""
        return [CaseRow.from_row(r) for r in tables.query(
            self.db, f"select * from escalations where coalesce(sla_warned, 0) = 0 and sla_warn_at <= ? and {_SLA_RUNNING} "
                     "and sla_due_at > ?", [iso(now), iso(now)])]

    def next_at(self) -> Optional[datetime]:
        """The next warning or end of a snooze."""
        row = self.db.execute(
            f"select min(t) from (select min(sla_warn_at) as t from escalations where coalesce(sla_warned, 0) = 0 "
            f"and {_SLA_RUNNING} union all select min(snoozed_until) from escalations "
            "where status != 'resolved')").fetchone()
        return parse_iso(row[0]) if row and row[0] else None

    # ---- the customer's state -------------------------------------------------------------

    def state_changes(self) -> list[tuple[CaseRow, str]]:
        """Active cases whose customer opted out or became unreachable since the thread was told:
        (case, "stop" | "unreachable")."""
        rows = tables.query(self.db, """
            select e.*, case when i.opted_out then 'stop' else 'unreachable' end as customer_state
            from escalations e join conversations c on c.id = e.conversation_id
            join identities i on i.id = c.identity_id
            where e.status != 'resolved' and (i.opted_out = 1 or i.reachable = 0)
              and coalesce(e.state_noted, '') != (case when i.opted_out then 'stop' else 'unreachable' end)""")
        return [(CaseRow.from_row(r), str(r["customer_state"])) for r in rows]

    # ---- goodwill codes -------------------------------------------------------------------

    def goodwill_issued(self, since: datetime, until: datetime) -> int:
        return int(self.db.execute("select count(*) from goodwill_codes where issued_at >= ? and issued_at < ?",
                                   [iso(since), iso(until)]).fetchone()[0])

    def issue_goodwill(self, code: str, case: CaseRow, agent: str, now: datetime) -> bool:
        """Record a code given on a case; False when that code exists already."""
        cursor = self.db.execute("insert or ignore into goodwill_codes (code, case_id, customer_id, agent, issued_at) "
                                 "values (?, ?, ?, ?, ?)", [code, case.id, case.customer_id, agent, iso(now)])
        return cursor.rowcount == 1

    def goodwill_of_case(self, case_id: int) -> Optional[str]:
        row = self.db.execute("select code from goodwill_codes where case_id = ? order by id desc limit 1",
                              [case_id]).fetchone()
        return str(row[0]) if row else None

    def goodwill_of_customer(self, customer_id: int) -> list[str]:
        return [str(r[0]) for r in self.db.execute(
            "select code from goodwill_codes where customer_id = ? order by id", [customer_id])]

    # ---- the log of desk actions ----------------------------------------------------------

    def record(self, case_id: int, agent: Optional[str], kind: str, now: datetime, detail: str = "") -> None:
        tables.insert(self.db, "desk_actions", {"case_id": case_id, "agent": agent, "kind": kind,
                                                "detail": detail, "at": iso(now)})

    def actions(self, case_id: Optional[int] = None) -> list[DeskActionRow]:
        """Desk actions, oldest first (of one case when given)."""
        if case_id is None:
            rows = tables.query(self.db, "select * from desk_actions order by id")
        else:
            rows = tables.query(self.db, "select * from desk_actions where case_id = ? order by id", [case_id])
        return [DeskActionRow.from_row(r) for r in rows]

    def counts(self) -> dict[str, int]:
        """Desk actions by kind (the demo's summary)."""
        return {str(k): int(n) for k, n in self.db.execute(
            "select kind, count(*) from desk_actions group by kind order by kind")}
