"""What a shop owner acts on, beside the figures of `reporting.py` (same conventions: UTC days,
both ends included, rates 0-1, None for no data, forgotten customers' words never shown):

- *products*: each SKU's name, as the order files call it (the most frequent spelling);
- *problems*: per product, the problem types customers named in cases (never the escalation
  reason: `human` or `low_score` says nothing about the product), each with its rate per 100
  orders checked in on in the period, the customers' own words (the case texts, newest first)
  and the share of those customers already told "it has been fixed" (`tell-fixed`, sent);
- *drivers*: each (product, problem type) theme's impact on CSAT and NPS: the score of the
  period without the answers of that theme's customers, minus the score with everyone's
  (zenloop's "with vs without"); positive means fixing it would lift the score;
- *reach*: check-ins sent and answered by channel, by the hour and weekday they reached the
  customer (in the customer's own time zone), and what the governor held (quiet hours, weekly
  cap): sends that went out in the period after waiting, and what waits now;
- *told_fixed*: "you spoke, we listened" notices sent in the period.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Optional, TypedDict
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlite_utils import Database

from bot.base.clock import parse_iso
from bot.store.privacy import ERASED

WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HOLD_REASONS = ("quiet_hours", "weekly_cap")
QUOTES_PER_PROBLEM = 3
_PERIOD = "(:since is null or at >= :since) and (:until is null or at < :until)"
_FORGOTTEN = "select id from customers where forgotten_at is not null"

# A case's product: its conversation's SKU, else the order's only line item.
_PROBLEM_CASES = """
    select e.id, e.opened_at as at, e.customer_id, e.problem_type as type, e.text,
           coalesce(nullif(c.sku, ''), (select li.sku from line_items li where li.order_id = e.order_id
                                        group by li.order_id having count(*) = 1)) as sku
    from escalations e left join conversations c on c.id = e.conversation_id
    where e.problem_type is not null and e.problem_type != ''
