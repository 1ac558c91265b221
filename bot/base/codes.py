"""Personal codes (a promoter's referral code, a milestone's gift code) and the key they are made
with. A code is an HMAC of the customer's reference under a secret of this install, so knowing a
customer's reference (often just an order-system number) is not enough to work out their code.

The secret is `referrals.secret` (`${AFTERCARE_SECRET}`) when set; otherwise one is generated on
first use and kept beside the database (`<store>.secret`, readable by its owner only), so
`make run` needs no credentials and codes stay the same from one start to the next. Codes already
given are recorded in the store and keep working whatever the key becomes (bot/store/referrals.py).
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import tempfile
from pathlib import Path

from bot.base.errors import AftercareError

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"      # no 0/O/1/I: read out and typed without doubt
SECRET_BYTES = 32


def personal_code(key: bytes, purpose: str, customer_ref: str, length: int = 8) -> str:
    """A short code of this customer's own for `purpose` ("referral", "gift:<kind>"): the same for
    the same key every time, so a message can show it before the store records it."""
    if not key:
        raise ValueError("a personal code needs a key (referrals.secret, or the install's own)")
    digest = hmac.new(key, f"{purpose}:{customer_ref}".encode(), hashlib.sha256).digest()
    number = int.from_bytes(digest[:8], "big")
    return "".join(ALPHABET[(number >> (5 * i)) & 31] for i in range(length))


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
