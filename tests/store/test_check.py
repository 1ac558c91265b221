"""The whole-database invariant check: silent on a database the product wrote, and naming the
row and the problem for each kind of corruption."""
from __future__ import annotations

from datetime import timedelta

import pytest

from bot.store.check import problems
from bot.base.events import InboundKind
from tests.support.harness import Harness, make_settings, shipped_flows

STEPS = {name: flow.steps for name, flow in shipped_flows().flows.items()}


@pytest.fixture
async def h() -> Harness:
    """A database with a little of everything: a case claimed and resolved, an opt-out."""
    h = Harness(make_settings(schedule={"weekly_cap": 5}))
    await h.start_checkin()
    await h.press("1")
    await h.say("the sole came off")
    await h.agent("claim")
    await h.agent("reply", "Sorry! A new pair is on its way.")
    await h.agent("resolve")
    await h.say("STOP")
    await h.advance(timedelta(days=2))
    return h


async def test_a_database_the_product_wrote_is_sound(h):
    assert h.identity().opted_out
    assert problems(h.store, STEPS) == []


@pytest.mark.parametrize("corrupt, expected", [
    ("update outbox set status = 'sent', attempts = 0, claimed_at = null where id = 1",
     "outbox row 1: sent without a recorded attempt"),
    ("update outbox set status = 'lost' where id = 1", "outbox row 1: unknown status 'lost'"),
    ("update outbox set payload = '{oops' where id = 1", "outbox row 1: payload is not a JSON object"),
    ("update conversations set slots = '[1]' where id = 1", "conversations row 1: slots are not a JSON object"),
    ("update conversations set step = 'nowhere' where id = 1", "has no step 'nowhere'"),
    ("update conversations set owner = 'human', status = 'active' where id = 1",
     "conversations row 1: owned by a human but has no open case"),
    ("update escalations set status = 'claimed', agent = null where id = 1", "escalations row 1: claimed without"),
    ("update messages set outbox_id = 9999 where id = 1", "points at outbox row 9999, which does not exist"),
])
async def test_each_corruption_is_named(h, corrupt, expected):
    h.store.db.execute(corrupt)
    found = problems(h.store, STEPS)
    assert any(expected in line for line in found), found


async def test_a_message_queued_after_the_opt_out_is_found(h):
    identity = h.identity()
    h.store.outbox.add("telegram", identity.address, identity.id, None, "one more thing", h.clock.now())
    [problem] = problems(h.store)
    assert "to opted-out identity" in problem and "after the opt-out" in problem


async def test_a_duplicated_event_and_a_shared_address_are_found(h):
    h.store.db.execute("create table pe2 as select * from processed_events")
    h.store.db.execute("drop table processed_events")
    h.store.db.execute("create table processed_events as select * from pe2 union all select * from pe2 where rowid = (select min(rowid) from pe2)")
    h.store.db.execute("insert into identities (customer_id, channel, address) values (99, 'telegram', ?)",
                       [h.identity().address])
    found = problems(h.store)
    assert any("recorded 2 times" in line for line in found), found
    assert any("identities share telegram address" in line for line in found), found


async def test_an_event_handled_twice_is_found(h, monkeypatch):
    """Issue #24: processed_events' key makes a repeated row impossible there, so the check looks
    where a second handling lands. Without the dedupe, one delivery repeated is found."""
    h2 = Harness(make_settings(schedule={"weekly_cap": 5}))
    await h2.start_checkin()
    event = h2.event(InboundKind.TEXT, text="the zip broke")
    assert await h2.deliver(event)
    assert await h2.deliver(event) is False                     # deduplicated: nothing to find
    assert problems(h2.store, STEPS) == []
    monkeypatch.setattr(h2.store.events, "first_time", lambda *args: True)     # the dedupe removed
    await h2.deliver(event)
    found = problems(h2.store, STEPS)
    assert any(f"event telegram/{event.event_id} was handled 2 times" in line for line in found), found


async def test_a_customer_message_with_no_processed_event_is_found(h):
    h.store.db.execute("delete from processed_events where rowid = (select min(rowid) from processed_events)")
    assert any("is not in processed_events" in line for line in problems(h.store, STEPS))