"""


class ProductName(TypedDict):
    sku: str
    name: Optional[str]


class Quote(TypedDict):
    at: str
    text: str


class ProblemFigures(TypedDict):
    type: str
    cases: int
    customers: int
    per_100_orders: Optional[float]     # None: no order of this product was checked in on in the period
    told_fixed: int                      # of `customers`, told "it has been fixed" (sent)
    told_fixed_pct: Optional[float]
    quotes: list[Quote]                  # the case texts, newest first, complaints only


class ProductProblems(TypedDict):
    sku: Optional[str]
    product: Optional[str]
    orders: int                          # orders of this product checked in on in the period
    cases: int
    per_100_orders: Optional[float]
    problems: list[ProblemFigures]       # most cases first


class ScoreImpact(TypedDict):
    with_all: Optional[float]            # the period's score with everyone's answers
    without: Optional[float]             # ... without the theme's customers' answers
    impact: Optional[float]              # without - with_all
    n_without: int                       # answers left
    n_theme: int                         # answers of the theme's customers (0: nothing to weigh)


class Driver(TypedDict):
    sku: Optional[str]
    product: Optional[str]
    problem: str
    customers: int
    csat: ScoreImpact
    nps: ScoreImpact


class ReachRow(TypedDict):
    key: str
    sent: int
    answered: int
    rate: Optional[float]


class Holds(TypedDict):
    quiet_hours: int
    weekly_cap: int


class ChannelHolds(TypedDict):
    key: Optional[str]
    quiet_hours: int
    weekly_cap: int


class Reach(TypedDict):
    by_channel: list[ReachRow]
    by_hour: list[ReachRow]              # 24 rows, "00" to "23", the customer's local hour
    by_weekday: list[ReachRow]           # 7 rows, Mon to Sun, the customer's local day
    held: Holds                          # proactive sends that went out in the period after waiting
    held_by_channel: list[ChannelHolds]
    waiting_now: Holds                   # held right now, by the reason they wait


class ToldFixed(TypedDict):
    sent: int
    waiting: int                         # pending or held right now


def _rate(part: int, whole: int, digits: int = 4) -> Optional[float]:
    return round(part / whole, digits) if whole else None


class Insights:
    """Read-only per-product problems, drivers and reach over one store's database."""

    def __init__(self, db: Database, default_timezone: str = "UTC") -> None:
        self.db = db
        self.default_timezone = default_timezone

    def products(self) -> list[ProductName]:
        """Every SKU ever ordered with its most frequent product name, by SKU."""
        rows = self._rows("""
            select sku, product, count(*) as n from line_items where nullif(sku, '') is not null
            group by sku, product order by sku, n desc, product""", {})
        names: dict[str, Optional[str]] = {}
        for r in rows:
            names.setdefault(r["sku"], r["product"] or None)
        return [ProductName(sku=sku, name=name) for sku, name in names.items()]

    def problems(self, params: dict) -> list[ProductProblems]:
        """Problem types per product in the period (most cases first), with rates and quotes."""
        names = {p["sku"]: p["name"] for p in self.products()}
        orders = {r["sku"]: r["n"] for r in self._rows(f"""
            select sku, count(distinct order_id) as n from (
                select nullif(t.sku, '') as sku, t.order_id, t.started_at as at from touchpoints t
                where t.flow = 'checkin' and t.status = 'started')
            where {_PERIOD} group by sku""", params)}
        cases = self._rows(f"select * from ({_PROBLEM_CASES}) where {_PERIOD} order by at desc, id desc", params)
        told = {(r["customer_id"], r["sku"], r["problem_type"]) for r in self._rows(
            "select customer_id, sku, problem_type from fix_notices where status = 'sent'", {})}
        forgotten = {r["id"] for r in self._rows(_FORGOTTEN, {})}
        grouped: dict[Optional[str], dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
        for case in cases:
            grouped[case["sku"]][case["type"]].append(case)
        out = []
        for sku, by_type in grouped.items():
            n_orders = orders.get(sku, 0)
            figures = []
            for kind, rows in by_type.items():
                customers = {r["customer_id"] for r in rows}
                n_told = sum((c, sku, kind) in told for c in customers)
                quotes: list[Quote] = []
                for r in rows:                                   # newest first already
                    text = (r["text"] or "").strip()
                    if (text and text != ERASED and r["customer_id"] not in forgotten
                            and all(q["text"] != text for q in quotes)):
                        quotes.append(Quote(at=r["at"], text=text))
                figures.append(ProblemFigures(
                    type=kind, cases=len(rows), customers=len(customers),
                    per_100_orders=_rate(100 * len(rows), n_orders, 1), told_fixed=n_told,
                    told_fixed_pct=_rate(n_told, len(customers)), quotes=quotes[:QUOTES_PER_PROBLEM]))
            figures.sort(key=lambda f: (-f["cases"], f["type"]))
            total = sum(f["cases"] for f in figures)
            out.append(ProductProblems(sku=sku, product=names.get(sku) if sku else None, orders=n_orders,
                                       cases=total, per_100_orders=_rate(100 * total, n_orders, 1),
                                       problems=figures))
        out.sort(key=lambda p: (-p["cases"], p["sku"] is None, str(p["sku"])))
        return out

    def drivers(self, params: dict) -> list[Driver]:
        """Each (product, problem type) theme's impact on CSAT and NPS, biggest CSAT lift first."""
        names = {p["sku"]: p["name"] for p in self.products()}
        scores = self._rows(f"""
            select customer_id, metric, score from responses
            where metric in ('csat', 'nps') and score is not null and {_PERIOD}""", params)
        themes: dict[tuple[Optional[str], str], set[int]] = defaultdict(set)
        for case in self._rows(f"select * from ({_PROBLEM_CASES}) where {_PERIOD}", params):
            themes[(case["sku"], case["type"])].add(case["customer_id"])
        # each customer's answers, so a theme costs its own customers, not a pass over every score
        mine: dict[tuple[int, str], list[int]] = defaultdict(list)
        everyone: dict[str, list[int]] = {"csat": [], "nps": []}
        for s in scores:
            mine[(s["customer_id"], s["metric"])].append(s["score"])
            everyone[s["metric"]].append(s["score"])
        out = []
        for (sku, kind), customers in themes.items():
            theirs = {metric: [v for c in customers for v in mine.get((c, metric), [])] for metric in everyone}
            out.append(Driver(sku=sku, product=names.get(sku) if sku else None, problem=kind,
                              customers=len(customers),
                              csat=_impact(everyone["csat"], theirs["csat"], _CSAT),
                              nps=_impact(everyone["nps"], theirs["nps"], _NPS)))
        out.sort(key=lambda d: (-(d["csat"]["impact"] or 0), -(d["nps"]["impact"] or 0), str(d["sku"]), d["problem"]))
        return out

    def reach(self, params: dict, support_channel: str) -> Reach:
        """Check-ins sent and answered by channel, local send hour and weekday; governor holds."""
        rows = self._rows(f"""
            select * from (
                select t.started_at as at, i.channel, cu.timezone,
                       (select min(ob.sent_at) from outbox ob where ob.conversation_id = t.conversation_id
                        and ob.status = 'sent' and ob.kind = 'message' and ob.channel != :support) as sent_at,
                       exists(select 1 from messages m where m.conversation_id = t.conversation_id
                              and m.direction = 'in') as answered
                from touchpoints t
                join orders o on o.order_id = t.order_id
                left join customers cu on cu.id = o.customer_id
                left join conversations c on c.id = t.conversation_id
                left join identities i on i.id = c.identity_id
                where t.flow = 'checkin' and t.status = 'started')
            where {_PERIOD} and sent_at is not null""", {**params, "support": support_channel})
        channel: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        hour = {f"{h:02d}": [0, 0] for h in range(24)}
        weekday = {name: [0, 0] for name in WEEKDAY_NAMES}
        for r in rows:
            sent_at = parse_iso(r["sent_at"])
            if sent_at is None:
                continue
            local = sent_at.astimezone(self._zone(r["timezone"]))
            for bucket in (channel[r["channel"] or "(none)"], hour[f"{local.hour:02d}"],
                           weekday[WEEKDAY_NAMES[local.weekday()]]):
                bucket[0] += 1
                bucket[1] += bool(r["answered"])

        def table(buckets: dict[str, list[int]]) -> list[ReachRow]:
            return [ReachRow(key=k, sent=s, answered=a, rate=_rate(a, s)) for k, (s, a) in buckets.items()]

        held = self._rows(f"""
            select * from (
                select t.started_at as at, t.held_reasons as reasons, i.channel from touchpoints t
                left join conversations c on c.id = t.conversation_id
                left join identities i on i.id = c.identity_id
                where t.status = 'started' and t.held_reasons is not null
                union all
                select n.sent_at as at, n.held_reasons as reasons, i.channel from fix_notices n
                left join identities i on i.id = n.identity_id
                where n.status = 'sent' and n.held_reasons is not null)
            where {_PERIOD}""", params)
        per_channel: dict[Optional[str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(HOLD_REASONS, 0))
        for r in held:
            for reason in set(r["reasons"].split(",")) & set(HOLD_REASONS):
                per_channel[r["channel"]][reason] += 1
        waiting = {r["reason"]: r["n"] for r in self._rows("""
            select held_reason as reason, count(*) as n from (
                select held_reason from touchpoints where status = 'held'
                union all select held_reason from fix_notices where status = 'held')
            group by held_reason""", {})}
        return Reach(
            by_channel=sorted(table(channel), key=lambda r: r["key"]), by_hour=table(hour),
            by_weekday=table(weekday),
            held=Holds(quiet_hours=sum(c["quiet_hours"] for c in per_channel.values()),
                       weekly_cap=sum(c["weekly_cap"] for c in per_channel.values())),
            held_by_channel=[ChannelHolds(key=k, quiet_hours=v["quiet_hours"], weekly_cap=v["weekly_cap"])
                             for k, v in sorted(per_channel.items(), key=lambda kv: (kv[0] is None, str(kv[0])))],
            waiting_now=Holds(quiet_hours=waiting.get("quiet_hours", 0), weekly_cap=waiting.get("weekly_cap", 0)))

    def told_fixed(self, params: dict) -> ToldFixed:
        """"You spoke, we listened" notices sent in the period, and those waiting now."""
        sent = self.db.execute(f"select count(*) from (select sent_at as at from fix_notices where status = 'sent') "
                               f"where {_PERIOD}", params).fetchone()[0]
        waiting = self.db.execute("select count(*) from fix_notices where status in ('pending', 'held')").fetchone()[0]
        return ToldFixed(sent=sent, waiting=waiting)

    # ---- helpers --------------------------------------------------------------------------

    def _zone(self, name: Optional[str]) -> ZoneInfo:
        for candidate in (name, self.default_timezone, "UTC"):
            if candidate:
                try:
                    return ZoneInfo(candidate)
                except (ZoneInfoNotFoundError, ValueError):
                    continue
        return ZoneInfo("UTC")

    def _rows(self, sql: str, params: dict) -> list[dict]:
        cursor = self.db.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


class _Score:
    """A score kept as sums, so the answers of a few customers can be taken out of everyone's."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def parts(self, scores: list[int]) -> tuple[float, float, int]:
        if self.kind == "csat":
            return float(sum(scores)), 0.0, len(scores)
        return float(sum(s >= 9 for s in scores)), float(sum(s <= 6 for s in scores)), len(scores)

    def value(self, a: float, b: float, n: int) -> Optional[float]:
        if not n:
            return None
        return a / n if self.kind == "csat" else 100.0 * (a - b) / n


_CSAT, _NPS = _Score("csat"), _Score("nps")


def _impact(everyone: list[int], theirs: list[int], score: _Score) -> ScoreImpact:
    """The score with everyone, without the theme's customers' answers, and the difference (2 decimals)."""
    a, b, n = score.parts(everyone)
    ta, tb, tn = score.parts(theirs)
    with_all, rest = score.value(a, b, n), score.value(a - ta, b - tb, n - tn)
    return ScoreImpact(with_all=None if with_all is None else round(with_all, 2),
                       without=None if rest is None else round(rest, 2),
                       impact=None if with_all is None or rest is None else round(rest - with_all, 2),
                       n_without=n - tn, n_theme=tn)


def sla_met_pct(cases: dict) -> Optional[float]:
    """The share of cases that met their SLA: the desk's figure when the report has it, else
    1 - breaches / opened."""
    if cases.get("sla_met_pct") is not None:
        return float(cases["sla_met_pct"])
    opened = cases.get("opened") or 0
    return round(1 - cases.get("sla_breaches", 0) / opened, 4) if opened else None
