"""Personal codes (a promoter's referral code, a milestone's gift code) and the key they are made
with. A code is an HMAC of the customer's reference under a secret of this install, so knowing a
customer's reference (often just an order-system number) is not enough to work out their code.

The secret is `referrals.secret` (`${AFTERCARE_SECRET}`) when set; otherwise one is generated on
first use and kept beside the database (`<store>.secret`, readable by its owner only: `secretfile.py`), so
`make run` needs no credentials and codes stay the same from one start to the next. Codes already
given are recorded in the store and keep working whatever the key becomes (bot/store/referrals.py).
"""
from __future__ import annotations

import hashlib
import hmac

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"      # no 0/O/1/I: read out and typed without doubt


def personal_code(key: bytes, purpose: str, customer_ref: str, length: int = 8) -> str:
    """A short code of this customer's own for `purpose` ("referral", "gift:<kind>"): the same for
    the same key every time, so a message can show it before the store records it."""
    if not key:
        raise ValueError("a personal code needs a key (referrals.secret, or the install's own)")
    digest = hmac.new(key, f"{purpose}:{customer_ref}".encode(), hashlib.sha256).digest()
    number = int.from_bytes(digest[:8], "big")
    return "".join(ALPHABET[(number >> (5 * i)) & 31] for i in range(length))
