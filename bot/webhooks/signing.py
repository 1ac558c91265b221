"""Webhook signatures: Shopify's, and our own for any other shop system. Pure: no I/O.

Shopify: `X-Shopify-Hmac-Sha256` = base64(HMAC-SHA256(app secret, raw body)).
Ours: `X-Aftercare-Signature: t=UNIX_SECONDS,v1=HEX` with HEX = HMAC-SHA256(secret,
"UNIX_SECONDS." + raw body), accepted within a window around now (like Stripe's):
the timestamp is signed, so an old delivery cannot be replayed with a fresh one.

Every comparison is constant-time over bytes, and a header that is not plain ASCII (or a
timestamp that is not ASCII digits) is a refusal, never an exception.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

SIGNATURE_HEADER = "X-Aftercare-Signature"
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")      # ASCII digits only ("²".isdigit() is True)


def shopify_hmac(secret: bytes, body: bytes) -> str:
    """What Shopify puts in X-Shopify-Hmac-Sha256 for `body`."""
    return base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode()


def shopify_valid(secret: bytes, body: bytes, header: Optional[str]) -> bool:
    """Constant-time check of Shopify's header (False for a missing or non-ASCII one)."""
    given = _ascii(header)
    if not given:
        return False
    return hmac.compare_digest(shopify_hmac(secret, body).encode(), given.strip())


def sign_orders(secret: bytes, body: bytes, timestamp: int) -> str:
    """The X-Aftercare-Signature value for `body` sent at `timestamp` (unix seconds)."""
    return f"t={timestamp},v1={_orders_digest(secret, body, timestamp)}"


def _orders_digest(secret: bytes, body: bytes, timestamp: int) -> str:
    return hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class OrdersSignature:
    """The verdict on one X-Aftercare-Signature: `problem` (None when it signs the body) and
    the delivery id, which only the signed parts decide: the v1 that matched, a function of
    t and the body alone, so a junk v1 beside it cannot make a repeat look new."""

    problem: Optional[str]
    delivery: Optional[str] = None


def verify_orders_signature(secret: bytes, body: bytes, header: Optional[str], now: datetime,
                            tolerance: timedelta) -> OrdersSignature:
    """Check `header` against `body` within `tolerance` of `now`."""
    if not header:
        return OrdersSignature(f"missing {SIGNATURE_HEADER} header")
    raw = _ascii(header)
    if raw is None:
        return OrdersSignature(f"{SIGNATURE_HEADER}: not ASCII")
    parts: dict[str, list[str]] = {}
    for part in raw.decode("ascii").split(","):
        key, _, value = part.strip().partition("=")
        parts.setdefault(key, []).append(value.strip())
    stamps = parts.get("t", [])
    if len(stamps) != 1 or not _UNIX_SECONDS.fullmatch(stamps[0]):
        return OrdersSignature(f"{SIGNATURE_HEADER}: no t=UNIX_SECONDS")
    timestamp = int(stamps[0])
    if abs(now.timestamp() - timestamp) > tolerance.total_seconds():
        return OrdersSignature(f"{SIGNATURE_HEADER}: timestamp {timestamp} is outside the {tolerance} window")
    expected = _orders_digest(secret, body, timestamp).encode()
    matched = False
    for given in parts.get("v1", []):
        matched |= hmac.compare_digest(expected, given.encode())     # every v1 compared: no early exit
    if not matched:
        return OrdersSignature(f"{SIGNATURE_HEADER}: v1 does not match the body")
    return OrdersSignature(None, expected.decode())


def check_orders_signature(secret: bytes, body: bytes, header: Optional[str], now: datetime,
                           tolerance: timedelta) -> Optional[str]:
    """None when `header` signs `body` within `tolerance` of `now`, else the reason it does not."""
    return verify_orders_signature(secret, body, header, now, tolerance).problem


def _ascii(header: Optional[str]) -> Optional[bytes]:
    """The header's bytes when it is plain ASCII, else None."""
    if header is None:
        return None
    try:
        return header.encode("ascii")
    except UnicodeEncodeError:
        return None
