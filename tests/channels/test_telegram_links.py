"""Deep-link opt-in tokens: they fit Telegram's start payload, and forged, expired or mangled
tokens name nobody."""
from __future__ import annotations

import base64
import re

import pytest

from bot.channels.telegram_links import (
    LinkTokenError, link_token_id, link_url, make_link_token, verify_link_token,
)

SECRET = b"test-link-secret"
NOW = 1_800_000_000
PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")


@pytest.mark.parametrize("customer", [0, 7, 12345, 2**63, "cust-42", "ü" * 15, "x" * 31])
def test_round_trip_fits_the_start_payload(customer):
    token = make_link_token(customer, SECRET, NOW + 60)
    assert PAYLOAD.fullmatch(token)
    assert verify_link_token(token, SECRET, NOW) == customer


def test_int_and_str_ids_stay_apart():
    assert verify_link_token(make_link_token("7", SECRET, NOW + 1), SECRET, NOW) == "7"
    assert verify_link_token(make_link_token(7, SECRET, NOW + 1), SECRET, NOW) == 7


def test_expired():
    token = make_link_token(5, SECRET, NOW)
    with pytest.raises(LinkTokenError) as caught:
        verify_link_token(token, SECRET, NOW)
    assert caught.value.reason == "expired"


@pytest.mark.parametrize("tamper", ["other secret", "other id", "later expiry", "flipped mac"])
def test_forged(tamper):
    token = make_link_token(5, SECRET, NOW + 60)
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    secret = SECRET
    if tamper == "other secret":
        secret = b"another"
    elif tamper == "other id":
        raw[-1] ^= 1
    elif tamper == "later expiry":
        raw[4] ^= 0x10
    else:
        raw[6] ^= 0x80
    forged = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    with pytest.raises(LinkTokenError) as caught:
        verify_link_token(forged, secret, NOW)
    assert caught.value.reason == "forged"


def test_forged_and_expired_says_forged():
    token = make_link_token(5, b"attacker", NOW - 10)
    with pytest.raises(LinkTokenError) as caught:
        verify_link_token(token, SECRET, NOW)
    assert caught.value.reason == "forged"


@pytest.mark.parametrize("token", ["", "abc", "has space", "a" * 65, "x+y/z", "AQ", "A" * 23,
                                   "AXc1lADVc37Vm-MtKYQGInwwOR"])
def test_malformed(token):
    with pytest.raises(LinkTokenError) as caught:
        verify_link_token(token, SECRET, NOW)
    assert caught.value.reason in ("malformed", "forged")


def test_one_token_has_one_spelling():
    """base64 ignores the last character's spare bits; a second spelling of a used token
    must not pass as a new one."""
    token = make_link_token(12345, SECRET, NOW + 60)  # 19 bytes -> 26 chars, 4 spare bits
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(token[-1])
    twin = token[:-1] + alphabet[last ^ 1]
    assert base64.urlsafe_b64decode(twin + "==") == base64.urlsafe_b64decode(token + "==")
    with pytest.raises(LinkTokenError) as caught:
        verify_link_token(twin, SECRET, NOW)
    assert caught.value.reason == "malformed"


def test_ids_too_long_for_a_link_are_refused():
    with pytest.raises(ValueError):
        make_link_token("x" * 32, SECRET, NOW)
    with pytest.raises(ValueError):
        make_link_token(-1, SECRET, NOW)
    with pytest.raises(ValueError):
        make_link_token(1, b"", NOW)


def test_link_url_and_token_id():
    token = make_link_token(5, SECRET, NOW + 60)
    assert link_url("@AftercareDemoBot", token) == f"https://t.me/AftercareDemoBot?start={token}"
    assert link_token_id(token) == link_token_id(token) != link_token_id(
        make_link_token(5, SECRET, NOW + 61))
