"""The Telegram channel: python-telegram-bot in, `InboundEvent` out; `OutboundMessage` in, Bot API
call out, `SendResult` back. The only module of the product that imports `telegram`.

Thin on purpose. No retries and no rate limiter here (the outbox dispatcher owns both); no
dedup either (the app dedupes on (channel, event_id), event_id being the update_id, so an
update Telegram delivers twice reaches `on_event` twice with the same id). Text goes out as
plain text, never with a parse_mode, so customer names and order data cannot inject
Markdown or HTML: Telegram shows the characters as typed.

Updates come by long polling (development) or by a webhook (production), which refuses any
request without the right `X-Telegram-Bot-Api-Secret-Token`. Either way an update is confirmed
to Telegram only after the app has handled (committed) it: see `telegram_updates`.
"""
from __future__ import annotations

import logging
import math
import re
import warnings
from collections import OrderedDict
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Optional, Sequence, Union
from urllib.parse import urlsplit

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.warnings import PTBUserWarning
from telegram.error import (
    BadRequest, ChatMigrated, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError,
)

from bot.base.agent_events import AgentActionHandler
from bot.channels.base import EventHandler, StartError
from bot.channels.telegram_http import AiohttpRequest
from bot.channels.telegram_updates import MalformedUpdate, UpdateReceiver
from bot.base.events import (
    Button, ChoiceMade, InboundEvent, InboundKind, OutboundMessage, SendResult, SendStatus,
)

log = logging.getLogger(__name__)

CHANNEL = "telegram"
MAX_TEXT = 4096            # Bot API: 1-4096 characters per message
MAX_CALLBACK_DATA = 64     # Bot API: callback_data 1-64 bytes
ROW_WIDTH = 32             # characters of button labels that fit one row on a phone
MAX_PER_ROW = 5
CHOSEN_MARK = "\u2714"     # ✔
ALLOWED_UPDATES = ("message", "callback_query")
# Non-photo attachments, most specific first (an animation also carries a document).
MEDIA_KINDS = ("sticker", "voice", "video_note", "video", "animation", "audio", "document",
               "venue", "location", "contact", "poll", "dice", "story", "live_photo",
               "paid_media", "game", "invoice")
