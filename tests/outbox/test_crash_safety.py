"""Invariant 3: kill -9 the dispatcher mid-batch, restart it: nothing lost, at most one
duplicate per crash, counted at the loopback Telegram server."""
from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from bot.sandbox.telegram_api import TelegramLimits, TelegramSandbox
from bot.store.store import Store

CHATS = 40
PER_CHAT = 3
ROOT = Path(__file__).resolve().parents[2]


def fill_outbox(db_path: Path) -> int:
    store = Store.open(db_path)
    now = datetime.now(timezone.utc)
    with store.transaction():
        for n in range(PER_CHAT):
            for chat in range(1, CHATS + 1):
                store.outbox.add("telegram", str(chat), None, None, f"msg {chat}-{n}", now)
    store.close()
    return CHATS * PER_CHAT


async def run_worker(db_path: Path, url: str, token: str, kill_after: float | None) -> int:
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.sandbox.dispatch_worker", str(db_path), url, token,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env)
    if kill_after is None:
        await asyncio.wait_for(proc.wait(), timeout=120)
    else:
        await asyncio.sleep(kill_after)
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    return proc.returncode


async def test_kill_minus_nine_loses_nothing_and_doubles_at_most_once_per_crash(tmp_path: Path) -> None:
    db_path = tmp_path / "outbox.db"
    total = fill_outbox(db_path)
    async with TelegramSandbox(limits=TelegramLimits(per_chat_per_second=50, per_chat_burst=50)) as api:
        for chat in range(1, CHATS + 1):
            await api.add_user(chat)
        crashes = 0
        for kill_after in (2.5, 1.0):        # two crashes at different points of the batch
            code = await run_worker(db_path, api.url, api.token, kill_after)
            assert code == -signal.SIGKILL, "the worker finished before it could be killed: make the batch bigger"
            crashes += 1
        code = await run_worker(db_path, api.url, api.token, None)
        assert code == 0
        received = Counter(m.text for chat in range(1, CHATS + 1) for m in api.messages_to(chat))
    expected = {f"msg {chat}-{n}" for chat in range(1, CHATS + 1) for n in range(PER_CHAT)}
    assert set(received) == expected, "a message was lost"
    duplicates = sum(count - 1 for count in received.values())
    assert duplicates <= crashes
    store = Store.open(db_path)
    assert store.outbox.counts() == {"sent": total}
