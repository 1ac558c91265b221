"""A loopback Telegram Bot API server for tests, `simulate`, the demo and benchmarks.

The real python-telegram-bot client talks to it over HTTP exactly as to api.telegram.org:

    sandbox = TelegramSandbox()
    url = await sandbox.start()                       # http://127.0.0.1:<free port>
    Application.builder().token(sandbox.token).base_url(f"{url}/bot") \
        .base_file_url(f"{url}/file/bot")

It serves `/bot<token>/<method>` (form-encoded, multipart or JSON bodies), answers with the
Bot API's JSON shapes and error descriptions, enforces Telegram's flood limits on a clock
you can inject, and delivers updates by long polling or webhook. Tests drive the people's
side with `user_sends`, `user_taps`, `block`, ... and read what the bot sent with
`messages_to`. It binds 127.0.0.1 only and pushes webhooks to loopback URLs only.
"""
from __future__ import annotations

import asyncio
import inspect
import logging
import re
import time
from collections import Counter
from typing import Any, Callable, Optional

from aiohttp import web

from bot.sandbox.platforms import telegram_shapes as shapes
from bot.sandbox.platforms.telegram_limits import FloodControl, LimitStats, TelegramLimits
from bot.sandbox.platforms.telegram_request import ApiError, Params, Upload, bad_request, conflict
from bot.sandbox.platforms.telegram_updates import UpdateQueue
from bot.sandbox.platforms.telegram_webhook import WebhookPusher, WebhookStats, is_loopback_url
from bot.sandbox.platforms.telegram_world import BotMessage, Injected, TelegramWorld

log = logging.getLogger(__name__)

DEFAULT_TOKEN = "123456789:AAsandbox-token-for-loopback-tests0"
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_SENDS = frozenset({"sendmessage", "sendphoto"})

__all__ = ["TelegramSandbox", "TelegramLimits", "BotMessage", "Injected", "DEFAULT_TOKEN"]


