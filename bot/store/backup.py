"""Backups of the store: a consistent copy while the bot runs, and putting one back.

`backup` uses SQLite's online backup API: it copies the database page by page from a read
transaction, so the copy is one committed state even while the bot writes (WAL mode: writers go
on meanwhile). The copy holds customers' personal data, so it is created owner-only (0600) and
never widened. `restore` checks a backup before it replaces the store (integrity and our schema),
and swaps it in with one rename, dropping the old store's -wal/-shm so they cannot be replayed
over it. The install secret beside the store (`<store>.secret`, bot/codes.py: the key of the
referral and gift codes given) travels with it as `<backup>.secret`. Continuous replication is Litestream's job (deploy/litestream.yml, docs/going-live.md).
"""
from __future__ import annotations

from bot.base.errors import AftercareError
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from bot.base.secretfile import secret_path

OWNER_ONLY = 0o600
SIDECARS = ("-wal", "-shm", "-journal")


class BackupError(AftercareError, RuntimeError):
    """A backup or restore that cannot be done; the message names the file and the problem."""


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    bytes: int
    orders: int
    messages: int


def backup(source: Path, dest: Path) -> BackupInfo:
    """Copy the store at `source` to the new file `dest` (0600), consistent while the bot runs."""
    source, dest = Path(source), Path(dest)
    if not source.is_file():
        raise BackupError(f"no store at {source}")
    if dest.exists():
        raise BackupError(f"{dest} already exists; choose a new file (a backup never overwrites one)")
    if not dest.parent.is_dir():
        raise BackupError(f"{dest.parent} is not a folder")
    try:
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY)   # 0600 from the first byte
    except OSError as exc:
        raise BackupError(f"cannot create {dest}: {exc.strerror}") from None
    os.close(fd)
    try:
        with _connect(source, readonly=True) as src, _connect(dest) as out:
            src.backup(out)
            out.execute("pragma journal_mode=delete")       # one self-contained file, no -wal beside it
    except sqlite3.Error as exc:
        dest.unlink(missing_ok=True)
        raise BackupError(f"{source}: {exc}") from None
    for sidecar in SIDECARS:
        Path(f"{dest}{sidecar}").unlink(missing_ok=True)
    os.chmod(dest, OWNER_ONLY)
    _copy_secret(secret_path(source), secret_path(dest))
    return describe(dest)


def describe(path: Path) -> BackupInfo:
    """Check that `path` is a sound Aftercare store and say what it holds."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"no file at {path}")
    try:
        with _connect(path, readonly=True) as db:
            verdict = db.execute("pragma integrity_check").fetchone()[0]
            if verdict != "ok":
                raise BackupError(f"{path} is damaged: {verdict}")
            tables = {row[0] for row in db.execute("select name from sqlite_master where type = 'table'")}
            if not {"orders", "outbox", "messages"} <= tables:
                raise BackupError(f"{path} is not an Aftercare store (no orders, outbox and messages tables)")
            orders = db.execute("select count(*) from orders").fetchone()[0]
            messages = db.execute("select count(*) from messages").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a SQLite database ({exc})") from None
    return BackupInfo(path, path.stat().st_size, orders, messages)


def restore(backup_file: Path, store: Path, *, force: bool = False) -> BackupInfo:
    """Put `backup_file` in place as the store at `store` (0600). An existing store is replaced
    only with `force` (the bot must be stopped: a running one would keep writing the old file)."""
    backup_file, store = Path(backup_file), Path(store)
    info = describe(backup_file)
    if store.exists() and not force:
        raise BackupError(f"{store} exists; stop the bot, then restore with --force to replace it")
    store.parent.mkdir(parents=True, exist_ok=True)
    staged = store.with_name(f".{store.name}.restoring")
    staged.unlink(missing_ok=True)
    try:
        fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY)
        os.close(fd)
        with _connect(backup_file, readonly=True) as src, _connect(staged) as out:
            src.backup(out)
            out.execute("pragma journal_mode=delete")
    except (OSError, sqlite3.Error) as exc:
        staged.unlink(missing_ok=True)
        raise BackupError(f"cannot write {staged}: {exc}") from None
    for sidecar in SIDECARS:                # the old store's WAL must not be replayed over the backup
        Path(f"{store}{sidecar}").unlink(missing_ok=True)
    os.replace(staged, store)
    os.chmod(store, OWNER_ONLY)
    _copy_secret(secret_path(backup_file), secret_path(store))
    return BackupInfo(store, store.stat().st_size, info.orders, info.messages)


def _copy_secret(source: Path, dest: Path) -> None:
    """The install secret, owner-only, when there is one (a store keyed by AFTERCARE_SECRET has none)."""
    if not source.is_file():
        return
    staged = dest.with_name(f".{dest.name}.restoring")
    staged.unlink(missing_ok=True)
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY)
    with os.fdopen(fd, "wb") as handle:
        handle.write(source.read_bytes())
    os.replace(staged, dest)


class _connect:
    """A sqlite3 connection closed on exit (sqlite3's own context manager only commits)."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        uri = f"file:{quote(str(path))}" + ("?mode=ro" if readonly else "")
        self.db = sqlite3.connect(uri, uri=True, timeout=30)

    def __enter__(self) -> sqlite3.Connection:
        return self.db

    def __exit__(self, *exc: object) -> None:
        self.db.close()
