"""`aftercare report --html FILE`: one self-contained page with Plotly charts that works offline.

Plotly's JavaScript is inlined once (no CDN); each chart is a Plotly figure built from the report
object, so the page shows exactly the numbers of `--json`: every number the page prints carries
`data-json` (its place in the JSON) and `data-value` (the raw value), which the browser tests
compare. Charts cannot mislead: one y-axis each, no mean drawn from fewer than 3 answers (a gap
and a note), and the count beside every rate or mean.
"""
from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any, Optional, Sequence

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from bot.report.figures import ReportFigure
from bot.report.tables import (MIN_ANSWERS_FOR_A_MEAN, NONE, agents_sheet, driver_sentence, group_label, minutes,
                               num, pct, product_label, product_names, signed, sla_met_pct, sliced_by, words)
from bot.report.terminal import at_risk_label, period_label

CHART_IDS = ("chart-csat-weekly", "chart-nps-weekly", "chart-groups", "chart-problems", "chart-drivers",
             "chart-reach-channel", "chart-reach-hour", "chart-reach-weekday", "chart-funnel")
NO_DATA = "no data in this period"
FEW = f"fewer than {MIN_ANSWERS_FOR_A_MEAN} answers"
_LAYOUT = dict(template="plotly_white", height=340, margin=dict(l=60, r=30, t=60, b=60), showlegend=False)
_BLUE, _GREEN, _RED, _GREY = "#1f5fa8", "#2e7d32", "#c62828", "#9e9e9e"
PROBLEM_COLOURS = {"damaged": "#c62828", "defective": "#ef6c00", "missing_part": "#f9a825", "wrong_item": "#6a1b9a",
                   "not_as_described": "#1565c0", "size_fit": "#00838f", "late": "#6d4c41", "not_received": "#455a64"}


# ---- numbers that the tests can trace back to the JSON ---------------------------------------

def shown(value: Any, kind: str) -> str:
    """How the page prints a JSON value: pct (0-1 as %), min (minutes), signed, or num."""
    if kind == "pct":
        return pct(value)
    if kind == "min":
        return minutes(value)
    if kind == "signed":
        return signed(value)
    return num(value) if isinstance(value, (int, float)) or value is None else str(value)


def figure(path: str, value: Any, kind: str = "num") -> str:
    """A number on the page, tagged with where it is in `--json` and its raw value."""
    return (f'<span class="fig" data-json="{html.escape(path)}" data-kind="{kind}" '
            f'data-value="{html.escape(json.dumps(value))}">{html.escape(shown(value, kind))}</span>')


def _get(data: Any, path: str) -> Any:
    for part in path.split("/"):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


# ---- tiles -------------------------------------------------------------------------------------

# (label, the main figure, its kind, what goes under it: [(text, path, kind)])
TILES: list[tuple[str, str, str, list[tuple[str, str, str]]]] = [
    ("check-ins sent", "checkins_sent", "num", []),
    ("response rate", "response_rate", "pct", [("responses", "responses", "num")]),
    ("CSAT (1-5)", "csat/mean", "num", [("n", "csat/n", "num"), ("4-5", "csat/satisfied_pct", "pct")]),
    ("CSAT answers, by score", "csat/n", "num", [(f"{s}:", f"csat/distribution/{s}", "num") for s in range(1, 6)]),
    ("NPS", "nps/score", "num", [("n", "nps/n", "num"), ("promoters", "nps/promoters", "num"),
                                 ("passives", "nps/passives", "num"), ("detractors", "nps/detractors", "num")]),
    ("CES (1-7)", "ces/mean", "num", [("n", "ces/n", "num")]),
    ("escalation rate", "escalation_rate", "pct", []),
    ("cases opened", "cases/opened", "num", [("claimed", "cases/claimed", "num"),
                                             ("resolved", "cases/resolved", "num")]),
    ("first reply (median)", "cases/median_minutes_to_first_reply", "min",
     [("claim", "cases/median_minutes_to_claim", "min"), ("resolve", "cases/median_minutes_to_resolve", "min")]),
    ("SLA breaches", "cases/sla_breaches", "num", []),
    ("review requests", "reviews/requested", "num", [("accepted", "reviews/accepted", "num")]),
    ("upsell offers", "upsells/offered", "num", [("replenishment", "replenishment/offered", "num")]),
    ("referral asks", "referrals/asked", "num", [("links", "referrals/links", "num"),
                                                 ("converted", "referrals/converted", "num")]),
    ("referral rate", "referrals/rate", "pct", [("referred orders", "referrals/referred_orders", "num")]),
    ("testimonials", "referrals/testimonials", "num", []),
    ("opt-outs", "opt_outs", "num", []),
    ("unreachable", "unreachable", "num", []),
]
_RATES = {"pct"}
_BY_NAMES = {"sku": "product"}


