"""The dispatcher: the only sender. Retries, 429 retry_after, network backoff, unreachable
identities, crash reconcile (at most one duplicate), per-address order, opt-out silence."""
from __future__ import annotations

from datetime import timedelta

import pytest

from bot.base.clock import SimClock
from bot.base.events import SendResult, SendStatus
from bot.live.outbox import MAX_NETWORK_ATTEMPTS, Dispatcher, Limits
from bot.store.store import Store
from tests.support.harness import T0, FakeChannel, Harness


class Crash(BaseException):
    """The process dies mid-send (not an Exception: nothing catches it)."""


@pytest.fixture
def world():
    store = Store.memory()
    clock = SimClock(T0)
    channel = FakeChannel()
    dispatcher = Dispatcher(store, {"telegram": channel}, clock, {})
    customer_id = store.customers.upsert("C-1", "Ana", None, None, None, T0)
    identity_id = store.customers.ensure_identity(customer_id, "telegram", "1001", True, T0, source="test")
    other_customer = store.customers.upsert("C-2", "Bo", None, None, None, T0)
    other_identity = store.customers.ensure_identity(other_customer, "telegram", "2002", True, T0, source="test")

    class World:
        pass

    w = World()
    w.store, w.clock, w.channel, w.dispatcher = store, clock, channel, dispatcher
    w.identity, w.other = identity_id, other_identity

    def add(text, identity=identity_id, address="1001", **kw):
        return store.outbox.add("telegram", address, identity, None, text, clock.now(), **kw)

    w.add = add
    return w


def delivered(world, address="1001"):
    return world.channel.texts(address)


async def test_sends_due_rows_and_records_the_platform_id(world):
    oid = world.add("hello", buttons=[["Sure", "yes"]])
    assert await world.dispatcher.run_once() is None
    row = world.store.outbox.get(oid)
    assert (row.status, row.attempts) == ("sent", 1)
    assert row.platform_message_id == "100" and row.sent_at
    [message] = world.channel.delivered
    assert (message.address, message.text, [(b.label, b.value) for b in message.buttons]) == \
        ("1001", "hello", [("Sure", "yes")])


async def test_not_before_is_respected(world):
    world.store.outbox.add("telegram", "1001", world.identity, None, "later", T0,
                           not_before=T0 + timedelta(minutes=5))
    assert await world.dispatcher.run_once() == T0 + timedelta(minutes=5)
    assert delivered(world) == []
    world.clock.advance(timedelta(minutes=5))
    await world.dispatcher.run_once()
    assert delivered(world) == ["later"]


async def test_429_retry_after_is_honoured(world):
    oid = world.add("hello")
    world.channel.script.append(SendResult(SendStatus.RETRY, retry_after=30, error="429 Too Many Requests"))
    assert await world.dispatcher.run_once() == T0 + timedelta(seconds=30)
    row = world.store.outbox.get(oid)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "429 Too Many Requests")
    world.clock.advance(timedelta(seconds=29))
    await world.dispatcher.run_once()
    assert delivered(world) == [] and len(world.channel.attempts) == 1
    world.clock.advance(timedelta(seconds=1))
    await world.dispatcher.run_once()
    assert delivered(world) == ["hello"]
    assert world.store.outbox.get(oid).attempts == 2


async def test_429_retries_never_give_up(world):
    oid = world.add("hello")
    for _ in range(MAX_NETWORK_ATTEMPTS + 3):
        world.channel.script.append(SendResult(SendStatus.RETRY, retry_after=1, error="429"))
        await world.dispatcher.run_once()
        world.clock.advance(timedelta(seconds=1))
    await world.dispatcher.run_once()
    assert world.store.outbox.get(oid).status == "sent"


async def test_network_errors_back_off_exponentially_then_give_up(world):
    oid = world.add("hello")
    world.channel.script.extend([SendResult(SendStatus.RETRY, error="connection reset")] * MAX_NETWORK_ATTEMPTS)
    waits = []
    for _attempt in range(1, MAX_NETWORK_ATTEMPTS + 1):
        nxt = await world.dispatcher.run_once()
        if nxt is None:
            break
        waits.append((nxt - world.clock.now()).total_seconds())
        world.clock.set(nxt)
    assert waits[:4] == [2, 4, 8, 16]
    assert max(waits) <= 300
    row = world.store.outbox.get(oid)
    assert row.status == "failed" and row.attempts == MAX_NETWORK_ATTEMPTS
    assert "gave up" in row.last_error
    assert delivered(world) == []


async def test_adapter_exception_is_a_retry_not_a_dead_dispatcher(world):
    oid = world.add("hello")

    def boom(message):
        raise RuntimeError("adapter bug")

    world.channel.script.append(boom)
    nxt = await world.dispatcher.run_once()
    assert nxt == T0 + timedelta(seconds=2)
    assert "adapter bug" in world.store.outbox.get(oid).last_error
    world.clock.set(nxt)
    await world.dispatcher.run_once()
    assert delivered(world) == ["hello"]


async def test_permanent_failure_is_not_retried(world):
    oid = world.add("hello")
    world.add("next one")
    world.channel.script.append(SendResult(SendStatus.FAILED, error="400 Bad Request: message is too long"))
    await world.dispatcher.run_once()
    world.clock.advance(timedelta(hours=1))
    await world.dispatcher.run_once()
    assert world.store.outbox.get(oid).status == "failed"
    assert delivered(world) == ["next one"]


