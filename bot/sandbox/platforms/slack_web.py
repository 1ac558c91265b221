"""The Slack Web API methods the loopback server answers, over the workspace state.

Each method takes the merged request parameters and returns the JSON body; a refusal raises
`ApiError` (HTTP 200, `ok: false`, as Slack does) or `RateLimited` (HTTP 429 + Retry-After)."""
from __future__ import annotations

import json
import time
from typing import Any, Awaitable, Callable, Optional

from bot.base.errors import AftercareError
from bot.sandbox.platforms.slack_checks import MAX_TEXT, block_errors, scan, view_errors
from bot.sandbox.platforms.slack_state import (
    Channel, ChannelRateLimiter, Ephemeral, Ids, Message, TsSource, User, View,
)


class ApiError(AftercareError):
    """An `ok: false` answer."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


class RateLimited(AftercareError):
    """An HTTP 429 answer; `retry_after` whole seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"ratelimited, retry after {retry_after}s")
        self.retry_after = retry_after


Method = Callable[[dict], Awaitable[dict]]
OnBotPost = Callable[[Message], None]


def flag(value: Any) -> bool:
    """Slack booleans arrive as JSON booleans or as form strings ("true", "1")."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def json_param(value: Any) -> Any:
    """Form bodies carry blocks as a JSON string; JSON bodies carry them as a list."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise ApiError("invalid_blocks_format") from None
    return value


