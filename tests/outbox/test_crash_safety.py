"""Invariant 3 under fire: kill -9 the dispatcher again and again mid-batch, with API latency,
each time after the server accepted a send and while sends are pending; restart it. Counted
at the loopback Telegram server: nothing lost, per-chat order kept, and every duplicate is a
send that was in flight (claimed, unconfirmed) at a kill, at most one copy each. The full
drill (1,000 messages, 10 kills) runs in `make bench`."""
from __future__ import annotations

from pathlib import Path

from bot.sandbox.platforms.telegram_crash_drill import outbound_drill, summary


async def test_kill_minus_nine_mid_dispatch_loses_nothing(tmp_path: Path) -> None:
    result = await outbound_drill(tmp_path, messages=150, chats=30, kills=3, latency=0.1, seed=3)
    print("\n" + "\n".join(summary(result)))
    assert len(result.in_flight) == 3 and all(n >= 1 for n in result.accepted_before_kill)
    assert result.lost == 0
    assert result.unexplained_duplicates == 0
    assert all(charged <= len(flight) for charged, flight in zip(result.duplicates_per_kill(), result.in_flight))
    assert result.order_violations == 0
