"""The figures of a sandbox run, read from the store at the end (read-only).

What the demo prints and what its test asserts on: check-ins sent and answered, CSAT, NPS and
CES, cases with their times, review requests, upsells, onboarding tips (and how many helped),
"it has been fixed" notices (tell-fixed), check-ins that followed up on a problem put right,
opt-outs, unreachable customers, and the messages the governor held back (counted while the run
went on, see `HoldLog`).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from statistics import mean, median
from typing import Collection, Optional

from bot.conversation.cases import SUPPORT
from bot.base.kinds import OutboxKind, OutboxStatus
from bot.store.run_log import CaseRecord
from bot.store.store import Store

COUNTED_POSTS = (OutboxKind.MESSAGE, OutboxKind.CASE_CARD, OutboxKind.THREAD, OutboxKind.NOTICE)


@dataclass
class HoldLog:
    """Messages the governor held back: one count per (touchpoint or wake-up, reason)."""

    seen: set = field(default_factory=set)
    by_reason: Counter = field(default_factory=Counter)

    def add(self, key: tuple, reason: str) -> bool:
        """Record a hold; False when this one was already counted."""
        if (key, reason) in self.seen:
            return False
        self.seen.add((key, reason))
        self.by_reason[reason] += 1
        return True


CaseTimes = CaseRecord     # one case with its times, as the summary tells it


@dataclass
class Summary:
    orders: int = 0
    checkins_started: int = 0
    checkins_sent: int = 0
    checkins_answered: int = 0
    csat: list[int] = field(default_factory=list)
    nps: list[int] = field(default_factory=list)
    ces: list[int] = field(default_factory=list)
    feedback: int = 0
    cases: list[CaseTimes] = field(default_factory=list)
    review_requests: int = 0
    upsells: int = 0
    milestones: int = 0              # milestone messages delivered (anniversary, tenth order, ...)
    gift_codes: int = 0              # gift codes they gave
    referral_asks: int = 0           # promoters asked for a referral / testimonial (once each)
    testimonials: int = 0
    referred_orders: int = 0         # orders placed with another customer's referral code
    tips: int = 0                       # onboarding tips said (dialogs/tip.yml)
    tips_helpful: int = 0
    tips_not_helpful: int = 0
    fixed_notices: int = 0           # "you spoke, we listened" (aftercare tell-fixed) that went out
    followups: int = 0               # check-ins that followed up on a problem put right (step recall)
    opt_outs: int = 0
    unreachable: int = 0
    no_consent: int = 0
    held: dict[str, int] = field(default_factory=dict)
    desk: dict[str, int] = field(default_factory=dict)     # desk actions by kind (notes, hand-overs, ...)
    sent_to_customers: int = 0
    posts_to_support: int = 0
    resent: int = 0
    failed: int = 0
    sim_start: Optional[datetime] = None
    sim_end: Optional[datetime] = None
    real_seconds: float = 0.0

    @property
    def csat_percent(self) -> Optional[float]:
        """Share of satisfied answers (4 or 5), the usual CSAT."""
        return 100 * sum(1 for s in self.csat if s >= 4) / len(self.csat) if self.csat else None

    @property
    def nps_score(self) -> Optional[float]:
        """% promoters (9-10) minus % detractors (0-6)."""
        if not self.nps:
            return None
        return 100 * (sum(1 for s in self.nps if s >= 9) - sum(1 for s in self.nps if s <= 6)) / len(self.nps)

    @property
    def ces_mean(self) -> Optional[float]:
        return mean(self.ces) if self.ces else None

    def case_minutes(self, stage: str) -> Optional[float]:
        """Median minutes from opening to `stage` (claimed_at, first_reply_at, resolved_at)."""
        values = [m for c in self.cases if (m := c.minutes(getattr(c, stage))) is not None]
        return median(values) if values else None


def summarize(store: Store, holds: HoldLog, milestone_kinds: Collection[str] = ()) -> Summary:
    """`milestone_kinds`: the touchpoint kinds that are milestones (config.yml)."""
    log = store.run_log
    out = Summary(orders=store.orders.count(), held=dict(holds.by_reason))
    outbox = log.outbox()
    sent_by_conversation = Counter(r.conversation_id for r in outbox
                                   if r.status == OutboxStatus.SENT and r.kind == OutboxKind.MESSAGE and r.channel != SUPPORT)
    inbound_by_conversation = Counter(log.inbound_conversation_ids())
    for conversation in log.touchpoint_conversations("checkin", "started"):
        out.checkins_started += 1
        out.checkins_sent += sent_by_conversation[conversation] > 0
        out.checkins_answered += inbound_by_conversation[conversation] > 0
    for response in store.conversations.responses():
        if response.metric in ("csat", "nps", "ces") and response.score is not None:
            getattr(out, response.metric).append(response.score)
        elif response.metric == "text":
            out.feedback += 1
        elif response.metric == "testimonial":
            out.testimonials += 1
    for kind in milestone_kinds:
        out.milestones += sum(sent_by_conversation[c] > 0 for c in log.touchpoint_conversations(kind, "started"))
    out.gift_codes = len(store.referrals.gifts())
    out.referral_asks, out.referred_orders = store.referrals.counts()
    for slots in log.conversation_slots():
        out.review_requests += bool(slots.get("review_requested"))
        out.upsells += bool(slots.get("upsell_offered"))
        out.tips += bool(slots.get("tip"))
        out.tips_helpful += slots.get("tip_helpful") is True
        out.tips_not_helpful += slots.get("tip_helpful") is False
        out.followups += bool(slots.get("followed_up"))
    out.fixed_notices = log.fix_notices_sent()
    for identity in log.identity_flags():
        out.opt_outs += identity.opted_out
        out.unreachable += not identity.reachable
        out.no_consent += not identity.consent
    out.cases.extend(log.cases())
    out.desk = store.desk.counts()
    for row in outbox:
        if row.status == OutboxStatus.SENT and row.kind in COUNTED_POSTS:
            if row.channel == SUPPORT:
                out.posts_to_support += 1
            else:
                out.sent_to_customers += 1
        out.resent += row.attempts > 1
        out.failed += row.status == OutboxStatus.FAILED
    return out
