"""What the customers told the shop, as figures: every number of `aftercare report`, its JSON and
HTML page, and the weekly digest comes from the SQL in this one module, so they always agree.

Conventions (the report's contract):
- a period is a range of UTC calendar days, both ends included; a figure counts in it by its own
  time (a check-in by when it started, a score by when it was given, a case by when it opened);
- rates are fractions 0-1 and means are rounded to 2 decimals; a figure with no data to compute
  it from is None (never 0), while a count of nothing is 0;
- `by` slices every figure by SKU, category, channel (the customer's chat platform), week
  (the Monday it starts on) or cohort (the month of the customer's first purchase); rows that
  have no value for the slice (a conversation the customer started, with no product) land in a
  group whose key is None, so the groups always add up to the whole;
- touchpoints count by the flow they start (a shop may declare more kinds in config.yml: a
  second kind that runs the `checkin` flow is a check-in too);
- a forgotten customer's scores and counts stay (anonymous statistics), but nothing personal
  about them (name, reference, words) is ever returned.

Definitions: a check-in is *sent* when a message of its conversation reached the customer, and
*answered* when the customer wrote or pressed anything in it (response rate = answered / sent);
the escalation rate is the share of conversations the customer answered that opened a case; a
case *breaches* its SLA when it waited past it without an owner (the desk said so), or its first
reply (else its resolution, else the report's moment) comes after `sla_due_at`, and *meets* it otherwise once it is decided (answered, resolved, or past
due): `sla_met_pct` = met / decided; a review request is *accepted* when the customer said yes to it.
Referrals: a promoter *asked* once (by when), with a *link* when referrals.url is configured; a
link is *converted* when an order of another customer carries its code (by the report's moment);
the *referral rate* is converted / links; *referred orders* are orders placed in the period with
another customer's code. *Testimonials* are the one-sentence answers to the referral ask.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Optional, TypedDict

from sqlite_utils import Database

from bot.base.clock import iso, parse_iso
from bot.store.desk_reporting import agent_figures
from bot.store.insights import Insights
from bot.store.privacy import ERASED
from bot.store.schema import migrate

BY_CHOICES = ("sku", "category", "channel", "week", "cohort", "language", "agent")
SUPPORT_CHANNEL = "support"        # the agents' channel in outbox rows (bot.conversation.cases.SUPPORT)
TENURE_BUCKETS = ((0, 2, "0-2 months"), (3, 5, "3-5 months"), (6, 11, "6-11 months"), (12, None, "12+ months"))

# The slice key of a fact row, by `by`. Every fact query below selects the columns these use:
# sku, category, channel, at and customer_id.
_KEYS = {
    None: "'all'",
    "sku": "nullif(sku, '')",
    "category": "category",
    "channel": "channel",
    "week": "date(at, 'weekday 0', '-6 days')",
    "cohort": "(select strftime('%Y-%m', min(fo.purchased_at)) from orders fo where fo.customer_id = f.customer_id)",
    # the language the customer is answered in: their choice, the order's, the platform's, the shop's
    "language": "(select coalesce(lc.language_choice, lc.language, (select li.language_code from identities li "
                "where li.customer_id = lc.id and li.language_code is not null order by li.id limit 1), "
                ":default_language) from customers lc where lc.id = f.customer_id)",
}
_PERIOD = "(:since is null or at >= :since) and (:until is null or at < :until)"

# The dimensions of a conversation: its product, category and the platform it runs on.
_CONVERSATION_DIMS = """
    select c.id as conversation_id, c.customer_id, nullif(c.sku, '') as sku, c.order_id, c.slots,
           c.created_at as at, i.channel as channel,
           coalesce(li.category, (select l2.category from line_items l2 where l2.order_id = c.order_id
                                  order by l2.id limit 1)) as category
    from conversations c
    left join identities i on i.id = c.identity_id
    left join line_items li on li.order_id = c.order_id and li.sku = c.sku
"""

_CHECKINS = """
    select t.started_at as at, nullif(t.sku, '') as sku, li.category, i.channel, o.customer_id,
           exists(select 1 from outbox ob where ob.conversation_id = t.conversation_id and ob.status = 'sent'
                  and ob.kind = 'message' and ob.channel != :support) as sent,
           exists(select 1 from messages m where m.conversation_id = t.conversation_id
                  and m.direction = 'in') as answered
    from touchpoints t
    join orders o on o.order_id = t.order_id
    left join line_items li on li.order_id = t.order_id and li.sku = t.sku
    left join conversations c on c.id = t.conversation_id
    left join identities i on i.id = c.identity_id
    where t.flow = 'checkin' and t.status = 'started'
