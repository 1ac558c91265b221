"""What the loopback Bot API knows: users, chats, messages, files, callback queries.

Both sides act on it. The bot's methods (sendMessage, editMessageText, ...) check their
input the way Telegram does and answer with Telegram's error descriptions; the people's
side (a user writes, taps, sends a photo, blocks the bot) turns into updates on the queue.
No HTTP here: `telegram_api` puts a server in front of it.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from bot.sandbox.platforms import telegram_shapes as shapes
from bot.sandbox.platforms.telegram_limits import FloodControl
from bot.sandbox.platforms.telegram_request import (
    ChatRef, Params, Upload, bad_request, forbidden, too_many_requests,
)
from bot.sandbox.platforms.telegram_updates import UpdateQueue

JSON = dict[str, Any]
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
NOT_MODIFIED = ("message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message")


@dataclass(frozen=True)
class BotMessage:
    """A message the bot sent, as the user sees it now (after any edits)."""

    message_id: int
    chat_id: int
    text: Optional[str]
    caption: Optional[str]
    buttons: tuple[tuple[tuple[str, str], ...], ...]   # rows of (label, callback_data)
    reply_markup: Optional[JSON]
    photo_file_id: Optional[str]
    parse_mode: Optional[str]
    edited: bool
    history: tuple[str, ...]                            # earlier texts, oldest first

    @property
    def labels(self) -> list[str]:
        return [label for row in self.buttons for label, _ in row]


@dataclass(frozen=True)
class Injected:
    """What a simulated person's action became on the bot's side."""

    update_id: int
    message_id: Optional[int] = None
    callback_query_id: Optional[str] = None
    file_id: Optional[str] = None


@dataclass
class _File:
    file_id: str
    unique_id: str
    path: str
    data: bytes


@dataclass
class _Callback:
    chat_id: int
    message_id: int
    data: str
    created_at: float
    answered: bool = False
    answer: dict = field(default_factory=dict)


@dataclass
class _Stored:
    json: JSON
    parse_mode: Optional[str] = None
    history: list[str] = field(default_factory=list)


class TelegramWorld:
    """State and rules of one bot's corner of Telegram."""

    def __init__(self, bot_user: JSON, queue: UpdateQueue, flood: FloodControl, *,
                 clock: Callable[[], float], wall_clock: Callable[[], float],
                 callback_timeout: float) -> None:
        self.bot_user = bot_user
        self.queue = queue
        self.flood = flood
        self._clock = clock
        self._wall = wall_clock
        self._callback_timeout = callback_timeout
        self._users: dict[int, JSON] = {}
        self._chats: dict[int, JSON] = {}
        self._by_username: dict[str, int] = {}
        self._blocked: set[int] = set()
        self._messages: dict[int, dict[int, _Stored]] = {}
        self._next_message_id: dict[int, itertools.count] = {}
        self._files: dict[str, _File] = {}
        self._file_paths: dict[str, _File] = {}
        self._callbacks: dict[str, _Callback] = {}
        # Counters, not randomness: a replayed scenario gets the same ids.
        self._file_counter = itertools.count(1)
        self._query_counter = itertools.count(1)

    # ==== people's side ================================================================
    def add_user(self, chat_id: int, first_name: str, language_code: Optional[str] = "en",
                 *, username: Optional[str] = None, last_name: Optional[str] = None) -> JSON:
        person = shapes.user(chat_id, first_name, username=username, last_name=last_name,
                             language_code=language_code)
        self._users[chat_id] = person
        self._add_chat(shapes.private_chat(person))
        if username:
            self._by_username[username.lower()] = chat_id
        return person

    def add_group(self, chat_id: int, title: str) -> JSON:
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        return self._add_chat(shapes.group_chat(chat_id, title))

    def _add_chat(self, chat: JSON) -> JSON:
        self._chats[chat["id"]] = chat
        self._messages.setdefault(chat["id"], {})
        self._next_message_id.setdefault(chat["id"], itertools.count(1))
        return chat

    def block(self, chat_id: int) -> None:
        self._person(chat_id)
        self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        self._blocked.discard(chat_id)

    def user_sends(self, chat_id: int, text: str) -> Injected:
        entities = shapes.command_entities(text)
        return self._user_message(chat_id, text=text, entities=entities or None)

    def user_sends_photo(self, chat_id: int, caption: Optional[str] = None,
                         data: bytes = b"\xff\xd8\xff\xe0sandbox-jpeg") -> Injected:
        sizes = [90, 320, 1280]
        files = [self._new_file("photos", f".{side}.jpg", data) for side in sizes]
        photo = shapes.photo_sizes([f.file_id for f in files], [f.unique_id for f in files], sizes)
        injected = self._user_message(chat_id, photo=photo, caption=caption)
        return Injected(injected.update_id, injected.message_id, file_id=files[-1].file_id)

    def user_sends_media(self, chat_id: int, kind: str) -> Injected:
        """A sticker, voice note, video, video_note, audio, animation or document."""
        file = self._new_file(kind + "s", ".bin", b"sandbox-" + kind.encode())
        body = {kind: shapes.media(kind, file.file_id, file.unique_id)}
        if kind == "animation":  # Telegram also fills `document` for animations
            body["document"] = shapes.media("document", file.file_id, file.unique_id)
        injected = self._user_message(chat_id, **body)
        return Injected(injected.update_id, injected.message_id, file_id=file.file_id)

    def user_taps(self, chat_id: int, message_id: int, data: str, *, stale_ok: bool = False) -> Injected:
        """A tap on a button of a bot message. The button must be on the message now, unless
        `stale_ok` (a client still showing an old keyboard)."""
        person = self._person(chat_id)
        stored = self._messages.get(chat_id, {}).get(message_id)
        if stored is None or stored.json["from"]["id"] != self.bot_user["id"]:
            raise ValueError(f"no bot message {message_id} in chat {chat_id}")
        on_keyboard = {button.get("callback_data")
                       for row in (stored.json.get("reply_markup") or {}).get("inline_keyboard", [])
                       for button in row}
        if data not in on_keyboard and not stale_ok:
            raise ValueError(f"message {message_id} has no button with data {data!r} now")
        query_id = str(4_000_000_000_000_000_000 + next(self._query_counter))
        self._callbacks[query_id] = _Callback(chat_id, message_id, data, self._clock())
        update = self.queue.add({"callback_query": shapes.callback_query(
            query_id, person, stored.json, data)})
        return Injected(update["update_id"], message_id, callback_query_id=query_id)

    def _user_message(self, chat_id: int, **content: Any) -> Injected:
        person = self._person(chat_id)
        message_id = next(self._next_message_id[chat_id])
        msg = shapes.message(message_id, self._chats[chat_id], person, int(self._wall()), **content)
        self._messages[chat_id][message_id] = _Stored(msg)
        update = self.queue.add({"message": msg})
        return Injected(update["update_id"], message_id)

    def _person(self, chat_id: int) -> JSON:
        if chat_id not in self._users:
            raise KeyError(f"no user {chat_id}: add_user first")
        return self._users[chat_id]

    # ==== what tests read ==============================================================
    def messages_to(self, chat_id: int) -> list[BotMessage]:
        bot_id = self.bot_user["id"]
        return [self._snapshot(s) for _, s in sorted(self._messages.get(chat_id, {}).items())
                if s.json["from"]["id"] == bot_id]

    def callback_answer(self, query_id: str) -> Optional[dict]:
        """The answerCallbackQuery parameters the bot used, or None if unanswered."""
        query = self._callbacks[query_id]
        return dict(query.answer) if query.answered else None

    def is_blocked(self, chat_id: int) -> bool:
        return chat_id in self._blocked

    def file_bytes(self, file_path: str) -> Optional[bytes]:
        file = self._file_paths.get(file_path)
        return file.data if file else None

    @staticmethod
    def _snapshot(stored: _Stored) -> BotMessage:
        msg = stored.json
        markup = msg.get("reply_markup")
        rows = tuple(
            tuple((b.get("text", ""), b.get("callback_data", "")) for b in row)
            for row in (markup or {}).get("inline_keyboard", [])
        )
        photo = msg.get("photo")
        return BotMessage(
            message_id=msg["message_id"], chat_id=msg["chat"]["id"], text=msg.get("text"),
            caption=msg.get("caption"), buttons=rows, reply_markup=markup,
            photo_file_id=photo[-1]["file_id"] if photo else None,
            parse_mode=stored.parse_mode, edited="edit_date" in msg,
            history=tuple(stored.history),
        )

    # ==== bot's side: Bot API methods ==================================================
    def get_me(self, params: Params) -> JSON:
        return dict(self.bot_user)

    def send_message(self, params: Params) -> JSON:
        chat = self._chat(params.chat())
        text = params.text("text")
        if not text:
            raise bad_request("message text is empty")
        if len(text) > shapes.MAX_TEXT:
            raise bad_request("message is too long")
        markup = self._markup(params)
        self._admit(chat)
        return self._bot_message(chat, params, text=text, reply_markup=markup)

    def send_photo(self, params: Params) -> JSON:
        chat = self._chat(params.chat())
        caption = params.text("caption")
        if caption and len(caption) > shapes.MAX_CAPTION:
            raise bad_request("message caption is too long")
        markup = self._markup(params)
        photo = self._photo(params.upload_or_text("photo"))
        self._admit(chat)
        return self._bot_message(chat, params, photo=photo, caption=caption, reply_markup=markup)

    def edit_message_text(self, params: Params) -> JSON:
        stored = self._editable(params)
        text = params.text("text")
        if not text:
            raise bad_request("message text is empty")
        if len(text) > shapes.MAX_TEXT:
            raise bad_request("message is too long")
        if "text" not in stored.json:
            raise bad_request("there is no text in the message to edit")
        return self._edit(stored, params, text=text, reply_markup=self._markup(params))

    def edit_message_reply_markup(self, params: Params) -> JSON:
        stored = self._editable(params)
        return self._edit(stored, params, text=stored.json.get("text"),
                          reply_markup=self._markup(params))

    def answer_callback_query(self, params: Params) -> bool:
        query_id = params.text("callback_query_id", required=True)
        query = self._callbacks.get(query_id or "")
        if (query is None or query.answered
                or self._clock() - query.created_at > self._callback_timeout):
            raise bad_request(QUERY_TOO_OLD)
        text = params.text("text") or ""
        if len(text) > shapes.MAX_CALLBACK_ANSWER:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answered = True
        query.answer = {"text": text, "show_alert": params.flag("show_alert")}
        return True

    def get_file(self, params: Params) -> JSON:
        file = self._files.get(params.text("file_id", required=True) or "")
        if file is None:
            raise bad_request("invalid file_id")
        return {"file_id": file.file_id, "file_unique_id": file.unique_id,
                "file_size": len(file.data), "file_path": file.path}

    def send_chat_action(self, params: Params) -> bool:
        self._chat(params.chat())
        return True

    # ==== rules ========================================================================
    def _chat(self, ref: ChatRef) -> JSON:
        chat_id = self._by_username.get(ref[1:].lower()) if isinstance(ref, str) else ref
        chat = self._chats.get(chat_id) if chat_id is not None else None
        if chat is None:
            raise bad_request("chat not found")
        if chat["id"] in self._blocked:
            raise forbidden("bot was blocked by the user")
        return chat

    def _admit(self, chat: JSON) -> None:
        retry_after = self.flood.admit(chat["id"], shapes.is_group(chat))
        if retry_after is not None:
            raise too_many_requests(retry_after)

    @staticmethod
    def _markup(params: Params) -> Optional[JSON]:
        markup = params.obj("reply_markup")
        if markup is None:
            return None
        problem = shapes.validate_inline_markup(markup)
        if problem:
            raise bad_request(problem)
        return markup if "inline_keyboard" in markup else None

    def _bot_message(self, chat: JSON, params: Params, **content: Any) -> JSON:
        message_id = next(self._next_message_id[chat["id"]])
        msg = shapes.message(message_id, chat, self.bot_user, int(self._wall()), **content)
        self._messages[chat["id"]][message_id] = _Stored(msg, parse_mode=params.text("parse_mode"))
        return msg

    def _editable(self, params: Params) -> _Stored:
        if "inline_message_id" in params:
            raise bad_request("inline messages are not modelled by the sandbox")
        chat = self._chat(params.chat())
        message_id = params.integer("message_id", required=True)
        stored = self._messages[chat["id"]].get(message_id or 0)
        if stored is None:
            raise bad_request("message to edit not found")
        if stored.json["from"]["id"] != self.bot_user["id"]:
            raise bad_request("message can't be edited")
        return stored

    def _edit(self, stored: _Stored, params: Params, *, text: Optional[str],
              reply_markup: Optional[JSON]) -> JSON:
        msg = stored.json
        if msg.get("text") == text and msg.get("reply_markup") == reply_markup:
            raise bad_request(NOT_MODIFIED)
        if text is not None and msg.get("text") != text:
            stored.history.append(msg["text"])
            msg["text"] = text
            stored.parse_mode = params.text("parse_mode")
        if reply_markup is None:
            msg.pop("reply_markup", None)
        else:
            msg["reply_markup"] = reply_markup
        msg["edit_date"] = int(self._wall())
        return msg

    def _photo(self, source: Any) -> list[JSON]:
        if isinstance(source, Upload):
            file = self._new_file("photos", ".jpg", source.data)
        elif isinstance(source, str) and source in self._files:
            file = self._files[source]
        else:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return shapes.photo_sizes([file.file_id], [file.unique_id], [1280])

    def _new_file(self, folder: str, suffix: str, data: bytes) -> _File:
        number = next(self._file_counter)
        file = _File(file_id=f"AgACAgIAAxkBAAI{number:08d}{folder[:5]}", unique_id=f"AQAD{number:08d}",
                     path=f"{folder}/file_{number}{suffix}", data=data)
        self._files[file.file_id] = file
        self._file_paths[file.path] = file
        return file
