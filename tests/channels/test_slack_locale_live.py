"""The Slack user's locale decides their language when the order does not say one: the real
slack-bolt / slack-sdk adapter asks users.info (include_locale) of the loopback Slack, the app
stores it with the identity and answers in it; the order's language still wins over it."""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import pytest

from bot.base.clock import SimClock
from bot.config.settings import Settings
from bot.live.core import Core, build_core
from bot.flowfiles import load_catalogs
from bot.orders.importing import import_rows
from bot.live.mainloop import MainLoop
from bot.orders.files import OrderRow
from bot.sandbox.world import SandboxWorld
from bot.store.store import Store
from tests.support.harness import DIALOGS, T0, make_settings, shipped_flows
from tests.support.table_parser import TableParser

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
CATALOGS = load_catalogs(DIALOGS)
INBOX = "Thanks for your message! If something's wrong with your order, tell me what happened, or write 'agent' to reach a person."
HELP = ("I'm the shop's follow-up assistant: I check how your order is doing and get you to a person when "
        "something's wrong. Write 'agent' for a person, or STOP to never hear from me again.")


def order(n: int, address: str, language=None) -> OrderRow:
    return OrderRow(line=n, order_id=f"S-{n}", customer_ref=f"SC-{n}", channel="slack", product="Trail Runner 2 shoes",
                    sku="TR2-44", category="footwear", purchased_at=T0 - timedelta(days=9), customer_name="Ana Silva",
                    address=address, shipped_at=T0 - timedelta(days=8), delivered_at=T0 - timedelta(days=4),
                    status="delivered", language=language)


@dataclass
class Live:
    """The bot on a simulated clock with the real adapters against the loopback platforms."""

    world: SandboxWorld
    core: Core
    store: Store
    settings: Settings
    clock: SimClock


@pytest.fixture
async def live():
    clock = SimClock(T0)
    store = Store.memory()
    world = await SandboxWorld(make_settings(schedule={"weekly_cap": 5}), seconds=lambda: clock.now().timestamp()).start()
    try:
        settings = world.settings_for_sandbox()
        core = build_core(settings, store, TableParser(), clock, world.channels, desk=world.desk, flows=shipped_flows())
        await world.connect(core.on_event, core.on_agent_action)
        yield Live(world, core, store, settings, clock)
    finally:
        await world.stop()


async def test_the_slack_locale_is_the_language_unless_the_order_says_one(live):
    api, store = live.world.server("slack"), live.store
    german = api.add_user("ana", locale="de-AT")
    french_order = api.add_user("bea", locale="de-DE")
    stranger = api.add_user("cy", locale="es-ES")
    import_rows(store, live.settings, [order(1, german), order(2, french_order, "fr")], live.clock.now())

    for user in (german, french_order, stranger):
        await api.user_sends_dm(user, "hallo")
    await live.world.adapter("slack").idle()
    await live.core.dispatcher.run_once()
    assert api.dms_to(stranger)[-1].text == CATALOGS.translate(HELP, "es")     # not a customer yet
    assert store.customers.identity_at("slack", german).language_code == "de-AT"   # stored, as Telegram's is
    assert CATALOGS.translate(INBOX, "de") in [m.text for m in api.dms_to(german)]
    assert CATALOGS.translate(INBOX, "fr") in [m.text for m in api.dms_to(french_order)]  # the order's wins
    assert INBOX not in [m.text for m in api.dms_to(german) + api.dms_to(french_order)]
    assert api.calls["users.info"] == 3


async def test_a_customer_who_never_wrote_is_first_written_to_in_their_slack_locale(live):
    api, store = live.world.server("slack"), live.store
    italian = api.add_user("ana", locale="it-IT")
    told = api.add_user("bea", locale="it-IT")                 # the order says French: never asked
    import_rows(store, live.settings, [order(1, italian), order(2, told, "fr")], live.clock.now())
    loop = MainLoop(live.core, upkeep=False)
    for _ in range(4):
        await loop.step(live.clock.now())                      # the main loop asks, then writes
    assert await live.core.resolve_locales() == 0 and api.calls["users.info"] == 1   # asked once, stored
    assert store.customers.identity_at("slack", italian).language_code == "it-IT"
    assert store.customers.identity_at("slack", told).language_code is None
    first = api.dms_to(italian)[0].text
    assert first.startswith("Grazie per il tuo ordine, Ana!") or first.startswith("Ciao Ana!"), first
    # bought 9 days ago: the thank-you is past its 2-day expiry (dropped), so the check-in comes first
    assert api.dms_to(told)[0].text.startswith(("Merci", "Bonjour Ana"))
