"""`aftercare report --html FILE`: one self-contained page with Plotly charts that works offline.

Plotly's JavaScript is inlined once (no CDN); each chart is a Plotly figure built from the report
object, so the page shows exactly the numbers of `--json`. Charts: CSAT and NPS per week with
response counts, CSAT per SKU, the case funnel with median times, problem themes per SKU; then
the at-risk table, the customers' words, testimonials and the onboarding tips (sent, helpful,
not helpful, per product).
"""
from __future__ import annotations

import html
from pathlib import Path
from typing import Optional

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from bot.report.terminal import at_risk_label, minutes, period_label

CHART_IDS = ("chart-weekly", "chart-csat-sku", "chart-funnel", "chart-themes")
NO_DATA = "no data in this period"
_LAYOUT = dict(template="plotly_white", height=380, margin=dict(l=60, r=40, t=90, b=70),
               legend=dict(orientation="h", yanchor="bottom", y=1.08, xanchor="right", x=1))


def _empty(figure: go.Figure, empty: bool) -> go.Figure:
    if empty:
        figure.add_annotation(text=NO_DATA, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5,
                              font=dict(size=16, color="#888"))
    return figure


def weekly_chart(weeks: list[dict]) -> go.Figure:
    """CSAT mean and NPS per week as lines, the number of answers behind each as bars."""
    weeks = [w for w in weeks if w["key"] is not None]
    keys = [w["key"] for w in weeks]
    figure = make_subplots(rows=1, cols=2, specs=[[{"secondary_y": True}, {"secondary_y": True}]],
                           subplot_titles=("CSAT per week (mean 1-5)", "NPS per week (-100 to 100)"),
                           horizontal_spacing=0.14)
    figure.add_trace(go.Bar(x=keys, y=[w["csat"]["n"] for w in weeks], name="CSAT answers",
                            marker_color="#c7d7ee"), row=1, col=1)
    figure.add_trace(go.Scatter(x=keys, y=[w["csat"]["mean"] for w in weeks], name="CSAT mean",
                                mode="lines+markers", line=dict(color="#1f5fa8", width=3)), row=1, col=1, secondary_y=True)
    figure.add_trace(go.Bar(x=keys, y=[w["nps"]["n"] for w in weeks], name="NPS answers",
                            marker_color="#d9ead3"), row=1, col=2)
    figure.add_trace(go.Scatter(x=keys, y=[w["nps"]["score"] for w in weeks], name="NPS",
                                mode="lines+markers", line=dict(color="#2e7d32", width=3)), row=1, col=2, secondary_y=True)
    # answers (bars) on the left axis, the lines on the right one so that they are drawn on top
    most = max([w["csat"]["n"] for w in weeks] + [w["nps"]["n"] for w in weeks] + [0])
    figure.update_yaxes(title_text="answers", secondary_y=False, rangemode="tozero",
                        dtick=1 if most <= 8 else None)        # whole answers, never 0.5
    figure.update_yaxes(range=[1, 5.2], row=1, col=1, secondary_y=True, title_text="CSAT", showgrid=False)
    figure.update_yaxes(range=[-105, 105], row=1, col=2, secondary_y=True, title_text="NPS", showgrid=False)
    figure.update_xaxes(type="category", tickangle=-30)
    figure.update_layout(title="CSAT and NPS per week (weeks start on Monday), with the answers behind them",
                         **{**_LAYOUT, "height": 420})
    return _empty(figure, not any(w["csat"]["n"] or w["nps"]["n"] for w in weeks))


def csat_sku_chart(skus: list[dict]) -> go.Figure:
    """Mean CSAT per SKU, worst at the top, with how many answered."""
    rated = sorted((s for s in skus if s["csat"]["n"]), key=lambda s: (-s["csat"]["mean"], str(s["key"])))
    figure = go.Figure(go.Bar(
        x=[s["csat"]["mean"] for s in rated], y=[str(s["key"] or "(none)") for s in rated], orientation="h",
        text=[f"{s['csat']['mean']:g} (n={s['csat']['n']}, {100 * s['csat']['satisfied_pct']:.0f}% 4-5)"
              for s in rated],
        textposition="auto", marker_color=["#c62828" if s["csat"]["mean"] < 3 else "#1f5fa8" for s in rated]))
    figure.update_xaxes(range=[0, 5.2], title_text="mean CSAT (1-5)")
    figure.update_yaxes(type="category")
    figure.update_layout(title="CSAT per SKU", **_LAYOUT)
    return _empty(figure, not rated)


def funnel_chart(overall: dict) -> go.Figure:
    """Cases opened -> claimed -> resolved, with the median time to each stage."""
    cases = overall["cases"]
    labels = ["opened", f"claimed (median {minutes(cases['median_minutes_to_claim'])})",
              f"resolved (median {minutes(cases['median_minutes_to_resolve'])})"]
    figure = go.Figure(go.Funnel(y=labels, x=[cases["opened"], cases["claimed"], cases["resolved"]],
                                 textinfo="value+percent initial", marker_color=["#ef6c00", "#f9a825", "#2e7d32"]))
    figure.update_layout(title=f"Cases: first reply after a median {minutes(cases['median_minutes_to_first_reply'])}"
                               f", {cases['sla_breaches']} SLA breach(es)", **{**_LAYOUT, "showlegend": False})
    return _empty(figure, not cases["opened"])