# figures where less is better: their drop is drawn green
LOWER_IS_BETTER = {"escalation_rate", "cases/opened", "cases/median_minutes_to_first_reply", "cases/sla_breaches",
                   "opt_outs", "unreachable"}


def _arrow(now: Any, before: Any, kind: str, path: str = "") -> str:
    """▲ +0.3 / ▼ -12 pt / = 0, beside the previous value; green when better, red when worse."""
    if not isinstance(now, (int, float)) or not isinstance(before, (int, float)):
        return ""
    delta = now - before
    digits, unit = (0, " pt") if kind in _RATES else (2, "")
    if kind in _RATES:
        delta *= 100
    if round(delta, digits) == 0:
        return '<span class="delta same">= 0</span>'
    css = "good" if (delta > 0) != (path in LOWER_IS_BETTER) else "bad"
    return f'<span class="delta {css}">{"▲" if delta > 0 else "▼"} {signed(delta, digits)}{unit}</span>'


def _tile(report: dict, label: str, path: str, kind: str, under: list[tuple[str, str, str]]) -> str:
    value = _get(report["overall"], path)
    parts = [f"<div class=label>{html.escape(label)}</div>",
             f"<div class=value>{figure('overall/' + path, value, kind)}</div>"]
    if under:
        parts.append("<div class=under>" + " · ".join(
            f"{html.escape(text)} {figure('overall/' + p, _get(report['overall'], p), k)}" for text, p, k in under)
            + "</div>")
    if "previous" in report:
        before = _get(report["previous"]["overall"], path)
        arrow = _arrow(value, before, kind, path)
        parts.append(f"<div class=before>{arrow + ' from' if arrow else 'previous'} "
                     f"{figure('previous/overall/' + path, before, kind)}</div>")
    return "<div class=tile>" + "".join(parts) + "</div>"


def tiles(report: dict, figures: Sequence[ReportFigure] = ()) -> str:
    """The headline tiles, then one per plugin figure (a figure with its own query)."""
    out = [_tile(report, *tile) for tile in TILES]
    out += [_tile(report, f.label, f.name, "num", []) for f in figures if f.compute is not None]
    cases = report["overall"]["cases"]
    out.append(f"<div class=tile><div class=label>SLA met</div><div class=value>{html.escape(pct(sla_met_pct(cases)))}"
               f"</div><div class=under>of {figure('overall/cases/opened', cases['opened'])} cases</div></div>")
    told = report.get("told_fixed") or {"sent": 0, "waiting": 0}
    out.append("<div class=tile><div class=label>“it has been fixed” sent</div>"
               f"<div class=value>{figure('told_fixed/sent', told['sent'])}</div>"
               f"<div class=under>waiting {figure('told_fixed/waiting', told['waiting'])}</div></div>")
    tips = report.get("tips") or []
    out.append("<div class=tile><div class=label>tips sent · helpful</div>"
               f"<div class=value>{sum(t['sent'] for t in tips)} · {sum(t['helpful'] for t in tips)}</div></div>")
    people = len({r["customer"] for r in report["at_risk"]})
    out.append(f"<div class=tile><div class=label>customers at risk</div><div class=value>{people}</div></div>")
    return '<div class="tiles">' + "".join(out) + "</div>"


