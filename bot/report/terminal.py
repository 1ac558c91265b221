"""`aftercare report` in the terminal: the report object (bot.store.reporting) as rich tables.

Only presentation lives here; every number was computed in SQL. A figure with no data shows
as an em dash, a count of nothing as 0.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Sequence

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from bot.report.figures import BUILTIN, ReportFigure
from bot.report.tables import (NONE, Sheet, agents_sheet, drivers_sheet, groups_sheet, minutes, num, pct,
                               problems_sheet, reach_sheets, signed, sliced_by)

__all__ = ["NONE", "minutes", "num", "pct", "render", "at_risk_label", "period_label", "WIDTH"]
WIDTH = 100            # every table fits this many columns; piped output is this wide


# (label, how to show it, the number a change is computed on): the rows --by cohort adds
Row = tuple[str, Callable[[Mapping[str, Any]], str], Optional[Callable[[Mapping[str, Any]], Optional[float]]]]
COHORT_ROWS: list[Row] = [
    ("customers", lambda f: str(f.get("customers", 0)), None),
    ("repeat purchase rate", lambda f: pct(f.get("repeat_purchase_rate")), None),
    ("revenue per customer", lambda f: num(f.get("revenue_per_customer")), None),
]


def change(now: Optional[float], before: Optional[float], percent: bool = False) -> str:
    """▲ +0.3 / ▼ -2 / = : the change on the previous period (percentage points for a rate)."""
    if now is None or before is None:
        return NONE
    delta = now - before
    digits, unit = (0, " pt") if percent else (2, "")
    if percent:
        delta = 100 * delta
    if round(delta, digits) == 0:
        return "= 0"
    return f"{'▲' if delta > 0 else '▼'} {signed(delta, digits)}{unit}"


def period_label(period: dict) -> str:
    since, until = period["since"], period["until"]
    if since is None and until is None:
        return "all time"
    return f"{since or 'the start'} → {until or 'today'}"


def _table() -> Table:
    return Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, collapse_padding=True)


def _title(console: Console, title: str) -> None:
    """A table's title on its own line (a rich title would wrap to the table's width)."""
    console.print(Text(title, style="bold"), no_wrap=True, overflow="ellipsis")


def figures_table(report: dict, cohort: bool = False, figures: Sequence[ReportFigure] = BUILTIN) -> Table:
    """The overall figures (the plugins' `figures`), one per row; with --compare the previous
    period and the change beside."""
    before = report.get("previous")
    table = _table()
    table.add_column("figure", no_wrap=True)
    table.add_column("this period" if before else "value", justify="right", no_wrap=True)
    if before:
        table.add_column("previous", justify="right", no_wrap=True)
        table.add_column("change", justify="right", no_wrap=True)
    rows: list[tuple[str, Callable[[Mapping[str, Any]], str], Optional[Callable[[Mapping[str, Any]], Optional[float]]],
                     bool]] = [(f.label, f.text, f.value, f.percent) for f in figures]
    rows += [(label, show, value, False) for label, show, value in (COHORT_ROWS if cohort else [])]
    for label, show, value, percent in rows:
        cells = [label, show(report["overall"])]
        if before:
            cells.append(show(before["overall"]))
            cells.append(change(value(report["overall"]), value(before["overall"]), percent) if value else "")
        table.add_row(*(Text(c) for c in cells))
    return table


def sheet_table(sheet: Sheet) -> Table:
    """A sheet as a rich table: text left (cut with an ellipsis), numbers right, nothing wraps."""
    table = _table()
    for column in sheet.columns:
        table.add_column(column.header, justify="right" if column.numeric else "left", no_wrap=True,
                         overflow="ellipsis", max_width=column.max_width,
                         min_width=len(column.header) if column.numeric else None)   # only text shrinks
    for row in sheet.rows:
        table.add_row(*(Text(column.show(value)) for column, value in zip(sheet.columns, row)))
    return table


def print_sheet(console: Console, sheet: Sheet, empty: str) -> None:
    if not sheet.rows:
        console.print(Text.assemble((sheet.title, "bold"), f": {empty}"))
        return
    _title(console, sheet.title)
    console.print(sheet_table(sheet))
    for note in sheet.notes:
        console.print(Text(f"  {note}"), overflow="fold")
    console.print()


def render(console: Console, report: dict, store_path: Any, figures: Sequence[ReportFigure] = BUILTIN) -> None:
    """Print the whole report: figures (the plugins'), groups, what is wrong per product,
    drivers, reach, agents, NPS by tenure, testimonials, tips and the at-risk list."""
    by = sliced_by(report)
    console.print(Text.assemble(("Aftercare report", "bold"),
                                f", {period_label(report['period'])} (UTC days), store {store_path}"))
    before = report.get("previous")
    _title(console, "Figures" + (f", against the previous period ({period_label(before['period'])})" if before else ""))
    console.print(figures_table(report, cohort=by == "cohort", figures=figures))
    console.print()
    if by:
        print_sheet(console, groups_sheet(report, report["groups"], f"By {by}: one row per {by}"), "no data")
        if "previous" in report:
            before = report["previous"]
            print_sheet(console, groups_sheet(report, before["groups"],
                                              f"By {by}, previous period ({period_label(before['period'])})"),
                        "no data")
    print_sheet(console, problems_sheet(report), "no problems reported in this period.")
    print_sheet(console, drivers_sheet(report), "no problems to weigh in this period.")
    for sheet in reach_sheets(report):
        print_sheet(console, sheet, "no check-ins sent in this period.")
    agents = agents_sheet(report)
    if agents:
        print_sheet(console, agents, "no cases claimed.")
    tenure = [t for t in report["nps_by_tenure"] if t["n"]]
    if tenure:
        _title(console, "NPS by tenure")
        table = _table()
        for header in ("months since first purchase", "n", "NPS"):
            table.add_column(header, justify="left" if header.startswith("months") else "right", no_wrap=True)
        for t in report["nps_by_tenure"]:
            table.add_row(t["tenure"], str(t["n"]), num(t["score"]))
        console.print(table)
    render_testimonials(console, report.get("testimonials", []))
    render_tips(console, report.get("tips") or [])
    render_at_risk(console, report["at_risk"])


def render_testimonials(console: Console, testimonials: list[dict]) -> None:
    """The promoters' own sentences, newest first, with their first name only."""
    if not testimonials:
        return
    console.print(Text("Testimonials, newest first:", style="bold"))
    for t in testimonials:
        who = f" — {t['name']}" if t["name"] else ""
        sku = f" ({t['sku']})" if t["sku"] else ""
        console.print(Text(f"  {t['at'][:10]} “{t['text']}”{who}{sku}"), overflow="fold")


def render_tips(console: Console, tips: list[dict]) -> None:
    """Onboarding tips: sent, and the one-tap "helpful?" answers, per tip."""
    if not tips:
        return
    _title(console, "Onboarding tips")
    table = _table()
    table.add_column("tip", no_wrap=True, overflow="ellipsis", max_width=40)
    for header in ("sent", "helpful", "not helpful"):
        table.add_column(header, justify="right", no_wrap=True)
    for tip in tips:
        table.add_row(Text(str(tip["tip"])), str(tip["sent"]), str(tip["helpful"] or 0), str(tip["not_helpful"] or 0))
    console.print(table)


def at_risk_label(at_risk: list[dict]) -> str:
    """"3 customers (4 reasons)": a customer can be at risk for more than one reason."""
    people = len({r["customer"] for r in at_risk})
    reasons = f" ({len(at_risk)} reasons)" if len(at_risk) != people else ""
    return f"{people} customer{'s' if people != 1 else ''}{reasons}"


def render_at_risk(console: Console, at_risk: list[dict]) -> None:
    if not at_risk:
        console.print(Text.assemble(("At risk", "bold"), ": nobody."))
        return
    _title(console, f"At risk: {at_risk_label(at_risk)}")
    table = _table()
    for header, width in (("customer", 12), ("name", 18), ("order", 10), ("reason", 44), ("since", 10)):
        table.add_column(header, no_wrap=True, overflow="ellipsis", max_width=width)
    for r in at_risk:
        table.add_row(*(Text(v) for v in (r["customer"], r["name"] or NONE, r["order_id"] or NONE, r["reason"],
                                          (r["since"] or "")[:10])))
    console.print(table)
