"""The figures of `aftercare report`'s figures table, one `ReportFigure` each: the built-ins are
registered as a default plugin (bot/report/plugin.py) through `aftercare_report_figures`,
exactly as an outside package adds one, and every view shows whatever the plugins declare.

A built-in figure's value comes from the report's shared queries (bot/store/reporting.py, one
pass per slice). A plugin's figure brings its own `compute`: one read-only query over the store
for the period, whose answer lands in the report's `overall` under the figure's name (so
`--json`, `--csv`'s figures.csv, the terminal table and the page all show it)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Optional

from bot.report.tables import minutes, num, pct, sla_met_pct
from bot.store.reporting import Period

# A figure's own query: the store (read-only, sqlite-utils) and the period's parameters
# (`since` / `until`, ISO times or None) -> its value (a number, or None for no data).
Compute = Callable[[Any, Mapping[str, Optional[str]]], Any]


@dataclass(frozen=True)
class ReportFigure:
    """One row of the figures table. `name`: its key in the report's `overall`; `label`: what
    people read; `show`: the overall figures -> text (default: the value, `—` for none);
    `value`: the number `--compare`'s change is computed on (None: no change column); `percent`:
    that number is a rate (the change is in points); `compute`: see the module docstring."""

    name: str
    label: str
    show: Optional[Callable[[Mapping[str, Any]], str]] = None
    value: Optional[Callable[[Mapping[str, Any]], Optional[float]]] = None
    percent: bool = False
    compute: Optional[Compute] = None

    def text(self, overall: Mapping[str, Any]) -> str:
        return self.show(overall) if self.show is not None else num(overall.get(self.name))


def add_figures(report: dict, figures: Iterable[ReportFigure], db: Any, period: Period) -> dict:
    """Compute each plugin figure (one with `compute`) into the report's `overall`, and the
    previous period's with `--compare`. Returns the report."""
    for figure in figures:
        if figure.compute is None:
            continue
        report["overall"][figure.name] = figure.compute(db, period.params())
        if "previous" in report:
            report["previous"]["overall"][figure.name] = figure.compute(db, period.previous().params())
    return report


def _csat(f: Mapping[str, Any]) -> str:
    c = f["csat"]
    return f"{num(c['mean'])} (n={c['n']}, {pct(c['satisfied_pct'])} 4-5)"


def _nps(f: Mapping[str, Any]) -> str:
    n = f["nps"]
    return f"{num(n['score'])} (n={n['n']}: {n['promoters']}/{n['passives']}/{n['detractors']})"


BUILTIN: tuple[ReportFigure, ...] = (
    ReportFigure("checkins_sent", "check-ins sent", lambda f: str(f["checkins_sent"]), lambda f: f["checkins_sent"]),
    ReportFigure("response_rate", "responses (rate)", lambda f: f"{f['responses']} ({pct(f['response_rate'])})",
                 lambda f: f["response_rate"], percent=True),
    ReportFigure("csat", "CSAT", _csat, lambda f: f["csat"]["mean"]),
    ReportFigure("csat.distribution", "CSAT 1 2 3 4 5",
                 lambda f: " ".join(str(f["csat"]["distribution"][str(s)]) for s in range(1, 6))),
    ReportFigure("nps", "NPS (prom./pass./detr.)", _nps, lambda f: f["nps"]["score"]),
    ReportFigure("ces", "CES", lambda f: f"{num(f['ces']['mean'])} of 7 (n={f['ces']['n']})",
                 lambda f: f["ces"]["mean"]),
    ReportFigure("escalation_rate", "escalation rate", lambda f: pct(f["escalation_rate"]),
                 lambda f: f["escalation_rate"], percent=True),
    ReportFigure("cases", "cases opened/claimed/resolved",
                 lambda f: f"{f['cases']['opened']} / {f['cases']['claimed']} / {f['cases']['resolved']}",
                 lambda f: f["cases"]["opened"]),
    ReportFigure("cases.median_minutes_to_claim", "median to claim",
                 lambda f: minutes(f["cases"]["median_minutes_to_claim"]),
                 lambda f: f["cases"]["median_minutes_to_claim"]),
    ReportFigure("cases.median_minutes_to_first_reply", "median to first reply",
                 lambda f: minutes(f["cases"]["median_minutes_to_first_reply"]),
                 lambda f: f["cases"]["median_minutes_to_first_reply"]),
    ReportFigure("cases.median_minutes_to_resolve", "median to resolve",
                 lambda f: minutes(f["cases"]["median_minutes_to_resolve"]),
                 lambda f: f["cases"]["median_minutes_to_resolve"]),
    ReportFigure("cases.sla_met_pct", "SLA met (breaches)",
                 lambda f: f"{pct(sla_met_pct(f['cases']))} ({f['cases']['sla_breaches']})",
                 lambda f: sla_met_pct(f["cases"]), percent=True),
    ReportFigure("reviews", "review requests (accepted)",
                 lambda f: f"{f['reviews']['requested']} ({f['reviews']['accepted']})",
                 lambda f: f["reviews"]["requested"]),
    ReportFigure("upsells", "upsell offers", lambda f: f"{f['upsells']['offered']} (clicks {num(f['upsells']['clicked'])})",
                 lambda f: f["upsells"]["offered"]),
    ReportFigure("replenishment", "replenishment offers",
                 lambda f: f"{f['replenishment']['offered']} (clicks {num(f['replenishment']['clicked'])})",
                 lambda f: f["replenishment"]["offered"]),
    ReportFigure("referrals", "referral asks (with a link)",
                 lambda f: f"{f['referrals']['asked']} ({f['referrals']['links']})",
                 lambda f: f["referrals"]["asked"]),
    ReportFigure("referrals.rate", "referral rate (referred orders)",
                 lambda f: f"{pct(f['referrals']['rate'])} ({f['referrals']['referred_orders']})",
                 lambda f: f["referrals"]["rate"], percent=True),
    ReportFigure("referrals.testimonials", "testimonials", lambda f: str(f["referrals"]["testimonials"]),
                 lambda f: f["referrals"]["testimonials"]),
    ReportFigure("opt_outs", "opt-outs", lambda f: str(f["opt_outs"]), lambda f: f["opt_outs"]),
    ReportFigure("unreachable", "unreachable", lambda f: str(f["unreachable"]), lambda f: f["unreachable"]),
)
