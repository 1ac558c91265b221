"""`aftercare chat`: each session is its own customer address (issue #22: two sessions shared
one, so the second customer's text went into the first customer's open case)."""
from __future__ import annotations

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
