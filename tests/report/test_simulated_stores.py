"""Stores filled by `simulate` runs of the shipped scenarios (real engine, store and dispatcher,
the table NLU), and what `aftercare report` says about each."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.sandbox.simulate import simulate_file
from bot.store.reporting import Period, Reporting
from bot.store.store import Store
from tests.support.harness import ROOT, make_settings
from tests.support.table_parser import TableParser

SCENARIOS = ROOT / "tests" / "scenarios"


async def played(name: str, tmp_path) -> dict:
    store = Store.open(tmp_path / f"{name}.db")
    await simulate_file(SCENARIOS / f"{name}.yml", make_settings(), TableParser(), store)
    reporting = Reporting(store.db)
    now = (reporting.latest_activity() or datetime.now(timezone.utc)) + timedelta(days=1)
    data = reporting.report(Period(), now, by="sku")
    store.close()
    return data


async def test_happy_path(tmp_path):
    data = await played("happy_path", tmp_path)
    overall = data["overall"]
    assert (overall["checkins_sent"], overall["responses"], overall["response_rate"]) == (1, 1, 1.0)
    assert overall["csat"] == {"n": 1, "mean": 5.0, "satisfied_pct": 1.0,
                               "distribution": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1}}
    assert overall["reviews"] == {"requested": 1, "accepted": 1}          # pressed "Sure"
    assert overall["upsells"]["offered"] == 0                              # one ask per conversation: the review
    assert overall["escalation_rate"] == 0.0 and overall["cases"]["opened"] == 0
    assert overall["nps"]["score"] is None and data["at_risk"] == []
    assert [g["key"] for g in data["groups"]] == ["TR2-44"]


async def test_low_score_escalation(tmp_path):
    data = await played("low_score_escalation", tmp_path)
    overall = data["overall"]
    assert overall["csat"]["mean"] == 2.0 and overall["csat"]["satisfied_pct"] == 0.0
    assert overall["cases"]["opened"] == overall["cases"]["claimed"] == overall["cases"]["resolved"] == 1
    assert overall["cases"]["median_minutes_to_claim"] is not None
    assert overall["escalation_rate"] == 1.0
    assert overall["reviews"]["requested"] == 0
    theme = next(t for t in data["themes"] if t["sku"] == "TR2-44")
    assert theme["cases"] == 1 and theme["worst_rated"]
    assert any("sole came off" in q["text"] for q in theme["quotes"])
    assert data["at_risk"] == []                   # low score, but the case was resolved


async def test_silent_customer_has_no_responses_and_nulls(tmp_path):
    overall = (await played("silent_customer", tmp_path))["overall"]
    assert (overall["checkins_sent"], overall["responses"], overall["response_rate"]) == (1, 0, 0.0)
    assert overall["csat"]["n"] == 0 and overall["csat"]["mean"] is None


async def test_a_declined_review_is_requested_not_accepted(tmp_path):
    scenario = tmp_path / "declined.yml"
    scenario.write_text((SCENARIOS / "happy_path.yml").read_text(encoding="utf-8").replace('press: "Sure"',
                                                                                          'press: "Not now"'))
    store = Store.open(tmp_path / "declined.db")
    await simulate_file(scenario, make_settings(), TableParser(), store)
    overall = Reporting(store.db).overall(Period(), datetime.now(timezone.utc) + timedelta(days=30))
    store.close()
    assert overall["reviews"] == {"requested": 1, "accepted": 0}


@pytest.mark.parametrize("name, figure, value", [
    ("stop_mid_flow", "opt_outs", 1),
    ("block_then_wait", "unreachable", 1),
])
async def test_opt_out_and_unreachable(tmp_path, name, figure, value):
    assert (await played(name, tmp_path))["overall"][figure] == value


async def test_human_request_ces(tmp_path):
    overall = (await played("human_request", tmp_path))["overall"]
    assert overall["ces"] == {"n": 1, "mean": 7.0}
    assert overall["cases"]["resolved"] == 1
