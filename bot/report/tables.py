"""The report's tables as plain data, shared by the terminal, `--csv` and the HTML page, so the
three show the same rows: a `Sheet` has columns (header, numeric or not) and rows of raw values
(numbers stay numbers for a spreadsheet); `shown()` formats one value the way people read it.

Only presentation: every number was computed in `bot.store.reporting` / `bot.store.insights`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from bot.store.insights import sla_met_pct

NONE = "—"
MIN_ANSWERS_FOR_A_MEAN = 3        # a mean of fewer answers is not drawn or ranked (a gap and a note)


def pct(value: Optional[float]) -> str:
    return NONE if value is None else f"{100 * value:.0f}%"


def num(value: Optional[float], suffix: str = "") -> str:
    return NONE if value is None else f"{value:g}{suffix}"


def signed(value: Optional[float], digits: int = 2) -> str:
    """+0.3, -12, 0: an impact or a change, trailing zeros dropped."""
    if value is None:
        return NONE
    text = f"{value:+.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text.strip("+-0.") == "" else text


def minutes(value: Optional[float]) -> str:
    if value is None:
        return NONE
    return f"{value:.0f} min" if value < 120 else f"{value / 60:.1f} h"


def words(code: Optional[str]) -> str:
    """A problem type or reason as words: not_as_described -> not as described."""
    return NONE if code is None else code.replace("_", " ")


def sliced_by(report: dict) -> Optional[str]:
    """The slice whose groups the report shows row by row; `--by agent` is the agents' own table."""
    by = report.get("by")
    return None if by == "agent" else by


def product_names(report: dict) -> dict[str, Optional[str]]:
    return {p["sku"]: p["name"] for p in report.get("products", [])}


def product_label(sku: Optional[str], names: dict[str, Optional[str]]) -> str:
    """What the shop calls a product: its name, else its SKU."""
    if sku is None:
        return "(no product)"
    return names.get(sku) or sku


def group_label(key: Any, by: Optional[str], names: dict[str, Optional[str]]) -> str:
    if key is None:
        return "(none)"
    return product_label(str(key), names) if by == "sku" else str(key)


def driver_sentence(driver: dict, names: Optional[dict[str, Optional[str]]] = None) -> str:
    """"Fixing damaged on Trail Runner 2 would lift CSAT by 0.3 and NPS by 12 points." """
    product = driver["product"] or (product_label(driver["sku"], names or {}) if driver["sku"] else "no product")
    head = f"Fixing {words(driver['problem'])} on {product}"
    csat, nps = driver["csat"]["impact"], driver["nps"]["impact"]
    lifts = [f"CSAT by {signed(csat)[1:]}" for _ in [0] if csat is not None and csat > 0]
    lifts += [f"NPS by {signed(nps, 0)[1:]} points" for _ in [0] if nps is not None and nps > 0]
    who = f"{driver['customers']} customer{'s' if driver['customers'] != 1 else ''}"
    if lifts:
        return f"{head} would lift {' and '.join(lifts)} ({who})."
    if csat is None and nps is None:
        return f"{head}: no scores to weigh it against ({who})."
    if not driver["csat"].get("n_theme", 1) and not driver["nps"].get("n_theme", 1):
        return f"{head}: its {who} left no CSAT or NPS score to weigh."
    return f"{head} would not lift CSAT or NPS: its {who} scored no lower than the rest."


@dataclass
class Column:
    header: str
    numeric: bool = True
    show: Callable[[Any], str] = lambda v: NONE if v is None else str(v)
    max_width: Optional[int] = None              # terminal: longer text ends in an ellipsis


@dataclass
class Sheet:
    """One table: `name` is its CSV file's stem, `title` what people read above it."""

    name: str
    title: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)     # lines printed under it (quotes, sentences)


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, out)
    else:
        out[prefix] = value


def flat(figures: dict) -> dict[str, Any]:
    """{"csat": {"mean": 2.2}} -> {"csat.mean": 2.2}: every figure as one CSV column."""
    out: dict[str, Any] = {}
    _flatten("", figures, out)
    return out


# ---- the sheets --------------------------------------------------------------------------

def _csat_n(f: dict) -> str:
    c = f["csat"]
    return f"{num(c['mean'])} ({c['n']})"


def _nps_n(f: dict) -> str:
    return f"{num(f['nps']['score'])} ({f['nps']['n']})"


