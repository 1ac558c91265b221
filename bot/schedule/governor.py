"""Contact pressure: may this message go to this customer now, and if not, when?

One place for every flow, so that no flow can nag on its own. Pure: the store gathers the
facts, the caller passes `now` (aware), the answer is a `Decision`.

- Opted out, unreachable or without consent: never, whatever the message.
- Offers (review request, upsell): never to a customer with an open case or a low score.
- Proactive messages and offers wait for the customer's quiet hours to end and respect the
  weekly cap over a rolling 7 days, counted across all flows. They wait; they are not dropped.
- Service messages about the customer's own order (a delay notice) use no slot of the weekly
  cap but wait for quiet hours; like everything, never after STOP.
- Transactional messages (a reply inside a conversation the customer is answering, the
  thank-you, confirmations) are never delayed.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Optional, Sequence
from zoneinfo import ZoneInfo

from bot.base.clock import resolve_zone
from bot.config.settings import MessageClass, QuietHours, ScheduleSettings

WEEK = timedelta(days=7)

OK = "ok"
NO_CONSENT = "no_consent"
OPTED_OUT = "opted_out"
UNREACHABLE = "unreachable"
QUIET_HOURS = "quiet_hours"
WEEKLY_CAP = "weekly_cap"
OPEN_CASE = "open_case"
LOW_SCORE = "low_score"
RECENT_TROUBLE = "recent_trouble"


@dataclass(frozen=True)
class ContactFacts:
    """What the store knows about the customer's identity on the channel of the message."""

    consent: bool
    opted_out: bool
    reachable: bool
    timezone: Optional[str]
    proactive_sent: Sequence[datetime]   # proactive sends of the last 7 days, any flow
    has_open_case: bool
    had_low_score: bool                  # a low score or a case in this conversation (or about this order)


@dataclass(frozen=True)
class Decision:
    """Send now, wait until `wait_until`, or never (send False, wait_until None).

    `zone` (the time zone the quiet hours were read in) and `sent_in_week` (proactive sends in
    the window that set the cap) only feed `explain`.
    """

    send: bool
    wait_until: Optional[datetime]
    reason: str
    zone: Optional[str] = None
    sent_in_week: Optional[int] = None

    @property
    def never(self) -> bool:
        """Suppressed for good: the caller should cancel, not reschedule."""
        return not self.send and self.wait_until is None


def decide(kind: MessageClass, facts: ContactFacts, now: datetime,
           schedule: ScheduleSettings) -> Decision:
    """The governor's one rule book, applied in order: block, suppress, then delay."""
    now = _aware(now, "now")
    blocked = _blocked(facts) or (_suppressed(facts) if kind is MessageClass.OFFER else None)
    if blocked:
        return Decision(False, None, blocked)
    if kind is MessageClass.TRANSACTIONAL:
        return Decision(True, None, OK)
    if kind is MessageClass.SERVICE:
        return _quiet(facts, now, schedule)
    return _pressure(facts, now, schedule)


def _quiet(facts: ContactFacts, now: datetime, schedule: ScheduleSettings) -> Decision:
    """Quiet hours only: a service message waits for the morning, whatever the cap says."""
    zone = resolve_zone(facts.timezone, schedule.timezone)
    quiet_end = quiet_until(now, zone, schedule.quiet_hours)
    if quiet_end is None:
        return Decision(True, None, OK, zone)
    return Decision(False, quiet_end, QUIET_HOURS, zone)


def _blocked(facts: ContactFacts) -> Optional[str]:
    """Reasons no message of any kind may go out."""
    if facts.opted_out:
        return OPTED_OUT
    if not facts.reachable:
        return UNREACHABLE
    if not facts.consent:
        return NO_CONSENT
    return None


def _suppressed(facts: ContactFacts) -> Optional[str]:
    """Reasons an offer must never be made to this customer in this conversation."""
    if facts.has_open_case:
        return OPEN_CASE
    if facts.had_low_score:
        return LOW_SCORE
    return None