"""

_SCORES = """
    select r.at, nullif(r.sku, '') as sku, li.category, i.channel, r.customer_id, r.metric, r.score
    from responses r
    left join conversations c on c.id = r.conversation_id
    left join identities i on i.id = c.identity_id
    left join line_items li on li.order_id = r.order_id and li.sku = r.sku
    where r.metric in ('csat', 'nps', 'ces') and r.score is not null
"""

_CASES = """
    select e.id, e.opened_at as at, d.sku, d.category, d.channel, e.customer_id, e.status,
           e.claimed_at, e.first_reply_at, e.resolved_at, e.sla_due_at,
           (coalesce(e.first_reply_at, e.resolved_at, :as_of) > e.sla_due_at or coalesce(e.sla_reminded, 0) = 1
            or coalesce(e.nudged, 0) = 1) as breached,
           (e.first_reply_at is not null or e.resolved_at is not null or :as_of > e.sla_due_at) as decided,
           (select count(*) from goodwill_codes g where g.case_id = e.id) as goodwill
    from escalations e
    left join (""" + _CONVERSATION_DIMS + """) d on d.conversation_id = e.conversation_id
"""

_CONVERSATIONS = """
    select d.*,
           exists(select 1 from messages m where m.conversation_id = d.conversation_id
                  and m.direction = 'in') as answered,
           exists(select 1 from escalations e where e.conversation_id = d.conversation_id) as escalated,
           coalesce(json_extract(d.slots, '$.review_requested'), 0) as review_requested,
           coalesce(json_extract(d.slots, '$.review_accepted'), 0) as review_accepted,
           coalesce(json_extract(d.slots, '$.upsell_offered'), 0) as offered,
           exists(select 1 from touchpoints t where t.conversation_id = d.conversation_id
                  and t.flow = 'replenishment') as replenishment
    from (""" + _CONVERSATION_DIMS + """) d
"""

# Referral asks, each with the dimensions of the conversation it was made in.
_REFERRALS = """
    select d.sku, d.category, d.channel, r.customer_id, r.given_at as at, r.link is not null as link,
           exists(select 1 from orders o where o.referral_code = r.code and o.customer_id != r.customer_id
                  and o.purchased_at <= :as_of) as converted
    from referral_codes r
    left join (""" + _CONVERSATION_DIMS + """) d on d.conversation_id = r.conversation_id
"""

# Orders placed with another customer's referral code, sliced like the ask that gave the code.
_REFERRED = """
    select d.sku, d.category, d.channel, r.customer_id, o.purchased_at as at
    from orders o
    join referral_codes r on r.code = o.referral_code and o.customer_id != r.customer_id
    left join (""" + _CONVERSATION_DIMS + """) d on d.conversation_id = r.conversation_id
"""

_TESTIMONIALS = """
    select r.at, nullif(r.sku, '') as sku, li.category, i.channel, r.customer_id, r.text
    from responses r
    left join conversations c on c.id = r.conversation_id
    left join identities i on i.id = c.identity_id
    left join line_items li on li.order_id = r.order_id and li.sku = r.sku
    where r.metric = 'testimonial'
"""

# Opt-outs: one per identity that opted out in the period (the consent ledger has the time; the
# conversation it happened in, when there was one, gives the product).
_OPT_OUTS = """
    select l.identity_id, l.at, l.channel, l.customer_id, d.sku, d.category
    from consent_ledger l
    left join (""" + _CONVERSATION_DIMS + """) d
      on l.source like 'conversation:%' and d.conversation_id = cast(substr(l.source, 14) as integer)
    where l.action = 'opt_out'
"""

# Unreachable: identities the platform refused (blocked the bot, account gone), by the send that failed.
_UNREACHABLE = """
    select ob.identity_id, coalesce(ob.claimed_at, ob.created_at) as at, i.channel, i.customer_id, d.sku, d.category
    from outbox ob
    join identities i on i.id = ob.identity_id
    left join (""" + _CONVERSATION_DIMS + """) d on d.conversation_id = ob.conversation_id
    where ob.status = 'unreachable'
