"""The contact-pressure governor: blocks, suppression, quiet hours (DST too), the weekly cap."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.config.settings import QuietHours, ScheduleSettings, Settings
from bot.schedule.governor import (
    ContactFacts,
    Decision,
    MessageClass,
    cap_free_at,
    decide,
    explain,
    quiet_until,
    resolve_zone,
)

UTC = timezone.utc
# (QuietHours takes "HH:MM" strings: its validator refuses datetime.time objects)
NIGHT = QuietHours(start="21:00", end="09:00")
DAYTIME = QuietHours(start="13:00", end="15:00")
ALL_CLASSES = list(MessageClass)
PRESSURED = [MessageClass.PROACTIVE, MessageClass.OFFER]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(zone: str, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone), fold=fold)


def facts(**changes) -> ContactFacts:
    base = dict(consent=True, opted_out=False, reachable=True, timezone="Europe/Lisbon",
                proactive_sent=(), has_open_case=False, had_low_score=False)
    base.update(changes)
    return ContactFacts(**base)


@pytest.fixture
def schedule() -> ScheduleSettings:
    return Settings().schedule.copy(update={"timezone": "Europe/Lisbon"})


NOON = utc(2026, 11, 20, 12, 0)           # 12:00 in Lisbon (WET = UTC): outside quiet hours
MIDNIGHT = utc(2026, 11, 20, 23, 30)      # 23:30 in Lisbon: inside


# ---- never ------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ALL_CLASSES)
@pytest.mark.parametrize("changes, reason", [
    ({"opted_out": True}, "opted_out"),
    ({"reachable": False}, "unreachable"),
    ({"consent": False}, "no_consent"),
])
def test_opt_out_unreachable_and_no_consent_block_everything(schedule, kind, changes, reason):
    for now in (NOON, MIDNIGHT):
        decision = decide(kind, facts(**changes), now, schedule)
        assert decision == Decision(False, None, reason)
        assert decision.never


def test_opt_out_is_reported_before_other_blocks(schedule):
    everything = facts(opted_out=True, reachable=False, consent=False, has_open_case=True)
    assert decide(MessageClass.OFFER, everything, NOON, schedule).reason == "opted_out"
    assert decide(MessageClass.OFFER, facts(reachable=False, consent=False), NOON,
                  schedule).reason == "unreachable"


@pytest.mark.parametrize("changes, reason", [
    ({"has_open_case": True}, "open_case"),
    ({"had_low_score": True}, "low_score"),
])
def test_offers_never_go_to_an_open_case_or_a_low_score(schedule, changes, reason):
    for now in (NOON, MIDNIGHT):
        assert decide(MessageClass.OFFER, facts(**changes), now, schedule) == \
            Decision(False, None, reason)


@pytest.mark.parametrize("changes", [{"has_open_case": True}, {"had_low_score": True}])
def test_open_case_or_low_score_do_not_stop_check_ins_or_replies(schedule, changes):
    assert decide(MessageClass.PROACTIVE, facts(**changes), NOON, schedule).send
    assert decide(MessageClass.TRANSACTIONAL, facts(**changes), NOON, schedule).send


# ---- transactional ----------------------------------------------------------------------

def test_transactional_is_never_delayed(schedule):
    busy = facts(proactive_sent=[MIDNIGHT - timedelta(hours=1), MIDNIGHT - timedelta(days=1)])
    decision = decide(MessageClass.TRANSACTIONAL, busy, MIDNIGHT, schedule)
    assert decision == Decision(True, None, "ok")
    zero_cap = schedule.copy(update={"weekly_cap": 0})
    assert decide(MessageClass.TRANSACTIONAL, busy, MIDNIGHT, zero_cap).send


@pytest.mark.parametrize("kind", PRESSURED)
def test_proactive_goes_now_when_nothing_stops_it(schedule, kind):
    decision = decide(kind, facts(), NOON, schedule)
    assert decision.send and decision.wait_until is None and decision.reason == "ok"


# ---- quiet hours ------------------------------------------------------------------------

@pytest.mark.parametrize("zone, now, end", [
    # crossing midnight, evening side: ends tomorrow 09:00 local
    ("Europe/Lisbon", utc(2026, 11, 20, 21, 0), utc(2026, 11, 21, 9, 0)),
    ("Europe/Lisbon", utc(2026, 11, 20, 23, 59), utc(2026, 11, 21, 9, 0)),
    # crossing midnight, morning side: ends today 09:00 local
    ("Europe/Lisbon", utc(2026, 11, 21, 3, 0), utc(2026, 11, 21, 9, 0)),
    ("America/New_York", utc(2026, 11, 21, 3, 0), utc(2026, 11, 21, 14, 0)),   # 22:00 EST
    ("America/New_York", utc(2026, 11, 21, 13, 59), utc(2026, 11, 21, 14, 0)),  # 08:59 EST
    ("Asia/Tokyo", utc(2026, 11, 20, 12, 0), utc(2026, 11, 21, 0, 0)),          # 21:00 JST
    ("Asia/Tokyo", utc(2026, 11, 20, 23, 0), utc(2026, 11, 21, 0, 0)),          # 08:00 JST
    ("Australia/Sydney", utc(2026, 11, 20, 12, 0), utc(2026, 11, 20, 22, 0)),   # 23:00 AEDT
    ("Asia/Kolkata", utc(2026, 11, 20, 16, 0), utc(2026, 11, 21, 3, 30)),       # 21:30 IST
])
def test_quiet_hours_crossing_midnight(zone, now, end):
    assert quiet_until(now, zone, NIGHT) == end


@pytest.mark.parametrize("zone, now", [
    ("Europe/Lisbon", utc(2026, 11, 20, 9, 0)),        # the end itself is outside
    ("Europe/Lisbon", utc(2026, 11, 20, 20, 59)),
    ("America/New_York", utc(2026, 11, 20, 18, 0)),    # 13:00 EST
    ("Asia/Tokyo", utc(2026, 11, 20, 3, 0)),           # 12:00 JST
])
def test_outside_quiet_hours(zone, now):
    assert quiet_until(now, zone, NIGHT) is None


def test_quiet_hours_not_crossing_midnight():
    assert quiet_until(utc(2026, 11, 20, 13, 0), "Europe/Lisbon", DAYTIME) == \
        utc(2026, 11, 20, 15, 0)
    assert quiet_until(utc(2026, 11, 20, 14, 30), "Asia/Tokyo", DAYTIME) is None   # 23:30 JST
    assert quiet_until(utc(2026, 11, 20, 4, 30), "Asia/Tokyo", DAYTIME) == \
        utc(2026, 11, 20, 6, 0)                                                      # 13:30 JST
    assert quiet_until(utc(2026, 11, 20, 15, 0), "Europe/Lisbon", DAYTIME) is None
    assert quiet_until(utc(2026, 11, 20, 12, 59), "Europe/Lisbon", DAYTIME) is None


def test_equal_start_and_end_means_no_quiet_hours():
    never_quiet = QuietHours(start="09:00", end="09:00")
    for hour in range(24):
        assert quiet_until(utc(2026, 11, 20, hour, 0), "Europe/Lisbon", never_quiet) is None


@pytest.mark.parametrize("zone, now, end", [
    # Lisbon springs forward 2026-03-29 01:00 UTC: 09:00 WEST is 08:00 UTC, not 09:00
    ("Europe/Lisbon", utc(2026, 3, 28, 22, 0), utc(2026, 3, 29, 8, 0)),
    # and falls back 2026-10-25 01:00 UTC: 09:00 WET is 09:00 UTC, not 08:00
    ("Europe/Lisbon", utc(2026, 10, 24, 21, 0), utc(2026, 10, 25, 9, 0)),
    # New York springs forward 2026-03-08: the night is an hour shorter
    ("America/New_York", local("America/New_York", 2026, 3, 7, 22, 0),
     local("America/New_York", 2026, 3, 8, 9, 0)),
    ("America/New_York", utc(2026, 3, 8, 3, 0), utc(2026, 3, 8, 13, 0)),
    # and falls back 2026-11-01: an hour longer
    ("America/New_York", utc(2026, 11, 1, 2, 0), utc(2026, 11, 1, 14, 0)),
    # Sydney falls back 2026-04-05, springs forward 2026-10-04
    ("Australia/Sydney", utc(2026, 4, 4, 12, 0), utc(2026, 4, 4, 23, 0)),
    ("Australia/Sydney", utc(2026, 10, 3, 12, 0), utc(2026, 10, 3, 22, 0)),
])
def test_quiet_hours_on_dst_change_days(zone, now, end):
    assert quiet_until(now, zone, NIGHT) == end
    assert quiet_until(end, zone, NIGHT) is None
    assert quiet_until(end - timedelta(minutes=1), zone, NIGHT) == end


def test_quiet_end_inside_a_repeated_hour():
    """01:15 on the second pass of New York's repeated hour: quiet until the second 01:30."""
    small_hours = QuietHours(start="00:00", end="01:30")
    first = local("America/New_York", 2026, 11, 1, 0, 30)                    # EDT
    assert quiet_until(first, "America/New_York", small_hours) == utc(2026, 11, 1, 5, 30)
    second = local("America/New_York", 2026, 11, 1, 1, 15, fold=1)         # EST
    assert second.astimezone(UTC) == utc(2026, 11, 1, 6, 15)
    assert quiet_until(second, "America/New_York", small_hours) == utc(2026, 11, 1, 6, 30)