# ---- charts --------------------------------------------------------------------------------------

def _empty(chart: go.Figure, empty: bool, message: str = NO_DATA) -> go.Figure:
    if empty:
        chart.add_annotation(text=message, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5,
                             font=dict(size=15, color="#888"))
    return chart


def _note(chart: go.Figure, text: str) -> None:
    """A sentence under the chart (why a point or bar is missing), kept in the figure's meta."""
    chart.update_layout(meta={"note": text})


def weekly_chart(weeks: list[dict], metric: str) -> go.Figure:
    """CSAT mean (1-5) or NPS (-100..100) per week on one axis; the answers behind each point under
    its week; a week with fewer than 3 answers is a gap."""
    weeks = [w for w in weeks if w["key"] is not None]
    value = (lambda w: w["csat"]["mean"]) if metric == "csat" else (lambda w: w["nps"]["score"])
    counts = [w[metric]["n"] for w in weeks]
    labels = [f"{w['key'][5:]}<br>n={n}" for w, n in zip(weeks, counts)]
    ys = [value(w) if n >= MIN_ANSWERS_FOR_A_MEAN else None for w, n in zip(weeks, counts)]
    name = "CSAT" if metric == "csat" else "NPS"
    chart = go.Figure(go.Scatter(x=labels, y=ys, mode="lines+markers+text", connectgaps=False, name=name,
                                 text=[num(y) if y is not None else "" for y in ys], textposition="top center",
                                 line=dict(color=_BLUE if metric == "csat" else _GREEN, width=3), marker=dict(size=9),
                                 hovertemplate="%{x}: %{y}<extra></extra>"))
    chart.update_yaxes(range=[1, 5.3] if metric == "csat" else [-105, 110],
                       title_text="mean CSAT (1-5)" if metric == "csat" else "NPS (-100 to 100)")
    chart.update_xaxes(type="category")
    title = f"{name} per week (from Monday; n under each week)"
    chart.update_layout(title=title, **_LAYOUT)
    if any(0 < n < MIN_ANSWERS_FOR_A_MEAN for n in counts):
        _note(chart, f"A week with {FEW} shows no {'mean' if metric == 'csat' else 'score'} (a gap); "
                     "the number of answers is under each week.")
    return _empty(chart, not any(y is not None for y in ys),
                  NO_DATA if not any(counts) else f"every week has {FEW}")


def groups_chart(groups: list[dict], by: str, names: dict[str, Optional[str]]) -> go.Figure:
    """Mean CSAT per group (product by default), worst at the top, n beside each bar; groups with
    fewer than 3 answers are named in a note instead of drawn."""
    rated = [g for g in groups if g["csat"]["n"] >= MIN_ANSWERS_FOR_A_MEAN]
    few = [g for g in groups if 0 < g["csat"]["n"] < MIN_ANSWERS_FOR_A_MEAN]
    rated.sort(key=lambda g: (-g["csat"]["mean"], str(g["key"])))
    chart = go.Figure(go.Bar(
        x=[g["csat"]["mean"] for g in rated], y=[group_label(g["key"], by, names) for g in rated], orientation="h",
        text=[f"{g['csat']['mean']:g} (n={g['csat']['n']}, {pct(g['csat']['satisfied_pct'])} 4-5)" for g in rated],
        textposition="auto", marker_color=[_RED if g["csat"]["mean"] < 3 else _BLUE for g in rated],
        hovertemplate="%{y}: %{x}<extra></extra>"))
    chart.update_xaxes(range=[0, 5.2], title_text="mean CSAT (1-5)")
    chart.update_yaxes(type="category", automargin=True)
    label = "product" if by == "sku" else by
    chart.update_layout(title=f"CSAT per {label}", **{**_LAYOUT, "height": max(300, 90 + 34 * len(rated))})
    if few:
        _note(chart, f"Not drawn ({FEW}): " + ", ".join(
            f"{group_label(g['key'], by, names)} n={g['csat']['n']}" for g in few[:6]) + (" …" if len(few) > 6 else ""))
    return _empty(chart, not rated, NO_DATA if not few else f"every {label} has {FEW}")