class Workspace:
    """One Slack workspace with its bot user, and the Web API methods over it."""

    def __init__(self, *, limiter: ChannelRateLimiter, ts: TsSource, ids: Ids,
                 team_id: str = "T00SANDBOX", app_id: str = "A00SANDBOX",
                 on_bot_post: Optional[OnBotPost] = None) -> None:
        self.team_id = team_id
        self.app_id = app_id
        self.ids = ids
        self.ts = ts
        self.limiter = limiter
        self.bot_user_id = ids.make("U")
        self.bot_id = ids.make("B")
        self.users: dict[str, User] = {self.bot_user_id: User(self.bot_user_id, "aftercare", is_bot=True)}
        self.channels: dict[str, Channel] = {}
        self.messages: dict[str, list[Message]] = {}
        self.ephemerals: list[Ephemeral] = []
        self.deleted: list[Message] = []          # what chat.delete removed, for tests to read
        self.posted = 0
        self.ratelimited = 0
        self._on_bot_post = on_bot_post
        self.methods: dict[str, Method] = {
            "api.test": self.api_test,
            "auth.test": self.auth_test,
            "conversations.open": self.conversations_open,
            "conversations.members": self.conversations_members,
            "conversations.list": self.conversations_list,
            "chat.postMessage": self.chat_post_message,
            "chat.update": self.chat_update,
            "chat.delete": self.chat_delete,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "users.info": self.users_info,
            "users.lookupByEmail": self.users_lookup_by_email,
            "views.open": self.views_open,
            "views.update": self.views_update,
        }
        self.views: dict[str, View] = {}
        self.triggers: dict[str, tuple[str, float]] = {}   # trigger id -> (user, issued at, wall seconds)
        self.wall: Callable[[], float] = time.time

    # ---- lookups ----------------------------------------------------------------------

    def user(self, user_id: str) -> User:
        try:
            return self.users[user_id]
        except KeyError:
            raise ApiError("user_not_found") from None

    def channel(self, channel_id: Any) -> Channel:
        if not channel_id:
            raise ApiError("channel_not_found")
        if channel_id in self.channels:
            return self.channels[channel_id]
        if channel_id in self.users:       # posting to a user id posts to the DM with them
            return self.open_im(channel_id)
        raise ApiError("channel_not_found")

    def open_im(self, user_id: str) -> Channel:
        for ch in self.channels.values():
            if ch.is_im and ch.im_user == user_id:
                return ch
        ch = Channel(self.ids.make("D"), "directmessage", [user_id, self.bot_user_id],
                     is_im=True, im_user=user_id)
        self.channels[ch.id] = ch
        self.messages[ch.id] = []
        return ch

    def find_message(self, channel_id: str, ts: str) -> Message:
        for msg in self.messages.get(channel_id, ()):
            if msg.ts == ts:
                return msg
        raise ApiError("message_not_found")

    def _postable(self, ch: Channel) -> None:
        """The refusals Slack gives before it looks at the message itself."""
        if ch.is_archived:
            raise ApiError("is_archived")
        if ch.is_im:
            assert ch.im_user is not None, "a DM channel names its user"
            if self.users[ch.im_user].deleted:
                raise ApiError("account_inactive")
        elif self.bot_user_id not in ch.members:
            raise ApiError("not_in_channel")

    @staticmethod
    def _content(params: dict) -> tuple[str, list]:
        text = params.get("text") or ""
        blocks = json_param(params.get("blocks")) or []
        if not text and not blocks:
            raise ApiError("no_text")
        errors = block_errors(blocks)
        if errors:
            raise ApiError("invalid_blocks", errors=errors)
        return str(text), blocks

    def _take_rate(self, channel_id: str) -> None:
        wait = self.limiter.try_take(channel_id)
        if wait > 0:
            self.ratelimited += 1
            raise RateLimited(self.limiter.retry_after_header(wait))

    # ---- methods ----------------------------------------------------------------------

    async def api_test(self, params: dict) -> dict:
        return {"ok": True, "args": {k: v for k, v in params.items() if k != "token"}}

    async def auth_test(self, params: dict) -> dict:
        return {
            "ok": True, "url": "https://sandbox.slack.com/", "team": "Sandbox",
            "user": "aftercare", "team_id": self.team_id, "user_id": self.bot_user_id,
            "bot_id": self.bot_id, "is_enterprise_install": False,
        }

    async def conversations_open(self, params: dict) -> dict:
        users = [u for u in str(params.get("users") or "").split(",") if u]
        if params.get("channel"):
            ch = self.channel(params["channel"])
            return {"ok": True, "no_op": True, "already_open": True, "channel": {"id": ch.id}}
        if len(users) != 1:
            raise ApiError("users_list_not_supplied" if not users else "not_implemented")
        user = self.user(users[0])
        if user.deleted:
            raise ApiError("account_inactive")
        existed = any(c.is_im and c.im_user == user.id for c in self.channels.values())
        ch = self.open_im(user.id)
        return {"ok": True, "no_op": existed, "already_open": existed, "channel": {"id": ch.id}}

    async def conversations_members(self, params: dict) -> dict:
        ch = self.channel(params.get("channel"))
        limit = max(1, min(int(params.get("limit") or 100), 1000))
        start = int(params.get("cursor") or 0)
        page = ch.members[start:start + limit]
        nxt = str(start + limit) if start + limit < len(ch.members) else ""
        return {"ok": True, "members": page, "response_metadata": {"next_cursor": nxt}}

    async def conversations_list(self, params: dict) -> dict:
        """Channels (not DMs) with the bot's membership, paged like Slack's."""
        shown = [ch for ch in self.channels.values() if not ch.is_im
                 and (not flag(params.get("exclude_archived")) or not ch.is_archived)]
        limit = max(1, min(int(params.get("limit") or 100), 1000))
        start = int(params.get("cursor") or 0)
        page = [{"id": ch.id, "name": ch.name, "is_private": ch.is_private, "is_archived": ch.is_archived,
                 "is_member": self.bot_user_id in ch.members} for ch in shown[start:start + limit]]
        nxt = str(start + limit) if start + limit < len(shown) else ""
        return {"ok": True, "channels": page, "response_metadata": {"next_cursor": nxt}}

    async def chat_post_message(self, params: dict) -> dict:
        ch = self.channel(params.get("channel"))
        self._postable(ch)
        text, blocks = self._content(params)
        self._take_rate(ch.id)
        link_names = flag(params.get("link_names")) or params.get("parse") == "full"
        text = text[:MAX_TEXT]
        pings, links = scan(text, blocks, link_names)
        thread_ts = params.get("thread_ts") or None
        msg = Message(ch.id, self.ts.next(), text, user=self.bot_user_id, bot_id=self.bot_id,
                      blocks=blocks, thread_ts=thread_ts, pings=pings, links=links)
        self.messages[ch.id].append(msg)
        self.posted += 1
        if self._on_bot_post is not None:
            self._on_bot_post(msg)
        return {"ok": True, "channel": ch.id, "ts": msg.ts,
                "message": dict(msg.as_api(), app_id=self.app_id, team=self.team_id)}

    async def chat_update(self, params: dict) -> dict:
        ch = self.channel(params.get("channel"))
        if ch.is_archived:
            raise ApiError("is_archived")
        msg = self.find_message(ch.id, str(params.get("ts") or ""))
        if msg.bot_id != self.bot_id:
            raise ApiError("cant_update_message")
        text, blocks = self._content(params)
        if len(text) > MAX_TEXT:
            raise ApiError("msg_too_long")
        msg.text, msg.blocks = text, blocks
        msg.pings, msg.links = scan(text, blocks, flag(params.get("link_names")))
        msg.edited += 1
        return {"ok": True, "channel": ch.id, "ts": msg.ts, "text": msg.text, "message": msg.as_api()}

    async def chat_delete(self, params: dict) -> dict:
        """A bot deletes its own messages only; deleting a thread's parent leaves the replies
        (Slack shows "This message was deleted"), which we do not model."""
        ch = self.channel(params.get("channel"))
        if ch.is_archived:
            raise ApiError("is_archived")
        msg = self.find_message(ch.id, str(params.get("ts") or ""))
        if msg.bot_id != self.bot_id:
            raise ApiError("cant_delete_message")
        self.messages[ch.id].remove(msg)
        self.deleted.append(msg)
        return {"ok": True, "channel": ch.id, "ts": msg.ts}

    async def chat_post_ephemeral(self, params: dict) -> dict:
        ch = self.channel(params.get("channel"))
        self._postable(ch)
        user = self.user(str(params.get("user") or ""))
        if user.id not in ch.members:
            raise ApiError("user_not_in_channel")
        text, blocks = self._content(params)
        if len(text) > MAX_TEXT:
            raise ApiError("msg_too_long")
        eph = Ephemeral(ch.id, user.id, text, self.ts.next(), blocks)
        self.ephemerals.append(eph)
        return {"ok": True, "message_ts": eph.message_ts}

    async def users_info(self, params: dict) -> dict:
        user = self.user(str(params.get("user") or ""))
        return {"ok": True, "user": user.as_api(self.team_id, include_locale=flag(params.get("include_locale")))}

    async def users_lookup_by_email(self, params: dict) -> dict:
        email = str(params.get("email") or "").strip().lower()
        for user in self.users.values():
            if user.email and user.email.lower() == email and not user.deleted:
                return {"ok": True, "user": user.as_api(self.team_id)}
        raise ApiError("users_not_found")

    # ---- modals -------------------------------------------------------------------------

    TRIGGER_SECONDS = 3.0           # a trigger_id opens a modal within 3 s of the click, once

    async def views_open(self, params: dict) -> dict:
        trigger = str(params.get("trigger_id") or "")
        issued = self.triggers.pop(trigger, None)
        if issued is None:
            raise ApiError("invalid_trigger_id")
        user, at = issued
        if self.wall() - at > self.TRIGGER_SECONDS:
            raise ApiError("expired_trigger_id")
        view = View(self.ids.make("V"), user, self._view_body(params), hash=self.ts.next())
        self.views[view.id] = view
        return {"ok": True, "view": view.as_api(self.team_id)}

    async def views_update(self, params: dict) -> dict:
        view = self.views.get(str(params.get("view_id") or ""))
        if view is None or view.closed:
            raise ApiError("not_found")
        if params.get("hash") and params["hash"] != view.hash:
            raise ApiError("hash_conflict")
        body = self._view_body(params)
        kept = {b.get("block_id") for b in body["blocks"]}
        view.values = {k: v for k, v in view.values.items() if k in kept}   # a new block_id drops input
        view.body, view.hash = body, self.ts.next()
        view.updated += 1
        return {"ok": True, "view": view.as_api(self.team_id)}

    @staticmethod
    def _view_body(params: dict) -> dict:
        body = json_param(params.get("view"))
        if not isinstance(body, dict) or body.get("type") != "modal":
            raise ApiError("invalid_arguments")
        errors = view_errors(body)
        if errors:
            raise ApiError("invalid_arguments", response_metadata={"messages": errors})
        return body
