"""A loopback Slack for tests, `simulate`, the demo and benchmarks.

The real slack-sdk clients talk to it over HTTP (`base_url=sandbox.base_url`) exactly as to
slack.com; it delivers signed Events API and interactivity requests to the bot's request URL,
lets a test act as a customer or an agent, and keeps everything posted for reading back.
It binds 127.0.0.1 only."""
from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections import Counter
from typing import Any, Iterable, Optional
from urllib.parse import parse_qsl

from aiohttp import web

from bot.sandbox.platforms.slack_delivery import (
    Delivered, Deliverer, Signing, block_actions_payload, event_envelope, form_payload_body,
    json_body,
)
from bot.sandbox.platforms.slack_state import (
    Channel, ChannelRateLimiter, Clock, Ephemeral, Ids, Message, TsSource, User, View,
)
from bot.sandbox.platforms.slack_web import ApiError, RateLimited, Workspace

__all__ = ["SlackSandbox", "Signing", "Delivered", "Message", "Ephemeral", "View"]

LOOPBACK = "127.0.0.1"


class SlackSandbox:
    """The loopback Slack Web API plus the people on the other side of it.

    `rate`/`burst` set the chat.postMessage limit per channel (posts per second, headroom);
    `clock` drives that limit (inject a simulated clock); `wall` stamps message ts and request
    signatures (Bolt checks signatures against real time, so leave it real unless testing
    staleness). With `echo_bot_messages` the bot's own posts come back as message events, as
    they do on Slack when the app subscribes to message.channels / message.im."""

    def __init__(self, *, token: str = "xoxb-sandbox-token",
                 signing_secret: str = "sandbox-signing-secret",
                 events_url: Optional[str] = None, rate: float = 1.0, burst: int = 3,
                 clock: Clock = time.monotonic, wall: Clock = time.time,
                 echo_bot_messages: bool = False, latency: float = 0.0) -> None:
        self.token = token
        self.events_url = events_url
        self.echo_bot_messages = echo_bot_messages
        self.latency = latency            # seconds every Web API call waits (a round trip, for benchmarks)
        self._wall = wall
        self._ids = Ids()
        self.workspace = Workspace(limiter=ChannelRateLimiter(rate, burst, clock), ts=TsSource(wall),
                                   ids=self._ids, on_bot_post=self._bot_posted)
        self.workspace.wall = wall
        self._deliverer = Deliverer(signing_secret, wall)
        self._runner: Optional[web.AppRunner] = None
        self._port = 0
        self._tasks: set[asyncio.Task] = set()
        self._triggers = itertools.count(1)
        self.calls: Counter[str] = Counter()

    # ---- lifecycle --------------------------------------------------------------------

    async def start(self) -> str:
        """Listen on a random loopback port; return the Web API base URL for the client."""
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/actions/{trigger}", self._handle_response_url)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, LOOPBACK, 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        await self._deliverer.open()
        return self.base_url

    async def stop(self) -> None:
        await self.idle()
        await self._deliverer.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> "SlackSandbox":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def idle(self) -> None:
        """Wait until every background delivery (echoed bot posts) has been answered."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self._port}/api/"

    @property
    def signing_secret(self) -> str:
        return self._deliverer.signing_secret

    # ---- the Web API ------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        name = request.match_info["method"]
        self.calls[name] += 1
        if self.latency:
            await asyncio.sleep(self.latency)
        params = await _params(request)
        method = self.workspace.methods.get(name)
        if method is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        if _token(request, params) != self.token:
            error = "not_authed" if not _token(request, params) else "invalid_auth"
            return web.json_response({"ok": False, "error": error})
        try:
            body = await method(params)
        except RateLimited as e:
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                     headers={"Retry-After": str(e.retry_after)})
        except ApiError as e:
            return web.json_response({"ok": False, "error": e.error, **e.extra})
        return web.json_response(body, headers={"X-OAuth-Scopes": "chat:write,im:write,users:read,"
                                                                  "users:read.email,channels:read"})

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    # ---- the workspace ----------------------------------------------------------------

    def add_user(self, name: str, email: Optional[str] = None, *, is_bot: bool = False,
                 user_id: Optional[str] = None, locale: str = "en-US") -> str:
        """A workspace member; `user_id` fixes the id (scenarios), else one is made up;
        `locale` is the Slack language they chose (users.info with include_locale)."""
        user = User(user_id or self._ids.make("U"), name, email, is_bot=is_bot, locale=locale)
        self.workspace.users[user.id] = user
        return user.id

    def add_channel(self, name: str, members: Iterable[str] = (), *, bot_member: bool = True,
                    private: bool = False, channel_id: Optional[str] = None) -> str:
        """A channel with `members` (and the bot unless `bot_member` is off)."""
        ids = list(members) + ([self.workspace.bot_user_id] if bot_member else [])
        ch = Channel(channel_id or self._ids.make("C"), name, ids, is_private=private)
        self.workspace.channels[ch.id] = ch
        self.workspace.messages[ch.id] = []
        return ch.id

    def deactivate(self, user_id: str) -> None:
        self.workspace.users[user_id].deleted = True

    def archive(self, channel_id: str) -> None:
        self.workspace.channels[channel_id].is_archived = True

    def join(self, channel_id: str, user_id: str) -> None:
        self.workspace.channels[channel_id].members.append(user_id)

    def dm_channel(self, user_id: str) -> str:
        """The id of the bot's DM with `user_id` (opened if needed)."""
        return self.workspace.open_im(user_id).id

    @property
    def bot_user_id(self) -> str:
        return self.workspace.bot_user_id

    @property
    def bot_id(self) -> str:
        return self.workspace.bot_id

    # ---- people acting ----------------------------------------------------------------

    async def user_sends_dm(self, user_id: str, text: str, *, files: Iterable[dict] = (),
                            signing: Signing = Signing.VALID, retries: int = 0) -> Delivered:
        """A customer writes to the bot in their DM (a `message.im` event)."""
        return await self._user_message(self.dm_channel(user_id), user_id, text, None,
                                        files=list(files), signing=signing, retries=retries)

    async def user_posts(self, channel: str, user_id: str, text: str, *,
                         signing: Signing = Signing.VALID, retries: int = 0) -> Delivered:
        """Someone posts a top-level message in a channel."""
        return await self._user_message(channel, user_id, text, None, signing=signing, retries=retries)

    async def user_posts_in_thread(self, channel: str, thread_ts: str, user_id: str, text: str, *,
                                   signing: Signing = Signing.VALID, retries: int = 0) -> Delivered:
        """Someone replies in the thread under `thread_ts` (an agent answering a case)."""
        self.workspace.find_message(channel, thread_ts)
        return await self._user_message(channel, user_id, text, thread_ts, signing=signing, retries=retries)

    async def other_bot_posts(self, channel: str, text: str, *, thread_ts: Optional[str] = None,
                              signing: Signing = Signing.VALID) -> Delivered:
        """Another integration posts (a `bot_message` event the bot must ignore)."""
        ch = self.workspace.channel(channel)
        msg = Message(ch.id, self.workspace.ts.next(), text, bot_id="B0THERBOT", thread_ts=thread_ts)
        self.workspace.messages[ch.id].append(msg)
        event = dict(self._message_event(ch, msg), subtype="bot_message", username="other-bot")
        event.pop("user", None)
        return await self.deliver_event(event, signing=signing)

    async def user_clicks(self, user_id: str, channel: str, message_ts: str, action_id: str,
                          value: Optional[str] = None, block_id: Optional[str] = None, *,
                          signing: Signing = Signing.VALID, retries: int = 0) -> Delivered:
        """A person presses a button on a message: a signed `block_actions` request.

        The button must be on the message (by action_id, and value when given), as only
        buttons that are shown can be pressed."""
        ws = self.workspace
        ch = ws.channel(channel)
        msg = ws.find_message(ch.id, message_ts)
        found = _find_button(msg.blocks, action_id, value)
        if found is None:
            raise LookupError(f"no button {action_id!r} (value {value!r}) on message {message_ts}")
        found_block_id, button = found
        user = ws.user(user_id)
        action = {
            "action_id": action_id, "block_id": block_id or found_block_id,
            "text": button.get("text", {"type": "plain_text", "text": ""}),
            "value": button.get("value", value or ""), "type": "button",
            "action_ts": ws.ts.next(),
        }
        return await self._block_action(user, ch, msg, action, signing=signing, retries=retries)

    async def user_selects_user(self, user_id: str, channel: str, message_ts: str, action_id: str,
                                selected_user: str, *, signing: Signing = Signing.VALID) -> Delivered:
        """A person picks someone in a people picker (users_select) on a message."""
        ws = self.workspace
        ch = ws.channel(channel)
        msg = ws.find_message(ch.id, message_ts)
        found = _find_button(msg.blocks, action_id, None)
        if found is None or found[1].get("type") != "users_select":
            raise LookupError(f"no people picker {action_id!r} on message {message_ts}")
        ws.user(selected_user)
        action = {"action_id": action_id, "block_id": found[0], "type": "users_select",
                  "selected_user": selected_user, "action_ts": ws.ts.next()}
        return await self._block_action(ws.user(user_id), ch, msg, action, signing=signing, retries=0)

    async def user_shortcut(self, user_id: str, channel: str, message_ts: str, callback_id: str, *,
                            signing: Signing = Signing.VALID) -> Delivered:
        """A person runs a message shortcut (the "..." menu of a message): `message_action`."""
        ws = self.workspace
        ch = ws.channel(channel)
        msg = ws.find_message(ch.id, message_ts)
        user = ws.user(user_id)
        trigger = self._trigger(user.id)
        payload = {
            "type": "message_action", "token": "sandbox-verification-token", "action_ts": ws.ts.next(),
            "team": {"id": ws.team_id, "domain": "sandbox"}, "user": self._user_api(user),
            "channel": {"id": ch.id, "name": ch.name}, "callback_id": callback_id, "trigger_id": trigger,
            "message_ts": msg.ts, "message": msg.as_api(),
            "response_url": f"http://{LOOPBACK}:{self._port}/actions/{trigger}",
        }
        statuses, body = await self._deliverer.post(
            self._url(), form_payload_body(payload), "application/x-www-form-urlencoded", signing=signing)
        return Delivered(statuses[0], statuses, body, trigger, message_ts)

    def views_of(self, user_id: str, open_only: bool = True) -> list[View]:
        """The modals opened for `user_id`, oldest first (open ones only by default)."""
        return [v for v in self.workspace.views.values() if v.user == user_id and not (open_only and v.closed)]

    async def user_picks_in_view(self, user_id: str, view_id: str, action_id: str, value: str, *,
                                 signing: Signing = Signing.VALID) -> Delivered:
        """A person picks an option of a select inside an open modal (dispatch_action)."""
        ws = self.workspace
        view = self._open_view(user_id, view_id)
        block = _input_block(view.body, action_id)
        option = next((o for o in block["element"].get("options") or [] if o.get("value") == value), None)
        if option is None:
            raise LookupError(f"no option {value!r} in {action_id!r} of view {view_id}")
        element = {"type": "static_select", "selected_option": option}
        view.values.setdefault(block["block_id"], {})[action_id] = element
        action = {"action_id": action_id, "block_id": block["block_id"], "type": "static_select",
                  "selected_option": option, "action_ts": ws.ts.next()}
        payload = {
            "type": "block_actions", "user": self._user_api(ws.user(user_id)), "api_app_id": ws.app_id,
            "token": "sandbox-verification-token", "container": {"type": "view", "view_id": view.id},
            "trigger_id": self._trigger(user_id), "team": {"id": ws.team_id, "domain": "sandbox"},
            "view": view.as_api(ws.team_id), "actions": [action],
        }
        statuses, body = await self._deliverer.post(
            self._url(), form_payload_body(payload), "application/x-www-form-urlencoded", signing=signing)
        return Delivered(statuses[0], statuses, body, view.id)

    def type_in_view(self, user_id: str, view_id: str, action_id: str, text: str) -> None:
        """A person types into (or replaces the text of) a text input of an open modal."""
        view = self._open_view(user_id, view_id)
        block = _input_block(view.body, action_id)
        view.values.setdefault(block["block_id"], {})[action_id] = {"type": "plain_text_input", "value": text}

    def pick_in_view(self, user_id: str, view_id: str, action_id: str, value: str) -> None:
        """A person picks an option of a select that does not dispatch (read at submission)."""
        view = self._open_view(user_id, view_id)
        block = _input_block(view.body, action_id)
        option = next((o for o in block["element"].get("options") or [] if o.get("value") == value), None)
        if option is None:
            raise LookupError(f"no option {value!r} in {action_id!r} of view {view_id}")
        view.values.setdefault(block["block_id"], {})[action_id] = {"type": "static_select",
                                                                     "selected_option": option}

    async def user_submits_view(self, user_id: str, view_id: str, *,
                                signing: Signing = Signing.VALID) -> Delivered:
        """A person presses the modal's submit button: `view_submission` with what they
        entered; inputs they left untouched carry their initial values, as in Slack."""
        ws = self.workspace
        view = self._open_view(user_id, view_id)
        for block in view.body.get("blocks") or []:
            if block.get("type") != "input":
                continue
            element = block["element"]
            entered = view.values.setdefault(block["block_id"], {})
            if element["action_id"] in entered:
                continue
            if element["type"] == "plain_text_input":
                entered[element["action_id"]] = {"type": "plain_text_input", "value": element.get("initial_value")}
            elif element["type"] == "static_select":
                entered[element["action_id"]] = {"type": "static_select",
                                                 "selected_option": element.get("initial_option")}
        payload = {
            "type": "view_submission", "team": {"id": ws.team_id, "domain": "sandbox"},
            "user": self._user_api(ws.user(user_id)), "api_app_id": ws.app_id,
            "token": "sandbox-verification-token", "trigger_id": self._trigger(user_id),
            "view": view.as_api(ws.team_id), "response_urls": [],
        }
        statuses, body = await self._deliverer.post(
            self._url(), form_payload_body(payload), "application/x-www-form-urlencoded", signing=signing)
        if statuses[0] == 200 and '"errors"' not in body:
            view.closed = True
        return Delivered(statuses[0], statuses, body, view.id)

    def _open_view(self, user_id: str, view_id: str) -> View:
        view = self.workspace.views.get(view_id)
        if view is None or view.closed or view.user != user_id:
            raise LookupError(f"no open view {view_id} of {user_id}")
        return view

    def _trigger(self, user_id: str) -> str:
        trigger = f"{next(self._triggers)}.{uuid.uuid4().hex[:12]}"
        self.workspace.triggers[trigger] = (user_id, self._wall())
        return trigger

    def _user_api(self, user: User) -> dict:
        return {"id": user.id, "username": user.name, "name": user.name, "team_id": self.workspace.team_id}

    async def _block_action(self, user: User, ch: Channel, msg: Message, action: dict, *,
                            signing: Signing, retries: int) -> Delivered:
        ws = self.workspace
        trigger = self._trigger(user.id)
        payload = block_actions_payload(
            user=self._user_api(user),
            team_id=ws.team_id, app_id=ws.app_id,
            channel={"id": ch.id, "name": ch.name}, message=msg.as_api(), action=action,
            trigger_id=trigger,
            response_url=f"http://{LOOPBACK}:{self._port}/actions/{trigger}",
        )
        statuses, body = await self._deliverer.post(
            self._url(), form_payload_body(payload), "application/x-www-form-urlencoded",
            signing=signing, retries=retries)
        return Delivered(statuses[0], statuses, body, trigger, msg.ts)

    async def deliver_event(self, event: dict, *, signing: Signing = Signing.VALID,
                            retries: int = 0, event_id: Optional[str] = None) -> Delivered:
        """Deliver one Events API event; `retries` re-sends it with X-Slack-Retry-Num."""
        ws = self.workspace
        event_id = event_id or self._ids.make("Ev")
        envelope = event_envelope(event=event, event_id=event_id, team_id=ws.team_id,
                                  app_id=ws.app_id, bot_user_id=ws.bot_user_id,
                                  event_time=int(self._wall()))
        statuses, body = await self._deliverer.post(self._url(), json_body(envelope),
                                                    "application/json", signing=signing,
                                                    retries=retries)
        return Delivered(statuses[0], statuses, body, event_id, str(event.get("ts", "")))

    async def verify_url(self, challenge: str = "sandbox-challenge",
                         signing: Signing = Signing.VALID) -> Delivered:
        """The `url_verification` handshake Slack makes when the request URL is saved."""
        body = json_body({"token": "sandbox-verification-token", "challenge": challenge,
                          "type": "url_verification"})
        statuses, answer = await self._deliverer.post(self._url(), body, "application/json",
                                                      signing=signing)
        return Delivered(statuses[0], statuses, answer)

    async def _user_message(self, channel: str, user_id: str, text: str, thread_ts: Optional[str],
                            *, files: Optional[list] = None, signing: Signing,
                            retries: int) -> Delivered:
        ws = self.workspace
        ch = ws.channel(channel)
        user = ws.user(user_id)
        msg = Message(ch.id, ws.ts.next(), text, user=user.id, thread_ts=thread_ts)
        ws.messages[ch.id].append(msg)
        event = self._message_event(ch, msg)
        if files:
            event.update(subtype="file_share", files=files, upload=False)
        return await self.deliver_event(event, signing=signing, retries=retries)

    def _message_event(self, ch: Channel, msg: Message) -> dict:
        event: dict[str, Any] = {
            "type": "message", "channel": ch.id, "user": msg.user, "text": msg.text,
            "ts": msg.ts, "event_ts": msg.ts, "channel_type": ch.channel_type,
            "team": self.workspace.team_id,
        }
        if msg.bot_id:
            event.update(bot_id=msg.bot_id, app_id=self.workspace.app_id)
        else:
            event["client_msg_id"] = str(uuid.uuid4())
        if msg.blocks:
            event["blocks"] = msg.blocks
        if msg.thread_ts:
            event["thread_ts"] = msg.thread_ts
            parent = next((m for m in self.workspace.messages[ch.id] if m.ts == msg.thread_ts), None)
            if parent is not None and parent.user:
                event["parent_user_id"] = parent.user
        return event

    def _bot_posted(self, msg: Message) -> None:
        if not self.echo_bot_messages or not self.events_url:
            return
        event = self._message_event(self.workspace.channels[msg.channel], msg)
        task = asyncio.get_running_loop().create_task(self.deliver_event(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _url(self) -> str:
        if not self.events_url:
            raise RuntimeError("set SlackSandbox.events_url to the bot's request URL first")
        return self.events_url

    # ---- reading back -----------------------------------------------------------------

    def messages_in(self, channel: str) -> list[Message]:
        """Every message in the channel, threads included, oldest first."""
        return list(self.workspace.messages.get(channel, ()))

    def top_level(self, channel: str) -> list[Message]:
        return [m for m in self.messages_in(channel) if not m.thread_ts or m.thread_ts == m.ts]

    def message(self, channel: str, ts: str) -> Message:
        return self.workspace.find_message(channel, ts)

    def thread(self, channel: str, ts: str) -> list[Message]:
        """The parent message followed by its replies, like conversations.replies."""
        return [m for m in self.messages_in(channel) if m.ts == ts or m.thread_ts == ts]

    def dms_to(self, user_id: str) -> list[Message]:
        """What the bot posted in its DM with `user_id`."""
        ch = next((c for c in self.workspace.channels.values() if c.is_im and c.im_user == user_id), None)
        if ch is None:
            return []
        return [m for m in self.workspace.messages[ch.id] if m.bot_id == self.workspace.bot_id]

    @property
    def ephemerals(self) -> list[Ephemeral]:
        return list(self.workspace.ephemerals)

    @property
    def posted(self) -> int:
        """chat.postMessage calls that were accepted."""
        return self.workspace.posted

    @property
    def ratelimited(self) -> int:
        """chat.postMessage calls refused with 429."""
        return self.workspace.ratelimited


def _token(request: web.Request, params: dict) -> str:
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        return auth[len("Bearer "):].strip()
    return str(params.get("token") or "")


async def _params(request: web.Request) -> dict:
    """Query string, form fields and JSON body merged (slack-sdk sends all three kinds)."""
    params: dict[str, Any] = dict(request.query)
    raw = await request.text()
    if not raw:
        return params
    if request.content_type == "application/json":
        try:
            body = json.loads(raw)
        except ValueError:
            return params
        if isinstance(body, dict):
            params.update(body)
    else:
        params.update(parse_qsl(raw, keep_blank_values=True))
    return params


def _find_button(blocks: list, action_id: str, value: Optional[str]) -> Optional[tuple[str, dict]]:
    for block in blocks:
        if not isinstance(block, dict):
            continue
        elements = list(block.get("elements") or [])
        if isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        for el in elements:
            if (isinstance(el, dict) and el.get("action_id") == action_id
                    and (value is None or el.get("value") == value)):
                return str(block.get("block_id") or ""), el
    return None


def _input_block(view: dict, action_id: str) -> dict:
    for block in view.get("blocks") or []:
        if block.get("type") == "input" and (block.get("element") or {}).get("action_id") == action_id:
            return block
    raise LookupError(f"no input {action_id!r} in the view")