def problems_chart(problems: list[dict], names: dict[str, Optional[str]]) -> go.Figure:
    """Cases per product, stacked by the problem type the customers named (never the escalation
    reason), the rate per 100 orders checked in on beside each product."""
    products = problems[:12]
    labels = [f"{p['product'] or product_label(p['sku'], names)} ({num(p['per_100_orders'])}/100 orders)"
              for p in products]
    kinds = sorted({k["type"] for p in products for k in p["problems"]})
    chart = go.Figure()
    for kind in kinds:
        counts = [next((k["cases"] for k in p["problems"] if k["type"] == kind), 0) for p in products]
        chart.add_trace(go.Bar(y=labels, x=counts, name=words(kind), orientation="h", text=counts,
                               marker_color=PROBLEM_COLOURS.get(kind, _GREY),
                               textposition="inside", hovertemplate=f"{words(kind)}: %{{x}}<extra></extra>"))
    chart.update_layout(title="What is wrong, per product (cases by problem type)", barmode="stack",
                        **{**_LAYOUT, "showlegend": True, "height": max(300, 120 + 34 * len(products)),
                           "legend": dict(orientation="h", y=1.12, x=0)})
    chart.update_xaxes(title_text="cases", dtick=1 if max([p["cases"] for p in products] + [0]) <= 10 else None)
    chart.update_yaxes(type="category", automargin=True, autorange="reversed")
    return _empty(chart, not kinds)


def drivers_chart(drivers: list[dict], names: dict[str, Optional[str]]) -> go.Figure:
    """Each theme's CSAT impact (without its customers minus with all), with how many customers."""
    shown_ = [d for d in drivers if d["csat"]["impact"] is not None][:10]
    labels = [f"{words(d['problem'])} · {d['product'] or product_label(d['sku'], names)}" for d in shown_]
    chart = go.Figure(go.Bar(
        x=[d["csat"]["impact"] for d in shown_], y=labels, orientation="h",
        text=[f"{signed(d['csat']['impact'])} ({d['customers']} customer{'s' if d['customers'] != 1 else ''})"
              for d in shown_], textposition="auto",
        marker_color=[_GREEN if d["csat"]["impact"] > 0 else _GREY for d in shown_],
        hovertemplate="%{y}: %{x}<extra></extra>"))
    impacts = [d["csat"]["impact"] for d in shown_]
    low, high = min(impacts + [0.0]), max(impacts + [0.0])
    chart.update_xaxes(title_text="CSAT lift if fixed (points on the 1-5 scale)", zeroline=True,
                       range=[min(low * 1.15, 0), max(high * 1.15, low + 0.5, 0.5)])   # a tiny lift looks tiny
    chart.update_yaxes(type="category", automargin=True, autorange="reversed")
    chart.update_layout(title="Drivers: CSAT without each problem's customers minus with all",
                        **{**_LAYOUT, "height": max(300, 110 + 34 * len(shown_))})
    return _empty(chart, not shown_)


def rate_chart(rows: list[dict], title: str, axis: str) -> go.Figure:
    """A response rate per bucket, the answered/sent counts on each bar; empty buckets are gaps."""
    chart = go.Figure(go.Bar(
        x=[r["key"] for r in rows], y=[None if r["rate"] is None else 100 * r["rate"] for r in rows],
        text=[f"{r['answered']}/{r['sent']}" if r["sent"] else "" for r in rows], textposition="outside",
        marker_color=_BLUE, hovertemplate="%{x}: %{y:.0f}% (%{text})<extra></extra>"))
    chart.update_yaxes(range=[0, 118], title_text="answered (%)")
    chart.update_xaxes(type="category", title_text=axis)
    chart.update_layout(title=title, **_LAYOUT)
    return _empty(chart, not any(r["sent"] for r in rows))


