"""SQL statements per inbound message (issue #27: the store round trips of one reply).

Counted with sqlite3's trace callback on the store's connection, through the real core: the
inbound handler (dedupe, identity, routing, the engine step, its effects in one transaction)
and the dispatcher's send of the reply. A count, not a timing: the ceilings are today's
figures, so a change that adds a round trip to every message has to say so here.
"""
from __future__ import annotations

import re
from collections import Counter

import pytest

from bot.base.events import InboundKind
from tests.support.harness import Harness

# today's counts: a free text that starts a conversation, a tap that feeds one. Session 24:
# 35 and 36 -> 28 and 29. Session 25: the context's facts read only when a step uses them
# (-> 20 and 20), one read of the language before the parse, the outbox's order worked out
# inside its insert, the question in the state's update, no savepoint inside the inbound
# transaction (-> 15 and 15), the latest order with its items in one read, the identity with
# its customer in one read (-> 13 and 14). The
# dispatcher's send: 12 either way. bench/inbound_profile.py --sql-only counts the live mix,
# the send included.
HANDLE_CEILING = {"start": 13, "feed": 14}
SEND_CEILING = 12


def _statements(h: Harness) -> list[str]:
    seen: list[str] = []
    h.store.db.conn.set_trace_callback(seen.append)
    return seen


def _reads(statements: list[str]) -> Counter[str]:
    """Row reads by table and key: `select * from "customers" where id = 1 ...` -> customers 1
    (a conversation read by its identity counts as a read of the conversations table)."""
    tables = Counter[str]()
    for sql in statements:
        found = re.match(r'select \* from "?(\w+)"? where (id|order_id|identity_id) = (\S+)', sql.strip(), re.IGNORECASE)
        if found:
            table, key, value = found.groups()
            tables[table if table == "conversations" else f"{table} {key} {value}"] += 1
    return tables


async def _handled(h: Harness, **event) -> list[str]:
    seen = _statements(h)
    await h.core.on_event(h.event(**event))     # as a channel delivers: language, parse, handle
    handled = list(seen)
    h.store.db.conn.set_trace_callback(None)
    return handled


@pytest.fixture
async def h() -> Harness:
    harness = Harness()
    await harness.start_checkin()
    return harness


async def test_a_message_that_starts_a_conversation_stays_within_its_statement_budget():
    h = Harness()
    h.add_order()                                    # no conversation yet: this message starts one
    statements = await _handled(h, text="hello")
    assert h.conversations(), "the message started no conversation"
    assert len(statements) <= HANDLE_CEILING["start"], "\n".join(statements)
    assert statements.count("BEGIN ") + statements.count("BEGIN") <= 1, "more than one transaction per inbound event"


async def test_a_tap_that_feeds_a_conversation_stays_within_its_statement_budget(h):
    statements = await _handled(h, kind=InboundKind.BUTTON, button_value="4", reply_to=h.last_question_id())
    assert [r.score for r in h.responses()] == [4]
    assert len(statements) <= HANDLE_CEILING["feed"], "\n".join(statements)


@pytest.mark.parametrize("kind", ["start", "feed"])
async def test_one_inbound_message_reads_each_row_once_inside_its_transaction(kind):
    h = Harness()
    if kind == "start":
        h.add_order()
        event = dict(text="hello")
    else:
        await h.start_checkin()
        event = dict(kind=InboundKind.BUTTON, button_value="4", reply_to=h.last_question_id())
    statements = await _handled(h, **event)
    begin = next(n for n, sql in enumerate(statements) if sql.strip().upper().startswith("BEGIN"))
    inside = _reads(statements[begin:])
    repeated = {table: count for table, count in inside.items() if count > 1}
    assert not repeated, f"rows read more than once in one inbound transaction: {repeated}"


async def test_sending_one_reply_stays_within_its_statement_budget():
    h = Harness()
    h.add_order()
    await h.core.on_event(h.event(text="hello"))
    seen = _statements(h)
    await h.core.dispatcher.run_once()
    h.store.db.conn.set_trace_callback(None)
    assert h.channel.texts(), "nothing was sent"
    assert len(seen) <= SEND_CEILING, "\n".join(seen)
