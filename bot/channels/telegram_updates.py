"""Receiving Telegram updates so that none is lost between Telegram and our store.

python-telegram-bot's `Updater` confirms an update (the next `getUpdates` offset, or the
webhook's 200) as soon as it has it in memory, before the app has committed anything: a
`kill -9` in between loses that customer's message. Here an update is confirmed only after
`handle` has returned, i.e. after the app committed its event (or deliberately ignored it):

- polling: the offset moves past an update only once it is handled, and the next
  `getUpdates` is what tells Telegram; a crash before that gets the update again and the
  store's (channel, event id) dedup drops the second copy;
- webhook: the HTTP answer is written after `handle` returned; a crash before that leaves
  Telegram without a 2xx and it delivers again.

An update that cannot be parsed is logged with its id and confirmed (delivering it again
would fail again); so is one whose handler raised (the app logs what and where). One the app
cannot take now (`DeliverLater`: the shared NLU service is down) is not confirmed: polling
keeps the offset before it and fetches it again after a pause (its chat's later updates
wait behind it), a webhook answers 503.
Raw JSON is fetched and each update parsed on its own, so one malformed update cannot block
the ones behind it.
"""
from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections import Counter
from typing import Any, Awaitable, Callable, Optional, Sequence
from urllib.parse import urlencode

from aiohttp import web
from telegram import Bot, Update
from telegram.error import InvalidToken, TelegramError
from telegram.request import BaseRequest

from bot.base.errors import AftercareError
from bot.base.events import DeliverLater

log = logging.getLogger(__name__)

# The handler: True when the update reached the app, False when it was deliberately ignored;
# it raises `MalformedUpdate` for a parsed update whose fields make no sense.
UpdateHandler = Callable[[Update], Awaitable[bool]]


class MalformedUpdate(AftercareError, ValueError):
    """An update that parsed but carries fields of the wrong type or shape."""
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BACKOFF = 30.0
DEFER_PAUSE = 1.0   # seconds before fetching again an update the app could not take


class _Deferred(Exception):
    """An update the app could not take now; it must not be confirmed."""

    def __init__(self, update_id: int) -> None:
        super().__init__(update_id)
        self.update_id = update_id