def funnel_chart(overall: dict) -> go.Figure:
    """Cases opened -> claimed -> resolved, with the median time to each stage."""
    cases = overall["cases"]
    labels = ["opened", f"claimed (median {minutes(cases['median_minutes_to_claim'])})",
              f"resolved (median {minutes(cases['median_minutes_to_resolve'])})"]
    chart = go.Figure(go.Funnel(y=labels, x=[cases["opened"], cases["claimed"], cases["resolved"]],
                                textinfo="value+percent initial", marker_color=["#ef6c00", "#f9a825", _GREEN]))
    chart.update_layout(title=f"Cases: first reply after a median {minutes(cases['median_minutes_to_first_reply'])}"
                              f", {cases['sla_breaches']} SLA breach(es)", **{**_LAYOUT, "margin": dict(l=200, r=30, t=60, b=40)})
    return _empty(chart, not cases["opened"])


# ---- sections --------------------------------------------------------------------------------

def _esc(value: Any) -> str:
    return html.escape(NONE if value is None else str(value))


def _product(sku: Optional[str], name: Optional[str]) -> str:
    """A product's name with its SKU as a hint (hover, and small beside it)."""
    if sku is None:
        return "(no product)"
    if not name or name == sku:
        return f'<span class="product">{_esc(sku)}</span>'
    return f'<span class="product" title="SKU {_esc(sku)}">{_esc(name)} <small>{_esc(sku)}</small></span>'


def groups_table(report: dict, groups: list[dict], prefix: str) -> str:
    """Every figure per group (one row per group), each number traced to the JSON."""
    by, names = sliced_by(report), product_names(report)
    head = [("product" if by == "sku" else by or "group"), "sent", "answered", "rate", "CSAT", "n", "4-5", "NPS", "n",
            "CES", "cases", "1st reply", "SLA breaches", "reviews", "upsells", "opt-outs", "unreach."]
    rows = []
    order = list(enumerate(groups))
    if by == "sku":                                   # products by the name the shop knows them by
        order.sort(key=lambda ig: (ig[1]["key"] is None, group_label(ig[1]["key"], by, names).lower()))
    for i, g in order:
        p = f"{prefix}/{i}"
        label = _product(g["key"], names.get(g["key"])) if by == "sku" else _esc(group_label(g["key"], by, names))
        cells = [label] + [figure(f"{p}/{path}", _get(g, path), kind) for path, kind in (
            ("checkins_sent", "num"), ("responses", "num"), ("response_rate", "pct"), ("csat/mean", "num"),
            ("csat/n", "num"), ("csat/satisfied_pct", "pct"), ("nps/score", "num"), ("nps/n", "num"),
            ("ces/mean", "num"), ("cases/opened", "num"), ("cases/median_minutes_to_first_reply", "min"),
            ("cases/sla_breaches", "num"), ("reviews/requested", "num"), ("upsells/offered", "num"),
            ("opt_outs", "num"), ("unreachable", "num"))]
        rows.append("<tr>" + "".join(f"<td{' class=n' if n else ''}>{c}</td>" for n, c in enumerate(cells)) + "</tr>")
    header = "".join(f"<th>{_esc(h)}</th>" for h in head)
    return f'<table class="groups"><thead><tr>{header}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def problems_section(report: dict) -> str:
    problems = report.get("problems") or []
    if not problems:
        return "<p>No problems reported in this period.</p>"
    requests = {t["sku"]: t["requests"] for t in report.get("themes", [])}
    parts = []
    for i, product in enumerate(problems):
        asked = ", ".join(f"{_esc(r['type'])} ×{r['count']}" for r in requests.get(product["sku"], []))
        items = []
        for j, p in enumerate(product["problems"]):
            path = f"problems/{i}/problems/{j}"
            quotes = "".join(f"<li><span class=when>{_esc(q['at'][:10])}</span> “{_esc(q['text'])}”</li>"
                             for q in p["quotes"]) or "<li class=when>no words left with the cases</li>"
            items.append(f"<li><b>{_esc(words(p['type']))}</b>: {figure(path + '/cases', p['cases'])} "
                         f"case{'s' if p['cases'] != 1 else ''}, "
                         f"{figure(path + '/per_100_orders', p['per_100_orders'])} per 100 orders; told it's fixed: "
                         f"{figure(path + '/told_fixed', p['told_fixed'])} of {figure(path + '/customers', p['customers'])}"
                         f" ({figure(path + '/told_fixed_pct', p['told_fixed_pct'], 'pct')})"
                         f"<ul class=quotes>{quotes}</ul></li>")
        parts.append(f"<div class=problem><h3>{_product(product['sku'], product['product'])}</h3>"
                     f"<p class=when>{figure(f'problems/{i}/cases', product['cases'])} "
                     f"case{'s' if product['cases'] != 1 else ''} on "
                     f"{figure(f'problems/{i}/orders', product['orders'])} order{'s' if product['orders'] != 1 else ''}"
                     " checked in on"
                     f"{'; asked for ' + asked if asked else ''}</p><ul>{''.join(items)}</ul></div>")
    return '<div class="problems">' + "".join(parts) + "</div>"


