"""Issue #24, findings 8 and 9: the store's files are private, erased text is overwritten
whatever SQLite's build defaults, forget reaches the answers to a customer's address before it
was linked, and `suppressed` holds keyed hashes (rows made before are keyed by a migration)."""
from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from sqlite_utils import Database

from bot.base.events import InboundKind
from bot.ops.data_rights import forget_customer
from bot.store.privacy import ERASED
from bot.store.store import Store
from tests.support.harness import Harness, make_settings

UTC_NOW_ADDRESS = "5555"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_store_and_its_wal_and_shm_are_readable_by_their_owner_only(tmp_path):
    old = os.umask(0o022)                     # what most shells run with: files 0644 by default
    try:
        store = Store.open(tmp_path / "shop.db")
        store.customers.upsert("C-1", "Ana", "ana@example.com", None, "en", _now())
        files = [tmp_path / name for name in ("shop.db", "shop.db-wal", "shop.db-shm")]
        assert all(f.exists() for f in files)
        assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
        store.close()
    finally:
        os.umask(old)


def test_a_store_made_world_readable_before_is_tightened_on_open(tmp_path):
    path = tmp_path / "old.db"
    Store.open(path).close()
    for name in ("old.db", "old.db-wal", "old.db-shm"):
        side = tmp_path / name
        side.touch()
        side.chmod(0o644)
    Store.open(path).close()
    assert mode(path) == 0o600
    assert all(mode(tmp_path / n) == 0o600 for n in ("old.db-wal", "old.db-shm") if (tmp_path / n).exists())


def test_secure_delete_is_on_whatever_the_build_default(tmp_path):
    db = Database(tmp_path / "x.db")
    db.execute("PRAGMA secure_delete = OFF")
    store = Store(db)
    assert store.db.execute("PRAGMA secure_delete").fetchone()[0] == 1
    store.close()


async def test_forget_erases_the_answers_to_their_address_from_before_it_was_linked():
    h = Harness(make_settings())
    # someone writes before any link: answered, with no identity behind the outbox row
    await h.deliver(h.event(InboundKind.TEXT, address=UTC_NOW_ADDRESS, text="hello? it's Mia"))
    await h.pump()
    unlinked = h.store.db.execute("select id, text from outbox where identity_id is null and address = ?",
                                  [UTC_NOW_ADDRESS]).fetchall()
    assert unlinked and all(text != ERASED for _, text in unlinked)
    mia = h.store.customers.upsert("C-MIA", "Mia", "mia@example.com", None, "en", h.clock.now())
    h.store.customers.ensure_identity(mia, "telegram", UTC_NOW_ADDRESS, True, h.clock.now(), source="test")
    forget_customer(h.store, h.settings, mia, "tester", h.clock.now())
    rows = h.store.db.execute("select text, address from outbox where id in (%s)" % ",".join(str(r[0]) for r in unlinked))
    assert {(text, address) for text, address in rows} == {(ERASED, None)}
    assert not h.store.db.execute("select 1 from outbox where address = ?", [UTC_NOW_ADDRESS]).fetchall()


def test_suppressed_holds_keyed_hashes_that_still_match(tmp_path):
    store = Store.open(tmp_path / "shop.db")
    now = _now()
    ana = store.customers.upsert("C-ANA", "Ana", "ana@example.com", None, "en", now)
    store.customers.ensure_identity(ana, "telegram", "1001", True, now, source="test")
    with store.transaction():
        store.privacy.forget(ana, "tester", now)
    held = {r[0] for r in store.db.execute("select hash from suppressed")}
    plain = {hashlib.sha256(v.encode()).hexdigest() for v in ("email:ana@example.com", "ref:C-ANA", "telegram:1001")}
    assert held and not held & plain                         # a list of e-mails does not reverse them
    assert store.privacy.is_suppressed("email", "ANA@example.com") and store.privacy.is_suppressed("telegram", "1001")
    assert not store.privacy.is_suppressed("email", "bob@example.com")
    store.close()


def test_the_migration_keys_the_unkeyed_rows_of_an_older_store(tmp_path):
    path = tmp_path / "old.db"
    Store.open(path).close()
    db = Database(path)
    legacy = hashlib.sha256(b"email:fay@example.com").hexdigest()          # what m004 stored
    db.execute("insert into suppressed (hash, at) values (?, '2026-01-01')", [legacy])
    db.execute("delete from _sqlite_migrations where name = 'm014_keyed_suppression'")
    db.conn.commit()
    db.close()
    store = Store.open(path)
    assert [r[0] for r in store.db.execute("select hash from suppressed")] != [legacy]
    assert store.privacy.is_suppressed("email", "fay@example.com")
    store.close()


def _now():
    from datetime import datetime, timezone
    return datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)


def test_a_store_file_that_is_not_a_database_or_cannot_be_made_is_one_line(tmp_path):
    """Start-up failures are one line naming the file and the problem, never a traceback."""
    import pytest
    from click.testing import CliRunner

    from bot.cli import main
    from bot.store.store import StoreFileError
    from tests.support.harness import CONFIG, ROOT

    junk = tmp_path / "junk.db"
    junk.write_text("not a database, just text\n" * 200)
    with pytest.raises(StoreFileError, match=f"store {junk}: file is not a database .*aftercare restore"):
        Store.open(junk)
    (tmp_path / "file").write_text("")
    with pytest.raises(StoreFileError, match="cannot create or open it"):
        Store.open(tmp_path / "file" / "shop.db")                   # its folder is a file
    for command in (["due"], ["orders", "import", str(ROOT / "data" / "sample_orders.csv")]):
        result = CliRunner().invoke(main, ["--config", str(CONFIG), "--db", str(junk), *command])
        assert result.exit_code == 1, result.output
        assert result.output.count("\n") == 1 and "file is not a database" in result.output, result.output
