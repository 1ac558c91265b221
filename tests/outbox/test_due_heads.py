"""The dispatcher's read of the queue: the first due row of each address, in send order.

`Outbox.due_heads` walks the due rows in send order, keeping those with no earlier pending row to
their address: every page of it must be the plain definition, with channels left out or not."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from bot.base.clock import iso
from bot.store.store import Store

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)


def expected_heads(store: Store, now: datetime, excluding: frozenset[str] = frozenset()) -> list[int]:
    """The definition, in Python: per (channel, address), the pending due row first by
    (not_before, id); those heads by (not_before, id)."""
    rows = store.db.execute("select id, channel, address, not_before from outbox where status = 'pending' "
                            "and not_before <= ?", [iso(now)]).fetchall()
    heads: dict[tuple, tuple] = {}
    for row_id, channel, address, not_before in rows:
        if channel in excluding:
            continue
        key = (channel, address)
        if key not in heads or (not_before, row_id) < heads[key]:
            heads[key] = (not_before, row_id)
    return [row_id for _, row_id in sorted(heads.values())]


def queue(seed: int) -> Store:
    """Rows to a handful of addresses on two channels (one with no address), some sent, some
    claimed, some held to later, some at the same moment (ties go by id)."""
    rng = random.Random(seed)
    store = Store.memory()
    for n in range(120):
        channel = rng.choice(["telegram", "telegram", "slack"])
        address = rng.choice(["11", "12", "13", "14", "15", None] if channel == "slack" else ["11", "12", "13", "21"])
        at = T0 + timedelta(seconds=rng.choice([0, 0, 1, 2, 5, 30, 600]))
        row_id = store.outbox.add(channel, address, None, None, f"m{n}", T0, not_before=at)
        fate = rng.random()
        if fate < 0.3:
            store.outbox.claim(row_id, T0)
            if fate < 0.2:
                store.outbox.sent(row_id, "1", T0)
        elif fate < 0.4:   # a retry pushed it (and its address's later rows) back
            store.outbox.claim(row_id, T0)
            store.outbox.retry(row_id, T0 + timedelta(seconds=rng.choice([3, 60])), "429")
    return store


@pytest.mark.parametrize("seed", range(12))
def test_every_page_of_heads_is_the_definition(seed):
    store = queue(seed)
    for now in (T0, T0 + timedelta(seconds=4), T0 + timedelta(hours=1)):
        for excluding in (frozenset(), frozenset({"telegram"}), frozenset({"slack", "support"})):
            want = expected_heads(store, now, excluding)
            assert [r.id for r in store.outbox.due_heads(now, limit=1000, excluding=excluding)] == want
            for limit in (1, 2, 5, 32):
                for offset in range(0, len(want) + 2, limit):
                    got = [r.id for r in store.outbox.due_heads(now, limit=limit, offset=offset, excluding=excluding)]
                    assert got == want[offset:offset + limit], (now, excluding, limit, offset)
