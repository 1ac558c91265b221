"""Deep-link opt-in end to end: the real PTB client, the loopback Bot API, the app's inbound
handler and store. A good token binds the chat once; forged, expired and reused ones bind nothing."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.channels.telegram import TelegramChannel
from bot.channels.telegram_links import make_link_token
from bot.channels.console import MemoryDesk
from bot.base.clock import SystemClock
from bot.config.loading import load_settings
from bot.live.core import build_core
from bot.orders.importing import import_rows
from bot.orders.files import OrderRow
from bot.sandbox.platforms.telegram_api import TelegramLimits, TelegramSandbox
from bot.sandbox.world import wait_processed
from bot.store.store import Store
from tests.support.table_parser import TableParser

ROOT = Path(__file__).resolve().parents[2]
SECRET = b"test-link-secret"


@pytest.fixture
async def linked_world():
    api = TelegramSandbox(limits=TelegramLimits.off())
    url = await api.start()
    store = Store.memory()
    settings = load_settings(ROOT / "config.yml")
    now = datetime.now(timezone.utc)
    import_rows(store, settings, [OrderRow(
        line=2, order_id="L-1", customer_ref="cust-1", channel="telegram", product="Trail Runner 2 shoes",
        sku="TR2-44", category="footwear", purchased_at=now - timedelta(days=1), customer_name="Ana Silva")], now)
    channel = TelegramChannel(api.token, base_url=url, poll_timeout=1)
    core = build_core(settings, store, TableParser(), SystemClock(), {"telegram": channel}, desk=MemoryDesk(),
                      link_secret=SECRET, limits={})
    await channel.start(core.on_event)
    customer_id = store.customers.upsert("cust-1", "Ana Silva", None, None, None, now)
    yield api, core, customer_id
    await channel.stop()
    await api.stop()


async def start_with(api, core, chat_id: int, token: str) -> list[str]:
    await api.add_user(chat_id, "Ana")
    injected = await api.user_sends(chat_id, f"/start {token}")
    await wait_processed(core.store, "telegram", str(injected.update_id))
    await core.dispatcher.run_once()
    return [m.text for m in api.messages_to(chat_id)]


def identity(core, customer_id):
    return next(i for i in core.store.customers.identities_of(customer_id) if i.channel == "telegram")


def token_for(customer_id: int, expires_in: timedelta, secret: bytes = SECRET) -> str:
    return make_link_token(customer_id, secret, int((datetime.now(timezone.utc) + expires_in).timestamp()))


async def test_good_token_binds_the_chat_and_is_recorded(linked_world):
    api, core, customer_id = linked_world
    texts = await start_with(api, core, 501, token_for(customer_id, timedelta(days=1)))
    assert identity(core, customer_id).address == "501"
    assert any("You're all set" in t for t in texts)
    assert any(e.action == "link" and e.source == "telegram-link" for e in core.store.customers.ledger(customer_id))


async def test_forged_token_binds_nothing(linked_world):
    api, core, customer_id = linked_world
    texts = await start_with(api, core, 502, token_for(customer_id, timedelta(days=1), secret=b"someone-else"))
    assert identity(core, customer_id).address is None
    assert texts and "isn't valid" in texts[-1]


async def test_expired_token_binds_nothing(linked_world):
    api, core, customer_id = linked_world
    texts = await start_with(api, core, 503, token_for(customer_id, timedelta(seconds=-5)))
    assert identity(core, customer_id).address is None
    assert texts and "expired" in texts[-1]


async def test_reused_token_binds_only_the_first_chat(linked_world):
    api, core, customer_id = linked_world
    token = token_for(customer_id, timedelta(days=1))
    await start_with(api, core, 504, token)
    texts = await start_with(api, core, 505, token)
    assert identity(core, customer_id).address == "504"
    assert texts and "already been used" in texts[-1]
