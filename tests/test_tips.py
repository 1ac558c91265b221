"""Onboarding tips: the scenarios of tests/scenarios/tips/ with their outcomes asserted, the
scheduler's rules for kinds with a priority, a window and `skip_if`, and `aftercare due`
explaining each wait or drop from the scheduler's own verdict."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.base.clock import parse_iso
from bot.config.settings import ConfigError
from bot.engine.flows import FlowError
from bot.flowfiles import load_flows
from bot.sandbox.simulate import simulate_file
from bot.schedule.scheduler import DROP, HOLD
from bot.store.store import Store
from tests.support.harness import ROOT, Harness, make_settings
from tests.support.table_parser import TableParser

TIPS = ROOT / "tests" / "scenarios" / "tips"
UTC = timezone.utc
FOOT_WEEK = "A week in: if the laces loosen on the way, try a runner's knot (through the last eyelet) for a snug heel."
FOOT_MONTH = ("A month in: rotate with another pair when you can; a day off lets the foam recover and makes them "
              "last longer.")
HELPFUL_Q = "Was this tip helpful?"
TIP_BUTTONS = ["Yes, thanks", "Not really", "I have a question"]


async def play(name: str, **overrides) -> tuple[dict, Store]:
    store = Store.memory()
    result = await simulate_file(TIPS / f"{name}.yml", make_settings(**overrides), TableParser(), store)
    json.dumps(result)
    return result, store


def bot(result: dict) -> list[dict]:
    return [e for e in result["transcript"] if e["from"] == "bot"]


def touchpoint(store: Store, kind: str) -> dict:
    return next(t for t in store.db["touchpoints"].rows if t["kind"] == kind)


def contact_times(store: Store) -> list[datetime]:
    return [parse_iso(r["at"]) for r in store.db["contacts"].rows_where(order_by="id")]


def assert_weekly_cap(store: Store) -> None:
    times = contact_times(store)
    assert all(b - a >= timedelta(days=7) for a, b in zip(times, times[1:])), times


def test_every_tip_scenario_is_played_here():
    assert {p.stem for p in TIPS.glob("*.yml")} == {
        "tip_helpful", "tip_question", "tip_question_person", "tip_vs_checkin", "tip_after_nps", "tip_open_case",
        "tip_window_passed"}


# ---- the scenarios ------------------------------------------------------------------------------

async def test_a_tip_sent_and_answered_helpful():
    result, store = await play("tip_helpful")
    texts = [e["text"] for e in bot(result)]
    assert texts[-3:] == [FOOT_WEEK, HELPFUL_Q, "Glad it helps! Enjoy Trail Runner 2 shoes."]
    question = next(e for e in bot(result) if e["text"] == HELPFUL_Q)
    assert question["buttons"] == TIP_BUTTONS
    assert texts.count(HELPFUL_Q) == 1                                  # `remind: false`: never asked twice
    assert result["outcome"]["tips"] == ["tip_week1:footwear"] and result["outcome"]["tip_helpful"] == [True]
    tip = touchpoint(store, "tip_week1")
    assert tip["status"] == "started"
    assert [r["kind"] for r in store.db["contacts"].rows_where(order_by="id")] == ["checkin", "tip"]
    assert_weekly_cap(store)                                           # it waited a week after the check-in


async def test_the_question_path_answers_from_the_faq():
    result, _ = await play("tip_question")
    texts = [e["text"] for e in bot(result)]
    assert texts[-2:] == ["Sure, what would you like to know?",
                          "Here's what usually helps: Hold the power button for 10 seconds to reset; the manual is at "
                          "shop.example/help."]
    assert result["outcome"]["tips"] == ["tip_week1:electronics"]
    assert result["outcome"]["tip_helpful"] == [] and not result["outcome"]["escalated"]


async def test_the_question_path_offers_a_person_when_the_faq_has_no_answer():
    result, _ = await play("tip_question_person")
    texts = [e["text"] for e in bot(result)]
    assert texts[-2:] == ["I don't have a written answer for that one. Would you like a person from our team to help?",
                          "Got it: a person from our support team will reply here."]
    assert result["outcome"]["escalated"] and result["outcome"]["escalation_reason"] == "human"
    assert result["support_channel"]                                   # the case card reached the agents


async def test_a_checkin_due_the_same_week_beats_the_tip_which_is_dropped():
    result, store = await play("tip_vs_checkin")
    texts = [e["text"] for e in bot(result)]
    assert FOOT_WEEK not in texts and HELPFUL_Q not in texts
    assert texts.count("How is Trail Runner 2 shoes working for you? Tap 1 (not good) to 5 (great).") == 2
    tip = touchpoint(store, "tip_week1")
    assert tip["status"] == "dropped:beaten"
    assert tip["held_reason"].startswith("dropped: beaten by the resumed checkin (priority 90)")
    assert "after it expires" in tip["held_reason"]
    assert_weekly_cap(store)


async def test_the_month_tip_waits_behind_the_nps_survey_and_still_goes_in_its_window():
    result, store = await play("tip_after_nps")
    texts = [e["text"] for e in bot(result)]
    nps_at = next(e["at"] for e in bot(result) if e["text"].startswith("Hi Eva! How likely"))
    tip_at = next(e["at"] for e in bot(result) if e["text"] == FOOT_MONTH)
    assert parse_iso(tip_at) - parse_iso(nps_at) >= timedelta(days=7)          # survey first, a week apart
    tip = touchpoint(store, "tip_month1")
    assert tip["status"] == "started" and parse_iso(tip_at) < parse_iso(tip["expires_at"])
    assert texts[-1] == "Thanks for telling me; we'll make our tips better."
    assert result["outcome"]["tips"] == ["tip_week1:footwear", "tip_month1:footwear"]
    assert result["outcome"]["tip_helpful"] == [True, False]
    assert result["outcome"]["nps"] == 8
    assert_weekly_cap(store)


async def test_no_tip_for_a_customer_with_an_open_case():
    result, store = await play("tip_open_case")
    assert result["outcome"]["escalation_status"] == "open"
    assert result["outcome"]["tips"] == [] and HELPFUL_Q not in [e["text"] for e in bot(result)]
    tip = touchpoint(store, "tip_week1")
    assert (tip["status"], tip["held_reason"]) == ("suppressed:open_case", "dropped: no offers or milestones while a case is open")


async def test_a_tip_whose_window_passed_is_dropped_not_sent_late():
    result, store = await play("tip_window_passed")
    assert result["outcome"]["tips"] == []
    tip = touchpoint(store, "tip_week1")
    assert tip["status"] == "expired"
    assert tip["held_reason"].startswith("dropped: too old: delivered 16 days ago; a tip_week1 goes out within 7 days")
    assert "never sent late" in tip["held_reason"]


async def test_without_an_expiry_the_late_tip_would_wait_and_go_late():
    _, store = await play("tip_window_passed", schedule={"touchpoints": {"tip_week1": {"expires": "365d"}}})
    tip = touchpoint(store, "tip_week1")
    assert (tip["status"], tip["held_reason"]) == ("held", "weekly_cap")


# ---- the scheduler's rules ---------------------------------------------------------------------

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


async def test_a_tip_the_cap_would_hold_past_its_window_is_dropped_at_once():
    h = Harness(start=T0)
    await h.start_checkin(delivered=T0 - timedelta(days=4))
    await h.press("4")
    await h.press("Not now")
    h.add_order("A-2", sku="NCH-700", product="Noise-Cancelling Headphones", category="electronics",
                delivered=T0 - timedelta(days=1, hours=-1))     # its day-1 tip falls due in an hour
    h.store.orders.skip_touchpoints_before("A-2", T0)
    await h.advance(timedelta(hours=2))
    tip = h.touchpoint("A-2", "tip_day1")
    assert tip.status == "expired"                                  # cap frees in 7 days, expiry is 2
    assert tip.held_reason.startswith("dropped: weekly cap reached (1 in 7 days) until 2026-11-09 10:00")


async def test_a_tip_waits_for_the_quiet_hours_like_any_proactive_message():
    h = Harness(start=T0)
    h.add_order(sku="SERUM-30", product="Vitamin C Serum", category="skincare",
                delivered=T0 - timedelta(days=1, hours=-12))         # day-1 tip due 22:00 Lisbon; check-in in 2 weeks
    h.store.orders.skip_touchpoints_before("A-1", T0)
    await h.advance(timedelta(hours=12, minutes=30))
    tip = h.touchpoint("A-1", "tip_day1")
    assert (tip.status, tip.held_reason) == ("held", "quiet_hours")
    assert h.texts() == []
    await h.advance(timedelta(hours=11))                                 # 09:30 the next morning
    assert h.texts() == ["Tip for a fast first win: use Vitamin C Serum on clean, slightly damp skin; two or three "
                         "drops are enough.", HELPFUL_Q]


async def test_no_tip_after_a_recent_low_score_on_another_order():
    h = Harness(start=T0)
    await h.start_checkin(delivered=T0 - timedelta(days=4))
    await h.press("3")                                                  # CSAT 3: a low score
    await h.say("a bit pricey")
    h.add_order("A-2", sku="NCH-700", product="Noise-Cancelling Headphones", category="electronics",
                delivered=T0 + timedelta(days=9))                       # its week-1 tip: T0 + 16d
    await h.advance(timedelta(days=17))
    tip = h.touchpoint("A-2", "tip_week1")
    assert tip.status == "suppressed:recent_trouble"
    assert tip.held_reason == "dropped: a low score or a case too recently for a milestone"


def test_touchpoint_kind_settings_are_validated():
    with pytest.raises(ConfigError, match="priority"):
        make_settings(schedule={"touchpoints": {"tip_day1": {"priority": "high"}}})
    with pytest.raises(ConfigError, match="expires"):
        make_settings(schedule={"touchpoints": {"tip_day1": {"expires": "soon"}}})
    kinds = make_settings().schedule.touchpoints
    assert kinds["checkin"].priority > kinds["nps"].priority > kinds["anniversary"].priority > kinds["tip_day1"].priority
    assert kinds["tip_day1"].expires == timedelta(days=2) and kinds["checkin"].expires == timedelta(days=14)


# ---- `aftercare due` ---------------------------------------------------------------------------

async def test_due_explains_waits_and_drops_from_the_schedulers_own_verdict():
    h = Harness(start=T0)
    await h.start_checkin(delivered=T0 - timedelta(days=4))
    await h.say("haven't tried them yet")                              # check-in resumes in 7 days
    report = {i.kind: i for i in h.core.scheduler.due_report(h.clock.now(), timedelta(days=8))}
    assert report["tip_week1"].verdict.startswith("due later; weekly cap reached (1 in 7 days) until 2026-11-09 10:00")
    await h.advance(timedelta(days=7, minutes=5))
    report = {i.kind: i for i in h.core.scheduler.due_report(h.clock.now(), timedelta(days=1))}
    dropped = report["tip_week1"]
    assert dropped.status == "dropped:beaten"
    assert dropped.verdict.startswith("dropped: beaten by the resumed checkin (priority 90)")
    # the verdict `due` printed is the one `tick` acted on: same code, same sentence
    tip = h.touchpoint("A-1", "tip_week1")
    assert tip.held_reason == dropped.verdict


async def test_due_verdict_is_what_tick_then_does():
    h = Harness(start=T0)
    h.add_order(delivered=T0 - timedelta(days=1))
    h.store.orders.skip_touchpoints_before("A-1", T0 - timedelta(minutes=1))
    row = h.touchpoint("A-1", "tip_day1")
    verdict = h.core.scheduler.judge(row, T0)
    assert verdict.act == DROP and verdict.code == "dropped:beaten"       # the check-in is 3 days away
    assert "checkin (priority 90) due 2026-11-05 10:00 Europe/Lisbon goes first" in verdict.why
    await h.pump()
    assert h.touchpoint("A-1", "tip_day1").status == "dropped:beaten"
    assert h.texts() == []


async def test_without_priorities_the_tip_would_take_the_checkins_slot():
    """The day-1 tip declared as important as the check-in goes out, and the check-in three days
    later waits a week for the cap: what the priority rule prevents."""
    h = Harness(make_settings(schedule={"touchpoints": {"tip_day1": {"priority": 90}}}), start=T0)
    h.add_order(delivered=T0 - timedelta(days=1))
    h.store.orders.skip_touchpoints_before("A-1", T0 - timedelta(minutes=1))
    await h.pump()
    assert h.texts()[0].startswith("Tip for a fast first win")
    await h.advance(timedelta(days=3, hours=1))
    assert h.touchpoint("A-1", "checkin").held_reason == "weekly_cap"


async def test_a_yielding_tip_with_room_in_its_window_is_held_until_the_other_goes():
    h = Harness(start=T0)
    h.add_order(delivered=T0 - timedelta(days=30))                     # NPS and the month tip due now
    h.store.orders.skip_touchpoints_before("A-1", T0 - timedelta(minutes=1))
    tip, nps = h.touchpoint("A-1", "tip_month1"), h.touchpoint("A-1", "nps")
    assert tip.due_at == nps.due_at
    verdict = h.core.scheduler.judge(tip, T0)
    assert verdict.act == HOLD and verdict.code == "yields to nps"
    assert verdict.why.startswith("waits: nps (priority 80) due 2026-11-02 10:00 Europe/Lisbon goes first")


async def test_due_lists_held_tell_fixed_notices_with_their_reason():
    h = Harness(start=T0)
    await h.start_checkin(delivered=T0 - timedelta(days=4))
    customer = h.customer_id()
    h.store.fix_notices.queue(customer, h.identity().id, "TR2-44", "defective", "Fixed: the new soles hold.", T0)
    report = [i for i in h.core.scheduler.due_report(h.clock.now()) if i.kind == "tell_fixed"]
    assert len(report) == 1 and report[0].ref.startswith("fix#")
    assert report[0].verdict.startswith("weekly cap reached (1 in 7 days) until 2026-11-09")


# ---- the flow and its texts --------------------------------------------------------------------

def test_tips_name_declared_kinds_and_known_variables(tmp_path: Path):
    flows = load_flows(ROOT / "dialogs")
    assert flows.tips.kinds() <= set(make_settings().schedule.touchpoints)
    assert flows.tips.for_product("TR2-44", "footwear")["tip_day1"][0] == "tip_day1:footwear"
    for src in (ROOT / "dialogs").glob("*.yml"):
        (tmp_path / src.name).write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "tips.yml").write_text('tips:\n  footwear:\n    tip_day1: "Hi {customer.shoe_size}"\n',
                                       encoding="utf-8")
    with pytest.raises(FlowError, match=r"tips.yml:3: unknown template variable \{customer.shoe_size\}"):
        load_flows(tmp_path)


def test_a_sku_tip_wins_over_the_category_tip():
    tips = load_flows(ROOT / "dialogs").tips
    assert tips.for_product("TR2-44", "footwear")["tip_week1"][0] == "tip_week1:footwear"
    custom = type(tips)({**tips.by_product, "TR2-44": {"tip_week1": "x"}})
    assert custom.for_product("TR2-44", "footwear")["tip_week1"] == ("tip_week1:TR2-44", "x")
    assert custom.for_product("TR2-44", "footwear")["tip_day1"][0] == "tip_day1:footwear"


async def test_the_report_counts_helpful_and_not_helpful_per_tip():
    from bot.store.reporting import Period, Reporting

    _, store = await play("tip_after_nps")
    rows = Reporting(store.db).tips(Period())
    shoes = {"sku": "TR2-44", "product": "Trail Runner 2 shoes", "sent": 1}
    assert rows == [{"tip": "tip_month1:footwear", "sent": 1, "helpful": 0, "not_helpful": 1,
                     "products": [{**shoes, "helpful": 0, "not_helpful": 1}]},
                    {"tip": "tip_week1:footwear", "sent": 1, "helpful": 1, "not_helpful": 0,
                     "products": [{**shoes, "helpful": 1, "not_helpful": 0}]}]
