"""Stores filled the way a shop's would be: one headless sandbox run (`make run` without the
terminal: the sample orders, loopback Telegram and Slack, simulated customers and agent), kept
on disk; each test works on its own copy."""
from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

import pytest

from bot.config.loading import load_settings
from bot.sandbox.demo import SandboxDemo
from bot.store.store import Store
from tests.support.harness import CONFIG, write_config
from tests.support.table_parser import TableParser

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture(scope="session")
def sandbox_db(tmp_path_factory) -> tuple[Path, SandboxDemo]:
    """The store of one finished sandbox run (and the run, for its end time)."""
    settings = load_settings(CONFIG, environ={})
    path = tmp_path_factory.mktemp("sandbox") / "sandbox.db"
    store = Store.open(path)
    demo = SandboxDemo(settings, store, TableParser(), speed=0)
    asyncio.run(asyncio.wait_for(demo.run(), timeout=90))
    store.close()
    return path, demo


@pytest.fixture
def sandbox_store(sandbox_db, tmp_path) -> Store:
    """A private copy of the sandbox run's store."""
    copy = tmp_path / "store" / "aftercare.db"
    copy.parent.mkdir()
    source, target = sqlite3.connect(sandbox_db[0]), sqlite3.connect(copy)
    source.backup(target)
    source.close()
    target.close()
    store = Store.open(copy)
    yield store
    store.close()


@pytest.fixture
def config_for(tmp_path):
    """A config file whose store is `path` (the shipped config otherwise)."""
    return lambda path: write_config(tmp_path, path)


def held_text(store: Store) -> str:
    """Every value of every table, as one string: what a search of the file would find."""
    parts = []
    for table in store.db.table_names():
        for row in store.db.execute(f"select * from [{table}]").fetchall():
            parts.extend(str(v) for v in row if v is not None)
    return "\n".join(parts)