def test_quiet_end_inside_a_skipped_hour():
    """02:30 does not exist in New York on 2026-03-08: the window ends just past the gap."""
    night = QuietHours(start="22:00", end="02:30")
    now = utc(2026, 3, 8, 6, 0)                                              # 01:00 EST
    end = quiet_until(now, "America/New_York", night)
    assert end == utc(2026, 3, 8, 7, 30)                                     # 03:30 EDT
    assert quiet_until(end, "America/New_York", night) is None


@pytest.mark.parametrize("zone", ["Europe/Lisbon", "America/New_York", "Asia/Tokyo",
                                  "Australia/Sydney", "Asia/Kathmandu", "UTC"])
@pytest.mark.parametrize("quiet", [NIGHT, DAYTIME, QuietHours(start="22:30", end="07:45")])
def test_quiet_until_lands_exactly_on_the_end_all_year(zone, quiet):
    """Every 97 minutes through 2026: the answer is later, allowed, and a minute before is not."""
    now = utc(2026, 1, 1, 0, 0)
    while now.year == 2026:
        end = quiet_until(now, zone, quiet)
        if end is not None:
            assert end > now
            assert quiet_until(end, zone, quiet) is None
            assert end.astimezone(ZoneInfo(zone)).time() == quiet.end
            assert quiet_until(end - timedelta(minutes=1), zone, quiet) is not None
        now += timedelta(minutes=97)


