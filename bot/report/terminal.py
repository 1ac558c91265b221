"""`aftercare report` in the terminal: the report object (bot.store.reporting) as rich tables.

Only presentation lives here; every number was computed in SQL. A figure with no data shows
as an em dash, a count of nothing as 0.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

NONE = "—"


def _add(table: Table, *cells: Any) -> None:
    """A row of data: plain text, never Rich markup (a customer named `Eve [/]` is shown as typed)."""
    table.add_row(*(Text(str(cell)) for cell in cells))


def pct(value: Optional[float]) -> str:
    return NONE if value is None else f"{100 * value:.0f}%"


def num(value: Optional[float], suffix: str = "") -> str:
    return NONE if value is None else f"{value:g}{suffix}"


def minutes(value: Optional[float]) -> str:
    if value is None:
        return NONE
    return f"{value:.0f} min" if value < 120 else f"{value / 60:.1f} h"


def _csat(f: dict) -> str:
    c = f["csat"]
    return f"{num(c['mean'])} of 5, {pct(c['satisfied_pct'])} satisfied (n={c['n']})"


def _nps(f: dict) -> str:
    n = f["nps"]
    return f"{num(n['score'])} (n={n['n']}: {n['promoters']}/{n['passives']}/{n['detractors']})"


# (label, how to show it) for each row of the figures table
ROWS: list[tuple[str, Callable[[dict], str]]] = [
    ("check-ins sent", lambda f: str(f["checkins_sent"])),
    ("responses (rate)", lambda f: f"{f['responses']} ({pct(f['response_rate'])})"),
    ("CSAT", _csat),
    ("CSAT 1 2 3 4 5", lambda f: " ".join(str(f["csat"]["distribution"][str(s)]) for s in range(1, 6))),
    ("NPS (prom./pass./detr.)", _nps),
    ("CES", lambda f: f"{num(f['ces']['mean'])} of 7 (n={f['ces']['n']})"),
    ("escalation rate", lambda f: pct(f["escalation_rate"])),
    ("cases opened/claimed/resolved",
     lambda f: f"{f['cases']['opened']} / {f['cases']['claimed']} / {f['cases']['resolved']}"),
    ("median to claim", lambda f: minutes(f["cases"]["median_minutes_to_claim"])),
    ("median to first reply", lambda f: minutes(f["cases"]["median_minutes_to_first_reply"])),
    ("median to resolve", lambda f: minutes(f["cases"]["median_minutes_to_resolve"])),
    ("SLA breaches", lambda f: str(f["cases"]["sla_breaches"])),
    ("review requests (accepted)", lambda f: f"{f['reviews']['requested']} ({f['reviews']['accepted']})"),
    ("upsell offers", lambda f: f"{f['upsells']['offered']} (clicks {num(f['upsells']['clicked'])})"),
    ("replenishment offers",
     lambda f: f"{f['replenishment']['offered']} (clicks {num(f['replenishment']['clicked'])})"),
    ("referral asks (with a link)", lambda f: f"{f['referrals']['asked']} ({f['referrals']['links']})"),
    ("referral rate (referred orders)",
     lambda f: f"{pct(f['referrals']['rate'])} ({f['referrals']['referred_orders']})"),
    ("testimonials", lambda f: str(f["referrals"]["testimonials"])),
    ("opt-outs", lambda f: str(f["opt_outs"])),
    ("unreachable", lambda f: str(f["unreachable"])),
]
COHORT_ROWS: list[tuple[str, Callable[[dict], str]]] = [
    ("customers", lambda f: str(f.get("customers", 0))),
    ("repeat purchase rate", lambda f: pct(f.get("repeat_purchase_rate"))),
    ("revenue per customer", lambda f: num(f.get("revenue_per_customer"))),
]


def period_label(period: dict) -> str:
    since, until = period["since"], period["until"]
    if since is None and until is None:
        return "all time"
    return f"{since or 'the start'} → {until or 'today'}"


def figures_table(title: str, columns: list[tuple[str, dict]], cohort: bool = False) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold")
    table.add_column("figure")
    for name, _ in columns:
        table.add_column(Text(name), justify="right")
    for label, show in ROWS + (COHORT_ROWS if cohort else []):
        _add(table, label, *(show(figures) for _, figures in columns))
    return table


def _columns(data: dict) -> list[tuple[str, dict]]:
    columns = [(str(g["key"]) if g["key"] is not None else "(none)", g) for g in data["groups"]]
    return columns + [("all", data["overall"])]


def render(console: Console, report: dict, store_path: Any) -> None:
    """Print the whole report: figures, comparison, NPS by tenure, themes and the at-risk list."""
    by = report.get("by")
    console.print(f"[bold]Aftercare report[/], {escape(period_label(report['period']))} (UTC days), "
                  f"store {escape(str(store_path))}")
    title = f"Figures by {by}" if by else "Figures"
    console.print(figures_table(title, _columns(report), cohort=by == "cohort"))
    if "previous" in report:
        before = report["previous"]
        if by:
            console.print(figures_table(f"Previous period ({period_label(before['period'])}) by {by}",
                                        _columns(before), cohort=by == "cohort"))
        else:
            table = Table(title="Against the previous period", title_justify="left", title_style="bold")
            for name in ("figure", period_label(report["period"]), period_label(before["period"])):
                table.add_column(name, justify="left" if name == "figure" else "right")
            for label, show in ROWS:
                _add(table, label, show(report["overall"]), show(before["overall"]))
            console.print(table)
    tenure = [t for t in report["nps_by_tenure"] if t["n"]]
    if tenure:
        table = Table("months since first purchase", "n", "NPS", title="NPS by tenure", title_justify="left",
                      title_style="bold")
        for t in report["nps_by_tenure"]:
            _add(table, t["tenure"], t["n"], num(t["score"]))
        console.print(table)
    render_themes(console, report["themes"])
    render_testimonials(console, report.get("testimonials", []))
    render_tips(console, report.get("tips") or [])
    render_at_risk(console, report["at_risk"])


def render_testimonials(console: Console, testimonials: list[dict]) -> None:
    """The promoters' own sentences, newest first, with their first name only."""
    if not testimonials:
        return
    console.print("[bold]Testimonials[/], newest first:")
    for t in testimonials:
        who = f" — {t['name']}" if t["name"] else ""
        sku = f" ({t['sku']})" if t["sku"] else ""
        console.print(f"  {t['at'][:10]} “{t['text']}”{who}{sku}", overflow="fold", markup=False)