_COMMAND = re.compile(r"/([A-Za-z0-9_]{1,64})(?:@([A-Za-z0-9_]+))?(?:\s+(.*))?", re.DOTALL)
_PARTIAL_MEMORY = 1024
SEND_POOL = 16             # keep-alive connections for sends (the dispatcher runs up to 8 at once)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class TelegramChannel:
    """A `Channel` for one Telegram bot."""

    name = CHANNEL

    def __init__(self, token: str, *, base_url: Optional[str] = None, mode: str = "polling",
                 bot_username: str = "", webhook_listen: str = "127.0.0.1",
                 webhook_port: int = 8443, webhook_url: Optional[str] = None,
                 webhook_secret: Optional[str] = None, webhook_path: Optional[str] = None,
                 poll_timeout: int = 10, send_timeout: float = 5.0,
                 now: Callable[[], datetime] = _utcnow) -> None:
        """`base_url` is the Bot API root without `/bot` (the loopback sandbox's URL);
        None means api.telegram.org. Webhook mode needs a secret: without one anybody who
        finds the URL could post updates. `send_timeout` bounds each Bot API call; a call
        that takes longer is reported as RETRY."""
        if mode not in ("polling", "webhook"):
            raise ValueError(f"mode {mode!r} is not polling or webhook")
        if mode == "webhook" and not webhook_secret:
            raise ValueError("webhook mode needs a webhook secret")
        self.bot_username = bot_username.lstrip("@")
        self._mode = mode
        self._webhook: dict[str, Any] = dict(
            listen=webhook_listen, port=webhook_port, webhook_url=webhook_url,
            secret_token=webhook_secret,
            url_path=webhook_path or (urlsplit(webhook_url).path if webhook_url else "") or "telegram",
        )
        self._poll_timeout = poll_timeout
        self._now = now
        self._on_event: Optional[EventHandler] = None
        self._connected = False
        # Parts of a split message already sent when a later part failed, so that the
        # dispatcher's retry sends only the rest. Memory only: a crash may repeat a part.
        self._partial: OrderedDict[tuple, list[int]] = OrderedDict()
        # PTB's `Bot` alone: polling and the webhook are `telegram_updates`' (PTB's Application
        # and Updater would confirm an update before it is committed), so nothing of
        # `telegram.ext` runs. Its calls go over aiohttp (`telegram_http`): one pool for sends,
        # one connection for the long poll. Nothing connects before `connect_for_sending`.
        self._api_root = (base_url or "https://api.telegram.org").rstrip("/")
        self._poll_request = AiohttpRequest(pool_size=1, connect_timeout=send_timeout,
                                            read_timeout=poll_timeout + 10.0, write_timeout=send_timeout)
        self._bot = Bot(token, base_url=f"{self._api_root}/bot", base_file_url=f"{self._api_root}/file/bot",
                        request=AiohttpRequest(pool_size=SEND_POOL, connect_timeout=send_timeout,
                                               read_timeout=send_timeout, write_timeout=send_timeout),
                        get_updates_request=self._poll_request)
        self._receiver: Optional[UpdateReceiver] = None
        _silence_send_hint()

    # ==== lifecycle ====================================================================
    async def connect_for_sending(self) -> None:
        """Check the token (getMe) without receiving updates: for a process that only sends
        (a dispatcher worker, a benchmark). `start` does this too; calling it twice is fine.
        A refused token or an API out of reach is a `StartError` (never the token itself)."""
        try:
            await self._bot.initialize()
        except InvalidToken:
            raise StartError("Telegram refused the bot token (TELEGRAM_BOT_TOKEN)",
                             "set it to the token BotFather gave, or unset it to run the sandbox") from None
        except NetworkError as exc:
            raise StartError(f"cannot reach the Telegram Bot API at {self._api_root} ({type(exc).__name__})",
                             "check the network, or TELEGRAM_API_URL if a self-hosted server is meant") from None
        self._connected = True
        if not self.bot_username:
            self.bot_username = self._bot.username

    async def preflight(self) -> str:
        """getMe only (nothing received, nothing sent): "@username", or a `StartError`."""
        await self.connect_for_sending()
        return f"@{self._bot.username}"

    async def close_preflight(self) -> None:
        if self._connected:
            await self._bot.shutdown()
            self._connected = False

    async def start(self, on_event: EventHandler, on_agent_action: Optional[AgentActionHandler] = None) -> None:
        """Check the token (getMe), then receive updates by polling or webhook. (Telegram
        carries no support desk: `on_agent_action` is never called.)"""
        self._on_event = on_event
        await self.connect_for_sending()
        self._receiver = UpdateReceiver(self._bot, self._handle_update, request=self._poll_request,
                                        allowed_updates=ALLOWED_UPDATES, poll_timeout=self._poll_timeout)
        if self._mode == "polling":
            await self._receiver.start_polling()
        else:
            try:
                await self._receiver.start_webhook(**self._webhook)
            except OSError as exc:
                raise StartError(f"cannot listen for Telegram's webhook on {self._webhook['listen']}:"
                                 f"{self._webhook['port']} ({exc.strerror or exc})",
                                 "stop what uses that port, or set channels.telegram.webhook_port") from None

    @property
    def inbound_stats(self) -> dict[str, int]:
        """How many updates were handled, ignored, malformed or failed since start."""
        return dict(self._receiver.stats) if self._receiver else {}

    async def stop(self) -> None:
        """Stop receiving (the update in hand is handled and confirmed first), then close."""
        if self._receiver is not None:
            await self._receiver.stop()
            self._receiver = None
        await self._bot.shutdown()
        self._connected = False

    # ==== inbound ======================================================================
    async def _handle_update(self, update: Update) -> bool:
        """Hand one update to the app; False when it is nothing the product handles."""
        query = update.callback_query
        if query is not None:
            # Answer first: the customer's client shows a spinner until we do.
            try:
                await query.answer()
            except TelegramError as exc:
                log.info("telegram: callback %s not answered: %s", query.id, exc)
        try:
            event = update_to_event(update, self._now(), self.bot_username)
        except (AttributeError, TypeError, ValueError) as exc:
            # PTB parses leniently: a text that is a number, a chat without an id...
            # the exception's text may quote the update's values (customer words): its type only
            raise MalformedUpdate(f"a field has the wrong type or is missing: {type(exc).__name__}") from exc
        if event is None or self._on_event is None:
            log.debug("telegram: update %s ignored (nothing the product handles)", update.update_id)
            return False
        await self._on_event(event)
        return True

    # ==== outbound =====================================================================
    async def send(self, message: OutboundMessage) -> SendResult:
        """Send one message (several when over 4,096 characters; buttons on the last).
        Returns the last part's message_id. Never raises."""
        try:
            markup = inline_keyboard(message.buttons)
            chat_id = chat_ref(message.address)
        except ValueError as exc:
            return SendResult(SendStatus.FAILED, error=str(exc))
        parts = split_text(message.text)
        key = (message.address, message.text, message.buttons)
        sent = self._partial.pop(key, [])
        try:
            if not self._connected:
                await self.connect_for_sending()
            for index in range(len(sent), len(parts)):
                last = index == len(parts) - 1
                sent.append(await self._send_part(chat_id, parts[index], markup if last else None))
        except Exception as exc:  # noqa: BLE001 - the protocol says: translate, never raise
            result = send_result_for(exc)
            if sent and result.status is SendStatus.RETRY:
                self._remember_partial(key, sent)
            return result
        return SendResult(SendStatus.SENT, platform_message_id=str(sent[-1]))

    async def _send_part(self, chat_id: Union[int, str], text: str, markup: Optional[InlineKeyboardMarkup]) -> int:
        """One sendMessage; its message_id. Through PTB's `do_api_request`: PTB builds the call,
        maps errors to its exceptions and reads the answer as `send_message` does, but returns
        the answer's JSON instead of building a `telegram.Message` from it (0.2-0.4 ms of CPU a
        send, for the one field we keep). Its hint to use `send_message` is silenced for this
        module (`_silence_send_hint`)."""
        result = await self._bot.do_api_request(
            "send_message", api_kwargs={"chat_id": chat_id, "text": text, "reply_markup": markup})
        message_id = result.get("message_id") if isinstance(result, dict) else None
        if not isinstance(message_id, int) or isinstance(message_id, bool):
            raise TelegramError(f"sendMessage answered without a message_id ({type(result).__name__})")
        return message_id

    async def mark_chosen(self, choice: ChoiceMade) -> None:
        """Replace the question's keyboard with the chosen answer, so an old keyboard cannot
        be tapped into a second answer. Best effort: a failed edit is logged, not raised."""
        try:
            chat_id, message_id = chat_ref(choice.address), int(choice.platform_message_id)
        except ValueError:
            log.warning("telegram: cannot mark %r answered: not a Telegram message", choice)
            return
        text = f"{split_text(choice.question_text)[-1]}\n\n{CHOSEN_MARK} {choice.chosen_label}"
        try:
            if not self._connected:
                await self.connect_for_sending()
            if utf16_len(text) <= MAX_TEXT:
                await self._bot.edit_message_text(
                    chat_id=chat_id, message_id=message_id, text=text, reply_markup=None)
            else:
                await self._bot.edit_message_reply_markup(
                    chat_id=chat_id, message_id=message_id, reply_markup=None)
        except BadRequest as exc:
            if "not modified" not in exc.message.lower():
                log.warning("telegram: marking message %s answered failed: %s", message_id, exc)
        except Exception as exc:  # noqa: BLE001 - cosmetic edit; the app guards answered questions
            log.warning("telegram: marking message %s answered failed: %s", message_id, exc)

    def _remember_partial(self, key: tuple, sent: list[int]) -> None:
        self._partial[key] = sent
        while len(self._partial) > _PARTIAL_MEMORY:
            self._partial.popitem(last=False)


