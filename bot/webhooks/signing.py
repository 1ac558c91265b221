"""Webhook signatures: Shopify's, and our own for any other shop system. Pure: no I/O.

Shopify: `X-Shopify-Hmac-Sha256` = base64(HMAC-SHA256(app secret, raw body)).
Ours: `X-Aftercare-Signature: t=UNIX_SECONDS,v1=HEX` with HEX = HMAC-SHA256(secret,
"UNIX_SECONDS." + raw body), accepted within a window around now (like Stripe's):
the timestamp is signed, so an old delivery cannot be replayed with a fresh one.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Optional

SIGNATURE_HEADER = "X-Aftercare-Signature"


def shopify_hmac(secret: bytes, body: bytes) -> str:
    """What Shopify puts in X-Shopify-Hmac-Sha256 for `body`."""
    return base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode()


def shopify_valid(secret: bytes, body: bytes, header: Optional[str]) -> bool:
    """Constant-time check of Shopify's header."""
    if not header:
        return False
    return hmac.compare_digest(shopify_hmac(secret, body), header.strip())


def sign_orders(secret: bytes, body: bytes, timestamp: int) -> str:
    """The X-Aftercare-Signature value for `body` sent at `timestamp` (unix seconds)."""
    digest = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def check_orders_signature(secret: bytes, body: bytes, header: Optional[str], now: datetime,
                           tolerance: timedelta) -> Optional[str]:
    """None when `header` signs `body` within `tolerance` of `now`, else the reason it does not."""
    if not header:
        return f"missing {SIGNATURE_HEADER} header"
    parts: dict[str, list[str]] = {}
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        parts.setdefault(key, []).append(value)
    stamps = parts.get("t", [])
    if len(stamps) != 1 or not stamps[0].isdigit():
        return f"{SIGNATURE_HEADER}: no t=UNIX_SECONDS"
    timestamp = int(stamps[0])
    if abs(now.timestamp() - timestamp) > tolerance.total_seconds():
        return f"{SIGNATURE_HEADER}: timestamp {timestamp} is outside the {tolerance} window"
    expected = sign_orders(secret, body, timestamp).split("v1=", 1)[1]
    if not any(hmac.compare_digest(expected, given) for given in parts.get("v1", [])):
        return f"{SIGNATURE_HEADER}: v1 does not match the body"
    return None