def _pressure(facts: ContactFacts, now: datetime, schedule: ScheduleSettings) -> Decision:
    """Weekly cap first, then quiet hours at the time the cap allows."""
    zone = resolve_zone(facts.timezone, schedule.timezone)
    sends = sorted(_aware(sent, "proactive_sent") for sent in facts.proactive_sent)
    in_week = [sent for sent in sends if sent > now - WEEK]
    if schedule.weekly_cap == 0:
        return Decision(False, None, WEEKLY_CAP, zone, len(in_week))
    at = cap_free_at(sends, now, schedule.weekly_cap)
    reason = WEEKLY_CAP if at > now else QUIET_HOURS
    quiet_end = quiet_until(at, zone, schedule.quiet_hours)
    if quiet_end is not None:
        at = quiet_end
    if at == now:
        return Decision(True, None, OK, zone, len(in_week))
    return Decision(False, at, reason, zone, len(in_week))


def cap_free_at(sends: Sequence[datetime], now: datetime, cap: int) -> datetime:
    """Earliest time >= now when fewer than `cap` sends lie in the rolling window (t - 7d, t].

    Sends stamped after `now` (clock skew between processes) count too: when unsure, send
    less. With n sends in the window and n >= cap, the (n - cap + 1)-th oldest must leave it.
    """
    in_week = sorted(sent for sent in sends if sent > now - WEEK)
    if len(in_week) < cap:
        return now
    return max(now, in_week[len(in_week) - cap] + WEEK)


def quiet_until(now: datetime, tz_name: str, quiet_hours: QuietHours) -> Optional[datetime]:
    """End of the quiet hours (UTC) if `now` is inside them in `tz_name`, else None.

    Quiet hours are wall-clock times: [start, end), crossing midnight when start > end; equal
    start and end mean no quiet hours. On a DST change day the end is the first instant after
    `now` whose wall clock reads `end` (when the hour repeats and its first reading has passed,
    the second one); when `end` falls in a skipped hour, its PEP 495 fold=0 reading, which
    lies just past the gap.
    """
    now = _aware(now, "now")
    zone = ZoneInfo(tz_name)
    local = now.astimezone(zone)
    end_day = _quiet_end_day(local.time(), local.date(), quiet_hours)
    if end_day is None:
        return None
    for fold in (0, 1):
        wall = datetime.combine(end_day, quiet_hours.end, tzinfo=zone).replace(fold=fold)
        candidate = wall.astimezone(timezone.utc)
        if candidate > now:
            return candidate
    return None  # unreachable in practice: the window's end always lies ahead of `now`


def _quiet_end_day(clock: time, day: date, quiet_hours: QuietHours) -> Optional[date]:
    """The local date on which the current quiet period ends, or None when not quiet."""
    start, end = quiet_hours.start, quiet_hours.end
    if start == end:
        return None
    if start < end:
        return day if start <= clock < end else None
    if clock >= start:
        return day + timedelta(days=1)
    return day if clock < end else None


def explain(decision: Decision) -> str:
    """One human line for `aftercare due`."""
    if decision.send:
        return "sends now"
    if decision.reason == WEEKLY_CAP and decision.wait_until is None:
        return "never: the weekly cap is 0 (no proactive messages)"
    if decision.wait_until is None:
        return _NEVER.get(decision.reason, f"never: {decision.reason}")
    until = _local(decision.wait_until, decision.zone)
    if decision.reason == WEEKLY_CAP:
        return (f"weekly cap reached ({decision.sent_in_week} in 7 days) "
                f"until {until:%Y-%m-%d %H:%M} {decision.zone}")
    if decision.reason == QUIET_HOURS:
        return f"waits for quiet hours to end at {until:%H:%M} {decision.zone}"
    return f"waits ({decision.reason}) until {until:%Y-%m-%d %H:%M} {decision.zone}"


_NEVER = {
    OPTED_OUT: "never: the customer opted out",
    UNREACHABLE: "never: unreachable (blocked the bot or the account is gone)",
    NO_CONSENT: "never: no consent on this channel",
    OPEN_CASE: "never: no offers or milestones while a case is open",
    LOW_SCORE: "never: no offers after a low score or a case",
    RECENT_TROUBLE: "never: a low score or a case too recently for a milestone",
}


def _local(moment: datetime, zone: Optional[str]) -> datetime:
    return moment.astimezone(ZoneInfo(zone)) if zone else moment


def local_time(moment: datetime, zone: Optional[str]) -> str:
    """A moment as `aftercare due` writes it: the customer's wall clock and zone (else UTC)."""
    return f"{_local(moment, zone):%Y-%m-%d %H:%M} {zone or 'UTC'}"


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got naive {value.isoformat()}")
    return value.astimezone(timezone.utc)
