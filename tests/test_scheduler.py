"""The scheduler with the governor, end to end on a simulated clock: quiet hours hold, the weekly
cap counts every flow, one reminder then a quiet close, unlinked customers wait."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone


from bot.base.clock import iso, parse_iso
from tests.support.harness import ADDRESS, Harness, make_settings

UTC = timezone.utc
CSAT_Q = "How is Trail Runner 2 shoes working for you? Tap 1 (not good) to 5 (great)."
REMINDER = "Just checking in: how is Trail Runner 2 shoes working for you so far? 1 (not good) to 5 (great)."
GREETING = "Hi Ana! Thanks again for your order."


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def sent_at(h: Harness, text: str) -> datetime:
    row = h.store.db.execute("select sent_at from outbox where text = ? and status = 'sent' order by id", [text]).fetchone()
    assert row, f"{text!r} was never sent"
    return parse_iso(row[0])


def contacts(h: Harness, ref: str = "C-1") -> list[str]:
    return [r["kind"] for r in h.store.db["contacts"].rows_where("customer_id = ?", [h.customer_id(ref)], order_by="id")]


# ---- quiet hours ------------------------------------------------------------------------------

async def test_checkin_due_at_night_waits_for_the_morning():
    # delivered so that the check-in falls due at 22:30 Lisbon (UTC+0 in November)
    h = Harness(start=at(2026, 11, 2, 12, 0))
    h.add_order(delivered=at(2026, 10, 29, 22, 30), purchased=at(2026, 10, 28, 9, 0))
    h.store.orders.skip_touchpoints_before("A-1", at(2026, 11, 2, 0, 0))
    await h.advance(timedelta(hours=10, minutes=30))            # 22:30: due now
    assert h.texts() == []
    checkin = h.touchpoint("A-1", "checkin")
    assert (checkin.status, checkin.held_reason) == ("held", "quiet_hours")
    assert checkin.due_at == iso(at(2026, 11, 3, 9, 0))
    await h.advance(timedelta(hours=12))
    assert h.texts() == [GREETING, CSAT_Q]
    assert sent_at(h, CSAT_Q) == at(2026, 11, 3, 9, 0)


async def test_quiet_hours_follow_the_customers_time_zone():
    # 12:00 UTC is 21:00 in Tokyo: quiet until 09:00 Tokyo = 00:00 UTC
    h = Harness(start=at(2026, 11, 2, 12, 0))
    await h.start_checkin(timezone_name="Asia/Tokyo")
    assert h.texts() == []
    await h.advance(timedelta(hours=12))
    assert h.texts() == [GREETING, CSAT_Q]
    assert sent_at(h, CSAT_Q) == at(2026, 11, 3, 0, 0)


async def test_replies_inside_a_conversation_are_not_held_at_night():
    h = Harness(make_settings(schedule={"weekly_cap": 5}), start=at(2026, 11, 2, 20, 50))
    await h.start_checkin()
    h.clock.set(at(2026, 11, 2, 23, 30))                       # the customer answers late at night
    await h.press("5")
    await h.press("yes")
    assert sent_at(h, "Thank you! Here's the link: https://shop.example/p/trail-runner-2/review") == at(2026, 11, 2, 23, 30)
    assert contacts(h) == ["checkin"]                           # replies are not contacts


async def test_reminder_due_at_night_waits_for_the_morning():
    h = Harness(make_settings(schedule={"weekly_cap": 5}), start=at(2026, 11, 2, 20, 0))
    await h.start_checkin()
    await h.advance(timedelta(hours=24, minutes=5))             # 20:05 next day: not quiet
    assert h.texts()[-1] == REMINDER
    h2 = Harness(make_settings(schedule={"weekly_cap": 5, "reminder_after": "26h"}), start=at(2026, 11, 2, 20, 0))
    await h2.start_checkin()
    await h2.advance(timedelta(hours=26, minutes=5))            # 22:05: quiet
    assert h2.texts() == [GREETING, CSAT_Q]
    await h2.advance(timedelta(hours=11))
    assert h2.texts()[-1] == REMINDER and sent_at(h2, REMINDER) == at(2026, 11, 4, 9, 0)


# ---- the weekly cap, across flows --------------------------------------------------------------

async def test_weekly_cap_holds_a_second_checkin_for_a_week():
    h = Harness()
    h.add_order("A-1")
    h.add_order("A-2", sku="WEB-3", product="Wireless Earbuds", category="electronics",
                delivered=h.clock.now() - timedelta(days=3))
    for order in ("A-1", "A-2"):
        h.store.orders.skip_touchpoints_before(order, h.clock.now() - timedelta(hours=1))
    await h.pump()
    assert h.texts() == [GREETING, CSAT_Q]
    await h.press("3")
    await h.say("more colours")
    held = h.touchpoint("A-2", "checkin")
    assert (held.status, held.held_reason) == ("held", "weekly_cap")
    assert parse_iso(held.due_at) == sent_at(h, CSAT_Q) + timedelta(days=7)
    await h.advance(timedelta(days=6, hours=23))
    assert not any("Wireless Earbuds" in t for t in h.texts())
    await h.advance(timedelta(hours=2))
    assert h.texts()[-1] == "How is Wireless Earbuds working for you? Tap 1 (not good) to 5 (great)."
    assert contacts(h) == ["checkin", "checkin"]


async def test_weekly_cap_counts_nps_and_checkin_together():
    h = Harness()
    await h.start_checkin()
    await h.press("5")
    await h.press("no")
    # a second order's NPS falls due three days later: capped by the first order's check-in
    h.add_order("A-0", delivered=h.clock.now() - timedelta(days=27), purchased=h.clock.now() - timedelta(days=30))
    h.store.orders.skip_touchpoints_before("A-0", h.clock.now())
    await h.advance(timedelta(days=3, hours=1))
    nps = h.touchpoint("A-0", "nps")
    assert (nps.status, nps.held_reason) == ("held", "weekly_cap")
    await h.advance(timedelta(days=4))
    assert h.texts()[-1].startswith("Hi Ana! How likely are you to recommend us")
    assert contacts(h) == ["checkin", "nps"]


async def test_zero_cap_suppresses_proactive_messages():
    h = Harness(make_settings(schedule={"weekly_cap": 0}))
    await h.start_checkin()
    assert h.texts() == []
    assert h.touchpoint("A-1", "checkin").status == "suppressed:weekly_cap"


# ---- reminders and the quiet close ---------------------------------------------------------------

TIP_TEXTS = {"A week in: if the laces loosen on the way, try a runner's knot (through the last eyelet) for a snug heel.",
             "Was this tip helpful?"}


async def test_one_reminder_then_quiet_close():
    h = Harness(make_settings(schedule={"weekly_cap": 5}))
    await h.start_checkin()
    await h.advance(timedelta(hours=24))
    assert h.texts() == [GREETING, CSAT_Q, REMINDER]
    assert h.conversation().wake_kind == "close"
    await h.advance(timedelta(hours=48))
    assert h.texts() == [GREETING, CSAT_Q, REMINDER]           # no goodbye
    assert h.conversation().status == "closed"
    await h.advance(timedelta(days=5))
    assert [t for t in h.texts() if t not in TIP_TEXTS] == [GREETING, CSAT_Q, REMINDER]   # a week-1 tip may follow
    assert [c for c in contacts(h) if c != "tip"] == ["checkin"]   # the reminder took no slot of its own


async def test_a_reminder_belongs_to_its_contact_even_under_the_shipped_cap():
    """shared/CONVERSATION.md: a reminder uses no new slot of the weekly cap (one a week)."""
    h = Harness()
    await h.start_checkin()
    await h.advance(timedelta(days=4))
    assert h.texts() == [GREETING, CSAT_Q, REMINDER]
    assert h.conversation().status == "closed"               # then the quiet close
    assert contacts(h) == ["checkin"]


async def test_a_reminder_waits_for_quiet_hours():
    h = Harness(make_settings(schedule={"reminder_after": "12h"}))
    await h.start_checkin()                                     # 10:00 Lisbon: due at 22:00, quiet
    await h.advance(timedelta(hours=13))
    assert h.texts() == [GREETING, CSAT_Q]
    await h.advance(timedelta(hours=10))                        # 09:00 the next morning
    assert h.texts() == [GREETING, CSAT_Q, REMINDER]


async def test_a_reminder_is_dropped_when_the_customer_became_unreachable():
    h = Harness()
    await h.start_checkin()
    h.store.customers.mark_unreachable(h.identity().id)
    await h.advance(timedelta(days=4))
    assert h.texts() == [GREETING, CSAT_Q]
    assert h.conversation().status == "closed"


async def test_answer_before_the_reminder_cancels_it():
    h = Harness(make_settings(schedule={"weekly_cap": 5}))
    await h.start_checkin()
    await h.advance(timedelta(hours=20))
    await h.press("4")
    await h.press("no")
    await h.advance(timedelta(days=3))
    assert REMINDER not in h.texts()


async def test_rescheduled_checkin_resumes_later_through_the_governor():
    h = Harness(make_settings(schedule={"weekly_cap": 5}))
    await h.start_checkin()
    await h.say("haven't tried them yet")
    assert h.texts()[-1] == "No rush! I'll check back in 7 days."
    await h.advance(timedelta(days=6, hours=23))
    assert h.texts()[-1] == "No rush! I'll check back in 7 days."
    await h.advance(timedelta(hours=2))
    assert h.texts()[-1] == CSAT_Q
    assert contacts(h) == ["checkin", "checkin"]


async def test_thanks_after_not_used_yet_does_not_cancel_the_check_back():
    h = Harness(make_settings(schedule={"weekly_cap": 5}))
    await h.start_checkin()
    await h.say("haven't tried them yet")
    await h.advance(timedelta(days=1))
    await h.say("thank you!")
    assert h.texts()[-1] == "You're welcome! Enjoy Trail Runner 2 shoes."
    await h.advance(timedelta(days=6, hours=1))
    assert h.texts()[-1] == CSAT_Q
    await h.press("5")
    assert h.scores() == {"csat": 5}


# ---- who may be contacted ------------------------------------------------------------------------

async def test_not_linked_customer_is_held_until_linked():
    h = Harness()
    await h.start_checkin(address=None)
    checkin = h.touchpoint("A-1", "checkin")
    assert (checkin.status, checkin.held_reason) == ("held", "not linked yet")
    assert parse_iso(checkin.due_at) == h.clock.now() + timedelta(days=1)
    h.store.customers.bind_address(h.identity().id, ADDRESS, h.clock.now(), source="telegram-link")
    await h.advance(timedelta(days=1))
    assert h.texts() == [GREETING, CSAT_Q]
    assert h.store.orders.due_touchpoints(h.clock.now()) == []


async def test_no_consent_never_gets_a_checkin():
    h = Harness()
    await h.start_checkin(consent=False)
    await h.advance(timedelta(days=2))
    assert h.texts() == []
    assert h.touchpoint("A-1", "checkin").status == "suppressed:no_consent"


async def test_opted_out_customer_never_gets_a_touchpoint():
    h = Harness()
    await h.start_checkin()
    await h.say("stop")
    h.add_order("A-2", delivered=h.clock.now())
    await h.advance(timedelta(days=40))
    assert h.texts()[-1].startswith("Done: you won't get any more messages")
    assert all(t.status.startswith(("suppressed", "skipped", "started", "expired"))
               for t in h.store.orders.touchpoints("A-2")
               if parse_iso(t.due_at) <= h.clock.now())


async def test_cancelled_order_touchpoint_is_cancelled():
    h = Harness()
    h.add_order(delivered=h.clock.now() - timedelta(days=4))
    h.store.db["orders"].update("A-1", {"status": "cancelled"})
    await h.pump()
    assert h.texts() == []
    assert h.touchpoint("A-1", "checkin").status == "cancelled"


async def test_thank_you_is_transactional():
    """Sent at once, even in quiet hours, and never counted against the cap."""
    h = Harness(start=at(2026, 11, 2, 23, 0))
    h.add_order(status="placed", delivered=None, purchased=at(2026, 11, 2, 23, 0))
    await h.pump()
    assert h.texts() == ["Thank you for your order, Ana! I'll check in once Trail Runner 2 shoes has arrived and "
                         "you've had a chance to try it."]
    assert contacts(h) == []


async def test_due_report_explains_each_wait():
    h = Harness(start=at(2026, 11, 2, 22, 0))
    h.add_order(delivered=at(2026, 10, 29, 21, 0), purchased=at(2026, 10, 27, 9, 0))
    h.add_order("B-1", customer_ref="C-2", address=None, delivered=at(2026, 10, 29, 21, 0),
                purchased=at(2026, 10, 27, 9, 0))
    report = {(i.order_id, i.kind): i.verdict for i in h.core.scheduler.due_report(h.clock.now())}
    assert report[("A-1", "checkin")] == "waits for quiet hours to end at 09:00 Europe/Lisbon"
    assert report[("B-1", "checkin")] == "waits: the customer has not linked telegram yet"


async def test_after_a_delay_notice_the_checkin_waits_for_the_real_delivery_and_says_so():
    h = Harness(start=at(2026, 11, 2, 10, 0))
    h.add_order(status="shipped", delivered=None, purchased=at(2026, 10, 25, 9, 0))     # shipped Oct 26, late
    await h.pump()
    assert any("is taking longer than we promised" in t for t in h.texts())
    await h.advance(timedelta(days=4))                       # the check-in's estimated time comes and goes
    assert h.touchpoint("A-1", "checkin").held_reason == "not delivered yet"
    report = {i.kind: i.verdict for i in h.core.scheduler.due_report(h.clock.now(), timedelta(days=2))}
    assert report["checkin"] == "waits: not delivered yet (a delay notice went out; timed from the real delivery)"
    assert not any(t.startswith("Hi Ana! Thanks again") for t in h.texts())
