"""`aftercare simulate` on the console channel with the table-driven NLU: every shipped scenario
in tests/scenarios/ is played and its outcome asserted."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from bot.sandbox.scenario import ScenarioError, load_scenario
from bot.sandbox.simulate import simulate_file
from tests.support.harness import ROOT, make_settings
from tests.support.table_parser import TableParser

SCENARIOS = ROOT / "tests" / "scenarios"
BASE = {"csat": None, "nps": None, "ces": None, "escalated": False, "escalation_reason": None,
        "escalation_status": None, "review_requested": False, "upsell_offered": False, "opted_out": False,
        "reachable": True, "rescheduled": False, "owner": "bot", "state": "closed", "delay_notices": 0,
        "milestones": [], "gift_codes": [], "referral_asked": False, "testimonial": None, "referred_orders": 0,
        "tips": [], "tip_helpful": []}
OPT_OUT = "Done: you won't get any more messages from us. If you change your mind, send /start."
CES_Q = ("Thanks for your patience while we sorted this out. How easy was it to get your issue resolved? "
         "1 (very hard) to 7 (very easy).")

EXPECTED = {
    "low_score_escalation": {"csat": 2, "escalated": True, "escalation_reason": "product_problem",
                             "escalation_status": "resolved", "state": "waiting"},
    "happy_path": {"csat": 5, "review_requested": True},          # one ask per conversation: no upsell after it
    "score_three": {"csat": 3},
    "not_used_yet": {"csat": 4, "rescheduled": True, "review_requested": True, "upsell_offered": False},  # "Not now": no offer after a no
    "stop_mid_flow": {"csat": 2, "opted_out": True},
    "human_request": {"ces": 7, "escalated": True, "escalation_reason": "human", "escalation_status": "resolved",
                      "review_requested": True},
    "block_then_wait": {"csat": 4, "review_requested": True, "upsell_offered": False, "reachable": False,
                        "tips": ["tip_week1:footwear"]},   # the tip is what finds the block
    "silent_customer": {},
    "free_text_score": {"csat": 4, "review_requested": True},
}


async def simulate(path: Path) -> dict:
    result = await simulate_file(path, make_settings(), TableParser())
    json.dumps(result)                       # the CLI prints it as one JSON object
    return result


def bot_texts(result: dict) -> list[str]:
    return [e["text"] for e in result["transcript"] if e["from"] == "bot"]


def test_every_shipped_scenario_has_an_expected_outcome():
    assert {p.stem for p in SCENARIOS.glob("*.yml")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_scenario_outcome(name):
    result = await simulate(SCENARIOS / f"{name}.yml")
    assert result["outcome"] == {**BASE, **EXPECTED[name]}
    transcript = result["transcript"]
    assert transcript[0]["from"] == "bot" and transcript[0]["text"].startswith("Hi ")
    assert transcript[1]["buttons"] == ["1", "2", "3", "4", "5"]
    times = [e["at"] for e in transcript]
    assert times == sorted(times)
    # one customer entry per press/say turn, in order
    scenario = load_scenario(SCENARIOS / f"{name}.yml")
    said = [getattr(t, "text", None) or getattr(t, "value", None) for t in scenario.turns
            if type(t).__name__ in ("Press", "Say")]
    assert len([e for e in transcript if e["from"] == "customer"]) == len(said)


async def test_low_score_escalation_transcript():
    result = await simulate(SCENARIOS / "low_score_escalation.yml")
    entries = [(e["from"], e["text"]) for e in result["transcript"]]
    assert ("bot", "I'm sorry to hear that. What went wrong?") in entries
    assert ("agent", "Sorry! A replacement ships today.") in entries
    assert entries[-1] == ("bot", CES_Q)
    assert result["transcript"][-1]["buttons"] == [str(n) for n in range(1, 8)]
    support = [p["text"] for p in result["support_channel"]]
    assert support[0].startswith("Case 1: product_problem / defective")
    assert "Customer's words: the sole came off after a week" in support[0]
    assert "Customer: ok thanks" in support                 # the later reply went to the thread
    # "ok thanks" never reached the bot as a turn of its own
    assert not any(text.startswith("You're welcome") for who, text in entries if who == "bot")


async def test_happy_path_transcript():
    result = await simulate(SCENARIOS / "happy_path.yml")
    customer = [e for e in result["transcript"] if e["from"] == "customer"]
    assert [e["text"] for e in customer] == ["5", "Sure"]      # a press shows the button's label
    assert bot_texts(result)[-1] == "Thank you! Here's the link: https://shop.example/p/trail-runner-2/review"
    assert not any("pick up" in text for text in bot_texts(result))     # one ask per conversation
    assert result["support_channel"] == []


async def test_score_three_never_offers():
    result = await simulate(SCENARIOS / "score_three.yml")
    assert bot_texts(result)[-2:] == ["Thanks! What could we do better?", "Thank you, I've shared that with the team."]
    assert not any("review" in t.lower() or "pick up" in t for t in bot_texts(result))


async def test_not_used_yet_comes_back_later():
    result = await simulate(SCENARIOS / "not_used_yet.yml")
    texts = bot_texts(result)
    assert "No rush! I'll check back in 7 days." in texts
    question = "How is Trail Runner 2 shoes working for you? Tap 1 (not good) to 5 (great)."
    asked = [e["at"] for e in result["transcript"] if e["text"] == question]
    assert len(asked) == 2 and asked[1][:10] > asked[0][:10]


async def test_stop_mid_flow_then_silence():
    result = await simulate(SCENARIOS / "stop_mid_flow.yml")
    entries = [(e["from"], e["text"]) for e in result["transcript"]]
    assert entries[-3:] == [("customer", "STOP"), ("bot", OPT_OUT), ("customer", "hello?")]
    assert bot_texts(result).count(OPT_OUT) == 1


async def test_human_request_relays_the_agent():
    result = await simulate(SCENARIOS / "human_request.yml")
    entries = [(e["from"], e["text"]) for e in result["transcript"]]
    human = "Got it: I'm handing this to a person on our support team. They'll reply right here."
    agent = ("agent", "Hi Omar, I'm here. What can I do for you?")
    assert entries.index(("bot", human)) < entries.index(agent) < entries.index(("customer", "thanks, I'll wait"))
    assert entries.index(("customer", "thanks, I'll wait")) < entries.index(("bot", CES_Q))
    assert result["support_channel"][0]["text"].startswith("Case 1: human")


async def test_block_then_wait_sends_nothing_more():
    result = await simulate(SCENARIOS / "block_then_wait.yml")
    assert not any("recommend" in t for t in bot_texts(result))     # the NPS survey bounced


async def test_silent_customer_gets_at_most_one_reminder():
    result = await simulate(SCENARIOS / "silent_customer.yml")
    reminders = [t for t in bot_texts(result) if t.startswith("Just checking in")]
    assert len(reminders) <= 1
    assert len(bot_texts(result)) == 2 + len(reminders)               # no goodbye


async def test_silent_customer_with_room_in_the_cap_gets_exactly_one_reminder(tmp_path):
    result = await simulate_file(SCENARIOS / "silent_customer.yml", make_settings(schedule={"weekly_cap": 3}),
                                 TableParser())
    texts = bot_texts(result)
    assert [t for t in texts if t.startswith("Just checking in")] == [
        "Just checking in: how is Trail Runner 2 shoes working for you so far? 1 (not good) to 5 (great)."]
    assert len([t for t in texts if not t.startswith(("A week in:", "Was this tip"))]) == 3   # no goodbye
    assert result["outcome"]["tips"] == ["tip_week1:footwear"]     # the cap had room: a week later, a tip


async def test_press_without_a_matching_button_types_the_text(tmp_path):
    path = tmp_path / "typed.yml"
    path.write_text(textwrap.dedent("""\
        channel: console
        customer: {name: Ana}
        order: {order_id: T-1, product: Trail Runner 2 shoes, sku: TR2-44, category: footwear, delivered_days_ago: 4}
        turns:
          - press: "it broke"
        """), encoding="utf-8")
    result = await simulate(path)
    assert result["outcome"]["escalation_reason"] == "product_problem"


async def test_message_after_the_flow_ended_still_reaches_a_person(tmp_path):
    path = tmp_path / "late.yml"
    path.write_text(textwrap.dedent("""\
        channel: console
        customer: {name: Ana}
        order: {order_id: T-2, product: Trail Runner 2 shoes, sku: TR2-44, category: footwear, delivered_days_ago: 4}
        turns:
          - press: "3"
          - say: "more colours"
          - wait: 2d
          - say: "actually I need an agent"
        """), encoding="utf-8")
    result = await simulate(path)
    assert result["outcome"]["escalation_reason"] == "human"
    assert result["outcome"]["csat"] == 3


@pytest.mark.parametrize("body,line,reason", [
    ("channel: fax\norder: {order_id: X, product: P, sku: S}\n", 1, "channel 'fax' is not one of"),
    ("order: {order_id: X, product: P}\n", 1, "order.sku is required"),
    ("order: {order_id: X, product: P, sku: S}\nturns:\n  - dance: now\n", 3, "unknown turn 'dance'"),
    ("order: {order_id: X, product: P, sku: S}\nturns:\n  - wait: 3 dayz\n", 3, '"3 dayz" is not a duration'),
    ("order: {order_id: X, product: P, sku: S}\nagent:\n  - escalate\n", 3, "an agent move is"),
    ("order: {order_id: X, product: P, sku: S, delivered_days_ago: soon}\n", 1, "must be a number of days"),
])
def test_bad_scenarios_name_file_and_line(tmp_path, body, line, reason):
    path = tmp_path / "bad.yml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert caught.value.line == line and reason in caught.value.reason
    assert str(caught.value).startswith(f"{path}:{line}: ")


@pytest.mark.parametrize("days_ago", [5, 16])
async def test_overdue_checkin_starts_now(tmp_path, days_ago):
    """CONVERSATION.md: the clock starts at the check-in, now when that is overdue; only the
    touchpoints that fell due before it (the thank-you) are skipped. (Delivered 16 days ago, the
    check-in is 12 days overdue, inside its 14-day expiry; past it, it is dropped, never sent late.)"""
    path = tmp_path / "overdue.yml"
    path.write_text(textwrap.dedent(f"""\
        channel: console
        customer: {{name: Ana}}
        order: {{order_id: T-3, product: Trail Runner 2 shoes, sku: TR2-44, category: footwear, delivered_days_ago: {days_ago}}}
        turns:
          - press: "5"
        """), encoding="utf-8")
    result = await simulate(path)
    assert bot_texts(result)[:2] == ["Hi Ana! Thanks again for your order.",
                                     "How is Trail Runner 2 shoes working for you? Tap 1 (not good) to 5 (great)."]
    assert result["outcome"]["csat"] == 5


async def test_checkin_in_the_future_moves_the_clock_there(tmp_path):
    path = tmp_path / "future.yml"
    path.write_text(textwrap.dedent("""\
        channel: console
        customer: {name: Ana}
        order: {order_id: T-4, product: Trail Runner 2 shoes, sku: TR2-44, category: footwear, delivered_days_ago: 1}
        turns:
          - press: "4"
        """), encoding="utf-8")
    result = await simulate(path)
    assert not any(t.startswith("Thank you for your order") for t in bot_texts(result))
    assert bot_texts(result)[0] == "Hi Ana! Thanks again for your order."
    assert result["outcome"]["csat"] == 4
