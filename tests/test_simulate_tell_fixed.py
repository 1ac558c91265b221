""""You spoke, we listened" through `aftercare simulate` (issue 16): the `tell_fixed` scenario move
runs tell-fixed as the shop would; the customer who reported the problem hears once, one who
opted out or became unreachable hears nothing. Scenarios in tests/scenarios/tell_fixed/."""
from __future__ import annotations

import pytest

from bot.sandbox.scenario import ScenarioError, load_scenario
from bot.sandbox.simulate import simulate_file
from tests.support.harness import ROOT, make_settings
from tests.support.table_parser import TableParser

TELL = ROOT / "tests" / "scenarios" / "tell_fixed"
FIXED = "You told us the sole of the Trail Runner 2 came off"
BASE = {"csat": 1, "nps": None, "ces": None, "escalated": True, "escalation_reason": "product_problem",
        "escalation_status": "resolved", "review_requested": False, "upsell_offered": False, "opted_out": False,
        "reachable": True, "rescheduled": False, "owner": "bot", "state": "closed", "delay_notices": 0,
        "milestones": [], "gift_codes": [], "referral_asked": False, "testimonial": None, "referred_orders": 0,
        "tips": [], "tip_helpful": []}
EXPECTED = {
    "told_once": ({"ces": 6, "review_requested": True}, [{"sku": "TR2-44", "problem_type": "defective",
                                                          "status": "sent"}]),
    "opted_out": ({"opted_out": True}, []),
    "unreachable": ({"reachable": False}, []),
}


async def play(name: str) -> dict:
    return await simulate_file(TELL / f"{name}.yml", make_settings(), TableParser())


def fixed_messages(result: dict) -> list[dict]:
    return [e for e in result["transcript"] if e["from"] == "bot" and e["text"].startswith(FIXED)]


def test_every_tell_fixed_scenario_has_an_expected_outcome():
    assert {p.stem for p in TELL.glob("*.yml")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_tell_fixed_scenario_outcome(name):
    outcome, notices = EXPECTED[name]
    result = await play(name)
    assert result["outcome"] == {**BASE, **outcome}
    assert result["fix_notices"] == notices
    assert len(fixed_messages(result)) == (1 if name == "told_once" else 0)


async def test_the_reporter_is_told_once_through_the_weekly_cap():
    result = await play("told_once")
    (notice,) = fixed_messages(result)
    # the check-in took the week's slot on 11-02 10:00; the notice waits for it to free
    assert notice["at"].startswith("2026-11-09T10:00")
    assert notice["text"].endswith("it's fixed. Thank you for telling us!")


def test_a_bad_tell_fixed_move_names_file_and_line(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text("order: {order_id: X, product: P, sku: S}\nturns:\n  - tell_fixed: {message: hi}\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert caught.value.line == 3 and "problem_type" in caught.value.reason


async def test_tell_fixed_for_an_unknown_problem_type_is_a_scenario_error(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text("order: {order_id: X, product: P, sku: S}\nturns:\n"
                    "  - tell_fixed: {problem_type: squeaky, message: hi}\n")
    with pytest.raises(ScenarioError) as caught:
        await simulate_file(path, make_settings(), TableParser())
    assert "unknown problem type 'squeaky'" in str(caught.value)
