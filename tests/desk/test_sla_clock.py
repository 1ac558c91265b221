"""The SLA clock: per escalation reason, in business hours when a shop sets them."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tests.support.harness import make_settings

UTC = timezone.utc


def escalation(**overrides):
    return make_settings(escalation=overrides).escalation


def test_per_reason_minutes_else_the_default():
    e = escalation(sla_minutes=30, sla_by_reason={"human": 60})
    start = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    assert e.sla_due("human", start) == datetime(2026, 11, 2, 11, 0, tzinfo=UTC)
    assert e.sla_due("product_problem", start) == datetime(2026, 11, 2, 10, 30, tzinfo=UTC)
    assert e.sla_due("product_problem", start, share=0.75) == datetime(2026, 11, 2, 10, 22, 30, tzinfo=UTC)


def test_business_hours_carry_over_the_night_and_the_weekend():
    e = escalation(sla_minutes=60, business_hours={"days": ["mon", "tue", "wed", "thu", "fri"],
                                                   "start": "09:00", "end": "17:00", "timezone": "Europe/Lisbon"})
    friday_late = datetime(2026, 11, 6, 16, 30, tzinfo=UTC)          # Lisbon is UTC+0 in November
    assert e.sla_due("low_score", friday_late) == datetime(2026, 11, 9, 9, 30, tzinfo=UTC)   # Monday
    saturday = datetime(2026, 11, 7, 12, 0, tzinfo=UTC)
    assert e.sla_due("low_score", saturday) == datetime(2026, 11, 9, 10, 0, tzinfo=UTC)
    early = datetime(2026, 11, 3, 7, 0, tzinfo=UTC)
    assert e.sla_due("low_score", early, share=0.75) == datetime(2026, 11, 3, 9, 45, tzinfo=UTC)


@pytest.mark.parametrize("overrides, message", [
    ({"sla_by_reason": {"angry": 10}}, '"angry" is not an escalation reason'),
    ({"business_hours": {"start": "18:00", "end": "09:00"}}, "end 09:00 must be after start 18:00"),
    ({"business_hours": {"days": ["funday"]}}, '"funday" is not a day of the week'),
    ({"sla_warning": 1.5}, "sla_warning"),
])
def test_bad_sla_settings_are_refused_naming_the_key(overrides, message):
    with pytest.raises(Exception) as info:
        escalation(**overrides)
    assert message in str(info.value)
