"""Why a touchpoint is too old to send, in one sentence a shop can read.

Every touchpoint kind has an expiry (`expires:` in config.yml): a touchpoint that could not go
out within that long after it fell due is dropped, never sent late. The import drops those
already past it (a shop's first import of last month's orders contacts nobody about them) and
the scheduler drops those that expire while held; both say why with `too_old`, naming the event
the kind is timed from and how long ago it was ("too old: delivered 36 days ago").
A history import (`orders import --history`) also drops what fell due before the import.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from bot.config.settings import Anchor

# What happened at each anchor, as the sentence says it ("delivered 36 days ago").
EVENT: dict[str, str] = {
    Anchor.PURCHASE: "ordered",
    Anchor.FIRST_PURCHASE: "first ordered",
    Anchor.SHIPMENT: "shipped",
    Anchor.DELIVERY: "delivered",
    Anchor.RUN_OUT: "delivered",
    Anchor.LATE: "expected",
}
HISTORY = "skipped:history"      # the status of what a history import did not schedule


def anchor_event(anchor: str, purchased: Optional[datetime], shipped: Optional[datetime],
                 delivered: Optional[datetime], expected: Optional[datetime]) -> tuple[str, Optional[datetime]]:
    """The event a kind is timed from and when it happened (or is expected), as far as known;
    a plugin's anchor: its name, and no moment (the sentence says "its time has passed")."""
    if anchor not in EVENT:
        return anchor, None
    if anchor in (Anchor.PURCHASE, Anchor.FIRST_PURCHASE):
        return EVENT[anchor], purchased
    if anchor is Anchor.SHIPMENT:
        return "shipped", shipped
    if anchor is Anchor.LATE:
        return "expected", expected or shipped
    if delivered is not None:
        return "delivered", delivered
    if expected is not None:
        return "expected", expected
    return "shipped", shipped


def span(delta: timedelta) -> str:
    """'36 days', '5 hours', '1 minute': whole units, the largest that fits."""
    seconds = abs(delta.total_seconds())
    unit, size = next(((unit, size) for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60))
                       if seconds >= size), ("", 0))
    if not size:
        return "under a minute"
    count = int(seconds // size)
    return f"{count} {unit}{'' if count == 1 else 's'}"


def ago(moment: datetime, now: datetime) -> str:
    """'36 days ago', or 'in 2 days' for a moment still ahead."""
    text = span(now - moment)
    return f"{text} ago" if now >= moment else f"in {text}"


def too_old(kind: str, expires: timedelta, event: str, at: Optional[datetime], now: datetime) -> str:
    """The sentence `aftercare due` shows for a touchpoint dropped past its expiry."""
    when = f"{event} {ago(at, now)}" if at is not None else "its time has passed"
    return (f"dropped: too old: {when}; a {kind} goes out within {span(expires)} "
            "of its time or not at all (never sent late)")


def history_skip(kind: str, due_at: datetime, event: str, at: Optional[datetime], now: datetime) -> str:
    """The sentence for a touchpoint a history import did not schedule (it fell due before)."""
    when = f"{event} {ago(at, now)}" if at is not None else f"due {ago(due_at, now)}"
    return f"dropped: history import: {when}, the {kind} was due {ago(due_at, now)} (history is recorded, not sent)"