"""


# ---- the rows of `report --json` (TypedDicts: the JSON keeps its shape, mypy checks the keys) ----

class TenureNps(TypedDict):
    tenure: str                     # a TENURE_BUCKETS label
    n: int
    promoters: int
    passives: int
    detractors: int
    score: Optional[float]


class TipProduct(TypedDict):
    sku: Optional[str]
    product: Optional[str]
    sent: int
    helpful: int
    not_helpful: int


class TipFigures(TypedDict):
    tip: str                        # kind:SKU-or-category
    sent: int
    helpful: int
    not_helpful: int
    products: list[TipProduct]      # per product the tip went out about, most sent first


class CsatMean(TypedDict):
    n: int
    mean: Optional[float]


class WorstSku(TypedDict):
    sku: str
    csat: CsatMean
    top_problem: Optional[str]


class Quote(TypedDict):
    at: str
    text: str
    score: Optional[int]


class ProblemTrend(TypedDict):
    type: str
    count: int
    previous: Optional[int]         # None: the period has no previous one to compare with
    trend: Optional[int]


class RequestCount(TypedDict):
    type: str
    count: int


class Theme(TypedDict):
    sku: Optional[str]
    problems: list[ProblemTrend]
    cases: int
    requests: list[RequestCount]
    csat: Optional[CsatMean]
    worst_rated: bool
    quotes: list[Quote]


class Testimonial(TypedDict):
    at: str
    name: Optional[str]             # the first name only (what the customer was promised)
    sku: Optional[str]
    text: str


class AtRisk(TypedDict):
    customer: str                   # the customer's reference
    name: Optional[str]
    order_id: Optional[str]
    since: str
    kind: str                       # low_score, case_past_sla, stopped_answering
    reason: str


@dataclass(frozen=True)
class Period:
    """UTC calendar days from `since` to `until`, both included; an open end is unbounded."""

    since: Optional[date] = None
    until: Optional[date] = None

    def __post_init__(self) -> None:
        if self.since and self.until and self.since > self.until:
            raise ValueError(f"the period starts ({self.since}) after it ends ({self.until})")

    @classmethod
    def week_of(cls, day: date) -> "Period":
        """The Monday-to-Sunday week that holds `day` (what the weekly digest reports on)."""
        monday = day - timedelta(days=day.weekday())
        return cls(monday, monday + timedelta(days=6))

    @property
    def bounded(self) -> bool:
        return self.since is not None and self.until is not None

    def previous(self) -> "Period":
        """The period of equal length just before this one (`--compare`)."""
        since, until = self.since, self.until
        if since is None or until is None:
            raise ValueError("only a period with both ends has a previous period of equal length")
        length = (until - since).days + 1
        return Period(since - timedelta(days=length), since - timedelta(days=1))

    def end(self) -> Optional[datetime]:
        """The first instant after the period."""
        if self.until is None:
            return None
        return datetime.combine(self.until + timedelta(days=1), datetime.min.time(), timezone.utc)

    def params(self) -> dict[str, Optional[str]]:
        """Bounds as stored text: timestamps sort as text, and a day sorts before its own times."""
        return {"since": self.since.isoformat() if self.since else None,
                "until": (self.until + timedelta(days=1)).isoformat() if self.until else None}

    def as_json(self) -> dict[str, Optional[str]]:
        return {"since": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat() if self.until else None}


def empty_figures() -> dict[str, Any]:
    """The figures of a slice with no data at all: counts 0, everything computed from them None."""
    return {
        "checkins_sent": 0, "responses": 0, "response_rate": None,
        "csat": {"n": 0, "mean": None, "satisfied_pct": None, "distribution": {str(s): 0 for s in range(1, 6)}},
        "nps": {"n": 0, "promoters": 0, "passives": 0, "detractors": 0, "score": None},
        "ces": {"n": 0, "mean": None},
        "escalation_rate": None,
        "cases": {"opened": 0, "claimed": 0, "resolved": 0, "median_minutes_to_claim": None,
                  "median_minutes_to_first_reply": None, "median_minutes_to_resolve": None, "sla_breaches": 0,
                  "sla_met_pct": None, "goodwill_codes": 0},
        "reviews": {"requested": 0, "accepted": 0},
        "upsells": {"offered": 0, "clicked": None},
        "replenishment": {"offered": 0, "clicked": None},
        "referrals": {"asked": 0, "links": 0, "converted": 0, "rate": None, "referred_orders": 0, "testimonials": 0},
        "opt_outs": 0,
        "unreachable": 0,
    }


_NO_CUSTOMERS = {"customers": 0, "repeat_purchase_rate": None, "revenue_per_customer": None}


class Reporting:
    """Read-only figures over one store's database. Every public method takes a `Period`."""

    def __init__(self, db: Database, support_channel: str = SUPPORT_CHANNEL, default_language: str = "en",
                 default_timezone: str = "UTC") -> None:
        self.db = db
        self.support_channel = support_channel
        self.default_language = default_language
        self.insights = Insights(db, default_timezone)     # per-product problems, drivers, reach

    # ---- the whole report ----------------------------------------------------------------

    def report(self, period: Period, now: datetime, by: Optional[str] = None, compare: bool = False) -> dict:
        """The `--json` object: period, overall, groups, themes, at_risk (and `previous` with compare)."""
        agents = by == "agent"          # the desk per agent: a table of its own, not a slice of every figure
        by = None if agents else by
        out: dict[str, Any] = {
            "period": period.as_json(),
            "overall": self.overall(period, now),
            "groups": self.groups(period, by, now) if by else [],
            "nps_by_tenure": self.nps_by_tenure(period),
            "themes": self.themes(period),
            "testimonials": self.testimonials(period),
            "at_risk": self.at_risk(self.as_of(period, now)),
            "tips": self.tips(period),
            "agents": agent_figures(self.db, period.params()),
            "products": self.insights.products(),
            "problems": self.insights.problems(period.params()),
            "drivers": self.insights.drivers(period.params()),
            "reach": self.insights.reach(period.params(), self.support_channel),
            "told_fixed": self.insights.told_fixed(period.params()),
        }
        if agents:
            out["by"] = "agent"
        if by:
            out["by"] = by
        if by == "cohort":     # the cohort figures of everyone together, beside the cohorts'
            out["overall"].update(self.cohorts(period, together=True).get("all", _NO_CUSTOMERS))
        if compare:
            before = period.previous()
            out["previous"] = {"period": before.as_json(), "overall": self.overall(before, now),
                               "groups": self.groups(before, by, now) if by else []}
        return out

    @staticmethod
    def as_of(period: Period, now: datetime) -> datetime:
        """When a period's open cases are judged: its end, or now if that is earlier."""
        end = period.end()
        return min(now, end) if end else now

    def overall(self, period: Period, now: datetime) -> dict:
        return self._figures(period, None, now).get("all", empty_figures())

    def groups(self, period: Period, by: str, now: datetime) -> list[dict]:
        """One entry per slice, `{"key": ..., **figures}`, sorted by key (None last)."""
        figures = self._figures(period, by, now)
        if by == "cohort":
            for key, extra in self.cohorts(period).items():
                figures.setdefault(key, empty_figures()).update(extra)
        keys = sorted(figures, key=lambda k: (k is None, str(k)))
        return [{"key": key, **figures[key]} for key in keys]

    # ---- figures ---------------------------------------------------------------------------

    def _figures(self, period: Period, by: Optional[str], now: datetime) -> dict[Any, dict]:
        if by not in _KEYS:
            raise ValueError(f"unknown slice {by!r}: choose one of {', '.join(BY_CHOICES)}")
        key = _KEYS[by]
        params = {**period.params(), "support": self.support_channel, "as_of": iso(self.as_of(period, now)),
                  "default_language": self.default_language}
        out: dict[Any, dict] = {}

        def slot(k: Any) -> dict:
            return out.setdefault(k, empty_figures())

        for r in self._rows(f"""
                select {key} as key, sum(sent) as sent, sum(sent and answered) as answered,
                       round(1.0 * sum(sent and answered) / nullif(sum(sent), 0), 4) as rate
                from ({_CHECKINS}) f where {_PERIOD} group by key""", params):
            f = slot(r["key"])
            f["checkins_sent"], f["responses"], f["response_rate"] = r["sent"], r["answered"], r["rate"]

        for r in self._rows(f"""
                select {key} as key, metric, count(*) as n, round(avg(score), 2) as mean,
                       round(1.0 * sum(score >= 4) / count(*), 4) as satisfied,
                       sum(score = 1) as s1, sum(score = 2) as s2, sum(score = 3) as s3, sum(score = 4) as s4,
                       sum(score = 5) as s5, sum(score >= 9) as promoters, sum(score between 7 and 8) as passives,
                       sum(score <= 6) as detractors,
                       round(100.0 * (sum(score >= 9) - sum(score <= 6)) / count(*), 2) as nps
                from ({_SCORES}) f where {_PERIOD} group by key, metric""", params):
            f = slot(r["key"])
            if r["metric"] == "csat":
                f["csat"] = {"n": r["n"], "mean": r["mean"], "satisfied_pct": r["satisfied"],
                             "distribution": {str(s): r[f"s{s}"] for s in range(1, 6)}}
            elif r["metric"] == "nps":
                f["nps"] = {"n": r["n"], "promoters": r["promoters"], "passives": r["passives"],
                            "detractors": r["detractors"], "score": r["nps"]}
            else:
                f["ces"] = {"n": r["n"], "mean": r["mean"]}

        medians = self._case_medians(key, params)
        for r in self._rows(f"""
                select {key} as key, count(*) as opened, count(claimed_at) as claimed,
                       count(resolved_at) as resolved, sum(breached) as breaches, sum(decided or breached) as decided,
                       sum(goodwill) as goodwill
                from ({_CASES}) f where {_PERIOD} group by key""", params):
            f = slot(r["key"])
            met = round(1.0 * (r["decided"] - r["breaches"]) / r["decided"], 4) if r["decided"] else None
            f["cases"] = {"opened": r["opened"], "claimed": r["claimed"], "resolved": r["resolved"],
                          **medians.get(r["key"], {}), "sla_breaches": r["breaches"], "sla_met_pct": met,
                          "goodwill_codes": r["goodwill"]}
            for stage in ("claim", "first_reply", "resolve"):
                f["cases"].setdefault(f"median_minutes_to_{stage}", None)

        for r in self._rows(f"""
                select {key} as key, round(1.0 * sum(escalated and answered) / nullif(sum(answered), 0), 4) as rate,
                       sum(review_requested) as requested, sum(review_requested and review_accepted) as accepted,
                       sum(offered and not replenishment) as upsells, sum(offered and replenishment) as refills
                from ({_CONVERSATIONS}) f where {_PERIOD} group by key""", params):
            f = slot(r["key"])
            f["escalation_rate"] = r["rate"]
            f["reviews"] = {"requested": r["requested"], "accepted": r["accepted"]}
            f["upsells"] = {"offered": r["upsells"], "clicked": None}
            f["replenishment"] = {"offered": r["refills"], "clicked": None}

        for r in self._rows(f"""
                select {key} as key, count(*) as asked, sum(link) as links, sum(link and converted) as converted,
                       round(1.0 * sum(link and converted) / nullif(sum(link), 0), 4) as rate
                from ({_REFERRALS}) f where {_PERIOD} group by key""", params):
            slot(r["key"])["referrals"].update(asked=r["asked"], links=r["links"], converted=r["converted"],
                                               rate=r["rate"])
        for name, sql in (("referred_orders", _REFERRED), ("testimonials", _TESTIMONIALS)):
            for r in self._rows(f"select {key} as key, count(*) as n from ({sql}) f where {_PERIOD} group by key",
                                params):
                slot(r["key"])["referrals"][name] = r["n"]

        for name, sql in (("opt_outs", _OPT_OUTS), ("unreachable", _UNREACHABLE)):
            for r in self._rows(f"select {key} as key, count(distinct identity_id) as n from ({sql}) f "
                                f"where {_PERIOD} group by key", params):
                slot(r["key"])[name] = r["n"]
        return out

    def _case_medians(self, key: str, params: dict) -> dict[Any, dict]:
        """Median minutes from opening to claim, first reply and resolution, per slice. Durations are
        rounded to whole milliseconds first (what the timestamps hold), so julianday's float noise
        never tips a rounding."""
        out: dict[Any, dict] = {}
        for stage, column in (("claim", "claimed_at"), ("first_reply", "first_reply_at"), ("resolve", "resolved_at")):
            for r in self._rows(f"""
                    select key, round(avg(minutes), 2) as median from (
                        select key, minutes, row_number() over (partition by key order by minutes) as pos,
                               count(*) over (partition by key) as n
                        from (select {key} as key, round((julianday({column}) - julianday(at)) * 86400000) / 60000.0 as minutes
                              from ({_CASES}) f where {_PERIOD} and {column} is not null))
                    where pos in ((n + 1) / 2, (n + 2) / 2) group by key""", params):
                out.setdefault(r["key"], {})[f"median_minutes_to_{stage}"] = r["median"]
        return out

    # ---- cohorts and tenure ---------------------------------------------------------------

    def cohorts(self, period: Period, together: bool = False) -> dict[Optional[str], dict]:
        """Per month of first purchase: customers, repeat purchase rate (2+ orders) and revenue per
        customer, from every order placed up to the end of the period. `together`: one entry,
        key "all", for every customer at once."""
        key = "'all'" if together else "cohort"
        rows = self._rows(f"""
            with per_order as (
                select o.order_id, o.customer_id, o.purchased_at,
                       coalesce(sum(li.price * li.quantity), 0) as revenue
                from orders o left join line_items li on li.order_id = o.order_id
                where :until is null or o.purchased_at < :until
                group by o.order_id),
            per_customer as (
                select customer_id, strftime('%Y-%m', min(purchased_at)) as cohort, count(*) as orders,
                       sum(revenue) as revenue
                from per_order group by customer_id)
            select {key} as key, count(*) as customers, round(1.0 * sum(orders >= 2) / count(*), 4) as repeat_rate,
                   round(sum(revenue) / count(*), 2) as revenue_per_customer
            from per_customer group by key""", period.params())
        return {r["key"]: {"customers": r["customers"], "repeat_purchase_rate": r["repeat_rate"],
                           "revenue_per_customer": r["revenue_per_customer"]} for r in rows}

    def nps_by_tenure(self, period: Period) -> list[TenureNps]:
        """NPS by whole months from the customer's first purchase to the answer."""
        cases = " ".join(f"when months between {lo} and {hi} then '{label}'" if hi is not None
                         else f"when months >= {lo} then '{label}'" for lo, hi, label in TENURE_BUCKETS)
        rows = {r["tenure"]: r for r in self._rows(f"""
            select case {cases} end as tenure, count(*) as n, sum(score >= 9) as promoters,
                   sum(score between 7 and 8) as passives, sum(score <= 6) as detractors,
                   round(100.0 * (sum(score >= 9) - sum(score <= 6)) / count(*), 2) as score
            from (select f.score, f.at,
                         (cast(strftime('%Y', f.at) as integer) * 12 + cast(strftime('%m', f.at) as integer))
                         - (cast(strftime('%Y', fp.first_at) as integer) * 12 + cast(strftime('%m', fp.first_at) as integer))
                         - (strftime('%d%H%M%S', f.at) < strftime('%d%H%M%S', fp.first_at)) as months
                  from ({_SCORES}) f
                  join (select customer_id, min(purchased_at) as first_at from orders group by customer_id) fp
                    on fp.customer_id = f.customer_id
                  where f.metric = 'nps' and {_PERIOD})
            group by tenure""", period.params())}
        return [TenureNps(tenure=label, n=rows[label]["n"], promoters=rows[label]["promoters"],
                          passives=rows[label]["passives"], detractors=rows[label]["detractors"],
                          score=rows[label]["score"])
                if label in rows else
                TenureNps(tenure=label, n=0, promoters=0, passives=0, detractors=0, score=None)
                for _, _, label in TENURE_BUCKETS]

    # ---- themes -------------------------------------------------------------------------------

    def problem_counts(self, period: Period) -> dict[Optional[str], dict[str, int]]:
        """Cases per SKU and problem type (the problem the customer named, else the case's reason)."""
        out: dict[Optional[str], dict[str, int]] = {}
        for r in self._rows(f"""
                select sku, problem, count(*) as n from (
                    select e.opened_at as at, d.sku, coalesce(e.problem_type, e.reason) as problem
                    from escalations e
                    left join ({_CONVERSATION_DIMS}) d on d.conversation_id = e.conversation_id)
                where {_PERIOD} group by sku, problem order by n desc, problem""", period.params()):
            out.setdefault(r["sku"], {})[r["problem"]] = r["n"]
        return out

    def tips(self, period: Period) -> list[TipFigures]:
        """Onboarding tips by tip (kind:SKU-or-category): how many went out in the period and how
        many the customers found helpful or not (one tap; no tap counts in neither), most sent
        first; `products`: the same per product the tip went out about (a category's tip covers
        several), most sent first."""
        out: dict[str, TipFigures] = {}
        for r in self._rows(f"""
                select tip, sku, product, count(*) as sent, coalesce(sum(helpful = 1), 0) as helpful,
                       coalesce(sum(helpful = 0), 0) as not_helpful from (
                    select json_extract(c.slots, '$.tip') as tip, json_extract(c.slots, '$.tip_helpful') as helpful,
                           c.created_at as at, c.sku,
                           (select li.product from line_items li where li.order_id = c.order_id and li.sku = c.sku)
                           as product
                    from conversations c where json_extract(c.slots, '$.tip') is not null)
                where {_PERIOD} group by tip, sku order by tip, sent desc, sku""", period.params()):
            tip = out.setdefault(r["tip"], TipFigures(tip=r["tip"], sent=0, helpful=0, not_helpful=0, products=[]))
            tip["sent"] += r["sent"]
            tip["helpful"] += r["helpful"]
            tip["not_helpful"] += r["not_helpful"]
            tip["products"].append(TipProduct(sku=r["sku"], product=r["product"], sent=r["sent"], helpful=r["helpful"],
                                              not_helpful=r["not_helpful"]))
        return sorted(out.values(), key=lambda tip: (-tip["sent"], tip["tip"]))

    def request_counts(self, period: Period) -> dict[Optional[str], dict[str, int]]:
        """Cases per SKU and what the customer asked for beside the problem (refund, replacement, ...)."""
        out: dict[Optional[str], dict[str, int]] = {}
        for r in self._rows(f"""
                select sku, request, count(*) as n from (
                    select e.opened_at as at, d.sku, e.request from escalations e
                    left join ({_CONVERSATION_DIMS}) d on d.conversation_id = e.conversation_id
                    where e.request is not null)
                where {_PERIOD} group by sku, request order by n desc, request""", period.params()):
            out.setdefault(r["sku"], {})[r["request"]] = r["n"]
        return out

    def worst_skus(self, period: Period, limit: int = 3) -> list[WorstSku]:
        """The SKUs with the lowest mean CSAT in the period, worst first, with their most frequent problem
        (`limit=-1`: all of them)."""
        rows = self._rows(f"""
            select sku, count(*) as n, round(avg(score), 2) as mean from ({_SCORES}) f
            where metric = 'csat' and sku is not null and {_PERIOD}
            group by sku order by avg(score), count(*) desc, sku limit :limit""", {**period.params(), "limit": limit})
        problems = self.problem_counts(period)
        return [WorstSku(sku=r["sku"], csat=CsatMean(n=r["n"], mean=r["mean"]),
                         top_problem=next(iter(problems.get(r["sku"], {})), None)) for r in rows]

    def quotes(self, sku: str, period: Period, limit: int = 5) -> list[Quote]:
        """The customers' own words about one SKU, newest first; never a forgotten customer's, and
        never words already erased (forget, retention)."""
        return [Quote(at=r["at"], text=r["text"], score=r["score"]) for r in self._rows(f"""
            select max(at) as at, text, max(score) as score from (
                select r.at, r.text, r.score, r.metric from responses r
                where r.sku = :sku and trim(coalesce(r.text, '')) not in ('', :erased) and r.customer_id not in
                      ({self._forgotten_ids()})
                union all
                select e.opened_at as at, e.text, null as score, 'case' as metric from escalations e
                join conversations c on c.id = e.conversation_id
                where c.sku = :sku and trim(coalesce(e.text, '')) not in ('', :erased) and e.customer_id not in
                      ({self._forgotten_ids()}))
            where {_PERIOD} group by text order by max(at) desc limit :limit""",
                          {**period.params(), "sku": sku, "limit": limit, "erased": ERASED})]

    def themes(self, period: Period, worst: int = 3) -> list[Theme]:
        """Problem types per SKU with the previous period's counts beside them (the trend), what the
        customers asked for (refund, replacement, ...), and their own words for the worst-rated SKUs."""
        now = self.problem_counts(period)
        requests = self.request_counts(period)
        before = self.problem_counts(period.previous()) if period.bounded else {}
        rated = self.worst_skus(period, limit=-1)         # every SKU with CSAT answers, worst first
        csat = {w["sku"]: w["csat"] for w in rated}
        worst_skus = {w["sku"] for w in rated[:worst]}
        skus = sorted(set(now) | worst_skus, key=lambda s: (-sum(now.get(s, {}).values()), str(s)))
        out = []
        for sku in skus:
            problems = []
            for p, n in now.get(sku, {}).items():
                previous = before.get(sku, {}).get(p, 0) if period.bounded else None
                problems.append(ProblemTrend(type=p, count=n, previous=previous,
                                             trend=None if previous is None else n - previous))
            out.append(Theme(sku=sku, problems=problems, cases=sum(now.get(sku, {}).values()),
                             requests=[RequestCount(type=k, count=n) for k, n in requests.get(sku, {}).items()],
                             csat=csat.get(sku) if sku is not None else None,
                             worst_rated=sku in worst_skus,
                             quotes=self.quotes(sku, period) if sku is not None and sku in worst_skus else []))
        return out

    def testimonials(self, period: Period, limit: int = 20) -> list[Testimonial]:
        """The customers' one-sentence testimonials, newest first, with their first name only (what
        they were promised); never a forgotten customer's, never words already erased."""
        rows = self._rows(f"""
            select f.at, f.sku, f.text, cu.name from ({_TESTIMONIALS}) f join customers cu on cu.id = f.customer_id
            where {_PERIOD} and trim(coalesce(f.text, '')) not in ('', :erased)
              and f.customer_id not in ({self._forgotten_ids()})
            order by f.at desc limit :limit""", {**period.params(), "erased": ERASED, "limit": limit})
        return [Testimonial(at=r["at"], name=(r["name"] or "").split(" ")[0] or None, sku=r["sku"], text=r["text"])
                for r in rows]

    # ---- at risk --------------------------------------------------------------------------------

    def at_risk(self, as_of: datetime) -> list[AtRisk]:
        """Customers to call: latest score a detractor or CSAT <= 2 with no resolved case on that order,
        a case open past its SLA, or a customer who answered before and went quiet. Not forgotten ones."""
        params = {"as_of": iso(as_of)}
        forgotten = self._forgotten_ids()
        low = self._rows(f"""
            select c.ref as customer, c.name, r.order_id, r.at as since, r.metric, r.score from responses r
            join customers c on c.id = r.customer_id
            where r.id = (select r2.id from responses r2 where r2.customer_id = r.customer_id
                          and r2.metric in ('csat', 'nps') and r2.score is not null and r2.at <= :as_of
                          order by r2.at desc, r2.id desc limit 1)
              and ((r.metric = 'csat' and r.score <= 2) or (r.metric = 'nps' and r.score <= 6))
              and not exists (select 1 from escalations e where e.customer_id = r.customer_id
                              and e.order_id is r.order_id and e.resolved_at is not null and e.resolved_at <= :as_of)
              and r.customer_id not in ({forgotten})""", params)
        late = self._rows(f"""
            select c.ref as customer, c.name, e.order_id, e.sla_due_at as since, e.id as case_id, e.status
            from escalations e join customers c on c.id = e.customer_id
            where e.opened_at <= :as_of and (e.resolved_at is null or e.resolved_at > :as_of)
              and (e.first_reply_at is null or e.first_reply_at > :as_of) and e.sla_due_at <= :as_of
              and e.customer_id not in ({forgotten})""", params)
        quiet = self._rows(f"""
            with asked as (
                select t.conversation_id, t.order_id, t.started_at as at, o.customer_id,
                       exists(select 1 from messages m where m.conversation_id = t.conversation_id
                              and m.direction = 'in' and m.at <= :as_of) as answered
                from touchpoints t join orders o on o.order_id = t.order_id
                join conversations cv on cv.id = t.conversation_id
                where t.flow in ('checkin', 'nps') and t.status = 'started' and t.started_at <= :as_of
                  and (cv.status = 'closed' or cv.updated_at <= :as_of)
                  and exists(select 1 from outbox ob where ob.conversation_id = t.conversation_id and ob.status = 'sent'))
            select c.ref as customer, c.name, a.order_id, a.at as since,
                   (select max(a2.at) from asked a2 where a2.customer_id = a.customer_id and a2.answered) as last_answer
            from asked a join customers c on c.id = a.customer_id
            where a.at = (select max(a3.at) from asked a3 where a3.customer_id = a.customer_id)
              and not a.answered
              and exists (select 1 from asked a4 where a4.customer_id = a.customer_id and a4.answered)
              and a.customer_id not in ({forgotten})""", params)
        out = []
        for r in low:
            label = "CSAT" if r["metric"] == "csat" else "NPS"
            what = "detractor" if r["metric"] == "nps" else "low CSAT"
            out.append(AtRisk(customer=r["customer"], name=r["name"], order_id=r["order_id"], since=r["since"],
                              kind="low_score", reason=f"{what}: latest {label} {r['score']}, no resolved case"))
        for r in late:
            out.append(AtRisk(customer=r["customer"], name=r["name"], order_id=r["order_id"], since=r["since"],
                              kind="case_past_sla",
                              reason=f"case #{r['case_id']} {r['status']}, no reply since its SLA ran out"))
        for r in quiet:
            out.append(AtRisk(customer=r["customer"], name=r["name"], order_id=r["order_id"], since=r["since"],
                              kind="stopped_answering",
                              reason=f"stopped answering (last answer {str(r['last_answer'])[:10]})"))
        out.sort(key=lambda r: (r["since"] or "", r["customer"] or ""), reverse=True)
        return out

    def latest_activity(self) -> Optional[datetime]:
        """The newest moment the store recorded (a simulated run's clock may be ahead of the wall clock)."""
        row = self.db.execute("""select max(t) from (
            select max(at) as t from messages union all select max(at) from responses
            union all select max(opened_at) from escalations union all select max(resolved_at) from escalations
            union all select max(created_at) from outbox)""").fetchone()
        return parse_iso(row[0]) if row and row[0] else None

    # ---- helpers --------------------------------------------------------------------------------

    @staticmethod
    def _forgotten_ids() -> str:
        """SQL for the ids of customers erased by `aftercare customer forget`."""
        return "select id from customers where forgotten_at is not null"

    def _rows(self, sql: str, params: dict) -> list[dict]:
        cursor = self.db.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def open_read_only(path: str | Path) -> Database:
    """The store's file opened read-only (a report never writes, and may run beside the bot).

    A store from an older version first gets the migrations it lacks (what any command that
    opens the store does), so the report can read the columns it expects."""
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"no store at {file} (set AFTERCARE_DB or store.path in config.yml)")
    writable = Database(file)
    try:
        migrate(writable)
    finally:
        writable.close()
    return Database(sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True))