class TelegramSandbox:
    """One bot's Bot API on 127.0.0.1, plus the handles a test or simulation drives it by."""

    def __init__(self, token: str = DEFAULT_TOKEN, *, bot_username: str = "AftercareDemoBot",
                 limits: Optional[TelegramLimits] = None,
                 clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time,
                 callback_timeout: float = 15.0,
                 webhook_retry_base: float = 0.1, webhook_max_attempts: int = 6,
                 latency: float = 0.0,
                 on_send: Optional[Callable[[dict], None]] = None) -> None:
        """`latency`: seconds every API call waits before it is handled (a network round
        trip, for benchmarks). `on_send`: called with each message the server accepts from the
        bot (sendMessage / sendPhoto), the moment it accepts it."""
        prefix = token.split(":", 1)[0]  # a bot token starts with the bot's user id
        bot_user = {**shapes.user(int(prefix) if prefix.isdigit() else 1, "Aftercare",
                                  is_bot=True, username=bot_username),
                    "can_join_groups": True, "can_read_all_group_messages": False,
                    "supports_inline_queries": False}
        self.token = token
        self.queue = UpdateQueue()
        self.flood = FloodControl(limits or TelegramLimits(), clock)
        self.world = TelegramWorld(bot_user, self.queue, self.flood, clock=clock,
                                   wall_clock=wall_clock, callback_timeout=callback_timeout)
        self.method_counts: Counter = Counter()
        self.webhook_stats = WebhookStats()
        self._webhook_retry_base = webhook_retry_base
        self._webhook_max_attempts = webhook_max_attempts
        self._pusher: Optional[WebhookPusher] = None
        self._faults: dict[str, list[tuple[int, float]]] = {}
        self._runner: Optional[web.AppRunner] = None
        self._stopping = asyncio.Event()
        self._inflight = 0
        self._latency = latency
        self._on_send = on_send
        self.url = ""
        self._methods: dict[str, Callable[[Params], Any]] = {
            "getme": self.world.get_me,
            "sendmessage": self.world.send_message,
            "sendphoto": self.world.send_photo,
            "editmessagetext": self.world.edit_message_text,
            "editmessagereplymarkup": self.world.edit_message_reply_markup,
            "answercallbackquery": self.world.answer_callback_query,
            "getfile": self.world.get_file,
            "sendchataction": self.world.send_chat_action,
            "getupdates": self._get_updates,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
        }

    # ==== lifecycle ====================================================================
    async def start(self) -> str:
        """Listen on 127.0.0.1 at a free port; returns the base URL (no trailing slash)."""
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, shutdown_timeout=1.0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self.url

    async def stop(self) -> None:
        """Wake long polls and delayed calls, let them answer, then close the server."""
        self._stopping.set()
        await self._stop_pusher()
        self.queue.close()
        for _ in range(100):  # handlers whose client already hung up are not awaited by aiohttp
            if not self._inflight:
                break
            await asyncio.sleep(0.01)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> "TelegramSandbox":
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def api_base_url(self) -> str:
        """For `ApplicationBuilder.base_url` / `Bot(base_url=...)`."""
        return f"{self.url}/bot"

    @property
    def file_base_url(self) -> str:
        return f"{self.url}/file/bot"

    # ==== the people's side (async so a simulation can await them uniformly) ============
    async def add_user(self, chat_id: int, first_name: str = "Customer",
                       language_code: Optional[str] = "en", *, username: Optional[str] = None,
                       last_name: Optional[str] = None) -> dict:
        return self.world.add_user(chat_id, first_name, language_code,
                                   username=username, last_name=last_name)

    async def add_group(self, chat_id: int, title: str = "Support") -> dict:
        return self.world.add_group(chat_id, title)

    async def user_sends(self, chat_id: int, text: str) -> Injected:
        """A text message; a leading `/command` carries a bot_command entity (`/start <payload>`)."""
        return self.world.user_sends(chat_id, text)

    async def user_taps(self, chat_id: int, message_id: int, data: str, *,
                        stale_ok: bool = False) -> Injected:
        """A button tap (callback_query); `.callback_query_id` is what the bot must answer."""
        return self.world.user_taps(chat_id, message_id, data, stale_ok=stale_ok)

    async def user_sends_photo(self, chat_id: int, caption: Optional[str] = None) -> Injected:
        """A photo in three sizes; `.file_id` is the largest, as the adapter should keep."""
        return self.world.user_sends_photo(chat_id, caption)

    async def user_sends_sticker(self, chat_id: int) -> Injected:
        return self.world.user_sends_media(chat_id, "sticker")

    async def user_sends_voice(self, chat_id: int) -> Injected:
        return self.world.user_sends_media(chat_id, "voice")

    async def user_sends_media(self, chat_id: int, kind: str) -> Injected:
        """video, video_note, audio, animation or document (or sticker / voice)."""
        return self.world.user_sends_media(chat_id, kind)

    async def block(self, chat_id: int) -> None:
        """From now on every method on this chat answers 403 "bot was blocked by the user"."""
        self.world.block(chat_id)

    async def unblock(self, chat_id: int) -> None:
        self.world.unblock(chat_id)

    async def redeliver(self, update_id: int) -> None:
        """Deliver an update a second time with the same update_id (lost confirmation)."""
        self.queue.redeliver(update_id)

    async def inject_update(self, raw: dict) -> int:
        """Queue a raw Update dict (an `update_id` is assigned if missing); returns its id."""
        return self.queue.add_raw(raw)["update_id"]

    # ==== what tests read ==============================================================
    def messages_to(self, chat_id: int) -> list[BotMessage]:
        """Every message the bot sent to this chat, with current text and keyboard."""
        return self.world.messages_to(chat_id)

    def callback_answer(self, query_id: str) -> Optional[dict]:
        return self.world.callback_answer(query_id)

    def update(self, update_id: int) -> dict:
        return self.queue.get(update_id)

    @property
    def stats(self) -> LimitStats:
        """Accepted sends, 429s sent, per-chat counts."""
        return self.flood.stats

    @property
    def webhook_url(self) -> Optional[str]:
        return self._pusher.url if self._pusher else None

    def fail_next(self, method: str, status: int = 502, *, times: int = 1,
                  delay: float = 0.0) -> None:
        """Make the next `times` calls of `method` wait `delay` s, then answer `status` (0: no
        error, only the delay), to test network errors and timeouts."""
        self._faults.setdefault(method.lower(), []).extend([(status, delay)] * times)

    # ==== HTTP =========================================================================
    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        name = request.match_info["method"].lower()
        handler = self._methods.get(name)
        if handler is None:
            return web.json_response(ApiError(404, "Not Found").body(), status=404)
        self.method_counts[name] += 1
        self._inflight += 1
        try:
            await self._fault(name)
            if self._latency:
                await self._pause(self._latency)
            params = Params(await _read_params(request))
            result = handler(params)
            if inspect.isawaitable(result):
                result = await result
            if self._on_send is not None and name in _SENDS:
                self._on_send(result)
        except ApiError as exc:
            return web.json_response(exc.body(), status=exc.code)
        except ConnectionResetError:  # the client died mid-request (a crash drill's kill -9)
            log.info("telegram sandbox: %s abandoned by its client; not handled", name)
            return web.Response(status=499)
        except Exception:  # a sandbox bug must look like a server error, not hang the client
            log.exception("telegram sandbox: %s failed", name)
            return web.json_response(ApiError(500, "Internal Server Error").body(), status=500)
        finally:
            self._inflight -= 1
        return web.json_response({"ok": True, "result": result})

    async def _fault(self, name: str) -> None:
        faults = self._faults.get(name)
        if not faults:
            return
        status, delay = faults.pop(0)
        if delay:
            await self._pause(delay)
        if status:
            raise ApiError(status, "Bad Gateway" if status == 502 else "Internal Server Error")

    async def _pause(self, seconds: float) -> None:
        """Wait, cut short by stop(), so no handler outlives the server."""
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        data = self.world.file_bytes(request.match_info["path"])
        if data is None:
            return web.json_response(ApiError(404, "Not Found").body(), status=404)
        return web.Response(body=data, content_type="application/octet-stream")

    # ==== updates: long polling and webhook ===========================================
    async def _get_updates(self, params: Params) -> list[dict]:
        if self._pusher is not None:
            raise conflict("can't use getUpdates method while webhook is active; "
                           "use deleteWebhook to delete the webhook first")
        return await self.queue.poll(
            offset=params.integer("offset", default=0) or 0,
            limit=params.integer("limit", default=100) or 100,
            timeout=params.number("timeout"),
        )

    async def _set_webhook(self, params: Params) -> bool:
        url = params.text("url")
        if not url:
            return await self._delete_webhook(params)
        if not is_loopback_url(url):
            raise bad_request("bad webhook: the sandbox delivers to loopback addresses only")
        secret = params.text("secret_token")
        if secret is not None and not _SECRET_RE.fullmatch(secret):
            raise bad_request("secret token contains unallowed characters")
        await self._stop_pusher()
        if params.flag("drop_pending_updates"):
            self.queue.drop_pending()
        self._pusher = WebhookPusher(
            self.queue, url, secret, retry_base=self._webhook_retry_base,
            max_attempts=self._webhook_max_attempts, stats=self.webhook_stats)
        self._pusher.start()
        return True

    async def _delete_webhook(self, params: Params) -> bool:
        await self._stop_pusher()
        if params.flag("drop_pending_updates"):
            self.queue.drop_pending()
        return True

    def _get_webhook_info(self, params: Params) -> dict:
        info: dict[str, Any] = {"url": self.webhook_url or "", "has_custom_certificate": False,
                                "pending_update_count": self.queue.pending_count}
        if self.webhook_stats.last_error:
            info["last_error_message"] = self.webhook_stats.last_error
        return info

    async def _stop_pusher(self) -> None:
        if self._pusher is not None:
            pusher, self._pusher = self._pusher, None
            await pusher.stop()


async def _read_params(request: web.Request) -> dict[str, Any]:
    """Query string, then the body: JSON, urlencoded or multipart (files become `Upload`)."""
    values: dict[str, Any] = dict(request.query)
    if not request.can_read_body:
        return values
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise bad_request("can't parse JSON request body") from None
        if not isinstance(body, dict):
            raise bad_request("request body must be a JSON object")
        values.update(body)
        return values
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, web.FileField):
            values[key] = Upload(value.filename, value.file.read())
        else:
            values[key] = value
    return values