def _silence_send_hint() -> None:
    """PTB hints "Please use 'Bot.send_message' instead" when `do_api_request` names a method
    the Bot has; `_send_part` does so on purpose. Silenced for calls made from this module only.
    Warning filters are process-wide (and a test runner restores them around each test), so
    each adapter sets it when made; setting it again replaces the same filter."""
    warnings.filterwarnings("ignore", message=r"Please use 'Bot\.send_message'", category=PTBUserWarning,
                            module=re.escape(__name__))


# ==== pure helpers (tested directly) ==================================================
def update_to_event(update: Update, at: datetime, bot_username: str = "") -> Optional[InboundEvent]:
    """Normalize one update; None for what the product does not handle (edits, service
    messages, other bots, inline queries)."""
    event_id = str(update.update_id)
    query = update.callback_query
    if query is not None:
        if query.message is None or query.data is None:
            return None
        return InboundEvent(
            channel=CHANNEL, event_id=event_id, address=_chat_address(query.message.chat),
            kind=InboundKind.BUTTON, at=at, button_value=query.data,
            reply_to=str(query.message.message_id),
            language_code=query.from_user.language_code, display_name=query.from_user.full_name,
        )
    msg = update.message
    if msg is None or (msg.from_user is not None and msg.from_user.is_bot):
        return None
    common: dict[str, Any] = dict(
        channel=CHANNEL, event_id=event_id, address=_chat_address(msg.chat), at=msg.date or at,
        language_code=msg.from_user.language_code if msg.from_user else None,
        display_name=msg.from_user.full_name if msg.from_user else None,
    )
    if msg.text is not None:
        return _text_event(msg.text, bot_username, common)
    if msg.photo:
        largest = max(msg.photo, key=lambda size: (size.width * size.height, size.file_size or 0))
        return InboundEvent(kind=InboundKind.MEDIA, text=msg.caption or "", media_type="photo",
                            photo_ids=(largest.file_id,), **common)
    for kind in MEDIA_KINDS:
        if getattr(msg, kind, None):
            return InboundEvent(kind=InboundKind.MEDIA, text=msg.caption or "", media_type=kind,
                                **common)
    return None


