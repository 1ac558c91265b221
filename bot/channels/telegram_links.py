"""Signed, expiring deep-link tokens for Telegram opt-in (`https://t.me/<bot>?start=<token>`).

A bot cannot message a user first, so the shop hands the customer a link; the token in it
says which customer the chat belongs to. It must fit Telegram's start payload (1-64
characters of A-Z a-z 0-9 _ -), so it is a compact binary record, base64url without padding,
not a JWT:

    version (1 byte) | expires_at (4 bytes, unix seconds) | mac (12 bytes) | customer id

The MAC is HMAC-SHA256 over version, expiry and id, truncated to 96 bits. Integer ids take
their minimal big-endian bytes, string ids their UTF-8 (the version byte says which), so an
id has room for 31 bytes. Whether a token was already used is the store's business:
`link_token_id` gives it a stable key to record.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import struct
from typing import Union

from bot.base.errors import AftercareError

CustomerId = Union[int, str]

_VERSION_INT = 1
_VERSION_STR = 2
_MAC_BYTES = 12
_HEADER = struct.Struct(">BI")  # version, expires_at
_MAX_TOKEN_CHARS = 64
_MAX_RAW_BYTES = _MAX_TOKEN_CHARS * 3 // 4  # 48 bytes of base64url -> 64 characters
_MAX_ID_BYTES = _MAX_RAW_BYTES - _HEADER.size - _MAC_BYTES
_PAYLOAD_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_MAC_CONTEXT = b"aftercare/telegram-link/v1\x00"


class LinkTokenError(AftercareError, ValueError):
    """A start payload that must bind nothing; `reason` is forged, expired or malformed."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"link token {reason}")
        self.reason = reason


def make_link_token(customer_id: CustomerId, secret: bytes, expires_at: int) -> str:
    """Sign `customer_id` until `expires_at` (unix seconds) into a start payload."""
    if not secret:
        raise ValueError("the link secret is empty")
    version, id_bytes = _encode_id(customer_id)
    if not 0 <= expires_at < 2**32:
        raise ValueError(f"expires_at {expires_at} does not fit in 32 bits")
    header = _HEADER.pack(version, expires_at)
    raw = header + _mac(secret, header, id_bytes) + id_bytes
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def verify_link_token(token: str, secret: bytes, now: float) -> CustomerId:
    """The customer id a genuine, unexpired token names; else `LinkTokenError`.

    The signature is checked before the expiry so a forged token never learns whether its
    date would have passed.
    """
    raw = _decode(token)
    header, mac, id_bytes = (
        raw[: _HEADER.size],
        raw[_HEADER.size : _HEADER.size + _MAC_BYTES],
        raw[_HEADER.size + _MAC_BYTES :],
    )
    version, expires_at = _HEADER.unpack(header)
    if version not in (_VERSION_INT, _VERSION_STR) or not id_bytes:
        raise LinkTokenError("malformed")
    if not hmac.compare_digest(mac, _mac(secret, header, id_bytes)):
        raise LinkTokenError("forged")
    if now >= expires_at:
        raise LinkTokenError("expired")
    return _decode_id(version, id_bytes)


def link_token_id(token: str) -> str:
    """A short stable key for a token, for the store's "already used" record."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:32]


def link_url(bot_username: str, token: str) -> str:
    """The t.me deep link that opens the bot and sends `/start <token>`."""
    return f"https://t.me/{bot_username.lstrip('@')}?start={token}"


def _mac(secret: bytes, header: bytes, id_bytes: bytes) -> bytes:
    return hmac.new(secret, _MAC_CONTEXT + header + id_bytes, hashlib.sha256).digest()[:_MAC_BYTES]


def _encode_id(customer_id: CustomerId) -> tuple[int, bytes]:
    if isinstance(customer_id, bool):
        raise TypeError("a customer id is an int or a str, not a bool")
    if isinstance(customer_id, int):
        if customer_id < 0:
            raise ValueError("a customer id cannot be negative")
        data = customer_id.to_bytes(max(1, (customer_id.bit_length() + 7) // 8), "big")
        version = _VERSION_INT
    else:
        data = str(customer_id).encode("utf-8")
        version = _VERSION_STR
        if not data:
            raise ValueError("a customer id cannot be empty")
    if len(data) > _MAX_ID_BYTES:
        raise ValueError(f"customer id is {len(data)} bytes; a link token has room for {_MAX_ID_BYTES}")
    return version, data


def _decode_id(version: int, data: bytes) -> CustomerId:
    if version == _VERSION_INT:
        return int.from_bytes(data, "big")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:  # only reachable with a valid MAC, i.e. our own bug
        raise LinkTokenError("malformed") from exc


def _decode(token: str) -> bytes:
    if not isinstance(token, str) or not _PAYLOAD_RE.fullmatch(token):
        raise LinkTokenError("malformed")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError) as exc:
        raise LinkTokenError("malformed") from exc
    if len(raw) <= _HEADER.size + _MAC_BYTES:
        raise LinkTokenError("malformed")
    # base64 ignores the spare low bits of the last character: without this check one token
    # would have several spellings, and each would pass as unused.
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != token:
        raise LinkTokenError("malformed")
    return raw
