"""Adding a channel is one module: a toy web chat declared in tests/ takes an order import, a
check-in through the real scheduler, dispatcher (with its declared limits) and outbox, and
its own STOP command, without any change in bot/."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.channels.console import MemoryDesk
from bot.channels.registry import ChannelRegistry, desk_channel
from bot.channels.spec import Capability
from bot.base.clock import SimClock, parse_iso
from bot.live.core import build_core, default_limits
from bot.base.events import InboundEvent, InboundKind
from bot.orders.importing import import_rows
from bot.orders.files import parse_orders
from bot.store.store import Store
from tests.channels.webchat import SPEC, WebChatChannel
from tests.support.harness import T0, RecordingParser, make_settings, shipped_flows

ORDERS = """order_id,customer_ref,customer_name,channel,address,product,sku,category,purchased_at,delivered_at,consent
W-1,C-9,Rui Costa,webchat,w-42,Trail Runner 2 shoes,TR2-44,footwear,2026-10-25,2026-10-29,yes
W-2,C-10,Eva Lima,webchat,42,Trail Runner 2 shoes,TR2-44,footwear,2026-10-25,2026-10-29,yes
"""


@pytest.fixture
def webchat() -> ChannelRegistry:
    """The built-in channels and the web chat: a registry of this test's own (none is shared)."""
    registry = ChannelRegistry()
    registry.register(SPEC)
    return registry


async def test_a_third_channel_runs_a_checkin_through_the_real_dispatcher(webchat) -> None:
    rows, errors = parse_orders(ORDERS, "csv", "orders.csv", channels=webchat)
    assert [r.channel for r in rows] == ["webchat"]
    assert [e.reason for e in errors] == ['address: "42" is not a web chat visitor id (w-<number>)']

    settings = make_settings()
    limits = default_limits(settings, webchat)
    assert limits["webchat"].per_address == 2.0            # declared by the channel, not the core
    store, clock, channel, parser = Store.memory(), SimClock(T0), WebChatChannel(), RecordingParser()
    core = build_core(settings, store, parser, clock, {"webchat": channel}, desk=MemoryDesk(),
                      flows=shipped_flows(), limits=limits, channel_specs=webchat)
    import_rows(store, settings, rows, clock.now())
    due = parse_iso(next(t for t in store.orders.touchpoints("W-1") if t.kind == "checkin").due_at)
    store.orders.skip_touchpoints_before("W-1", due)
    clock.set(max(due, clock.now()))
    await channel.start(core.on_event)
    for _ in range(20):
        core.scheduler.tick(clock.now())
        await core.dispatcher.run_once()
        clock.set(clock.now() + timedelta(seconds=1))

    assert channel.sent and {(m.channel, m.address) for m in channel.sent} == {("webchat", "w-42")}
    question = channel.sent[-1]
    assert "Trail Runner 2" in question.text and [b.value for b in question.buttons] == ["1", "2", "3", "4", "5"]
    assert store.outbox.counts().get("sent") == len(channel.sent)

    assert channel.on_event is not None
    await channel.on_event(InboundEvent("webchat", "v1", "w-42", InboundKind.TEXT, clock.now(), text="#stop"))
    assert parser.calls == []                               # the channel's STOP command needs no NLU
    identity = store.customers.identity_at("webchat", "w-42")
    assert identity is not None and identity.opted_out


def test_an_order_cannot_name_an_unregistered_channel(webchat) -> None:
    """Registering the web chat on the fixture's registry leaves every other one as it was."""
    _, errors = parse_orders(ORDERS, "csv", "orders.csv")
    assert any('"webchat" is not a channel' in e.reason for e in errors)
    assert "webchat" in webchat.names() and "webchat" not in ChannelRegistry().names()


class LocaleWebChat(WebChatChannel):
    """The toy web chat, knowing each visitor's browser language."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    async def user_locale(self, address: str) -> str:
        self.asked.append(address)
        return "pt-BR"


async def test_a_channel_declares_how_many_languages_it_looks_up_per_turn() -> None:
    spec = replace(SPEC, capabilities=SPEC.capabilities | {Capability.LOCALE_LOOKUP}, locale_lookups=2)
    registry = ChannelRegistry()
    registry.register(spec)
    rows, _ = parse_orders("\n".join([ORDERS.splitlines()[0]] + [
        f"W-{n},C-{n},Visitor {n},webchat,w-{n},Trail Runner 2 shoes,TR2-44,footwear,2026-10-25,2026-10-29,yes"
        for n in range(1, 4)]), "csv", "orders.csv", channels=registry)
    settings = make_settings()
    store, channel = Store.memory(), LocaleWebChat()
    core = build_core(settings, store, RecordingParser(), SimClock(T0), {"webchat": channel},
                      desk=MemoryDesk(), flows=shipped_flows(), limits={}, channel_specs=registry)
    import_rows(store, settings, rows, T0)
    assert await core.resolve_locales() == 2 and channel.asked == ["w-1", "w-2"]   # the declared few per turn
    assert await core.resolve_locales() == 1 and channel.asked[-1] == "w-3"


def test_the_erasure_log_counts_the_desks_posts_under_the_channel_that_carries_it() -> None:
    carriers = ChannelRegistry().with_capability(Capability.DESK)
    assert desk_channel() == carriers[0].name                   # the shipped desk's own name, as in old logs
    assert desk_channel(ChannelRegistry((SPEC,))) == "desk"     # no channel carries one