@pytest.mark.parametrize("kind", PRESSURED)
def test_proactive_waits_for_the_customers_quiet_hours(schedule, kind):
    tokyo = facts(timezone="Asia/Tokyo")
    now = utc(2026, 11, 20, 13, 0)                                           # 22:00 JST
    decision = decide(kind, tokyo, now, schedule)
    assert decision == Decision(False, utc(2026, 11, 21, 0, 0), "quiet_hours", "Asia/Tokyo", 0)
    assert not decision.never
    assert decide(kind, facts(), now, schedule).send                        # 13:00 in Lisbon


def test_shop_zone_when_the_customer_has_none_or_a_bad_one(schedule):
    now = utc(2026, 11, 20, 22, 0)                                           # 22:00 Lisbon
    for zone in (None, "", "Mars/Olympus"):
        decision = decide(MessageClass.PROACTIVE, facts(timezone=zone), now, schedule)
        assert decision.wait_until == utc(2026, 11, 21, 9, 0)
        assert decision.zone == "Europe/Lisbon"
    assert resolve_zone("Asia/Tokyo", "UTC") == "Asia/Tokyo"
    assert resolve_zone("../etc/passwd", "UTC") == "UTC"


# ---- weekly cap -------------------------------------------------------------------------

def test_weekly_cap_waits_until_the_oldest_send_leaves_the_window(schedule):
    sent = utc(2026, 11, 18, 10, 0)                                          # 2 days ago
    decision = decide(MessageClass.PROACTIVE, facts(proactive_sent=[sent]), NOON, schedule)
    assert decision == Decision(False, sent + timedelta(days=7), "weekly_cap",
                                "Europe/Lisbon", 1)