def _chat_address(chat: object) -> str:
    """A chat id as our address; TypeError for anything that is not an integer id."""
    chat_id = getattr(chat, "id", None)
    if not isinstance(chat_id, int) or isinstance(chat_id, bool):
        raise TypeError(f"chat id {chat_id!r} is not an integer")
    return str(chat_id)


def _text_event(text: str, bot_username: str, common: dict) -> InboundEvent:
    match = _COMMAND.fullmatch(text.strip())
    if match:
        command, addressee, rest = match.group(1).lower(), match.group(2), (match.group(3) or "").strip()
        for_us = addressee is None or not bot_username or addressee.lower() == bot_username.lower()
        kinds = {"start": InboundKind.START, "help": InboundKind.HELP, "stop": InboundKind.STOP}
        if for_us and command in kinds:
            return InboundEvent(kind=kinds[command], text=text,
                                start_payload=(rest or None) if command == "start" else None,
                                **common)
    return InboundEvent(kind=InboundKind.TEXT, text=text, **common)


def send_result_for(exc: BaseException) -> SendResult:
    """Translate a send failure: what the dispatcher should do next."""
    error = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, RetryAfter):
        return SendResult(SendStatus.RETRY, retry_after=_retry_after_seconds(exc), error=error)
    if isinstance(exc, Forbidden):
        return SendResult(SendStatus.UNREACHABLE, error=error)
    if isinstance(exc, BadRequest):  # before NetworkError: BadRequest subclasses it
        unreachable = "chat not found" in exc.message.lower()
        return SendResult(SendStatus.UNREACHABLE if unreachable else SendStatus.FAILED, error=error)
    if isinstance(exc, NetworkError):  # TimedOut, connection errors, 5xx
        return SendResult(SendStatus.RETRY, retry_after=0.0, error=error)
    if isinstance(exc, ChatMigrated):
        return SendResult(SendStatus.FAILED, error=f"{error} (new chat id {exc.new_chat_id})")
    if isinstance(exc, (InvalidToken, TelegramError)):
        return SendResult(SendStatus.FAILED, error=error)
    log.exception("telegram: unexpected error while sending", exc_info=exc)
    return SendResult(SendStatus.FAILED, error=error)


