"""What the sandbox demo shows in the terminal: the conversations as they happen (customer side
and support channel), a progress line, and the summary at the end. Headless runs (tests) pass
no console and get the same lines collected in memory.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.markup import escape
from rich.live import Live
from rich.table import Table
from rich.text import Text

from bot.conversation.cases import SUPPORT
from bot.base.clock import parse_iso
from bot.base.kinds import OutboxKind, OutboxStatus
from bot.sandbox.summary import Summary
from bot.base.clock import resolve_zone
from bot.store.rows import MessageRow, OutboxRow
from bot.store.store import Store

SUPPORT_POSTS = (OutboxKind.CASE_CARD, OutboxKind.THREAD, OutboxKind.NOTICE)   # what the story shows of the desk
STYLES = {"bot": "cyan", "agent": "bold magenta", "customer": "green", "support": "magenta",
          "hold": "yellow", "error": "red", "info": "dim"}


class Narrator:
    """Prints lines above a live progress line; keeps every line in `lines` too."""

    def __init__(self, console: Optional[Console] = None) -> None:
        self.console = console
        self.lines: list[str] = []
        self._live: Optional[Live] = None

    def start(self) -> None:
        if self.console is not None:
            self._live = Live(Text(""), console=self.console, refresh_per_second=8, transient=True)
            self._live.start()

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def line(self, at: datetime, who: str, text: str, kind: str = "info", local: Optional[str] = None) -> None:
        plain = f"{at:%b %d %H:%M}Z  {who}: {text}"
        self.lines.append(plain)
        if self.console is None:
            return
        row = Text(f"{at:%b %d %H:%M}Z ", style="dim")
        if local:
            row.append(f"{local:>11} ", style="dim")
        else:
            row.append(" " * 12)
        row.append(f"{who:<28.28}", style=STYLES.get(kind, ""))
        row.append(" " + text, style="" if kind in ("bot", "customer", "agent", "support") else STYLES.get(kind, ""))
        self.console.print(row, overflow="fold")

    def note(self, text: str) -> None:
        """A line outside the story (start-up, where things are)."""
        self.lines.append(text)
        if self.console is not None:
            self.console.print(text)

    def progress(self, text: str) -> None:
        if self._live is not None:
            self._live.update(Text(text, style="bold"))


class Feed:
    """Turns what the store records into story lines: messages as they are delivered (or fail),
    customers' answers as they are handled, posts in the support channel."""

    def __init__(self, store: Store, narrator: Narrator, default_zone: str) -> None:
        self.store, self.narrator, self.default_zone = store, narrator, default_zone
        self._outbox_from = 1          # every row below this one has been shown (or never will be)
        self._shown: set[int] = set()
        self._last_inbound = 0
        self._people: dict[int, tuple[str, str, str]] = {}     # identity id -> (name, channel, zone)
        self._buttons: dict[int, dict[str, str]] = {}          # identity id -> value -> label
        self.delivered = self.answers = self.cards = 0

    def poll(self) -> None:
        events: list[tuple[str, int, OutboxRow | MessageRow]] = []
        log = self.store.run_log
        pending_below = None
        for row in log.outbox_from(self._outbox_from):
            if row.id in self._shown:
                continue
            if row.status in (OutboxStatus.PENDING, OutboxStatus.SENDING):
                pending_below = row.id if pending_below is None else pending_below
                continue
            self._shown.add(row.id)
            if row.status in (OutboxStatus.SENT, OutboxStatus.UNREACHABLE, OutboxStatus.FAILED):
                events.append((row.sent_at or row.claimed_at or row.created_at, row.id, row))
        self._outbox_from = pending_below if pending_below is not None else self._outbox_from_next()
        for message in log.inbound_after(self._last_inbound):
            self._last_inbound = message.id
            events.append((message.at, -message.id, message))
        for _, _, event in sorted(events, key=lambda e: (e[0], e[1])):
            if isinstance(event, MessageRow):
                self._inbound(event)
            elif event.channel == SUPPORT:
                self._support(event)
            else:
                self._outbound(event)

    def _outbox_from_next(self) -> int:
        return max(self._shown, default=0) + 1

    def _person(self, identity_id: Optional[int]) -> tuple[str, str, str]:
        if identity_id is None:
            return ("someone new", "?", self.default_zone)
        if identity_id not in self._people:
            identity = self.store.customers.identity(identity_id)
            customer = self.store.customers.get(identity.customer_id)
            self._people[identity_id] = (customer.name or customer.ref, identity.channel,
                                         resolve_zone(customer.timezone, self.default_zone))
        return self._people[identity_id]

    def _local(self, at: datetime, zone: str) -> str:
        return f"{at.astimezone(ZoneInfo(zone)):%H:%M} {zone.split('/')[-1][:5]}"

    def _outbound(self, row: OutboxRow) -> None:
        name, channel, zone = self._person(row.identity_id)
        at = _at(row.sent_at or row.created_at)
        if row.status != OutboxStatus.SENT:
            self.narrator.line(at, f"✖ {name}", f"{channel}: {row.last_error}", "error")
            return
        if row.kind != OutboxKind.MESSAGE:
            return
        self.delivered += 1
        sender = self.store.conversations.message_by_outbox(row.id)
        buttons = row.buttons
        if buttons and row.identity_id is not None:
            self._buttons[row.identity_id] = {value: label for label, value in buttons}
        text = row.text + ("  " + " ".join(f"[{label}]" for label, _ in buttons) if buttons else "")
        by_agent = sender is not None and sender.sender == "agent"
        who = f"{'agent' if by_agent else 'bot'} → {name}"
        self.narrator.line(at, who, text, "agent" if by_agent else "bot", self._local(at, zone))

    def _inbound(self, message: MessageRow) -> None:
        name, channel, zone = self._person(message.identity_id)
        at = _at(message.at)
        self.answers += 1
        label = self._buttons.get(message.identity_id, {}).get(message.text) if message.identity_id else None
        text = f"taps [{label}]" if label else message.text
        self.narrator.line(at, f"{name} ({channel})", text, "customer", self._local(at, zone))

    def _support(self, row: OutboxRow) -> None:
        if row.status != OutboxStatus.SENT or row.kind not in SUPPORT_POSTS:
            return
        at = _at(row.sent_at)
        if row.kind == OutboxKind.NOTICE:          # the weekly digest: its first two lines say enough
            self.narrator.line(at, "#support digest", " · ".join(row.text.replace("*", "").splitlines()[:2]),
                               "support")
            return
        payload = row.payload
        case = self.store.cases.get(payload["case_id"]) if payload.get("case_id") else None
        if row.kind == OutboxKind.CASE_CARD and case:
            self.cards += 1
            name = self.store.customers.get(case.customer_id).name
            words = f' · "{case.text}"' if case.text else ""
            self.narrator.line(at, "#support", f"new case {case.id}: {case.reason} · {name} · "
                                               f"{case.order_id}{words}", "support")
        elif row.kind == OutboxKind.THREAD:
            self.narrator.line(at, "#support thread", f"case {payload.get('case_id')}: {row.text}", "support")


