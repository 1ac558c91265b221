"""`aftercare tell-fixed` ("you spoke, we listened"): tell every customer who reported a problem
on a SKU that it has been fixed, once each.

This module only chooses who and queues a notice per customer (`fix_notices`); the scheduler
sends each one through the governor as a proactive message, so it shares the weekly cap and
waits out quiet hours instead of being lost. The shop's text is sent as written, in whatever
language the shop wrote it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Optional

from bot.base.errors import AftercareError
from bot.nlu.base import PROBLEM_TYPES
from bot.store.rows import ProblemReport
from bot.store.store import Identity, Store

FORGOTTEN = "forgotten (data erased)"
OPTED_OUT = "opted out"
UNREACHABLE = "unreachable"
NO_CONSENT = "no consent to proactive messages"
NOT_LINKED = "not linked to a channel"
ALREADY_TOLD = "already told about this fix"


class TellFixedError(AftercareError, ValueError):
    """Bad input to tell-fixed; the message is one line naming the option and the problem."""


@dataclass(frozen=True)
class Candidate:
    """A customer who reported the problem; `skip` says why they will not be told (None: they will)."""

    customer_id: int
    name: Optional[str]
    identity_id: Optional[int]
    channel: Optional[str]
    reported_at: str
    skip: Optional[str]

    @property
    def label(self) -> str:
        return f"customer {self.customer_id}" + (f" {self.name}" if self.name else "")


@dataclass(frozen=True)
class Plan:
    sku: str
    problem_type: str
    candidates: tuple[Candidate, ...]

    @property
    def recipients(self) -> list[Candidate]:
        return [c for c in self.candidates if c.skip is None]

    @property
    def skipped(self) -> list[Candidate]:
        return [c for c in self.candidates if c.skip is not None]


def parse_since(text: Optional[str]) -> Optional[datetime]:
    """--since YYYY-MM-DD as the start of that day in UTC."""
    if text is None:
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise TellFixedError(f"--since: {text!r} is not a date (use YYYY-MM-DD)") from None
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


def check_problem_type(problem_type: str) -> None:
    """Only the problem types the NLU extracts can have been reported."""
    if problem_type not in PROBLEM_TYPES:
        raise TellFixedError(f"--problem-type: unknown problem type {problem_type!r} "
                             f"(known: {', '.join(PROBLEM_TYPES)})")


def check_request(store: Store, sku: str, problem_type: str, message: str) -> None:
    """Refuse what cannot be right before anything is queued."""
    check_problem_type(problem_type)
    if not sku.strip():
        raise TellFixedError("--sku: empty")
    if not store.fix_notices.sku_known(sku):
        raise TellFixedError(f"--sku: no order in the store contains SKU {sku!r}")
    if not message.strip():
        raise TellFixedError("--message: empty; write the text the customers should get")


def plan(store: Store, sku: str, problem_type: str, since: Optional[datetime] = None) -> Plan:
    """Each customer who reported `problem_type` on `sku` (since `since`), once, with the reason
    they are skipped if they are."""
    told = store.fix_notices.told(sku, problem_type)
    seen: dict[int, Candidate] = {}
    for report in store.fix_notices.reports(sku, problem_type, since):
        customer_id = report.customer_id
        if customer_id in seen:
            continue
        identity = _identity(store, customer_id, report.identity_id)
        skip = ALREADY_TOLD if customer_id in told else _skip(report, identity)
        seen[customer_id] = Candidate(customer_id, None if report.forgotten_at else report.name,
                                      identity.id if identity else None, identity.channel if identity else None,
                                      report.opened_at, skip)
    return Plan(sku, problem_type, tuple(seen.values()))


def queue(store: Store, chosen: Plan, message: str, now: datetime) -> int:
    """Queue the notice for every recipient of `chosen`; returns how many were new (a customer
    told before, even by a run racing this one, is not queued again)."""
    queued = 0
    with store.transaction():
        for candidate in chosen.recipients:
            assert candidate.identity_id is not None
            queued += store.fix_notices.queue(candidate.customer_id, candidate.identity_id, chosen.sku,
                                              chosen.problem_type, message, now)
    return queued


def _identity(store: Store, customer_id: int, identity_id: Optional[int]) -> Optional[Identity]:
    """The identity the customer reported the problem on, else their first linked one."""
    if identity_id is not None:
        return store.customers.identity(identity_id)
    identities = store.customers.identities_of(customer_id)
    return next((i for i in identities if i.address), identities[0] if identities else None)


def _skip(report: ProblemReport, identity: Optional[Identity]) -> Optional[str]:
    if report.forgotten_at:
        return FORGOTTEN
    if identity is None or not identity.address:
        return NOT_LINKED
    if identity.opted_out:
        return OPTED_OUT
    if not identity.reachable:
        return UNREACHABLE
    if not identity.consent:
        return NO_CONSENT
    return None