class UpdateReceiver:
    """Fetches (polling) or accepts (webhook) updates and confirms each after `handle`.

    `stats` counts what happened to every update: handled, ignored, malformed, failed."""

    def __init__(self, bot: Bot, handle: UpdateHandler, *, request: BaseRequest,
                 allowed_updates: Sequence[str], poll_timeout: int = 10) -> None:
        """`request`: the connection getUpdates goes over (its owner initializes and shuts it
        down; its read timeout must exceed `poll_timeout`)."""
        self._bot = bot
        self._request = request
        self._handle = handle
        self._allowed = list(allowed_updates)
        self._poll_timeout = poll_timeout
        self._offset: Optional[int] = None
        self._handled_ahead: set[int] = set()   # handled, but above a deferred one: not again
        self._stopping = asyncio.Event()
        self._task: Optional[asyncio.Task] = None
        self._fetching = False
        self._runner: Optional[web.AppRunner] = None
        self._lock = asyncio.Lock()      # webhook: one update at a time, in arrival order
        self.stats: Counter = Counter()

    # ==== polling ======================================================================
    async def start_polling(self) -> None:
        """Drop any webhook (Telegram refuses getUpdates while one is set), then poll."""
        await self._bot.delete_webhook(drop_pending_updates=False)
        self._stopping.clear()
        self._task = asyncio.create_task(self._poll_loop(), name="telegram-getUpdates")

    async def _poll_loop(self) -> None:
        backoff = 1.0
        while not self._stopping.is_set():
            try:
                self._fetching = True
                batch = await self._get_updates(self._poll_timeout)
            except asyncio.CancelledError:
                return
            except InvalidToken:
                log.error("telegram: getUpdates refused the token; polling stopped")
                return
            except TelegramError as exc:
                log.warning("telegram: getUpdates failed, retrying in %.0f s: %s", backoff, exc)
                try:
                    await asyncio.wait_for(self._stopping.wait(), backoff)
                except asyncio.TimeoutError:
                    pass
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            finally:
                self._fetching = False
            backoff = 1.0
            if not await self._process_batch(batch):
                try:                # the app could not take some: fetch them again in a moment
                    await asyncio.wait_for(self._stopping.wait(), DEFER_PAUSE)
                except asyncio.TimeoutError:
                    pass

    async def _process_batch(self, batch: list) -> bool:
        """Different chats' updates at once, each chat's in the order Telegram sent them; the
        offset moves past the batch only once all of it is handled. One chat's slow update
        (its NLU parse) no longer holds up the other chats' behind it, and the parse of one
        runs while another commits; a crash mid-batch gets the whole batch again, and the
        store's dedup drops what was already committed."""
        lanes: dict[object, list] = {}
        for raw in batch:
            lanes.setdefault(_lane(raw), []).append(raw)

        deferred: list[int] = []

        async def in_order(raws: list) -> list[Optional[int]]:
            ids: list[Optional[int]] = []
            for raw in raws:
                if isinstance(raw, dict) and raw.get("update_id") in self._handled_ahead:
                    continue        # handled already; fetched again behind a deferred one
                try:
                    ids.append(await self._process(raw, "getUpdates"))
                except _Deferred as later:      # this chat's later updates wait behind it
                    deferred.append(later.update_id)
                    break
            return ids

        done = await asyncio.gather(*(in_order(raws) for raws in lanes.values()))
        handled = [update_id for ids in done for update_id in ids if update_id is not None]
        if deferred:
            # every update below the first deferred one is handled (each lane stops at its own
            # deferred one, and lanes hold increasing ids): confirm those, fetch it again
            self._offset = max(self._offset or 0, min(deferred))
            self._handled_ahead.update(i for i in handled if i >= self._offset)
        elif handled:
            self._offset = max(self._offset or 0, max(handled) + 1)
        self._handled_ahead = {i for i in self._handled_ahead if i >= (self._offset or 0)}
        return not deferred

    async def _get_updates(self, timeout: float, limit: int = 100) -> list:
        """One raw getUpdates call; confirming everything below `self._offset`."""
        params: dict[str, Any] = {"timeout": timeout, "limit": limit,
                                  "allowed_updates": json.dumps(self._allowed)}
        if self._offset is not None:
            params["offset"] = self._offset
        result = await self._request.post(f"{self._bot.base_url}/getUpdates?{urlencode(params)}",
                                          read_timeout=timeout + 10.0)
        if not isinstance(result, list):
            log.error("telegram: getUpdates answered %r, not a list; ignored", type(result).__name__)
            return []
        return result

    # ==== webhook ======================================================================
    async def start_webhook(self, *, listen: str, port: int, url_path: str,
                            webhook_url: Optional[str], secret_token: str) -> None:
        """Serve `POST /url_path` on listen:port and tell Telegram the URL (setWebhook)."""
        path = "/" + url_path.lstrip("/")
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_post(path, self._on_webhook)
        self._secret = secret_token
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, listen, port, shutdown_timeout=2.0).start()
        url = webhook_url or f"http://{listen}:{self._runner.addresses[0][1]}{path}"
        await self._bot.set_webhook(url=url, secret_token=secret_token,
                                    allowed_updates=self._allowed)

    async def _on_webhook(self, request: web.Request) -> web.Response:
        """200 only after the update is handled: until then Telegram still holds it."""
        if not hmac.compare_digest(_header_bytes(request.headers.get(SECRET_HEADER, "")), self._secret.encode()):
            log.warning("telegram webhook: request from %s without the right secret refused",
                        request.remote)
            return web.Response(status=403)
        body = await request.read()
        try:
            raw = json.loads(body)
        except ValueError as exc:
            log.warning("telegram webhook: body is not JSON (%s); refused", exc)
            self.stats["malformed"] += 1
            return web.Response(status=400, text="body is not JSON")
        async with self._lock:
            if self._stopping.is_set():
                return web.Response(status=503)    # Telegram delivers it again later
            try:
                await self._process(raw, "webhook")
            except _Deferred:
                return web.Response(status=503)    # not confirmed: Telegram delivers it again
        return web.Response(status=200)

    # ==== both =========================================================================
    async def _process(self, raw: Any, where: str) -> Optional[int]:
        """Parse and handle one update; returns its id (None when it has no usable id)."""
        update_id = raw.get("update_id") if isinstance(raw, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            # ids and shapes only: an update carries the customer's words
            log.error("telegram %s: an update without an integer update_id ignored (%s)", where, _shape(raw))
            self.stats["malformed"] += 1
            return None
        try:
            update = Update.de_json(raw, self._bot)
        except Exception as exc:  # noqa: BLE001 - any malformed shape: log, confirm, go on
            log.error("telegram %s: update %s is malformed and was ignored (%s; %s)", where, update_id,
                      type(exc).__name__, _shape(raw))
            self.stats["malformed"] += 1
            return update_id
        try:
            delivered = await self._handle(update)
        except MalformedUpdate as exc:
            log.error("telegram %s: update %s is malformed and was ignored (%s; %s)", where, update_id,
                      exc, _shape(raw))
            self.stats["malformed"] += 1
            return update_id
        except DeliverLater as exc:
            log.warning("telegram %s: update %s not confirmed, to be fetched again: %s", where, update_id, exc)
            self.stats["deferred"] += 1
            raise _Deferred(update_id) from exc
        except Exception:  # noqa: BLE001 - a handler bug must not stop the updates behind it
            log.exception("telegram %s: handling update %s failed", where, update_id)
            self.stats["failed"] += 1
            return update_id
        self.stats["handled" if delivered else "ignored"] += 1
        return update_id

    async def stop(self) -> None:
        """Stop fetching or accepting; an update being handled finishes first. Polling then
        tells Telegram what was handled (one last getUpdates with the new offset)."""
        self._stopping.set()
        if self._task is not None:
            if self._fetching:
                self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
            if self._offset is not None:
                try:
                    await self._get_updates(timeout=0, limit=1)
                except TelegramError as exc:
                    log.info("telegram: could not confirm the last updates on stop: %s", exc)
        if self._runner is not None:
            async with self._lock:        # the update in hand is committed and answered
                pass
            await self._runner.cleanup()
            self._runner = None


def _lane(raw: Any) -> object:
    """Whose update this is (the chat; a button tap's chat), so each chat's updates stay in
    order; None (one shared lane, in order) when the update does not say."""
    try:
        if "message" in raw:
            chat = raw["message"]["chat"]["id"]
        else:
            query = raw["callback_query"]
            chat = (query.get("message") or {}).get("chat", {}).get("id") or query["from"]["id"]
    except (KeyError, TypeError, AttributeError):
        return None
    return chat if isinstance(chat, (int, str)) else None


def _shape(raw: Any) -> str:
    """What a malformed update looked like, without its values: its top-level keys and the
    keys of the object inside (an update's values are the customer's words and names)."""
    if not isinstance(raw, dict):
        return type(raw).__name__
    parts = []
    for key in list(raw)[:8]:
        inner = raw[key]
        parts.append(f"{key}{{{','.join(map(str, list(inner)[:12]))}}}" if isinstance(inner, dict) else str(key))
    return "keys " + " ".join(parts)[:300]


def _header_bytes(value: str) -> bytes:
    """A header's bytes as they came (aiohttp keeps bytes that are not UTF-8 as surrogate
    escapes): any value is compared, none raises (a 500 before the secret is checked)."""
    try:
        return value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return b""