def _at(text: Optional[str]) -> datetime:
    """A stored time the story needs (a sent message has one)."""
    at = parse_iso(text)
    if at is None:
        raise ValueError("a stored message without its time")
    return at


def render_summary(console: Console, summary: Summary, *, speed: float) -> None:
    """The closing table: what the run did, in the shop's numbers."""
    def pct(value: Optional[float], unit: str = "%") -> str:
        return "—" if value is None else f"{value:.0f}{unit}"

    def minutes(value: Optional[float]) -> str:
        return "—" if value is None else f"{value:.0f} min"

    table = Table(title="Sandbox run: summary", show_header=False, title_style="bold")
    table.add_column(style="bold")
    table.add_column()
    simulated = (summary.sim_end - summary.sim_start) if summary.sim_start and summary.sim_end else None
    table.add_row("time", f"{summary.sim_start:%Y-%m-%d} → {summary.sim_end:%Y-%m-%d} simulated "
                          f"({simulated.days} days) in {summary.real_seconds:.0f} s real, speed ×{speed:g}"
                  if simulated is not None else "—")
    table.add_row("orders", str(summary.orders))
    table.add_row("check-ins", f"{summary.checkins_sent} sent of {summary.checkins_started} started, "
                               f"{summary.checkins_answered} answered")
    table.add_row("CSAT", f"{pct(summary.csat_percent)} satisfied (n={len(summary.csat)}, scores {summary.csat})")
    table.add_row("NPS so far", f"{pct(summary.nps_score, '')} (n={len(summary.nps)}, scores {summary.nps})")
    table.add_row("CES", f"{'—' if summary.ces_mean is None else f'{summary.ces_mean:.1f}'} of 7 "
                         f"(n={len(summary.ces)}); written feedback: {summary.feedback}")
    opened = len(summary.cases)
    claimed = sum(1 for c in summary.cases if c.claimed_at)
    resolved = sum(1 for c in summary.cases if c.resolved_at)
    table.add_row("cases", f"{opened} opened, {claimed} claimed, {resolved} resolved; median "
                           f"{minutes(summary.case_minutes('claimed_at'))} to claim, "
                           f"{minutes(summary.case_minutes('first_reply_at'))} to first reply, "
                           f"{minutes(summary.case_minutes('resolved_at'))} to resolve; "
                           f"{sum(c.sla_reminded for c in summary.cases)} SLA reminder(s)")
    for case in summary.cases:
        table.add_row("", f"case {case.id} {case.reason} ({escape(str(case.customer))}, {escape(str(case.order_id))}): "
                          f"{case.status}; "
                          f"claimed +{minutes(case.minutes(case.claimed_at))}, "
                          f"replied +{minutes(case.minutes(case.first_reply_at))}, "
                          f"resolved +{minutes(case.minutes(case.resolved_at))}")
    d = summary.desk
    table.add_row("support desk", f"{d.get('note', 0)} private note(s), {d.get('assign', 0)} hand-over(s), "
                                  f"{d.get('release', 0)} release(s), {d.get('snooze', 0)} snooze(s), "
                                  f"{d.get('saved_reply', 0)} saved repl(ies), {d.get('history', 0)} history look(s), "
                                  f"{d.get('goodwill', 0)} goodwill code(s) ({d.get('goodwill_refused', 0)} refused), "
                                  f"{d.get('sla_warning', 0)} SLA warning(s), {d.get('sla_breach', 0)} breach(es), "
                                  f"{d.get('customer_stop', 0) + d.get('customer_unreachable', 0)} customer-state notice(s)")
    table.add_row("review requests", str(summary.review_requests))
    table.add_row("upsells", str(summary.upsells))
    table.add_row("milestones", f"{summary.milestones} sent, {summary.gift_codes} gift code(s) given")
    table.add_row("referral asks", f"{summary.referral_asks} (promoters, once each); {summary.testimonials} "
                                   f"testimonial(s); {summary.referred_orders} referred order(s)")
    table.add_row("tips", f"{summary.tips} sent; helpful {summary.tips_helpful}, not helpful {summary.tips_not_helpful}")
    table.add_row("you spoke, we listened", f"{summary.fixed_notices} \"it has been fixed\" message(s) (tell-fixed)")
    table.add_row("remembered", f"{summary.followups} check-in(s) followed up on a problem put right")
    table.add_row("opt-outs", str(summary.opt_outs))
    table.add_row("unreachable", f"{summary.unreachable} (blocked the bot or account gone); "
                                 f"{summary.no_consent} without consent")
    held = ", ".join(f"{n} by {reason.replace('_', ' ')}" for reason, n in sorted(summary.held.items()))
    table.add_row("held back", held or "nothing")
    table.add_row("messages", f"{summary.sent_to_customers} delivered to customers, {summary.posts_to_support} "
                              f"posts in #support, {summary.resent} sent again after a limit or error, "
                              f"{summary.failed} failed")
    console.print(table)
