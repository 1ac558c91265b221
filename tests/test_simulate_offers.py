"""Offers, once each (issue 16): the run-out refill reminder is its own touchpoint (never made by
the check-in), asked once; skipped when a later order already holds the SKU or the customer said
no to it, with the reason on the touchpoint and in `aftercare due`. Scenarios in
tests/scenarios/offers/ with their asserted outcomes."""
from __future__ import annotations

from datetime import timedelta

from bot.sandbox.simulate import simulate_file
from tests.support.harness import ROOT, Harness, make_settings
from tests.support.table_parser import TableParser

OFFERS = ROOT / "tests" / "scenarios" / "offers"
RUNNING_LOW = ("Hi Mia! You're probably running low on Glow Serum by now. Shall I send you the link to "
               "reorder?")
BASE = {"csat": 5, "nps": None, "ces": None, "escalated": False, "escalation_reason": None,
        "escalation_status": None, "review_requested": True, "upsell_offered": False, "opted_out": False,
        "reachable": True, "rescheduled": False, "owner": "bot", "state": "closed", "delay_notices": 0,
        "milestones": [], "gift_codes": [], "referral_asked": False, "testimonial": None, "referred_orders": 0,
        "tips": [], "tip_helpful": []}
EXPECTED = {
    # the check-in's one ask is the review: no referral ask beside it (shared/CONVERSATION.md, Safety)
    "refill_once": ({"upsell_offered": True}, {"S-1001": {"replenishment": "started"}}),
    "refill_after_reorder": ({}, {"S-2001": {"replenishment": "skipped:reordered"}}),
    "refill_declined": ({"upsell_offered": True, "state": "waiting"},
                        {"S-3001": {"replenishment": "started"}, "S-3002": {"replenishment": "skipped:declined"}}),
}


async def play(name: str) -> dict:
    return await simulate_file(OFFERS / f"{name}.yml", make_settings(), TableParser())


def bot_texts(result: dict) -> list[str]:
    return [e["text"] for e in result["transcript"] if e["from"] == "bot"]


def statuses(result: dict) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for t in result["touchpoints"]:
        found.setdefault(t["order_id"], {})[t["kind"]] = t["status"]
    return found


def test_every_offer_scenario_has_an_expected_outcome():
    assert {p.stem for p in OFFERS.glob("*.yml")} == set(EXPECTED)


async def test_scenario_outcomes():
    for name, (outcome, touchpoints) in EXPECTED.items():
        result = await play(name)
        assert result["outcome"] == {**BASE, **outcome}, name
        found = statuses(result)
        for order_id, kinds in touchpoints.items():
            for kind, status in kinds.items():
                assert found[order_id][kind] == status, (name, order_id, kind)


async def test_refill_reminder_at_run_out_once_and_the_link_on_yes():
    result = await play("refill_once")
    texts = bot_texts(result)
    assert texts.count(RUNNING_LOW) == 1
    assert not any("refill" in text for text in texts[:texts.index(RUNNING_LOW)])    # the check-in offers none
    assert texts[texts.index(RUNNING_LOW) + 1] == "Here you go: https://shop.example/p/serum-30"
    reminder = next(e for e in result["transcript"] if e["text"] == RUNNING_LOW)
    assert reminder["at"].startswith("2026-11-29T10:00") and reminder["buttons"] == ["Yes please", "No thanks"]


async def test_a_reorder_before_the_run_out_skips_the_reminder():
    texts = bot_texts(await play("refill_after_reorder"))
    assert RUNNING_LOW not in texts


async def test_a_no_to_the_refill_is_kept_and_never_asked_again():
    result = await play("refill_declined")
    texts = bot_texts(result)
    assert texts.count(RUNNING_LOW) == 1
    assert texts[texts.index(RUNNING_LOW) + 1] == "No problem, I won't ask about it again."


# ---- `aftercare due` says why ----------------------------------------------------------------

async def test_due_explains_the_skip_and_the_store_keeps_it():
    h = Harness(parser=TableParser())
    h.add_order("A-1", sku="SERUM-30", product="Glow Serum", category="skincare")
    h.add_order("A-2", sku="SERUM-30", product="Glow Serum", category="skincare", status="placed", delivered=None,
                purchased=h.clock.now() - timedelta(days=1))
    refill = h.touchpoint("A-1", "replenishment")
    report = h.core.scheduler.due_report(h.clock.now(), horizon=timedelta(days=60))
    line = next(item for item in report if item.ref == str(refill.id))
    assert line.verdict == "skipped: a later order (A-2) already contains SERUM-30"
    await h.advance(timedelta(days=60))
    assert h.touchpoint("A-1", "replenishment").status == "skipped:reordered"
    assert not any("running low" in text for text in h.texts())
