"""Webhook delivery as Telegram does it: POST each update as JSON to the bot's URL.

The secret from setWebhook goes in `X-Telegram-Bot-Api-Secret-Token`. A delivery that does
not get a 2xx is retried with doubling delays; after `max_attempts` the update is given up
(Telegram keeps trying for hours; a sandbox must end). Updates go one at a time, in order.
Only loopback URLs are accepted: the sandbox never reaches the network.
"""
from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import urlsplit

import aiohttp

from bot.sandbox.platforms.telegram_updates import UpdateQueue

log = logging.getLogger(__name__)

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def is_loopback_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and (parts.hostname or "") in LOOPBACK_HOSTS


@dataclass
class WebhookStats:
    delivered: int = 0
    failed_attempts: int = 0
    given_up: list[int] = field(default_factory=list)
    last_error: str = ""


class WebhookPusher:
    """Pushes the queue to one URL until stopped."""

    def __init__(self, queue: UpdateQueue, url: str, secret_token: Optional[str], *,
                 retry_base: float, max_attempts: int, stats: WebhookStats,
                 request_timeout: float = 10.0) -> None:
        if not is_loopback_url(url):
            raise ValueError(f"webhook URL {url!r} is not a loopback address")
        self.url = url
        self.secret_token = secret_token
        self._queue = queue
        self._retry_base = retry_base
        self._max_attempts = max_attempts
        self._stats = stats
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self._task: Optional[asyncio.Task] = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"telegram-sandbox-webhook {self.url}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _run(self) -> None:
        headers = {"Content-Type": "application/json"}
        if self.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.secret_token
        async with aiohttp.ClientSession(timeout=self._timeout, trust_env=False) as session:
            while True:
                entry = self._queue.first()
                if entry is None:
                    await self._queue.wait_for_change()
                    continue
                body = json.dumps(entry.update).encode("utf-8")
                for attempt in range(self._max_attempts):
                    if await self._post(session, body, headers):
                        self._stats.delivered += 1
                        break
                    self._stats.failed_attempts += 1
                    if attempt + 1 < self._max_attempts:
                        await asyncio.sleep(self._retry_base * 2**attempt)
                else:
                    self._stats.given_up.append(entry.update_id)
                    log.warning("webhook: gave up update %s after %s attempts",
                                entry.update_id, self._max_attempts)
                self._queue.remove(entry)

    async def _post(self, session: aiohttp.ClientSession, body: bytes, headers: dict) -> bool:
        try:
            async with session.post(self.url, data=body, headers=headers) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return True
                self._stats.last_error = f"HTTP {response.status}"
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            self._stats.last_error = repr(exc)
        return False