async def test_unreachable_marks_identity_and_cancels_pending(world):
    first = world.add("one")
    second = world.add("two")
    later = world.store.outbox.add("telegram", "1001", world.identity, None, "tomorrow", T0,
                                   not_before=T0 + timedelta(days=1))
    other = world.add("for Bo", identity=world.other, address="2002")
    world.channel.blocked.add("1001")
    await world.dispatcher.run_once()
    assert world.store.outbox.get(first).status == "unreachable"
    assert not world.store.customers.identity(world.identity).reachable
    assert world.store.outbox.get(second).status == "cancelled"
    assert world.store.outbox.get(later).status == "cancelled"
    assert world.store.outbox.get(other).status == "sent"
    assert len([m for m in world.channel.attempts if m.address == "1001"]) == 1
    # anything queued afterwards is never attempted
    new = world.add("are you there?")
    world.channel.blocked.clear()
    await world.dispatcher.run_once()
    assert world.store.outbox.get(new).status == "cancelled"
    assert delivered(world) == []


async def test_crash_mid_send_costs_at_most_one_duplicate(world):
    rows = [world.add(f"m{n}") for n in range(3)]

    def deliver_then_die(message):
        world.channel.delivered.append(message)      # the platform got it ...
        raise Crash()                                # ... and we died before recording it

    world.channel.script.append(deliver_then_die)
    with pytest.raises(Crash):
        await world.dispatcher.run_once()
    assert world.store.outbox.get(rows[0]).status == "sending"
    # restart: a new dispatcher on the same store reconciles first
    restarted = Dispatcher(world.store, {"telegram": world.channel}, world.clock, {})
    assert restarted.reconcile() == 1
    await restarted.run_once()
    assert delivered(world) == ["m0", "m0", "m1", "m2"]
    assert restarted.reconcile() == 0
    await restarted.run_once()
    assert delivered(world) == ["m0", "m0", "m1", "m2"]
    assert all(world.store.outbox.get(r).status == "sent" for r in rows)


async def test_per_address_order_survives_a_retry(world):
    world.add("a1")
    world.add("a2")
    world.add("b1", identity=world.other, address="2002")
    world.add("a3")
    world.channel.script.append(SendResult(SendStatus.RETRY, retry_after=10, error="429"))
    await world.dispatcher.run_once()
    assert delivered(world) == [] and delivered(world, "2002") == ["b1"]
    world.clock.advance(timedelta(seconds=10))
    await world.dispatcher.run_once()
    assert delivered(world) == ["a1", "a2", "a3"]


async def test_per_address_order_survives_network_backoff(world):
    world.add("a1")
    world.channel.script.append(SendResult(SendStatus.RETRY, error="timeout"))
    nxt = await world.dispatcher.run_once()
    world.add("a2")                              # queued while a1 waits for its retry
    await world.dispatcher.run_once()
    assert delivered(world) == []
    world.clock.set(nxt)
    await world.dispatcher.run_once()
    assert delivered(world) == ["a1", "a2"]


async def test_opted_out_identity_gets_nothing_but_the_confirmation(world):
    before = world.add("queued before the opt-out")
    world.store.customers.opt_out(world.identity, T0, source="test")
    confirmation = world.add("Done: you won't get any more messages", payload={"opt_out_confirmation": True})
    after = world.add("a check-in from another flow")
    await world.dispatcher.run_once()
    assert delivered(world) == ["Done: you won't get any more messages"]
    assert world.store.outbox.get(before).status == "cancelled"
    assert world.store.outbox.get(after).status == "cancelled"
    assert world.store.outbox.get(confirmation).status == "sent"


async def test_identity_without_an_address_gets_nothing(world):
    customer_id = world.store.customers.upsert("C-3", "Cy", None, None, None, T0)
    unlinked = world.store.customers.ensure_identity(customer_id, "telegram", None, True, T0, source="test")
    oid = world.store.outbox.add("telegram", None, unlinked, None, "hi", T0)
    await world.dispatcher.run_once()
    assert world.store.outbox.get(oid).status == "cancelled" and world.channel.attempts == []


async def test_unknown_channel_fails_the_row(world):
    oid = world.store.outbox.add("whatsapp", "1", None, None, "hi", T0)
    await world.dispatcher.run_once()
    assert world.store.outbox.get(oid).status == "failed"


async def test_rate_limit_spaces_sends_to_one_chat(world):
    dispatcher = Dispatcher(world.store, {"telegram": world.channel}, world.clock,
                            {"telegram": Limits(per_address=1.0, per_channel=30.0, burst=5)})
    for n in range(3):
        world.add(f"m{n}")
    world.add("other", identity=world.other, address="2002")
    nxt = await dispatcher.run_once()
    assert delivered(world) == ["m0"] and delivered(world, "2002") == ["other"]
    assert nxt == T0 + timedelta(seconds=1)
    world.clock.set(nxt)
    await dispatcher.run_once()
    assert delivered(world) == ["m0", "m1"]


async def test_rate_limit_per_channel_bucket(world):
    dispatcher = Dispatcher(world.store, {"telegram": world.channel}, world.clock,
                            {"telegram": Limits(per_address=100.0, per_channel=2.0)})
    for n in range(4):
        world.add(f"to {n}", identity=None, address=str(5000 + n))
    await dispatcher.run_once()
    assert len(world.channel.delivered) == 1
    world.clock.advance(timedelta(seconds=1))
    await dispatcher.run_once()
    assert len(world.channel.delivered) == 2


# ---- support-channel posts (through the real core) -------------------------------------------

async def test_thread_post_waits_for_its_case_card():
    h = Harness()
    await h.start_checkin()
    await h.say("it broke")                       # escalates: a case card
    assert h.case().card_ts == h.desk.posts[0].ts
    await h.say("and the box was wet")            # thread post under the card
    assert h.desk.posts[1].thread_ts == h.desk.posts[0].ts
    assert h.desk.posts[1].text == "Customer: and the box was wet"