def _retry_after_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that the int will become a timedelta
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def inline_keyboard(buttons: Sequence[Button]) -> Optional[InlineKeyboardMarkup]:
    """Buttons as an inline keyboard: one row when they fit, else balanced rows of up to 5.
    Raises ValueError for a value Telegram would refuse as callback_data."""
    if not buttons:
        return None
    for button in buttons:
        size = len(button.value.encode("utf-8"))
        if not 1 <= size <= MAX_CALLBACK_DATA:
            raise ValueError(f"button value {button.value[:20]!r}... is {size} bytes; "
                             f"Telegram allows 1-{MAX_CALLBACK_DATA}")
    rows = [[InlineKeyboardButton(b.label, callback_data=b.value) for b in row]
            for row in keyboard_rows(buttons)]
    return InlineKeyboardMarkup(rows)


def keyboard_rows(buttons: Sequence[Button]) -> list[list[Button]]:
    """Lay buttons out in rows: a scale (1-5) stays on one line, NPS 0-10 becomes 4/4/3,
    long labels get a row each."""
    count = len(buttons)
    widths = [len(b.label) + 2 for b in buttons]
    if count <= MAX_PER_ROW and sum(widths) <= ROW_WIDTH:
        return [list(buttons)]
    per_row = max(1, min(MAX_PER_ROW, ROW_WIDTH // max(widths)))
    row_count = math.ceil(count / per_row)
    base, extra = divmod(count, row_count)
    rows, start = [], 0
    for index in range(row_count):
        size = base + (1 if index < extra else 0)
        rows.append(list(buttons[start:start + size]))
        start += size
    return rows


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Cut a text into parts Telegram accepts, at paragraph, line or word boundaries where
    possible. Lengths are counted in UTF-16 units, as Telegram does, so every part fits."""
    parts: list[str] = []
    rest = text
    while utf16_len(rest) > limit:
        window = rest[:_fit(rest, limit)]
        cut, skip = len(window), 0
        for separator in ("\n\n", "\n", " "):
            index = window.rfind(separator)
            if index > 0 and window[:index].strip():
                cut, skip = index, len(separator)
                break
        piece = window[:cut].rstrip()
        if piece:
            parts.append(piece)
        rest = rest[cut + skip:].lstrip("\n")
    if rest.strip() or not parts:
        parts.append(rest)
    return parts


def _fit(text: str, limit: int) -> int:
    """How many characters of `text` fit in `limit` UTF-16 units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def chat_ref(address: str) -> Union[int, str]:
    """Our addresses are chat ids as strings; `@channel` usernames pass through."""
    try:
        return int(address)
    except ValueError:
        if address.startswith("@"):
            return address
        raise ValueError(f"{address!r} is not a Telegram chat id") from None


__all__ = ["TelegramChannel", "update_to_event", "send_result_for", "inline_keyboard",
           "keyboard_rows", "split_text", "chat_ref"]