def themes_chart(themes: list[dict]) -> go.Figure:
    """Cases per SKU, stacked by the problem the customers named; what they asked for (refund, ...)
    under each SKU."""
    skus = [str(t["sku"] or "(none)") + "".join(f"<br>{r['type']} ×{r['count']}" for r in t["requests"])
            for t in themes if t["problems"]]      # what the customers asked for, under the SKU
    kinds = sorted({p["type"] for t in themes for p in t["problems"]})
    figure = go.Figure()
    for kind in kinds:
        counts = [next((p["count"] for p in t["problems"] if p["type"] == kind), 0) for t in themes if t["problems"]]
        figure.add_trace(go.Bar(x=skus, y=counts, name=kind))
    figure.update_layout(title="Problem themes per SKU (cases)", barmode="stack", **_LAYOUT)
    figure.update_xaxes(type="category")
    figure.update_yaxes(title_text="cases", dtick=1, rangemode="tozero")
    return _empty(figure, not kinds)


def _at_risk_table(at_risk: list[dict]) -> str:
    if not at_risk:
        return "<p>Nobody is at risk.</p>"
    head = "".join(f"<th>{h}</th>" for h in ("customer", "name", "order", "reason", "since"))
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v or '—'))}</td>" for v in
                         (r["customer"], r["name"], r["order_id"], r["reason"], (r["since"] or "")[:16])) + "</tr>"
        for r in at_risk)
    return f'<table id="at-risk"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'


def _score(score: Optional[int]) -> str:
    return "" if score is None else f"[{score}] "


def _quotes(themes: list[dict]) -> str:
    parts = []
    for theme in themes:
        if theme["quotes"]:
            items = "".join(f"<li><span class=when>{html.escape(q['at'][:10])}</span> {_score(q['score'])}"
                            f"“{html.escape(q['text'])}”</li>" for q in theme["quotes"])
            parts.append(f"<h3>{html.escape(str(theme['sku']))}</h3><ul>{items}</ul>")
    return "".join(parts) or "<p>No written feedback for the worst-rated SKUs.</p>"


def _testimonials(testimonials: list[dict]) -> str:
    if not testimonials:
        return "<p>No testimonials in this period.</p>"
    items = "".join(f"<li><span class=when>{html.escape(t['at'][:10])}</span> “{html.escape(t['text'])}”"
                    f"{' — ' + html.escape(t['name']) if t['name'] else ''}"
                    f"{' (' + html.escape(str(t['sku'])) + ')' if t['sku'] else ''}</li>" for t in testimonials)
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


def render_page(report: dict, weeks: list[dict], skus: list[dict], store: Optional[str] = None) -> str:
    """The whole page as one HTML string (Plotly's JS inlined)."""
    figures = (weekly_chart(weeks), csat_sku_chart(skus), funnel_chart(report["overall"]),
               themes_chart(report["themes"]))
    charts = "".join(f'<section class="chart">{figure.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config={"displaylogo": False, "responsive": True})}</section>'
                     for figure, div_id in zip(figures, CHART_IDS))
    overall = report["overall"]
    csat, nps = overall["csat"], overall["nps"]
    tips = report.get("tips") or []

    def show(value, fmt="{:g}") -> str:
        return "—" if value is None else fmt.format(value)

    tiles = [("check-ins sent", str(overall["checkins_sent"])),
             ("response rate", show(overall["response_rate"], "{:.0%}")),
             ("CSAT", f"{show(csat['mean'])} · {show(csat['satisfied_pct'], '{:.0%}')} 4-5"),
             ("NPS", show(nps["score"])), ("CES", show(overall["ces"]["mean"])),
             ("cases", str(overall["cases"]["opened"])),
             ("referral rate", f"{show(overall['referrals']['rate'], '{:.0%}')} · "
                               f"{overall['referrals']['referred_orders']} referred"),
             ("tips sent · helpful", f"{sum(t['sent'] for t in tips)} · {sum(t['helpful'] for t in tips)}"),
             ("customers at risk", str(len({r["customer"] for r in report["at_risk"]})))]
    tile_html = "".join(f"<div class=tile><div class=label>{label}</div><div class=value>{html.escape(value)}</div></div>"
                        for label, value in tiles)
    where = f" · store {html.escape(store)}" if store else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Aftercare report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 24px; color: #222; background: #fafafa; }}
h1 {{ margin: 0 0 4px; }} .sub {{ color: #666; margin-bottom: 16px; }}
.tiles {{ display: flex; gap: 12px; flex-wrap: wrap; margin-bottom: 16px; }}
.tile {{ background: #fff; border: 1px solid #ddd; border-radius: 8px; padding: 10px 16px; min-width: 110px; }}
.label {{ color: #666; font-size: 13px; }} .value {{ font-size: 22px; font-weight: 600; }}
.chart {{ background: #fff; border: 1px solid #ddd; border-radius: 8px; margin-bottom: 16px; padding: 4px; }}
.grid {{ display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }} .grid .chart {{ margin: 0; }}
table {{ border-collapse: collapse; background: #fff; width: 100%; }}
th, td {{ border: 1px solid #ddd; padding: 6px 10px; text-align: left; font-size: 14px; }} th {{ background: #f0f0f0; }}
.when {{ color: #666; }} tr.total td {{ font-weight: 600; }}
</style>
<script>{get_plotlyjs()}</script></head>
<body>
<h1>Aftercare report</h1>
<div class="sub">{html.escape(period_label(report["period"]))} (UTC days){where}</div>
<div class="tiles">{tile_html}</div>
{charts}
<h2>At risk: {at_risk_label(report["at_risk"])}</h2>
{_at_risk_table(report["at_risk"])}
<h2>In the customers' words (worst-rated SKUs, newest first)</h2>
{_quotes(report["themes"])}
<h2>Testimonials (newest first)</h2>
{_testimonials(report.get("testimonials", []))}
<h2>Onboarding tips: sent and found helpful, per product</h2>
{_tips(tips)}
</body></html>
"""


def write_page(path: Path, report: dict, weeks: list[dict], skus: list[dict], store: Optional[str] = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_page(report, weeks, skus, store), encoding="utf-8")
