"""The desk per agent in `aftercare report --by agent` and its JSON (`agents`), and % SLA met."""
from __future__ import annotations

import json
from datetime import timedelta

from click.testing import CliRunner

from bot.cli import main
from bot.store.reporting import Period
from tests.support.harness import CONFIG, Harness, make_settings


async def two_agents_two_cases() -> Harness:
    """Ana claims case 1 after 5 minutes, answers at 10, resolves at 20 and gets CES 6 after;
    the second customer's case goes to Bo after 40 minutes (past the 30-minute SLA)."""
    h = Harness(make_settings(schedule={"weekly_cap": 5}))
    await h.start_checkin()
    await h.press("1")
    await h.say("the sole came off")
    await h.advance(timedelta(minutes=5))
    await h.agent("claim")
    await h.advance(timedelta(minutes=5))
    await h.agent("reply", "Sorry! A replacement ships today.")
    await h.advance(timedelta(minutes=10))
    await h.agent("resolve")
    await h.press("6")
    h.add_order("B-1", customer_ref="C-2", name="Bea Lima", address="1002")
    await h.advance(timedelta(days=4))
    await h.press("1", address="1002")
    await h.say("it's broken", address="1002")
    case = h.cases("C-2")[-1]
    await h.advance(timedelta(minutes=40))
    await h.agent("claim", agent_id="U0BO", case=case)
    return h


async def test_per_agent_figures():
    h = await two_agents_two_cases()
    data = h.store.reporting.report(Period(None, None), h.clock.now(), by="agent")
    assert data["by"] == "agent"
    ana, bo = sorted(data["agents"], key=lambda a: a["agent"] != "U0AGENT")
    assert ana == {"agent": "U0AGENT", "name": None, "cases": 1, "median_minutes_to_claim": 5.0,
                   "median_minutes_to_first_reply": 10.0, "median_minutes_to_resolve": 20.0,
                   "ces": {"n": 1, "mean": 6.0}, "goodwill_codes": 0, "notes": 0, "replies": 1}
    assert (bo["agent"], bo["cases"], bo["median_minutes_to_claim"], bo["ces"]) == \
        ("U0BO", 1, 40.0, {"n": 0, "mean": None})
    cases = data["overall"]["cases"]
    assert (cases["sla_breaches"], cases["sla_met_pct"]) == (1, 0.5)


async def test_report_by_agent_prints_the_table(tmp_path):
    h = await two_agents_two_cases()
    db = tmp_path / "desk.db"
    h.store.db.execute(f"vacuum into '{db}'")
    result = CliRunner().invoke(main, ["--config", str(CONFIG), "report", "--by", "agent"],
                                env={"AFTERCARE_DB": str(db), "COLUMNS": "200"}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    row = next(line for line in lines if "U0AGENT" in line)
    assert row.split()[:9] == ["U0AGENT", "1", "5", "min", "10", "min", "20", "min", "6"]
    assert "6 (1)" in row
    assert any("SLA met" in line and "50" in line for line in lines)
    out = CliRunner().invoke(main, ["--config", str(CONFIG), "report", "--json"], env={"AFTERCARE_DB": str(db)})
    assert {a["agent"] for a in json.loads(out.output)["agents"]} == {"U0AGENT", "U0BO"}
