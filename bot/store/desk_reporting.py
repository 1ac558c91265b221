"""The support desk per agent, for `aftercare report` (`--by agent`, and `agents` in its JSON):
cases each agent owns, median minutes from a case's opening to its claim, first reply and
resolution, and the CES their customers gave after the case was resolved. A case counts for the
agent who owns it at the end (after any hand-over) and in the period it opened, like every case
figure of the report; goodwill codes and notes per agent come from the desk's log."""
from __future__ import annotations

from statistics import median
from typing import Any, Optional

from sqlite_utils import Database

from bot.base.clock import parse_iso

_CASES = """
    select e.agent, e.opened_at, e.claimed_at, e.first_reply_at, e.resolved_at,
           (select avg(r.score) from responses r where r.conversation_id = e.conversation_id and r.metric = 'ces'
              and e.resolved_at is not null and r.at >= e.resolved_at) as ces,
           (select count(*) from responses r where r.conversation_id = e.conversation_id and r.metric = 'ces'
              and e.resolved_at is not null and r.at >= e.resolved_at) as ces_n
    from escalations e
    where e.agent is not null and (:since is null or e.opened_at >= :since) and (:until is null or e.opened_at < :until)
"""
_LOG = """
    select agent, sum(kind = 'goodwill') as goodwill, sum(kind = 'note') as notes,
           sum(kind in ('reply', 'saved_reply')) as replies
    from desk_actions where agent is not null and (:since is null or at >= :since) and (:until is null or at < :until)
    group by agent
"""


def agent_figures(db: Database, params: dict) -> list[dict[str, Any]]:
    """One entry per agent, busiest first: {agent, name, cases, median_minutes_to_claim,
    median_minutes_to_first_reply, median_minutes_to_resolve, ces: {n, mean}, goodwill_codes,
    notes, replies}. `params` holds the period's `since`/`until` bounds (Period.params())."""
    rows = _rows(db, _CASES, params)
    log = {r["agent"]: r for r in _rows(db, _LOG, params)}
    agents: dict[str, list[dict]] = {}
    for row in rows:
        agents.setdefault(row["agent"], []).append(row)
    out: list[dict[str, Any]] = []
    for agent in sorted(set(agents) | set(log)):
        cases = agents.get(agent, [])
        ces = [(r["ces"], r["ces_n"]) for r in cases if r["ces_n"]]
        n = sum(k for _, k in ces)
        out.append({
            "agent": agent, "name": None,
            "cases": sum(1 for r in cases if r["claimed_at"]),
            "median_minutes_to_claim": _median(cases, "claimed_at"),
            "median_minutes_to_first_reply": _median(cases, "first_reply_at"),
            "median_minutes_to_resolve": _median(cases, "resolved_at"),
            "ces": {"n": n, "mean": round(sum(mean * k for mean, k in ces) / n, 2) if n else None},
            "goodwill_codes": int((log.get(agent) or {}).get("goodwill") or 0),
            "notes": int((log.get(agent) or {}).get("notes") or 0),
            "replies": int((log.get(agent) or {}).get("replies") or 0),
        })
    out.sort(key=lambda a: (-a["cases"], a["agent"]))
    return out


def _median(cases: list[dict], column: str) -> Optional[float]:
    minutes = []
    for r in cases:
        start, end = parse_iso(r["opened_at"]), parse_iso(r[column])
        if start and end:
            minutes.append(round((end - start).total_seconds() * 1000) / 60000)
    return round(median(minutes), 2) if minutes else None


def _rows(db: Database, sql: str, params: dict) -> list[dict]:
    cursor = db.execute(sql, {"since": params.get("since"), "until": params.get("until")})
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]
