"""The install's own secret, kept beside its database (`<store>.secret`, mode 0600): made on first
use, read at every start. The file side of personal codes (`codes.py` makes the codes and reads
no file)."""
from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from bot.base.errors import AftercareError

SECRET_BYTES = 32


def secret_path(database: Path) -> Path:
    """Where the install's generated secret lives: beside its database."""
    return database.with_name(database.name + ".secret")


class SecretFileError(AftercareError, ValueError):
    """The install's secret file cannot be read or made; the message names the file and why."""


def install_secret(path: Path) -> bytes:
    """The secret kept at `path`, made (random, mode 0600) when there is none yet. Two processes
    starting at once agree: the new secret is written whole to a file of its own, then linked into
    place, which fails for the later one, who reads the first one's."""
    try:
        if not path.exists():
            _make(path)
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SecretFileError(f"{path}: cannot read or make the install secret ({reason}); set AFTERCARE_SECRET "
                              "or let the bot write beside its store") from None
    if len(text) < 32:
        raise SecretFileError(f"{path}: the install secret is shorter than 32 characters (delete the file to make "
                              "a new one: codes already given keep working)")
    return text.encode()


def _make(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")        # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_hex(SECRET_BYTES) + "\n")
        os.link(tmp, path)
    except FileExistsError:
        pass                                                  # another process made it first: theirs
    finally:
        os.unlink(tmp)