def drivers_section(report: dict) -> str:
    drivers = report.get("drivers") or []
    if not drivers:
        return "<p>No problems to weigh in this period.</p>"
    names = product_names(report)
    items = "".join(
        f"<li>{_esc(driver_sentence(d, names))} <span class=when>(CSAT "
        f"{figure(f'drivers/{i}/csat/with_all', d['csat']['with_all'])} → "
        f"{figure(f'drivers/{i}/csat/without', d['csat']['without'])}, NPS "
        f"{figure(f'drivers/{i}/nps/with_all', d['nps']['with_all'])} → "
        f"{figure(f'drivers/{i}/nps/without', d['nps']['without'])})</span></li>" for i, d in enumerate(drivers))
    return f'<ul class="drivers">{items}</ul>'


def reach_section(report: dict) -> str:
    reach = report.get("reach")
    if not reach:
        return ""
    held = {h["key"]: h for h in reach["held_by_channel"]}
    rows = []
    for i, r in enumerate(reach["by_channel"]):
        h = held.get(r["key"]) or {"quiet_hours": 0, "weekly_cap": 0}
        rows.append(f"<tr><td>{_esc(r['key'])}</td><td class=n>{figure(f'reach/by_channel/{i}/sent', r['sent'])}</td>"
                    f"<td class=n>{figure(f'reach/by_channel/{i}/answered', r['answered'])}</td>"
                    f"<td class=n>{figure(f'reach/by_channel/{i}/rate', r['rate'], 'pct')}</td>"
                    f"<td class=n>{h['quiet_hours']}</td><td class=n>{h['weekly_cap']}</td></tr>")
    waiting = reach["waiting_now"]
    return (f'<table class="reach"><thead><tr><th>channel</th><th>sent</th><th>answered</th><th>rate</th>'
            f"<th>held for quiet hours</th><th>held by the weekly cap</th></tr></thead><tbody>{''.join(rows)}</tbody>"
            f"</table><p>In the period, {figure('reach/held/quiet_hours', reach['held']['quiet_hours'])} proactive "
            f"messages waited for quiet hours to end and {figure('reach/held/weekly_cap', reach['held']['weekly_cap'])}"
            f" for the weekly cap before going out; waiting now: "
            f"{figure('reach/waiting_now/quiet_hours', waiting['quiet_hours'])} for quiet hours, "
            f"{figure('reach/waiting_now/weekly_cap', waiting['weekly_cap'])} for the cap.</p>")


