"""`simulate` scenarios of the support desk (tests/scenarios/desk/), on the loopback Slack through
the real slack-bolt app, with the real Rasa model: what the customer sees (`transcript`) against
what the agents see (`support_channel`, and `agents_told`, the lines only an agent saw)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.config.loading import load_settings
from bot.sandbox.simulate import simulate_file

ROOT = Path(__file__).resolve().parents[1]
DESK = ROOT / "tests" / "scenarios" / "desk"


@pytest.fixture(scope="module")
def settings():
    return load_settings(ROOT / "config.yml")


async def play(name: str, settings, parser) -> dict:
    result = await simulate_file(DESK / f"{name}.yml", settings, parser)
    json.dumps(result)
    return result


def seen_by_customer(result: dict) -> list[str]:
    return [e["text"] for e in result["transcript"] if e["from"] != "customer"]


def thread(result: dict) -> list[str]:
    return [p["text"] for p in result["support_channel"]]


async def test_a_note_never_reaches_the_customer(settings, rasa_parser):
    result = await play("note_stays_internal", settings, rasa_parser)
    assert any("Internal note" in t and "finance approved a full refund" in t for t in thread(result))
    assert not any("finance" in t for t in seen_by_customer(result))
    assert "A replacement ships today, and no need to send the old pair back." in " ".join(seen_by_customer(result))
    assert result["desk_actions"]["note"] == 1 and result["outcome"]["escalation_status"] == "resolved"


async def test_reassign_then_only_the_new_owner_is_relayed(settings, rasa_parser):
    result = await play("reassign_then_reply", settings, rasa_parser)
    customer = seen_by_customer(result)
    assert "Hi Ana, I'm taking over: a replacement ships today." in customer
    assert "It's still me, the first agent." not in customer
    assert any("now owns this case" in t for t in thread(result))
    assert any("owns this case; add a note instead" in t for t in result["agents_told"])
    assert result["desk_actions"]["assign"] == 1


async def test_snooze_pauses_the_sla_then_the_customer_writes(settings, rasa_parser):
    result = await play("snooze_then_customer_writes", settings, rasa_parser)
    posts = thread(result)
    snoozed = next(i for i, t in enumerate(posts) if "snoozed the case until the customer writes" in t)
    over = next(i for i, t in enumerate(posts) if "Snooze over (the customer wrote)" in t)
    assert "the SLA clock is paused" in posts[snoozed]
    assert posts[over - 1] == "Customer: any news about my shoes?"
    assert snoozed < over and not any("SLA" in t and "breach" in t for t in posts)   # 2 hours, no breach
    assert "Thanks for waiting, a replacement ships today." in seen_by_customer(result)


async def test_saved_reply_in_spanish(settings, rasa_parser):
    result = await play("saved_reply_spanish", settings, rasa_parser)
    assert ("Sentimos lo de tu Trail Runner 2, Lucía. Hoy te enviamos un reemplazo sin coste; no hace falta "
            "devolver el anterior.") in seen_by_customer(result)
    assert result["desk_actions"]["saved_reply"] == 1


async def test_goodwill_over_budget_is_refused_with_the_reason(settings, rasa_parser):
    result = await play("goodwill_over_budget", settings, rasa_parser)
    assert sum("issued goodwill code SORRY-" in t for t in thread(result)) == 1
    assert any(t.startswith("Nothing was sent. No goodwill code: this week's budget of 1 is spent")
               for t in result["agents_told"])
    assert not any("SORRY-" in t for t in seen_by_customer(result))
    assert "Sorry! A replacement ships today." in seen_by_customer(result)


async def test_stop_during_a_case_is_posted_and_the_case_closes_quietly(settings, rasa_parser):
    result = await play("stop_during_case", settings, rasa_parser)
    assert result["outcome"]["opted_out"] and result["outcome"]["escalation_status"] == "resolved"
    assert any("The customer said STOP" in t for t in thread(result))
    assert "Are you still there?" not in seen_by_customer(result)
    assert any("can't be reached any more" in t for t in result["agents_told"])
    assert not any("How easy was it" in t for t in seen_by_customer(result))     # no CES question


async def test_sla_warning_then_breach(settings, rasa_parser):
    result = await play("sla_warning_then_breach", settings, rasa_parser)
    posts = [t for t in thread(result) if "SLA" in t]
    assert len(posts) == 2
    assert posts[0].startswith("<!subteam^S0SUPPORT> SLA warning: 75% of the SLA is used")
    assert posts[1] == "<!subteam^S0SUPPORT> SLA breached: this case has waited 30 minutes without an owner."