def test_weekly_cap_counts_every_flow(schedule):
    """A check-in sent yesterday holds back today's NPS and an offer alike."""
    checkin_sent = NOON - timedelta(days=1)
    for kind in PRESSURED:
        decision = decide(kind, facts(proactive_sent=[checkin_sent]), NOON, schedule)
        assert decision.reason == "weekly_cap"
        assert decision.wait_until == checkin_sent + timedelta(days=7)


def test_rolling_window_edges(schedule):
    exactly_a_week = NOON - timedelta(days=7)
    assert decide(MessageClass.PROACTIVE, facts(proactive_sent=[exactly_a_week]), NOON,
                  schedule).send
    just_inside = exactly_a_week + timedelta(seconds=1)
    decision = decide(MessageClass.PROACTIVE, facts(proactive_sent=[just_inside]), NOON, schedule)
    assert decision.wait_until == NOON + timedelta(seconds=1)
    old = [NOON - timedelta(days=d) for d in (8, 10, 30)]
    assert decide(MessageClass.PROACTIVE, facts(proactive_sent=old), NOON, schedule).send


def test_higher_cap_allows_more_sends(schedule):
    cap2 = schedule.copy(update={"weekly_cap": 2})
    one = [NOON - timedelta(days=1)]
    assert decide(MessageClass.PROACTIVE, facts(proactive_sent=one), NOON, cap2).send
    two = [NOON - timedelta(days=3), NOON - timedelta(days=1)]
    decision = decide(MessageClass.PROACTIVE, facts(proactive_sent=two), NOON, cap2)
    assert decision.wait_until == NOON + timedelta(days=4)


def test_more_sends_than_the_cap_wait_for_enough_of_them_to_leave(schedule):
    """Cap lowered from 3 to 2 with 3 sends in the week: two must leave, not one."""
    cap2 = schedule.copy(update={"weekly_cap": 2})
    sends = [NOON - timedelta(days=d) for d in (5, 3, 1)]
    decision = decide(MessageClass.PROACTIVE, facts(proactive_sent=sends), NOON, cap2)
    assert decision.wait_until == NOON + timedelta(days=4)
    assert cap_free_at(sorted(sends), NOON, 2) == NOON + timedelta(days=4)
    assert cap_free_at(sends, NOON, 4) == NOON


def test_zero_cap_means_no_proactive_messages(schedule):
    zero = schedule.copy(update={"weekly_cap": 0})
    decision = decide(MessageClass.PROACTIVE, facts(), NOON, zero)
    assert not decision.send and decision.wait_until is None and decision.reason == "weekly_cap"


def test_cap_end_inside_quiet_hours_waits_for_morning(schedule):
    sent = utc(2026, 11, 15, 22, 30)     # sent late (e.g. a reminder); the week ends at 22:30
    decision = decide(MessageClass.PROACTIVE, facts(proactive_sent=[sent]), NOON, schedule)
    assert decision.reason == "weekly_cap"
    assert decision.wait_until == utc(2026, 11, 23, 9, 0)


def test_cap_end_in_quiet_hours_of_a_far_zone(schedule):
    sent = utc(2026, 11, 16, 14, 0)                                    # 23:00 JST
    tokyo = facts(timezone="Asia/Tokyo", proactive_sent=[sent])
    decision = decide(MessageClass.PROACTIVE, tokyo, NOON, schedule)   # week ends 23:00 JST
    assert decision.wait_until == utc(2026, 11, 24, 0, 0)              # next 09:00 JST


def test_sends_stamped_after_now_still_count(schedule):
    skewed = NOON + timedelta(minutes=2)
    decision = decide(MessageClass.PROACTIVE, facts(proactive_sent=[skewed]), NOON, schedule)
    assert decision.wait_until == skewed + timedelta(days=7)


@pytest.mark.parametrize("zone", ["Europe/Lisbon", "America/New_York", "Asia/Tokyo",
                                  "Australia/Sydney", None])