def agents_section(report: dict) -> str:
    sheet = agents_sheet(report)
    if sheet is None:
        return ""
    head = "".join(f"<th>{_esc(c.header)}</th>" for c in sheet.columns)
    rows = "".join("<tr>" + "".join(f"<td{' class=n' if c.numeric else ''}>{_esc(c.show(v))}</td>"
                                    for c, v in zip(sheet.columns, row)) + "</tr>" for row in sheet.rows)
    return f'<h2>Agents</h2><table id="agents"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'


def _at_risk_table(at_risk: list[dict]) -> str:
    if not at_risk:
        return "<p>Nobody is at risk.</p>"
    head = "".join(f"<th>{h}</th>" for h in ("customer", "name", "order", "reason", "since"))
    rows = "".join(
        "<tr>" + "".join(f"<td>{_esc(v or NONE)}</td>" for v in
                         (r["customer"], r["name"], r["order_id"], r["reason"], (r["since"] or "")[:16])) + "</tr>"
        for r in at_risk)
    return f'<table id="at-risk"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'


def _testimonials(testimonials: list[dict], names: dict[str, Optional[str]]) -> str:
    if not testimonials:
        return "<p>No testimonials in this period.</p>"
    items = "".join(f"<li><span class=when>{_esc(t['at'][:10])}</span> “{_esc(t['text'])}”"
                    f"{' — ' + _esc(t['name']) if t['name'] else ''}"
                    f"{' (' + _product(t['sku'], names.get(t['sku'])) + ')' if t['sku'] else ''}</li>"
                    for t in testimonials)
    return f'<ul id="testimonials">{items}</ul>'


def _tips(tips: list[dict]) -> str:
    """Per tip and per product it went out about: sent, and the one-tap "helpful?" answers; a tip
    that went out about several products gets a total row under them."""
    if not tips:
        return "<p>No onboarding tips in this period.</p>"
    head = "".join(f"<th>{h}</th>" for h in ("tip", "product", "sent", "helpful", "not helpful"))

    def row(tip: str, product: str, counts: dict, total: bool = False) -> str:
        cells = [tip, product, *(str(counts[key]) for key in ("sent", "helpful", "not_helpful"))]
        return (f"<tr{' class=total' if total else ''}>"
                + "".join(f"<td>{html.escape(cell)}</td>" for cell in cells) + "</tr>")

    rows = []
    for tip in tips:
        products = tip.get("products") or []
        for p in products:
            rows.append(row(tip["tip"], f"{p['product'] or p['sku'] or '(none)'}"
                                        f"{' (' + p['sku'] + ')' if p['product'] and p['sku'] else ''}", p))
        if len(products) != 1:
            rows.append(row(tip["tip"], "all products", tip, total=True))
    return f'<table id="tips"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


_CSS = """
body { font-family: system-ui, sans-serif; margin: 0 auto; padding: 24px; max-width: 1232px; color: #222;
       background: #fafafa; box-sizing: border-box; }
h1 { margin: 0 0 4px; } .sub { color: #555; margin-bottom: 16px; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 10px; margin-bottom: 16px; }
.tile { background: #fff; border: 1px solid #ddd; border-radius: 8px; padding: 8px 12px; min-width: 0; }
.label { color: #555; font-size: 13px; } .value { font-size: 22px; font-weight: 600; }
.under, .before { color: #555; font-size: 12px; } .delta.good { color: #2e7d32; } .delta.bad { color: #c62828; }
.chart { background: #fff; border: 1px solid #ddd; border-radius: 8px; padding: 4px; min-width: 0; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; margin-bottom: 14px; }
.wide { margin-bottom: 14px; }
table { border-collapse: collapse; background: #fff; width: 100%; table-layout: auto; }
th, td { border: 1px solid #ddd; padding: 4px 6px; text-align: left; font-size: 13px; overflow-wrap: anywhere; }
th { background: #f0f0f0; white-space: nowrap; overflow-wrap: normal; } td.n { text-align: right; white-space: nowrap; }
.when { color: #666; } tr.total td { font-weight: 600; } small { color: #777; white-space: nowrap; }
.problems { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; }
.problem { background: #fff; border: 1px solid #ddd; border-radius: 8px; padding: 4px 14px; min-width: 0; }
.quotes { color: #333; font-style: italic; } .note { color: #666; font-size: 13px; margin: 0 12px 8px; } li { overflow-wrap: anywhere; }
"""


