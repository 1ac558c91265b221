"""The bot remembers (issue 16): the `last_*` template variables, and the check-in that follows
up on a problem put right on the same order instead of asking the generic question; the
scenarios in tests/scenarios/memory/ with their asserted outcomes."""
from __future__ import annotations

from datetime import timedelta

from bot.engine.builtins import PROBLEM_SENTENCES
from bot.flowfiles import load_catalogs
from bot.sandbox.simulate import simulate_file
from tests.support.harness import DIALOGS, ROOT, Harness, make_settings
from tests.support.table_parser import TableParser

MEMORY = ROOT / "tests" / "scenarios" / "memory"
GENERIC = "How is Trail Runner 2 working for you?"
RECALL = ("Last time, something on your Trail Runner 2 had stopped working properly. Now that it has been "
          "sorted out, is everything working as it should?")
BASE = {"csat": None, "nps": None, "ces": None, "escalated": True, "escalation_reason": "product_problem",
        "escalation_status": "resolved", "review_requested": False, "upsell_offered": False, "opted_out": False,
        "reachable": True, "rescheduled": False, "owner": "bot", "state": "closed", "delay_notices": 0,
        "milestones": [], "gift_codes": [], "referral_asked": False, "testimonial": None, "referred_orders": 0,
        "tips": [], "tip_helpful": []}
EXPECTED = {
    "resolved_then_checkin": {"ces": 7, "review_requested": True},
    "resolved_still_broken": {"ces": 6, "review_requested": True, "escalation_status": "open", "state": "active"},
}


async def play(name: str) -> dict:
    return await simulate_file(MEMORY / f"{name}.yml", make_settings(), TableParser())


def bot_texts(result: dict) -> list[str]:
    return [e["text"] for e in result["transcript"] if e["from"] == "bot"]


def test_every_memory_scenario_has_an_expected_outcome():
    assert {p.stem for p in MEMORY.glob("*.yml")} == set(EXPECTED)


async def test_resolved_problem_gets_the_follow_up_not_the_generic_question():
    result = await play("resolved_then_checkin")
    assert result["outcome"] == {**BASE, **EXPECTED["resolved_then_checkin"]}
    texts = bot_texts(result)
    assert not any(GENERIC in text for text in texts)
    checkin = texts.index("Hi Ana! Thanks again for your order.")
    assert texts[checkin + 1] == RECALL
    assert texts[checkin + 2] == "Glad to hear it, and thank you for giving us the chance to put it right."
    recall = next(e for e in result["transcript"] if e["text"] == RECALL)
    assert recall["buttons"] == ["Yes, all good", "Not really"]
    assert recall["at"].startswith("2026-11-06T10:00")             # the footwear check-in, 4 days on


async def test_the_fix_did_not_hold_goes_back_to_a_person():
    result = await play("resolved_still_broken")
    assert result["outcome"] == {**BASE, **EXPECTED["resolved_still_broken"]}
    assert bot_texts(result)[-1].startswith("I'm sorry it's still not right. I've passed it back")
    assert result["support_channel"][-1]["text"].startswith("Case 2: product_problem")


# ---- the variables, straight from the store ------------------------------------------------

async def resolved_case(h: Harness, language: str = "en") -> None:
    """Ana reports a damaged box at her check-in and scores 2; an agent resolves the case; CES 6."""
    await h.start_checkin("A-1", language=language)
    await h.press("2")
    await h.say("it arrived broken")
    await h.agent("resolve")
    await h.press("6")
    await h.advance(timedelta(days=3))


async def test_memory_variables_name_the_last_problem_score_and_resolved_case():
    h = Harness(parser=TableParser())
    await resolved_case(h)
    h.add_order("A-2", sku="SERUM-30", product="Glow Serum", category="skincare")
    variables = h.core.runner.context(h.customer_id(), "A-2", "SERUM-30").variables
    assert variables["last_problem"] == "Last time, something on your Trail Runner 2 shoes had stopped working properly."
    assert variables["last_problem.type"] == "defective"
    assert variables["last_problem.product"] == "Trail Runner 2 shoes"
    assert variables["last_problem.status"] == "resolved"
    assert variables["last_resolved"] == variables["last_problem"]
    assert variables["last_resolved.order"] == "A-1"
    assert variables["last_resolved.on"] == h.case().resolved_at[:10]
    assert (variables["last_score"], variables["last_score.metric"]) == ("6/7", "ces")


async def test_memory_sentence_in_the_customers_language():
    h = Harness(parser=TableParser())
    await resolved_case(h, language="de")
    variables = h.core.runner.context(h.customer_id(), "A-1", "TR2-44").variables
    assert variables["last_resolved"] == "Letztes Mal funktionierte etwas an Trail Runner 2 shoes nicht mehr richtig."


async def test_a_customer_who_never_reported_anything_has_empty_memory():
    h = Harness(parser=TableParser())
    h.add_order("A-1")
    variables = h.core.runner.context(h.customer_id(), "A-1", "TR2-44").variables
    assert [variables[name] for name in ("last_problem", "last_resolved", "last_score")] == ["", "", ""]


def test_every_problem_sentence_is_in_every_catalog():
    catalogs = load_catalogs(DIALOGS)
    for language in ("es", "pt", "de", "fr", "it", "ja"):
        for sentence in PROBLEM_SENTENCES.values():
            assert catalogs.has(sentence, language), (language, sentence)
            assert "{product}" in catalogs.translate(sentence, language)
