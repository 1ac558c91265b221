"""`aftercare chat`: each session is its own customer address (issue #22: two sessions shared
one, so the second customer's text went into the first customer's open case)."""
from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

import pytest

from bot.live import chat as console_chat
from bot.live.chat import run_chat, session_address
from bot.orders.importing import import_rows
from bot.orders.files import OrderRow
from bot.store.store import Store
from tests.support.harness import make_settings
from tests.support.table_parser import TableParser


def test_every_session_gets_its_own_address():
    assert len({session_address() for _ in range(50)}) == 50


def _order(order_id: str, customer: str, name: str) -> OrderRow:
    now = datetime.now(timezone.utc)
    return OrderRow(line=1, order_id=order_id, customer_ref=customer, channel="console", product="Trail Runner 2 shoes",
                    sku="TR2-44", category="footwear", purchased_at=now - timedelta(days=9), quantity=1,
                    customer_name=name, address=None, timezone=None, shipped_at=now - timedelta(days=8),
                    delivered_at=now - timedelta(days=4), status="delivered", consent=True, language="en")


async def _session(monkeypatch, store: Store, order_id: str, lines: list[str]) -> None:
    typed = iter([*lines, "/quit"])
    monkeypatch.setattr(console_chat.Prompt, "ask", lambda *args, **kwargs: next(typed))
    await run_chat(make_settings(), store, TableParser(), order_id)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_a_second_session_never_writes_into_the_first_customers_case(monkeypatch):
    settings = make_settings()
    store = Store.memory()
    import_rows(store, settings, [_order("A-1", "C-1", "Ana Silva"), _order("B-1", "C-2", "Ben Ode")],
                datetime.now(timezone.utc))
    ana, ben = (store.orders.get(order).customer_id for order in ("A-1", "B-1"))
    await _session(monkeypatch, store, "A-1", ["it arrived broken"])
    assert store.cases.active_for_customer(ana) is not None
    await _session(monkeypatch, store, "B-1", ["hello from ben"])
    (ana_console,), (ben_console,) = store.customers.identities_of(ana), store.customers.identities_of(ben)
    assert ana_console.address != ben_console.address
    case = store.cases.active_for_customer(ana)
    ana_words = [m.text for m in store.conversations.last_messages(case.conversation_id, 50)]
    assert "hello from ben" not in ana_words and store.cases.active_for_customer(ben) is None
    ben_conversation = store.conversations.latest_for_identity(ben_console.id)
    assert "hello from ben" in [m.text for m in store.conversations.last_messages(ben_conversation.id, 50)]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_what_another_process_queues_shows_while_the_person_is_at_the_prompt(monkeypatch, tmp_path, capsys):
    """The chat runs on the MainLoop (its sender on its own task): an agent's reply that the
    sandbox beside it queues for this customer is sent and shown while the person is still at
    the prompt, not only once they type something."""
    db = tmp_path / "chat.db"
    store = Store.open(db)
    import_rows(store, make_settings(), [_order("A-1", "C-1", "Ana Silva")], datetime.now(timezone.utc))
    monkeypatch.setattr(console_chat, "session_address", lambda: "console-ana")
    seen_at_prompt: list[str] = []

    def at_the_prompt(*args, **kwargs) -> str:       # the person reads; another process writes
        other = Store.open(db)
        try:
            identity = other.customers.identity_at("console", "console-ana")
            row = other.outbox.add("console", "console-ana", identity.id, None, "Agent Kim: a new pair is on its way.",
                                   datetime.now(timezone.utc))
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and other.outbox.get(row).status != "sent":
                time.sleep(0.05)
            seen_at_prompt.append(other.outbox.get(row).status)
        finally:
            other.close()
        return "/quit"

    monkeypatch.setattr(console_chat.Prompt, "ask", at_the_prompt)
    await run_chat(make_settings(), store, TableParser(), "A-1")
    store.close()
    assert seen_at_prompt == ["sent"]
    assert "Agent Kim: a new pair is on its way." in capsys.readouterr().out


def test_the_chat_sends_only_its_own_channels_messages_and_support_posts(monkeypatch):
    """The calendar and the other channels belong to the running bot: a telegram message due in
    the same store is left for it (never failed here for want of a telegram adapter), and no
    touchpoint is started by the chat."""
    settings = make_settings()
    store = Store.memory()
    now = datetime.now(timezone.utc)
    import_rows(store, settings, [_order("A-1", "C-1", "Ana Silva"), _order("B-1", "C-2", "Ben Ode")], now)
    due_before = [t.status for t in store.orders.touchpoints("B-1")]
    ben = store.orders.get("B-1").customer_id
    telegram = store.customers.ensure_identity(ben, "telegram", "777", True, now, "test")
    queued = store.outbox.add("telegram", "777", telegram, None, "for the bot", now)
    monkeypatch.setattr(console_chat.Prompt, "ask", lambda *args, **kwargs: "/quit")
    asyncio.run(run_chat(settings, store, TableParser(), "A-1"))
    assert store.outbox.get(queued).status == "pending"
    assert [t.status for t in store.orders.touchpoints("B-1")] == due_before
