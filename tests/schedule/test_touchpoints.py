"""Orders -> touchpoints: every kind declared in config.yml, overrides, the shipped-date fallback,
replenishment math."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.config.settings import MessageClass, Replenishment, ScheduleSettings
from bot.config.loading import load_settings
from bot.schedule.touchpoints import (
    OrderFacts,
    Touchpoint,
    delivery_anchor,
    reschedule_checkin,
    touchpoints_for,
)

UTC = timezone.utc
ROOT = Path(__file__).resolve().parents[2]
PURCHASED = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
SHIPPED = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
DELIVERED = datetime(2026, 11, 6, 14, 20, tzinfo=UTC)
SERUM = {"SERUM-30": Replenishment(usage_days=30, url="https://shop.example/p/serum-30")}


def order(**changes) -> OrderFacts:
    base = dict(order_id="A-1001", sku="TR2-44", category="footwear", quantity=1,
                purchased_at=PURCHASED, shipped_at=SHIPPED, delivered_at=DELIVERED,
                status="delivered")
    base.update(changes)
    return OrderFacts(**base)


def by_kind(points: list[Touchpoint]) -> dict[str, Touchpoint]:
    kinds = [p.kind for p in points]
    assert len(kinds) == len(set(kinds)), kinds
    return {p.kind: p for p in points}


def changed(schedule: ScheduleSettings, kind: str, **fields) -> ScheduleSettings:
    """`schedule` with one touchpoint kind changed (fields=None: the kind removed)."""
    kinds = dict(schedule.touchpoints)
    if fields.pop("removed", False):
        del kinds[kind]
    else:
        kinds[kind] = kinds[kind].copy(update=fields)
    return schedule.copy(update={"touchpoints": kinds})


def without_milestones(schedule: ScheduleSettings) -> ScheduleSettings:
    """The kinds an order has on its own (milestones, timed from the customer's other orders, are
    tested in tests/schedule/test_milestones.py)."""
    kinds = {name: kind for name, kind in schedule.touchpoints.items() if not kind.needs_history}
    return schedule.copy(update={"touchpoints": kinds})


@pytest.fixture
def schedule() -> ScheduleSettings:
    """The shipped kinds without per-category offsets: checkin 4d, transit 5d, nps 30d, thank-you on."""
    shipped = without_milestones(load_settings(ROOT / "config.yml", environ={}).schedule)
    return changed(shipped, "checkin", categories={})


@pytest.fixture
def shipped_schedule() -> ScheduleSettings:
    """The shipped config.yml: electronics 3d, skincare 14d."""
    return without_milestones(load_settings(ROOT / "config.yml", environ={}).schedule)


def test_delivered_order_gets_thank_you_checkin_and_nps(schedule):
    points = [p for p in touchpoints_for(order(), schedule, {}) if not p.kind.startswith("tip_")]
    assert [p.kind for p in points] == ["thank_you", "checkin", "nps"]
    kinds = by_kind(points)
    assert kinds["thank_you"] == Touchpoint("A-1001", "thank_you", "thank_you", PURCHASED,
                                            MessageClass.TRANSACTIONAL, "TR2-44")
    assert not kinds["thank_you"].proactive
    assert kinds["checkin"].due_at == DELIVERED + timedelta(days=4)
    assert kinds["checkin"].proactive and kinds["checkin"].flow == "checkin"
    assert kinds["nps"].due_at == DELIVERED + timedelta(days=30)
    assert kinds["nps"].proactive and kinds["nps"].flow == "nps"


def test_thank_you_only_when_configured(schedule):
    quiet = changed(schedule, "thank_you", removed=True)
    assert "thank_you" not in by_kind(touchpoints_for(order(), quiet, {}))


def test_no_nps_when_disabled(schedule):
    no_nps = changed(schedule, "nps", removed=True)
    assert [p.kind for p in touchpoints_for(order(), no_nps, {}) if not p.kind.startswith("tip_")] == \
        ["thank_you", "checkin"]


@pytest.mark.parametrize("sku, category, days", [
    ("NCH-700", "electronics", 3),
    ("GCL-150", "skincare", 14),
    ("TR2-44", "footwear", 4),
    ("LDC-QUEEN", "home", 4),        # no override: the default
])
def test_category_overrides_from_config(shipped_schedule, sku, category, days):
    kinds = by_kind(touchpoints_for(order(sku=sku, category=category), shipped_schedule, {}))
    assert kinds["checkin"].due_at == DELIVERED + timedelta(days=days)


def test_sku_override_beats_category(shipped_schedule):
    schedule = load_settings(ROOT / "config.yml", environ={}, overrides={
        "schedule": {"touchpoints": {"checkin": {"skus": {"NCH-700": "10d"}}}}}).schedule
    kinds = by_kind(touchpoints_for(order(sku="NCH-700", category="electronics"), schedule, {}))
    assert kinds["checkin"].due_at == DELIVERED + timedelta(days=10)
    other = by_kind(touchpoints_for(order(sku="WEB-3", category="electronics"), schedule, {}))
    assert other["checkin"].due_at == DELIVERED + timedelta(days=3)


def test_nps_is_not_moved_by_checkin_overrides(shipped_schedule):
    kinds = by_kind(touchpoints_for(order(category="skincare", sku="GCL-150"),
                                    shipped_schedule, {}))
    assert kinds["nps"].due_at == DELIVERED + timedelta(days=30)


def test_shipped_only_falls_back_to_expected_transit(schedule):
    points = touchpoints_for(order(delivered_at=None, status="shipped"), schedule, SERUM)
    kinds = by_kind(points)
    estimate = SHIPPED + timedelta(days=5)
    assert delivery_anchor(order(delivered_at=None), schedule) == estimate
    assert kinds["checkin"].due_at == estimate + timedelta(days=4)
    assert kinds["nps"].due_at == estimate + timedelta(days=30)


def test_shipped_fallback_uses_the_skus_delay(shipped_schedule):
    facts = order(sku="NCH-700", category="electronics", delivered_at=None, status="shipped")
    kinds = by_kind(touchpoints_for(facts, shipped_schedule, {}))
    assert kinds["checkin"].due_at == SHIPPED + timedelta(days=5) + timedelta(days=3)


def test_delivery_date_wins_over_estimate(schedule):
    late = SHIPPED + timedelta(days=12)
    kinds = by_kind(touchpoints_for(order(delivered_at=late), schedule, {}))
    assert kinds["checkin"].due_at == late + timedelta(days=4)


def test_placed_order_has_only_its_thank_you(schedule):
    facts = order(shipped_at=None, delivered_at=None, status="placed")
    assert [p.kind for p in touchpoints_for(facts, schedule, SERUM)] == ["thank_you"]
    no_thanks = changed(schedule, "thank_you", removed=True)
    assert touchpoints_for(facts, no_thanks, SERUM) == []


@pytest.mark.parametrize("status", ["cancelled", "returned"])
def test_cancelled_or_returned_orders_get_nothing(schedule, status):
    assert touchpoints_for(order(status=status, sku="SERUM-30"), schedule, SERUM) == []


def test_replenishment_at_expected_run_out_minus_margin(schedule):
    facts = order(sku="SERUM-30", category="skincare", quantity=2)
    kinds = by_kind(touchpoints_for(facts, schedule, SERUM))
    assert schedule.touchpoints["replenishment"].before == timedelta(days=3)
    assert kinds["replenishment"].due_at == DELIVERED + timedelta(days=2 * 30 - 3)
    assert kinds["replenishment"].proactive and kinds["replenishment"].flow == "replenishment"


def test_replenishment_scales_with_quantity(schedule):
    one = by_kind(touchpoints_for(order(sku="SERUM-30", quantity=1), schedule, SERUM))
    three = by_kind(touchpoints_for(order(sku="SERUM-30", quantity=3), schedule, SERUM))
    assert one["replenishment"].due_at == DELIVERED + timedelta(days=27)
    assert three["replenishment"].due_at == DELIVERED + timedelta(days=87)


def test_replenishment_never_before_the_checkin(shipped_schedule):
    short = {"SERUM-30": Replenishment(usage_days=5, url="https://x")}
    facts = order(sku="SERUM-30", category="skincare", quantity=1)   # run-out 5d - 3d = 2d
    kinds = by_kind(touchpoints_for(facts, shipped_schedule, short))
    assert kinds["checkin"].due_at == DELIVERED + timedelta(days=14)
    assert kinds["replenishment"].due_at == kinds["checkin"].due_at


def test_replenishment_only_for_configured_skus(schedule):
    assert "replenishment" not in by_kind(touchpoints_for(order(), schedule, SERUM))


def test_replenishment_from_estimated_delivery(schedule):
    facts = order(sku="SERUM-30", delivered_at=None, status="shipped")
    kinds = by_kind(touchpoints_for(facts, schedule, SERUM))
    assert kinds["replenishment"].due_at == SHIPPED + timedelta(days=5 + 27)


def test_sorted_by_due_time_and_deterministic(schedule):
    long_checkin = changed(schedule, "checkin", after=timedelta(days=40))
    facts = order(sku="SERUM-30", quantity=1)
    points = touchpoints_for(facts, long_checkin, SERUM)
    # checkin (40d) now after nps (30d); replenishment clamps to the checkin, after it on ties
    assert [p.kind for p in points if not p.kind.startswith("tip_")] == ["thank_you", "nps", "checkin", "replenishment"]
    assert points == touchpoints_for(facts, long_checkin, SERUM)
    assert [p.due_at for p in points] == sorted(p.due_at for p in points)


def test_line_items_of_one_order_are_told_apart(schedule):
    shoes = touchpoints_for(order(), schedule, SERUM)
    serum = touchpoints_for(order(sku="SERUM-30"), schedule, SERUM)
    assert {p.sku for p in shoes} == {"TR2-44"} and {p.sku for p in serum} == {"SERUM-30"}


def test_times_are_utc_even_from_other_offsets(schedule):
    lisbon = timezone(timedelta(hours=1))
    facts = order(delivered_at=datetime(2026, 11, 6, 15, 20, tzinfo=lisbon))
    assert facts.delivered_at == DELIVERED and facts.delivered_at.tzinfo is UTC
    assert by_kind(touchpoints_for(facts, schedule, {}))["checkin"].due_at.tzinfo is UTC


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="aware"):
        order(purchased_at=datetime(2026, 11, 2, 10, 0))


@pytest.mark.parametrize("changes", [{"status": "lost"}, {"quantity": 0}])
def test_invalid_facts_are_refused(changes):
    with pytest.raises(ValueError):
        order(**changes)


def test_reschedule_checkin_after_not_used_yet(schedule):
    now = datetime(2026, 11, 10, 9, 30, tzinfo=UTC)
    assert reschedule_checkin(now, schedule) == now + timedelta(days=7)
    week2 = schedule.copy(update={"not_used_yet_delay": timedelta(days=14)})
    assert reschedule_checkin(now, week2) == now + timedelta(days=14)
    with pytest.raises(ValueError):
        reschedule_checkin(datetime(2026, 11, 10, 9, 30), schedule)


# ---- the delay notice (`from: late`) ---------------------------------------------------------

def test_a_shipped_undelivered_order_has_a_delay_notice_at_the_expected_date_plus_grace(schedule):
    kinds = by_kind(touchpoints_for(order(delivered_at=None, status="shipped"), schedule, {}))
    notice = kinds["delay_notice"]
    assert notice.due_at == SHIPPED + timedelta(days=5, hours=12) and notice.anchor == SHIPPED + timedelta(days=5)
    assert notice.message_class is MessageClass.SERVICE and not notice.proactive
    assert kinds["checkin"].anchor is None                     # only `late` kinds carry their anchor


def test_the_carriers_estimate_times_the_delay_notice_and_the_checkin(schedule):
    estimate = SHIPPED + timedelta(days=2)
    kinds = by_kind(touchpoints_for(order(delivered_at=None, status="shipped", expected_at=estimate), schedule, {}))
    assert kinds["delay_notice"].due_at == estimate + timedelta(hours=12)
    assert kinds["checkin"].due_at == estimate + timedelta(days=4)
    assert delivery_anchor(order(delivered_at=None, status="shipped", expected_at=estimate), schedule) == estimate


@pytest.mark.parametrize("changes", [{}, {"status": "cancelled", "delivered_at": None},
                                     {"shipped_at": None, "delivered_at": None, "status": "placed"}])
def test_no_delay_notice_once_delivered_cancelled_or_before_shipping(schedule, changes):
    assert "delay_notice" not in by_kind(touchpoints_for(order(**changes), schedule, {}))