@pytest.mark.parametrize("cap", [1, 2, 3])
def test_wait_until_is_always_a_time_when_sending_is_allowed(schedule, zone, cap):
    """Whatever the history, deciding again at `wait_until` says send (no ping-pong)."""
    capped = schedule.copy(update={"weekly_cap": cap})
    start = utc(2026, 10, 20, 0, 0)       # spans Europe's and America's autumn DST changes
    seen = set()
    for step in range(0, 24 * 16, 5):
        now = start + timedelta(hours=step, minutes=step % 60)
        sent_count = (step // 5) % (cap + 2)          # 0 .. cap + 1 sends in the week
        history = [now - timedelta(hours=h) for h in (3, 40, 100, 150, 167)[:sent_count]]
        who = facts(timezone=zone, proactive_sent=history)
        decision = decide(MessageClass.PROACTIVE, who, now, capped)
        seen.add(decision.reason)
        if decision.send:
            continue
        assert decision.wait_until > now
        again = decide(MessageClass.PROACTIVE, who, decision.wait_until, capped)
        assert again.send, (now, decision, again)
    assert seen == {"ok", "quiet_hours", "weekly_cap"}


def test_naive_now_is_refused(schedule):
    with pytest.raises(ValueError, match="aware"):
        decide(MessageClass.PROACTIVE, facts(), datetime(2026, 11, 20, 12, 0), schedule)
    with pytest.raises(ValueError, match="aware"):
        quiet_until(datetime(2026, 11, 20, 12, 0), "UTC", NIGHT)


# ---- explain ----------------------------------------------------------------------------

def test_explain_quiet_hours(schedule):
    decision = decide(MessageClass.PROACTIVE, facts(), MIDNIGHT, schedule)
    assert explain(decision) == "waits for quiet hours to end at 09:00 Europe/Lisbon"
    tokyo = decide(MessageClass.PROACTIVE, facts(timezone="Asia/Tokyo"),
                   utc(2026, 11, 20, 13, 0), schedule)
    assert explain(tokyo) == "waits for quiet hours to end at 09:00 Asia/Tokyo"


def test_explain_weekly_cap_in_local_time(schedule):
    sent = utc(2026, 11, 18, 10, 0)
    ny = facts(timezone="America/New_York", proactive_sent=[sent])
    decision = decide(MessageClass.PROACTIVE, ny, utc(2026, 11, 20, 15, 0), schedule)
    assert decision.wait_until == utc(2026, 11, 25, 14, 0)   # 05:00 EST is quiet: 09:00 EST
    assert explain(decision) == \
        "weekly cap reached (1 in 7 days) until 2026-11-25 09:00 America/New_York"


@pytest.mark.parametrize("decision, text", [
    (Decision(True, None, "ok"), "sends now"),
    (Decision(False, None, "opted_out"), "never: the customer opted out"),
    (Decision(False, None, "unreachable"),
     "never: unreachable (blocked the bot or the account is gone)"),
    (Decision(False, None, "no_consent"), "never: no consent on this channel"),
    (Decision(False, None, "open_case"), "never: no offers or milestones while a case is open"),
    (Decision(False, None, "low_score"), "never: no offers after a low score or a case"),
    (Decision(False, None, "weekly_cap"), "never: the weekly cap is 0 (no proactive messages)"),
])
def test_explain_every_reason(decision, text):
    assert explain(decision) == text


def test_decisions_are_plain_values(schedule):
    one = decide(MessageClass.OFFER, facts(), MIDNIGHT, schedule)
    assert one == decide(MessageClass.OFFER, replace(facts()), MIDNIGHT, schedule)


# ---- service messages (a delay notice) -------------------------------------------------------

def test_a_service_message_ignores_the_weekly_cap(schedule):
    full_week = [NOON - timedelta(days=1), NOON - timedelta(days=2)]
    assert decide(MessageClass.PROACTIVE, facts(proactive_sent=full_week), NOON, schedule).reason == "weekly_cap"
    assert decide(MessageClass.SERVICE, facts(proactive_sent=full_week), NOON, schedule).send
    assert decide(MessageClass.SERVICE, facts(), NOON, schedule.copy(update={"weekly_cap": 0})).send


def test_a_service_message_waits_for_quiet_hours_and_honours_stop(schedule):
    decision = decide(MessageClass.SERVICE, facts(), MIDNIGHT, schedule)
    assert (decision.send, decision.reason, decision.wait_until) == (False, "quiet_hours", utc(2026, 11, 21, 9, 0))
    assert decide(MessageClass.SERVICE, facts(opted_out=True), NOON, schedule).never
