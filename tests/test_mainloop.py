"""The one main loop (bot/live/mainloop.py) that `aftercare run`, the sandbox demo and `simulate`
drive: a step does the calendar's work and the sends due at one instant, and says when to
come back; `run` does the same on the wall clock until stopped."""
from __future__ import annotations

import asyncio
import os
import signal
from datetime import datetime, timedelta, timezone

from bot.live.mainloop import MainLoop, Turn, earliest, stop_on_signals
from bot.store.store import Store
from bot.base.clock import parse_iso
from tests.support.harness import Harness, make_settings

UTC = timezone.utc


def test_earliest_skips_the_unset():
    a, b = datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    assert earliest(a, None, b) == b
    assert earliest(None, None) is None
    assert Turn(None, a).at == a and Turn(b, a).at == b


async def test_a_step_starts_the_due_checkin_sends_it_and_says_when_to_come_back():
    h = Harness()
    h.add_order()
    checkin = parse_iso(h.touchpoint("A-1", "checkin").due_at)
    h.store.orders.skip_touchpoints_before("A-1", checkin)
    main = MainLoop(h.core, upkeep=False)
    before = await main.step(checkin - timedelta(minutes=1))
    assert h.channel.texts() == []
    assert before.calendar == checkin                   # nothing sent: come back at the check-in
    h.clock.set(checkin)
    after = await main.step(checkin)
    assert h.channel.texts()[-1].startswith("How is Trail Runner 2")   # started and sent in one step
    assert h.touchpoint("A-1", "checkin").status == "started"
    assert after.calendar is not None and after.calendar > checkin   # the reminder's wake-up
    assert after.send is None


async def test_upkeep_is_part_of_the_step_unless_left_out():
    """The weekly digest is the calendar's work too: on a Monday 09:00 the loop with upkeep
    posts it; `simulate`'s loop (upkeep=False) plays only the conversation."""
    monday_nine = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    posted = {}
    for upkeep in (True, False):
        h = Harness(start=datetime(2026, 10, 28, 10, 0, tzinfo=UTC))
        h.add_order()
        await h.start_checkin()
        await h.press("5")
        h.desk.posts.clear()
        h.clock.set(monday_nine)
        await MainLoop(h.core, upkeep=upkeep).step(monday_nine)
        posted[upkeep] = [p for p in h.desk_texts() if p.startswith("*Weekly digest*")]
    assert len(posted[True]) == 1 and posted[False] == []


async def test_run_on_the_wall_clock_stops_and_sends_what_is_due_on_the_way_out():
    h = Harness(start=datetime.now(UTC))
    stop = asyncio.Event()
    task = asyncio.create_task(MainLoop(h.core, upkeep=False).run(stop, idle_sleep=3600))
    await asyncio.sleep(0.05)
    with h.store.transaction():
        h.store.outbox.add("telegram", "777", None, None, "hello", h.clock.now())
    stop.set()
    await asyncio.wait_for(task, 10)
    assert h.channel.texts("777") == ["hello"]
    assert isinstance(h.store, Store) and h.store.outbox.counts() == {"sent": 1}


async def test_a_step_reports_what_the_scheduler_held_back_and_why():
    """The sandbox narrates holds from these, so they must be the decisions actually made."""
    h = Harness(start=datetime(2026, 11, 2, 12, 0, tzinfo=UTC))
    h.add_order(delivered=datetime(2026, 10, 29, 22, 30, tzinfo=UTC), purchased=datetime(2026, 10, 28, 9, 0, tzinfo=UTC))
    h.store.orders.skip_touchpoints_before("A-1", datetime(2026, 11, 2, 0, 0, tzinfo=UTC))
    main = MainLoop(h.core, upkeep=False)
    night = datetime(2026, 11, 2, 22, 30, tzinfo=UTC)        # the check-in falls due in quiet hours
    h.clock.set(night)
    turn = await main.step(night)
    [hold] = turn.holds
    checkin = h.touchpoint("A-1", "checkin")
    assert (hold.kind, hold.order_id, hold.key, hold.reason) == ("checkin", "A-1", ("touchpoint", checkin.id), "quiet_hours")
    assert hold.due_at == night and hold.until == datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
    assert hold.decision is not None and not hold.decision.send
    assert (checkin.status, checkin.held_reason) == ("held", "quiet_hours")   # what the store says too
    assert (await main.step(night)).holds == ()                                       # told once
    assert turn.calendar == hold.until


async def test_a_reminder_held_at_night_is_reported_as_a_wake_hold():
    h = Harness(make_settings(schedule={"weekly_cap": 5, "reminder_after": "26h"}),
                start=datetime(2026, 11, 2, 20, 0, tzinfo=UTC))
    await h.start_checkin()
    main = MainLoop(h.core, upkeep=False)
    night = h.clock.now() + timedelta(hours=26, minutes=5)    # 22:05: quiet
    h.clock.set(night)
    [hold] = (await main.step(night)).holds
    assert hold.key[0] == "wake" and hold.kind == "remind" and hold.reason == "quiet_hours"
    assert hold.until == datetime(2026, 11, 4, 9, 0, tzinfo=UTC) and not hold.dropped


async def test_sigterm_and_ctrl_c_set_the_stop_event_of_the_bot_and_the_sandbox():
    """One handler for `aftercare run`, live or sandbox: the signal asks the loop to stop."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        stop = asyncio.Event()
        stop_on_signals(stop)
        try:
            os.kill(os.getpid(), sig)
            await asyncio.wait_for(stop.wait(), timeout=5)
        finally:
            loop.remove_signal_handler(signal.SIGTERM)
            loop.remove_signal_handler(signal.SIGINT)
        assert stop.is_set()
