"""The store's files are readable by their owner only: the database holds customers' names,
addresses and words. SQLite gives its -wal and -shm files the database file's mode, so making
the database 0600 before SQLite first opens it covers all three; a store made by an older
version (0644) is tightened on open. Backups use `private_file` for the same reason."""
from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE = 0o600
SIDE_FILES = ("-wal", "-shm", "-journal")


def private_file(path: Path) -> None:
    """Make `path` (created empty when missing) readable and writable by its owner only."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
            os.fchmod(fd, PRIVATE)
    finally:
        os.close(fd)


def private_store(path: Path) -> None:
    """The database at `path` and whichever of its -wal, -shm and -journal files exist: 0600."""
    private_file(path)
    for suffix in SIDE_FILES:
        side = path.with_name(path.name + suffix)
        try:
            if stat.S_IMODE(side.stat().st_mode) & 0o077:
                side.chmod(PRIVATE)
        except FileNotFoundError:
            pass


def is_private(path: Path) -> bool:
    """No group or other permission bits (what `aftercare doctor` checks)."""
    return not stat.S_IMODE(path.stat().st_mode) & 0o077