def render_tips(console: Console, tips: list[dict]) -> None:
    """Onboarding tips: sent, and the one-tap "helpful?" answers, per tip."""
    if not tips:
        return
    table = Table("tip", "sent", "helpful", "not helpful", title="Onboarding tips", title_justify="left",
                  title_style="bold")
    for tip in tips:
        _add(table, tip["tip"], tip["sent"], tip["helpful"] or 0, tip["not_helpful"] or 0)
    console.print(table)


def render_themes(console: Console, themes: list[dict]) -> None:
    table = Table("SKU", "cases", "problems (change on the previous period)", "asked for", "CSAT", title="Themes",
                  title_justify="left", title_style="bold")
    for theme in themes:
        problems = ", ".join(f"{p['type']} ×{p['count']}" + ("" if p["trend"] is None else f" ({p['trend']:+d})")
                             for p in theme["problems"]) or NONE
        csat = theme["csat"]
        asked = ", ".join(f"{r['type']} ×{r['count']}" for r in theme["requests"]) or NONE
        _add(table, theme["sku"] or "(none)", theme["cases"], problems, asked,
                      f"{num(csat['mean'])} (n={csat['n']})" if csat else NONE)
    if themes:
        console.print(table)
    else:
        console.print("[bold]Themes[/]: no cases and no scores in this period.")
    for theme in themes:
        if theme["quotes"]:
            console.print(Text.assemble((str(theme["sku"]), "bold"), " in the customers' words, newest first:"))
            for quote in theme["quotes"]:
                score = "" if quote["score"] is None else f" [{quote['score']}]"
                console.print(f"  {quote['at'][:10]}{score} “{quote['text']}”", overflow="fold", markup=False)


def at_risk_label(at_risk: list[dict]) -> str:
    """"3 customers (4 reasons)": a customer can be at risk for more than one reason."""
    people = len({r["customer"] for r in at_risk})
    reasons = f" ({len(at_risk)} reasons)" if len(at_risk) != people else ""
    return f"{people} customer{'s' if people != 1 else ''}{reasons}"


def render_at_risk(console: Console, at_risk: list[dict]) -> None:
    if not at_risk:
        console.print("[bold]At risk[/]: nobody.")
        return
    table = Table("customer", "name", "order", "reason", "since", title=f"At risk: {at_risk_label(at_risk)}",
                  title_justify="left", title_style="bold")
    for r in at_risk:
        _add(table, r["customer"], r["name"] or NONE, r["order_id"] or NONE, r["reason"], (r["since"] or "")[:16])
    console.print(table)
