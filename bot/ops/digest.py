"""The weekly digest in the support channel: the seven days up to yesterday against the seven
before (CSAT, NPS, response rate, cases, SLA breaches), the three worst SKUs with their top
problem, how many customers are at risk, and the `aftercare report` command that shows it all.

The figures are `bot.store.reporting`'s (the same SQL as `aftercare report`); the post goes
through the outbox like every other send. Each weekly slot (`digest.day` `digest.hour`:00 in
`schedule.timezone`) is posted once: the outbox row remembers it, across restarts; a bot that
was down over a slot catches up within a day, else waits for the next one. Two weeks in which
nothing happened (no check-in, score or case) post nothing.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Any, Optional
from zoneinfo import ZoneInfo

from bot.base.kinds import OutboxKind
from bot.config.settings import WEEKDAYS, Settings
from bot.conversation.cases import SUPPORT
from bot.store.insights import sla_met_pct
from bot.store.reporting import Period
from bot.store.store import Store

log = logging.getLogger(__name__)
CATCH_UP = timedelta(days=1)
DIGEST_KIND = OutboxKind.NOTICE


def last_slot(now: datetime, settings: Settings) -> datetime:
    """The latest digest time at or before `now` (aware, in the schedule's zone)."""
    zone = ZoneInfo(settings.schedule.timezone)
    local = now.astimezone(zone)
    back = (local.weekday() - WEEKDAYS.index(settings.digest.day)) % 7
    day = local.date() - timedelta(days=back)
    slot = datetime.combine(day, time(settings.digest.hour), zone)
    if slot > local:
        slot = datetime.combine(day - timedelta(days=7), time(settings.digest.hour), zone)
    return slot


def week_before(day: date) -> Period:
    """The seven days up to the day before `day`."""
    return Period(day - timedelta(days=7), day - timedelta(days=1))


def compose(store: Store, period: Period, now: datetime, report_url: Optional[str] = None) -> str:
    """The digest's text (the desk's markup: *bold*, `code`; the desk escapes & < >): the report's
    headline figures against the week before, % SLA met, the "it has been fixed" messages sent, the
    three products with the most problems, the worst-rated SKUs, who is at risk, and a link to
    the page (`digest.report_url`; else the command that shows it all)."""
    reporting = store.reporting
    this, last = reporting.overall(period, now), reporting.overall(period.previous(), now)
    before = period.previous()
    at_risk = {r["customer"] for r in reporting.at_risk(reporting.as_of(period, now))}   # as the report counts
    told = (reporting.insights.told_fixed(period.params())["sent"],
            reporting.insights.told_fixed(before.params())["sent"])
    lines = [
        f"*Weekly digest* {period.since} to {period.until} (against {before.since} to {before.until})",
        _line("CSAT", _csat(this), _csat(last)),
        _line("NPS", _nps(this), _nps(last)),
        _line("Response rate", _rate(this), _rate(last)),
        _line("Cases", _cases(this), _cases(last)),
        _line("SLA met", _sla(this), _sla(last)),
        _line("SLA breaches", str(this["cases"]["sla_breaches"]), str(last["cases"]["sla_breaches"])),
        _line("You spoke, we listened", f"{told[0]} sent", f"{told[1]} sent"),
    ]
    problems = reporting.insights.problems(period.params())[:3]
    if problems:
        lines.append("*Most problems*")
        for product in problems:
            name = product["product"] or product["sku"] or "no product"
            code = f" ({product['sku']})" if product["product"] and product["sku"] else ""
            rate = "" if product["per_100_orders"] is None else f", {product['per_100_orders']:g} per 100 orders"
            kinds = ", ".join(f"{p['type'].replace('_', ' ')} {p['cases']}" for p in product["problems"])
            lines.append(f"• {name}{code}: {product['cases']} case{'s' if product['cases'] != 1 else ''}{rate} "
                         f"({kinds})")
    worst = reporting.worst_skus(period, 3)
    if worst:
        lines.append("*Worst SKUs by CSAT*")
        for n, sku in enumerate(worst, start=1):
            problem = (sku["top_problem"] or "none").replace("_", " ")
            lines.append(f"{n}. {sku['sku']}: CSAT {sku['csat']['mean']:.2f} (n {sku['csat']['n']}), "
                         f"top problem: {problem}")
    else:
        lines.append("*Worst SKUs by CSAT*: no CSAT answers this week")
    lines.append(f"*At risk*: {len(at_risk)} customer{'' if len(at_risk) == 1 else 's'}")
    command = f"`aftercare report --since {period.since} --until {period.until} --compare`"
    lines.append(f"The whole report: {report_url}" if report_url else f"Everything, with names and reasons: {command}")
    return "\n".join(lines)


class WeeklyDigest:
    """Queues the digest once per weekly slot, in a running bot."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self._decided: Optional[str] = None      # the slot already posted or skipped by this process

    def tick(self, now: datetime) -> Optional[int]:
        """The outbox id of the digest queued now, or None (off, not due, or already posted)."""
        if not self.settings.digest.enabled:
            return None
        slot = last_slot(now, self.settings)
        if now - slot > CATCH_UP:
            return None
        key = slot.isoformat()
        if key == self._decided:
            return None
        self._decided = key
        period = week_before(slot.date())
        with self.store.transaction():
            if self.store.outbox.has_kind(SUPPORT, DIGEST_KIND, "digest", key):
                return None
            if not _anything(self.store, period, now):
                log.debug("no weekly digest for %s to %s: nothing happened that week or the one before",
                         period.since, period.until)
                return None
            text = compose(self.store, period, now, self.settings.digest.report_url)
            outbox_id = self.store.outbox.add(SUPPORT, self.settings.escalation.support_channel, None, None, text,
                                              now, kind=DIGEST_KIND, payload={"digest": key})
        log.debug("weekly digest for %s to %s queued", period.since, period.until)
        return outbox_id


def _anything(store: Store, period: Period, now: datetime) -> bool:
    """Did anything happen in the two weeks (a check-in, a score, a case)? A shop that has not
    started yet gets no digest of zeros."""
    for figures in (store.reporting.overall(period, now), store.reporting.overall(period.previous(), now)):
        if figures["checkins_sent"] or figures["cases"]["opened"] or any(
                figures[metric]["n"] for metric in ("csat", "nps", "ces")):
            return True
    return False


def _line(label: str, this: str, last: str) -> str:
    return f"{label}: {this} (last week {last})"


def _csat(f: dict[str, Any]) -> str:
    csat = f["csat"]
    return "no answers" if csat["mean"] is None else f"{csat['mean']:.2f} (n {csat['n']})"


def _nps(f: dict[str, Any]) -> str:
    nps = f["nps"]
    return "no answers" if nps["score"] is None else f"{nps['score']:+.0f} (n {nps['n']})"


def _rate(f: dict[str, Any]) -> str:
    rate = f["response_rate"]
    return "no check-ins" if rate is None else f"{rate:.0%} of {f['checkins_sent']} check-ins"


def _sla(f: dict[str, Any]) -> str:
    cases = f["cases"]
    met = sla_met_pct(cases)
    return "no cases" if met is None else f"{met:.0%} of {cases['opened']} cases"


def _cases(f: dict[str, Any]) -> str:
    cases = f["cases"]
    return f"{cases['opened']} opened, {cases['resolved']} resolved"