def render_page(report: dict, weeks: list[dict], skus: list[dict], store: Optional[str] = None,
                figures: Sequence[ReportFigure] = ()) -> str:
    """The whole page as one HTML string (Plotly's JS inlined)."""
    by = sliced_by(report)
    names = product_names(report)
    groups = report["groups"] if by else skus
    reach = report.get("reach") or {"by_channel": [], "by_hour": [], "by_weekday": []}
    charts = dict(zip(CHART_IDS, (
        weekly_chart(weeks, "csat"), weekly_chart(weeks, "nps"), groups_chart(groups, by or "sku", names),
        problems_chart(report.get("problems") or [], names), drivers_chart(report.get("drivers") or [], names),
        rate_chart(reach["by_channel"], "Response rate by channel", "channel"),
        rate_chart(reach["by_hour"], "Response rate by send hour (the customer's local time)", "hour"),
        rate_chart(reach["by_weekday"], "Response rate by weekday (the customer's local day)", "weekday"),
        funnel_chart(report["overall"]))))

    def chart(chart_id: str) -> str:
        body = charts[chart_id].to_html(full_html=False, include_plotlyjs=False, div_id=chart_id,
                                        config={"displaylogo": False, "responsive": True})
        meta = charts[chart_id].layout.meta
        note = f'<p class="note">{html.escape(meta["note"])}</p>' if isinstance(meta, dict) and "note" in meta else ""
        return f'<section class="chart">{body}{note}</section>'

    where = f" · store {html.escape(store)}" if store else ""
    sliced = f" · by {html.escape(by)}" if by else ""
    compared = (f" · against {html.escape(period_label(report['previous']['period']))}"
                if "previous" in report else "")
    previous_groups = ""
    if by and "previous" in report:
        previous_groups = (f"<h2>By {html.escape(_BY_NAMES.get(by, by))}, previous period</h2>"
                           + groups_table(report, report["previous"]["groups"], "previous/groups"))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Aftercare report</title>
<style>{_CSS}</style>
<script>{get_plotlyjs()}</script></head>
<body>
<h1>Aftercare report</h1>
<div class="sub">{html.escape(period_label(report["period"]))} (UTC days){sliced}{compared}{where}</div>
{tiles(report, figures)}
<div class="grid">{chart("chart-csat-weekly")}{chart("chart-nps-weekly")}</div>
<div class="grid">{chart("chart-groups")}{chart("chart-funnel")}</div>
{f'<h2>By {html.escape(_BY_NAMES.get(by, by))}: every figure</h2>' + groups_table(report, report["groups"], "groups") if by else ""}
{previous_groups}
<h2>What is wrong, per product</h2>
<div class="wide">{chart("chart-problems")}</div>
{problems_section(report)}
<h2>Drivers: what fixing each problem would be worth</h2>
<div class="wide">{chart("chart-drivers")}</div>
{drivers_section(report)}
<h2>Reach: who answers, where and when</h2>
<div class="grid">{chart("chart-reach-channel")}{chart("chart-reach-weekday")}</div>
<div class="wide">{chart("chart-reach-hour")}</div>
{reach_section(report)}
{agents_section(report)}
<h2>At risk: {at_risk_label(report["at_risk"])}</h2>
{_at_risk_table(report["at_risk"])}
<h2>Testimonials (newest first)</h2>
{_testimonials(report.get("testimonials", []), names)}
<h2>Onboarding tips: sent and found helpful, per product</h2>
{_tips(report.get("tips") or [])}
</body></html>
"""


def write_page(path: Path, report: dict, weeks: list[dict], skus: list[dict], store: Optional[str] = None,
               figures: Sequence[ReportFigure] = ()) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_page(report, weeks, skus, store, figures), encoding="utf-8")
