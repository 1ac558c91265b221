"""`aftercare orders watch DIR`: files that land in a folder are imported like `orders import`
and then moved aside (done/, or failed/ with a .errors file), never lost."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.store.store import Store
from bot.orders.watch import scan_once
from tests.support.harness import ROOT, make_settings
from tests.test_cli import config  # noqa: F401  (the CLI's temporary config fixture)

SAMPLE = ROOT / "data" / "sample_orders.csv"
BAD = ROOT / "tests" / "data" / "bad_orders.csv"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def drop(folder: Path, name: str, text: str, age: float = 60.0) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    old = time.time() - age
    os.utime(path, (old, old))
    return path


@pytest.fixture
def store():
    store = Store.memory()
    yield store
    store.close()


def scan(store, folder):
    return scan_once(store, make_settings(), folder, lambda: datetime.now(timezone.utc))


def test_a_good_file_is_imported_and_moved_to_done(store, tmp_path):
    drop(tmp_path, "orders.csv", SAMPLE.read_text(encoding="utf-8"))
    picked, = scan(store, tmp_path)
    assert picked.ok and picked.report.inserted == store.orders.count() > 0
    assert picked.moved_to == tmp_path / "done" / "orders.csv" and picked.moved_to.exists()
    assert not (tmp_path / "orders.csv").exists()
    assert scan(store, tmp_path) == []                       # nothing left to do


def test_bad_rows_keep_the_good_ones_and_the_file_goes_to_failed_with_its_errors(store, tmp_path):
    drop(tmp_path, "bad.csv", BAD.read_text(encoding="utf-8"))
    picked, = scan(store, tmp_path)
    assert picked.moved_to == tmp_path / "failed" / "bad.csv"
    assert {r["order_id"] for r in store.db["orders"].rows} == {"B-1", "B-9"}
    errors = (tmp_path / "failed" / "bad.csv.errors").read_text(encoding="utf-8").splitlines()
    assert errors[0].startswith("2 good rows were imported")
    assert "bad.csv:3: missing order_id (row skipped)" in errors
    assert picked.moved_to.read_text(encoding="utf-8") == BAD.read_text(encoding="utf-8")   # never lost


def test_an_unreadable_file_goes_to_failed_and_nothing_is_imported(store, tmp_path):
    drop(tmp_path, "broken.json", '{"orders": [')
    picked, = scan(store, tmp_path)
    assert picked.report is None and "invalid JSON" in picked.error
    assert (tmp_path / "failed" / "broken.json").read_text(encoding="utf-8") == '{"orders": ['
    assert "nothing was imported" in (tmp_path / "failed" / "broken.json.errors").read_text(encoding="utf-8")
    assert store.orders.count() == 0


def test_files_being_written_and_other_names_are_left_alone(store, tmp_path):
    drop(tmp_path, "fresh.csv", SAMPLE.read_text(encoding="utf-8"), age=0)
    drop(tmp_path, "upload.csv.tmp", "x")
    drop(tmp_path, ".hidden.csv", "x")
    assert scan(store, tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [".hidden.csv", "fresh.csv", "upload.csv.tmp"]


def test_the_same_name_twice_never_overwrites_the_first(store, tmp_path):
    drop(tmp_path, "orders.csv", SAMPLE.read_text(encoding="utf-8"))
    scan(store, tmp_path)
    drop(tmp_path, "orders.csv", SAMPLE.read_text(encoding="utf-8"))
    picked, = scan(store, tmp_path)
    assert picked.report.inserted == 0 and picked.report.unchanged > 0
    assert sorted(p.name for p in (tmp_path / "done").iterdir()) == ["orders.1.csv", "orders.csv"]


def test_cli_watch_once(config, tmp_path):  # noqa: F811
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    drop(inbox, "a.csv", SAMPLE.read_text(encoding="utf-8"))
    drop(inbox, "b.json", "not json")
    result = CliRunner().invoke(main, ["--config", str(config), "orders", "watch", str(inbox), "--once"])
    assert result.exit_code == 3, result.output           # b.json failed: cron can tell (README, "Exit codes")
    assert f"{inbox / 'a.csv'}: " in result.output and "-> " + str(inbox / "done" / "a.csv") in result.output
    assert f"{inbox / 'b.json'}: " in result.stderr and str(inbox / "failed" / "b.json") in result.stderr


def test_cli_watch_runs_on_the_main_loop_and_stops_cleanly_on_sigterm(config, tmp_path):  # noqa: F811
    """`orders watch` is a driver of the MainLoop (its scan the loop's one job): a file dropped
    while it runs is imported, and SIGTERM (what a service manager sends) ends it cleanly after
    the turn in hand: "stopped", exit 0, the store closed; a hand-made `while True: sleep` loop
    dies of the signal instead."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    aftercare = Path(sys.executable).with_name("aftercare")
    watcher = subprocess.Popen([str(aftercare), "--config", str(config), "orders", "watch", str(inbox), "--every", "0.2s"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"})
    try:
        drop(inbox, "a.csv", SAMPLE.read_text(encoding="utf-8"))
        deadline = time.monotonic() + 60           # a hang guard: start-up on a loaded machine
        while not (inbox / "done" / "a.csv").exists() and watcher.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (inbox / "done" / "a.csv").exists(), watcher.stderr.read() if watcher.poll() is not None else "no import"
        watcher.send_signal(signal.SIGTERM)
        out, err = watcher.communicate(timeout=30)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.communicate()
    assert watcher.returncode == 0, err
    assert out.splitlines()[-1] == "stopped" and f"{inbox / 'a.csv'}: " in out
