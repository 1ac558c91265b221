"""Bot API JSON objects (User, Chat, Message, CallbackQuery, PhotoSize, ...) as Telegram sends them.

Pure functions over dicts, so the loopback server and its tests build the same shapes the
real API does (https://core.telegram.org/bots/api#available-types) and python-telegram-bot's
`de_json` accepts them unchanged. Only fields the product can meet are filled in.
"""
from __future__ import annotations

from typing import Any, Optional

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_CALLBACK_ANSWER = 200

JSON = dict[str, Any]
_OTHER_BUTTON_KINDS = frozenset({"url", "login_url", "switch_inline_query",
                                 "switch_inline_query_current_chat", "web_app", "copy_text",
                                 "callback_game", "pay"})


def user(user_id: int, first_name: str, *, is_bot: bool = False, username: Optional[str] = None,
         last_name: Optional[str] = None, language_code: Optional[str] = None) -> JSON:
    data: JSON = {"id": user_id, "is_bot": is_bot, "first_name": first_name}
    if last_name:
        data["last_name"] = last_name
    if username:
        data["username"] = username
    if language_code:
        data["language_code"] = language_code
    return data


def private_chat(person: JSON) -> JSON:
    data: JSON = {"id": person["id"], "type": "private", "first_name": person["first_name"]}
    for key in ("last_name", "username"):
        if key in person:
            data[key] = person[key]
    return data


def group_chat(chat_id: int, title: str) -> JSON:
    return {"id": chat_id, "type": "supergroup" if chat_id < -10**12 else "group", "title": title}


def is_group(chat: JSON) -> bool:
    return chat["type"] in ("group", "supergroup")


def command_entities(text: str) -> list[JSON]:
    """A leading `/command` (with an optional `@bot`) is a bot_command entity, as Telegram marks it."""
    if not text.startswith("/") or len(text) < 2:
        return []
    length = len(text.split(maxsplit=1)[0])
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(text[:length])}]


def utf16_len(text: str) -> int:
    """Entity offsets and lengths count UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def message(message_id: int, chat: JSON, sender: JSON, date: int, **content: Any) -> JSON:
    data: JSON = {"message_id": message_id, "from": sender, "chat": chat, "date": date}
    data.update({key: value for key, value in content.items() if value is not None})
    return data


def callback_query(query_id: str, sender: JSON, msg: JSON, data: str) -> JSON:
    return {
        "id": query_id,
        "from": sender,
        "message": msg,
        "chat_instance": str(abs(msg["chat"]["id"]) * 1_000_003 % 10**18 + 1),
        "data": data,
    }


def photo_sizes(file_ids: list[str], unique_ids: list[str], sizes: list[int]) -> list[JSON]:
    """Telegram sends every photo in several sizes, smallest first."""
    return [
        {"file_id": fid, "file_unique_id": uid, "width": side, "height": side * 3 // 4,
         "file_size": side * side // 10}
        for fid, uid, side in zip(file_ids, unique_ids, sizes)
    ]


def media(kind: str, file_id: str, unique_id: str) -> JSON:
    """A non-photo attachment with the fields the Bot API marks required for `kind`."""
    base: JSON = {"file_id": file_id, "file_unique_id": unique_id}
    extra: dict[str, JSON] = {
        "sticker": {"type": "regular", "width": 512, "height": 512, "is_animated": False,
                    "is_video": False, "emoji": "\U0001F44D"},
        "voice": {"duration": 3, "mime_type": "audio/ogg", "file_size": 4200},
        "audio": {"duration": 120, "mime_type": "audio/mpeg", "file_size": 1_900_000},
        "video": {"width": 640, "height": 360, "duration": 8, "mime_type": "video/mp4"},
        "video_note": {"length": 240, "duration": 5},
        "animation": {"width": 320, "height": 240, "duration": 2, "mime_type": "video/mp4"},
        "document": {"file_name": "receipt.pdf", "mime_type": "application/pdf",
                     "file_size": 52_000},
    }
    if kind not in extra:
        raise ValueError(f"no media shape for {kind!r}; one of {sorted(extra)}")
    return {**base, **extra[kind]}


def validate_inline_markup(markup: Any) -> Optional[str]:
    """The Bot API error description for a bad inline keyboard, or None when it is fine."""
    if not isinstance(markup, dict):
        return "can't parse reply keyboard markup JSON object"
    rows = markup.get("inline_keyboard")
    if rows is None:
        # Reply keyboards, ForceReply, ReplyKeyboardRemove: accepted, not modelled.
        return None
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        return "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
    for row in rows:
        for button in row:
            if not isinstance(button, dict):
                return "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
            if not button.get("text"):
                return "BUTTON_TEXT_INVALID"
            data = button.get("callback_data")
            if data is None:
                if not _OTHER_BUTTON_KINDS.intersection(button):
                    return "can't find field \"callback_data\""
            elif not 1 <= len(str(data).encode("utf-8")) <= MAX_CALLBACK_DATA:
                return "BUTTON_DATA_INVALID"
    return None

