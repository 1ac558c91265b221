"""How the loopback Slack reaches the bot: Events API envelopes and interactivity payloads in
Slack's shapes, signed like Slack signs them (v0 HMAC-SHA256 over "v0:{ts}:{body}"), and the
ways a real delivery goes wrong (unsigned, stale, forged, retried)."""
from __future__ import annotations

import enum
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Callable, Optional
from urllib.parse import urlencode

import aiohttp

STALE_SECONDS = 600   # Slack (and Bolt) refuse requests older than 300 s


class Signing(str, enum.Enum):
    """How a delivery is signed."""

    VALID = "valid"
    UNSIGNED = "unsigned"   # no signature headers at all
    STALE = "stale"         # correctly signed, but the timestamp is 10 minutes old
    BAD = "bad"             # a signature made with the wrong secret


@dataclass(frozen=True)
class Delivered:
    """What the bot answered: `status` of the first attempt, `statuses` of every attempt."""

    status: int
    statuses: tuple[int, ...]
    body: str = ""
    event_id: str = ""
    ts: str = ""            # the message ts the event carried, when it was a message


def sign(secret: str, timestamp: str, body: str) -> str:
    """X-Slack-Signature for `body` sent at `timestamp`."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: str, signing: Signing, wall: Callable[[], float] = time.time) -> dict:
    now = int(wall())
    if signing is Signing.UNSIGNED:
        return {}
    if signing is Signing.STALE:
        ts = str(now - STALE_SECONDS)
        return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sign(secret, ts, body)}
    ts = str(now)
    key = secret if signing is Signing.VALID else secret + "-forged"
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sign(key, ts, body)}


def event_envelope(*, event: dict, event_id: str, team_id: str, app_id: str,
                   bot_user_id: str, event_time: int) -> dict:
    """The Events API `event_callback` body wrapping one event."""
    return {
        "token": "sandbox-verification-token",
        "team_id": team_id,
        "api_app_id": app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": event_time,
        "authorizations": [{
            "enterprise_id": None, "team_id": team_id, "user_id": bot_user_id,
            "is_bot": True, "is_enterprise_install": False,
        }],
        "is_ext_shared_channel": False,
        "event_context": f"4-{event_id}",
    }


def block_actions_payload(*, user: dict, team_id: str, app_id: str, channel: dict, message: dict,
                          action: dict, trigger_id: str, response_url: str) -> dict:
    """The interactivity payload of one button click on a message."""
    return {
        "type": "block_actions",
        "user": user,
        "api_app_id": app_id,
        "token": "sandbox-verification-token",
        "container": {
            "type": "message", "message_ts": message["ts"], "channel_id": channel["id"],
            "is_ephemeral": False,
        },
        "trigger_id": trigger_id,
        "team": {"id": team_id, "domain": "sandbox"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": channel,
        "message": message,
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [action],
    }


class Deliverer:
    """Posts bodies to the bot's request URL, the way Slack's servers do."""

    def __init__(self, signing_secret: str, wall: Callable[[], float] = time.time) -> None:
        self.signing_secret = signing_secret
        self._wall = wall
        self._session: Optional[aiohttp.ClientSession] = None

    async def open(self) -> None:
        # trust_env=False: a loopback delivery never goes through a proxy
        self._session = aiohttp.ClientSession(trust_env=False)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post(self, url: str, body: str, content_type: str, *, signing: Signing,
                   retries: int = 0) -> tuple[tuple[int, ...], str]:
        """Deliver `body` once, then `retries` more times as Slack's retries; return every
        status and the first answer's body."""
        if self._session is None:
            raise RuntimeError("the sandbox is not started")
        statuses: list[int] = []
        first_body = ""
        for attempt in range(retries + 1):
            headers = {"Content-Type": content_type}
            headers.update(signed_headers(self.signing_secret, body, signing, self._wall))
            if attempt:
                headers["X-Slack-Retry-Num"] = str(attempt)
                headers["X-Slack-Retry-Reason"] = "http_timeout"
            async with self._session.post(url, data=body.encode(), headers=headers) as resp:
                statuses.append(resp.status)
                text = await resp.text()
                if not attempt:
                    first_body = text
        return tuple(statuses), first_body


def json_body(payload: dict) -> str:
    return json.dumps(payload, separators=(",", ":"))


def form_payload_body(payload: dict) -> str:
    """Interactivity requests are form-encoded: payload=<json>."""
    return urlencode({"payload": json_body(payload)})