def groups_sheet(report: dict, groups: list[dict], title: str) -> Sheet:
    """One row per group: the figures a shop compares across products (or weeks, channels...);
    within 100 columns (every figure of every group is in `--csv` and on the page)."""
    by, names = sliced_by(report), product_names(report)
    text = Column("product" if by == "sku" else by or "group", numeric=False, max_width=24)
    columns = [text, Column("sent"), Column("answered"), Column("CSAT (n)"), Column("4-5"), Column("NPS (n)"),
               Column("CES"), Column("cases"), Column("SLA met"), Column("opt-outs")]
    rows = []
    if by == "sku":                                 # products by the name the shop knows them by
        groups = sorted(groups, key=lambda g: (g["key"] is None, group_label(g["key"], by, names).lower()))
    for g in groups:
        rows.append([group_label(g["key"], by, names), g["checkins_sent"],
                     f"{g['responses']} {pct(g['response_rate']):>4}", _csat_n(g), pct(g["csat"]["satisfied_pct"]),
                     _nps_n(g), num(g["ces"]["mean"]), g["cases"]["opened"], pct(sla_met_pct(g["cases"])),
                     g["opt_outs"]])
    return Sheet("groups", title, columns, rows)


def problems_sheet(report: dict) -> Sheet:
    """What is wrong, per product: problem types with their rate and the share told it's fixed."""
    columns = [Column("product", numeric=False, max_width=24), Column("problem", numeric=False, max_width=18),
               Column("cases"), Column("per 100 orders", show=num), Column("told fixed", numeric=False)]
    sheet = Sheet("problems", "What is wrong, per product (problem types customers named)", columns)
    requests = {t["sku"]: t["requests"] for t in report.get("themes", [])}
    names = product_names(report)
    for product in report.get("problems", []):
        label = product["product"] or product_label(product["sku"], names)
        for p in product["problems"]:
            sheet.rows.append([label, words(p["type"]), p["cases"], p["per_100_orders"],
                               f"{p['told_fixed']} of {p['customers']}"])
        asked = ", ".join(f"{r['type']} ×{r['count']}" for r in requests.get(product["sku"], []))
        for p in product["problems"]:
            for q in p["quotes"]:
                sheet.notes.append(f"{label}, {words(p['type'])}: {q['at'][:10]} “{q['text']}”")
        if asked:
            sheet.notes.append(f"{label}: customers asked for {asked}")
    return sheet


def drivers_sheet(report: dict) -> Sheet:
    columns = [Column("product", numeric=False, max_width=24), Column("problem", numeric=False, max_width=18),
               Column("customers"), Column("CSAT impact", show=signed),
               Column("NPS impact", show=lambda v: signed(v, 1))]
    sheet = Sheet("drivers", "Drivers: each problem's weight on the scores (without its customers − with all)",
                  columns)
    names = product_names(report)
    for d in report.get("drivers", []):
        sheet.rows.append([d["product"] or product_label(d["sku"], names), words(d["problem"]), d["customers"],
                           d["csat"]["impact"], d["nps"]["impact"]])
        sheet.notes.append(driver_sentence(d, names))
    return sheet


def reach_sheets(report: dict) -> list[Sheet]:
    reach = report.get("reach")
    if not reach:
        return []
    held = {h["key"]: h for h in reach["held_by_channel"]}
    channel = Sheet("reach_channel", "Reach by channel (check-ins) and what the governor held", [
        Column("channel", numeric=False), Column("sent"), Column("answered"), Column("rate", show=pct),
        Column("held: quiet hours"), Column("held: weekly cap")])
    for r in reach["by_channel"]:
        h = held.get(r["key"]) or {"quiet_hours": 0, "weekly_cap": 0}
        channel.rows.append([r["key"], r["sent"], r["answered"], r["rate"], h["quiet_hours"], h["weekly_cap"]])
    waiting = reach["waiting_now"]
    channel.notes.append(f"Waiting now: {waiting['quiet_hours']} for quiet hours to end, "
                         f"{waiting['weekly_cap']} for the weekly cap.")
    when = Sheet("reach_time", "Reach by the customer's local send time", [
        Column("when", numeric=False), Column("sent"), Column("answered"), Column("rate", show=pct)])
    for r in reach["by_weekday"]:
        if r["sent"]:
            when.rows.append([r["key"], r["sent"], r["answered"], r["rate"]])
    for r in reach["by_hour"]:
        if r["sent"]:
            when.rows.append([f"{r['key']}:00", r["sent"], r["answered"], r["rate"]])
    return [channel, when]


def agents_sheet(report: dict) -> Optional[Sheet]:
    """Per agent (the desk's figures, when the report has them)."""
    agents = report.get("agents")
    if not agents:
        return None
    sheet = Sheet("agents", "Agents: cases claimed, median times, CES after", [
        Column("agent", numeric=False, max_width=24), Column("cases"), Column("to claim"), Column("1st reply"),
        Column("resolve"), Column("CES after (n)"), Column("goodwill"), Column("notes")])
    for a in agents:
        ces = a.get("ces") or {}
        sheet.rows.append([a.get("name") or a.get("agent") or NONE, a.get("cases", 0),
                           minutes(a.get("median_minutes_to_claim")), minutes(a.get("median_minutes_to_first_reply")),
                           minutes(a.get("median_minutes_to_resolve")),
                           f"{num(ces.get('mean'))} ({ces.get('n', 0)})", a.get("goodwill_codes", 0),
                           a.get("notes", 0)])
    return sheet
