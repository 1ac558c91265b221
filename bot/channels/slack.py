"""Slack, for customers (DM check-ins) and for support agents (case cards, threads).

With slack_desk.py, the only modules that import slack_bolt / slack_sdk. Inbound: Bolt verifies signatures and
we hand a normalized `InboundEvent` or `AgentAction` to the app; Slack gets its 200 only after the
app has committed it (`process_before_response=True`): a process killed in between leaves Slack
without an answer, and Slack delivers the event again (retries with `X-Slack-Retry-Num`), which
the store's (channel, event id) dedup makes harmless. The app commits in milliseconds, well
inside Slack's 3 seconds; a slower answer also only means a retry. Outbound: every
SDK error becomes a `SendResult`; retries and rate limits belong to the outbox dispatcher, so
the client gets no retry handlers at all (not even slack-sdk's default connection retry, which
could post a message twice)."""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import re
import time
from typing import Any, Awaitable, Callable, Iterable, Optional
from urllib.parse import urlsplit

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.base.agent_events import AgentAction, AgentActionHandler, AgentActionKind
from bot.channels.base import EventHandler, StartError
from bot.channels.slack_blocks import CHOICE_PREFIX, NOTE_SHORTCUT, answered_question, question_messages
from bot.channels.slack_desk import NETWORK_ERRORS, SlackDesk, SlackUnavailable, result_from_error, slack_error
from bot.channels.slack_forms import CALLBACK_PREFIX
from bot.channels.slack_inbound import (
    CARD_BUTTONS, RecentIds, agent_click, agent_reply, customer_click, customer_message, form_choice,
    form_submission, note_shortcut,
)
from bot.base.events import ChoiceMade, DeliverLater, InboundEvent, OutboundMessage, SendResult, SendStatus

log = logging.getLogger(__name__)
REFUSED_TOKEN = frozenset({"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"})

# A DM that answers these will never reach the person: mark the identity unreachable.
UNREACHABLE_ERRORS = frozenset({
    "account_inactive", "user_not_found", "users_not_found", "user_disabled",
    "channel_not_found", "cannot_dm_bot", "is_archived",
})
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# agent actions that change nothing but what the agent sees (a form, their history view)
READ_ONLY_ACTIONS = frozenset({AgentActionKind.OPEN_FORM, AgentActionKind.FORM_CHOICE, AgentActionKind.HISTORY})
# What reading a body of the wrong shape raises (in Bolt or in our normalization).
MALFORMED = (ValueError, TypeError, AttributeError, KeyError, IndexError)


class SlackChannel:
    """The Slack adapter: a `Channel` for customers; its `desk` (a `SlackDesk` on the same
    client) is where agents see cases, and agents' clicks and thread replies come in here.

    HTTP mode (default) serves Bolt on `host:port` + `path` (port 0 picks a free one; see
    `events_url`); Socket Mode when `app_token` is given. `support_channels` are the channels
    whose thread replies count as agent replies (any non-DM channel when empty)."""

    name = "slack"

    def __init__(self, *, bot_token: str, signing_secret: str, base_url: Optional[str] = None,
                 app_token: Optional[str] = None, host: str = "127.0.0.1", port: int = 0,
                 path: str = "/slack/events", support_channels: Iterable[str] = (),
                 member_cache_seconds: float = 60.0, clock: Callable[[], float] = time.monotonic,
                 timeout: int = 30) -> None:
        self._client = AsyncWebClient(token=bot_token, timeout=timeout, retry_handlers=[],
                                      **({"base_url": base_url} if base_url else {}))  # type: ignore[arg-type]
        if _bypasses_proxy(self._client.base_url):
            # slack-sdk reads HTTPS_PROXY but ignores NO_PROXY: keep loopback calls direct
            self._client.proxy = None
        self._signing_secret = signing_secret
        self._app_token = app_token
        self._host, self._port, self._path = host, port, path
        self._support_channels = set(support_channels)
        self.desk = SlackDesk(self._client, self._support_channels, member_cache_seconds=member_cache_seconds,
                              clock=clock)
        self._dm_channels: dict[str, str] = {}
        self._locales: dict[str, Optional[str]] = {}   # user id -> their Slack locale, asked once
        self._handled = RecentIds()            # event ids this process has committed
        self._order_locks: dict[str, list] = {}   # key -> [lock, users]
        self._inflight: set[asyncio.Task] = set()
        self._runner: Optional[web.AppRunner] = None
        self._socket: Any = None
        self._on_event: Optional[EventHandler] = None
        self._on_agent_action: Optional[AgentActionHandler] = None
        self.bot_user_id = ""
        self.app: Optional[AsyncApp] = None

    # ---- lifecycle --------------------------------------------------------------------

    async def start(self, on_event: EventHandler,
                    on_agent_action: Optional[AgentActionHandler] = None) -> None:
        """Check the token (auth.test), then receive: HTTP mode, or Socket Mode."""
        self._on_event, self._on_agent_action = on_event, on_agent_action
        auth = await self.check_token()
        self.bot_user_id = str(auth.get("user_id") or "")
        await self.check_support_channels()
        self.app = self._build_app()
        if self._app_token:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            self._socket = AsyncSocketModeHandler(self.app, self._app_token)
            await self._socket.connect_async()
            return
        web_app = web.Application()
        web_app.router.add_post(self._path, self._handle_http)
        self._runner = web.AppRunner(web_app, access_log=None)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self._host, self._port).start()
        except OSError as e:
            await self._runner.cleanup()
            self._runner = None
            raise StartError(f"cannot listen for Slack's events on {self._host}:{self._port} ({e.strerror or e})",
                             "stop what uses that port, or set channels.slack.port") from None
        self._port = self._runner.addresses[0][1]

    async def preflight(self) -> str:
        """auth.test and the support channel (nothing received, nothing sent), or a `StartError`."""
        auth = await self.check_token()
        await self.check_support_channels()
        return f"{auth.get('team') or 'workspace'} as {auth.get('user_id') or '?'}"

    async def close_preflight(self) -> None:
        """Nothing was opened beyond the Web API client's session."""

    async def check_token(self) -> dict:
        """auth.test: the bot's identity, or a `StartError` saying what is wrong (never the token)."""
        try:
            data = (await self._client.auth_test()).data
            return dict(data) if isinstance(data, dict) else {}
        except SlackApiError as e:
            code = slack_error(e)
            if code in REFUSED_TOKEN:
                raise StartError(f"Slack refused the bot token ({code}; SLACK_BOT_TOKEN)",
                                 "set it to the app's Bot User OAuth Token (xoxb-...), or unset it for the sandbox") from None
            raise StartError(f"Slack auth.test failed ({code or e.response.status_code})",
                             "check the app's installation in the workspace") from None
        except NETWORK_ERRORS as e:
            raise StartError(f"cannot reach the Slack Web API at {self._client.base_url} ({type(e).__name__})",
                             "check the network (or SLACK_API_URL)") from None

    async def check_support_channels(self) -> None:
        """Each support channel exists and the bot is in it, else a `StartError` naming it: cases
        would otherwise open with nowhere to go (conversations.list, scope channels:read)."""
        if not self._support_channels:
            return
        found: dict[str, dict] = {}
        cursor = None
        try:
            while True:
                page = await self._client.conversations_list(types="public_channel,private_channel", limit=200,
                                                             exclude_archived=True, cursor=cursor)
                for channel in page.get("channels") or []:
                    found[str(channel.get("id"))] = channel
                    found["#" + str(channel.get("name"))] = channel
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        except SlackApiError as e:
            raise StartError(f"Slack conversations.list failed ({slack_error(e)})",
                             "give the app the channels:read scope (deploy/slack-app-manifest.yml) and reinstall it") from None
        except NETWORK_ERRORS as e:
            raise StartError(f"cannot reach the Slack Web API at {self._client.base_url} ({type(e).__name__})",
                             "check the network (or SLACK_API_URL)") from None
        for wanted in sorted(self._support_channels):
            key = wanted if wanted.startswith("#") or wanted in found else "#" + wanted
            channel = found.get(key)
            if channel is None:
                raise StartError(f"the support channel {wanted} is not in the Slack workspace "
                                 "(escalation.support_channel)", "create it, or name an existing channel")
            if not channel.get("is_member"):
                raise StartError(f"the bot is not a member of the support channel {wanted}",
                                 f"invite it there (/invite @your-bot in {wanted})")

    async def stop(self) -> None:
        """Stop receiving, let acknowledged events finish, release connections."""
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        if self._runner is not None:
            await self._runner.shutdown()
        if self._inflight:
            await asyncio.wait(list(self._inflight), timeout=10)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def idle(self) -> None:
        """Wait until every request in progress has been handled (Socket Mode, or a request
        whose sender stopped waiting; over HTTP the answer itself comes after the work)."""
        for _ in range(3):      # let listener tasks Bolt just scheduled start and register
            await asyncio.sleep(0)
        while self._inflight:
            await asyncio.wait(list(self._inflight))
            await asyncio.sleep(0)

    @property
    def events_url(self) -> str:
        """The request URL to give Slack (Event Subscriptions and Interactivity)."""
        return f"http://{self._host}:{self._port}{self._path}"

    def _build_app(self) -> AsyncApp:
        # process_before_response: the 200 (the ack) goes out after the listener returned,
        # i.e. after the app committed the event; never before (nothing lost on a crash).
        app = AsyncApp(client=self._client, signing_secret=self._signing_secret,
                       process_before_response=True, before_authorize=self._same_proxy)
        app.middleware(self._drop_retried_events)
        app.event("message")(self._on_message)
        app.action(re.compile(rf"^{CHOICE_PREFIX}\d+$"))(self._on_choice)
        # the case card's buttons and people picker, and choices inside an open form
        card_actions = "|".join(re.escape(a) for a in (*CARD_BUTTONS, "case_assign"))
        app.action(re.compile(rf"^({card_actions})$"))(self._on_case_button)
        app.action(re.compile(r"^reply$"))(self._on_form_choice)
        app.shortcut(NOTE_SHORTCUT)(self._on_note_shortcut)
        app.view(re.compile(rf"^{CALLBACK_PREFIX}"))(self._on_form_submit)
        app.event(re.compile(".*"))(self._ignore_event)    # last: only what nothing else took
        app.error(self._on_bolt_error)
        return app

    async def _handle_http(self, request: web.Request) -> web.Response:
        assert self.app is not None
        try:
            bolt_response = await self.app.async_dispatch(await to_bolt_request(request))
        except MALFORMED as exc:
            # Bolt reads the body before (and while) routing it: a body that is not JSON or a
            # form, or whose fields have the wrong types, raises there. Slack never sends one.
            log.warning("Slack request to %s refused: malformed body (%s)", request.path,
                        type(exc).__name__)                 # its text may quote the body: never logged
            return web.Response(status=400, text="malformed request body")
        return await to_aiohttp_response(bolt_response)

    # ---- inbound ----------------------------------------------------------------------

    async def _same_proxy(self, context: Any, next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse:
        """Bolt builds a client per request (used for its auth.test) and that client reads
        HTTPS_PROXY again; give it our client's proxy decision (none for loopback)."""
        context.client.proxy = self._client.proxy
        return await next()

    async def _drop_retried_events(self, req: Any, resp: Any,
                                   next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse:
        """Slack retries an event it thinks we missed; when this process has already handled
        (committed) the event_id, answer 200 and stop here. A retry of an event still being
        handled goes on and waits its turn (one at a time per customer), so it is answered
        only once the first copy is committed. The app's (channel, event_id) dedup in the
        store is the real guarantee; this only saves work within one process."""
        body = req.body if isinstance(req.body, dict) else {}
        event_id = str(body.get("event_id") or "")
        if event_id and req.headers.get("x-slack-retry-num") and event_id in self._handled:
            log.info("dropped Slack retry of %s", event_id)
            return BoltResponse(status=200, body="")
        return await next()

    async def _on_message(self, body: dict, event: dict) -> None:
        """message events (acked once this returns): customer DMs and agents' thread replies."""
        event_id = str(body.get("event_id") or "")
        inbound = customer_message(event, event_id, self.bot_user_id)
        if inbound is not None:
            await self._deliver_inbound(inbound)
        elif self._on_agent_action is not None and (not self._support_channels
                                                     or event.get("channel") in self._support_channels):
            action = agent_reply(event, event_id, self.bot_user_id)
            if action is not None:
                await self._deliver_agent(action)
        if event_id:
            self._handled.add(event_id)

    async def _on_bolt_error(self, error: Exception, body: Any,
                             response: Optional[BoltResponse]) -> Optional[BoltResponse]:
        """Bolt (or a listener, after the ack) stumbling over a body whose fields have the
        wrong types: say what, and answer 400 when not answered yet, instead of a 500 with a
        traceback. Anything else stays an error."""
        if isinstance(error, MALFORMED):
            log.warning("Slack request ignored: malformed body (%s; event %s)", type(error).__name__,
                        str(body.get("event_id") or "-")[:40] if isinstance(body, dict) else "-")
            return BoltResponse(status=400, body="malformed request body") if response is not None else None
        log.error("Slack request failed", exc_info=error)
        return None

    async def _ignore_event(self, body: dict) -> None:
        """An event type the product does not handle: acknowledged (200, so Slack does not
        retry it) and dropped."""
        log.debug("Slack event %s of type %r ignored", body.get("event_id"), (body.get("event") or {}).get("type"))

    async def _on_choice(self, ack: Callable[[], Awaitable[Any]], body: dict) -> None:
        await ack()
        inbound = customer_click(body)
        if inbound is not None:
            await self._deliver_inbound(inbound)

    async def _on_case_button(self, ack: Callable[[], Awaitable[Any]], body: dict) -> None:
        await ack()
        action = agent_click(body)
        if action is not None and self._on_agent_action is not None:
            self.desk.remember_channel(action.trigger_id, action.channel_id)
            await self._deliver_agent(action)

    async def _on_note_shortcut(self, ack: Callable[[], Awaitable[Any]], body: dict) -> None:
        """The message shortcut "Add a private note" on a case card or a post in its thread."""
        await ack()
        action = note_shortcut(body)
        if action is not None and self._on_agent_action is not None:
            self.desk.remember_channel(action.trigger_id, action.channel_id)
            await self._deliver_agent(action)

    async def _on_form_choice(self, ack: Callable[[], Awaitable[Any]], body: dict) -> None:
        """A saved reply picked in the open form: the form is redrawn with its text."""
        await ack()
        action = form_choice(body)
        if action is not None and self._on_agent_action is not None:
            self.desk.remember_channel(action.form_id, action.channel_id)
            await self._deliver_agent(action)

    async def _on_form_submit(self, ack: Callable[..., Awaitable[Any]], body: dict) -> None:
        """A submitted form (note, snooze, saved reply): the modal closes, the action applies;
        anything the agent must know comes as a line only they see."""
        action = form_submission(body)
        if action is not None and self._on_agent_action is not None:
            await self._deliver_agent(action)
        await ack()

    async def _deliver_inbound(self, event: InboundEvent) -> None:
        await self._tracked(f"customer:{event.address}", self._with_locale(event))

    async def _with_locale(self, event: InboundEvent) -> None:
        """Hand the event on with the person's Slack locale as its language_code, the way
        Telegram's arrives on every update (the app stores it with the identity)."""
        assert self._on_event is not None
        locale = await self.user_locale(event.address)
        await self._on_event(dataclasses.replace(event, language_code=locale) if locale else event)

    async def user_locale(self, user_id: str) -> Optional[str]:
        """The language the person chose in Slack ("pt-BR"), from users.info with
        include_locale: asked once per user, then remembered. None when Slack does not say
        (the order's language or the shop's default applies); a network failure or a rate
        limit is not remembered, so their next message asks again. Asked before the ack (see
        the module docstring): one users.info round trip on a person's first event, well inside
        Slack's 3 seconds."""
        if user_id in self._locales:
            return self._locales[user_id]
        try:
            resp = await self._client.users_info(user=user_id, include_locale=True)
        except SlackApiError as e:
            log.warning("users.info for %s failed (%s): their Slack locale is unknown", user_id, slack_error(e))
            if slack_error(e) != "ratelimited":
                self._locales[user_id] = None
            return None
        except NETWORK_ERRORS as e:
            log.warning("users.info for %s failed (%r): their Slack locale is unknown for now", user_id, e)
            return None
        locale = (resp.get("user") or {}).get("locale")
        self._locales[user_id] = str(locale) if isinstance(locale, str) and locale.strip() else None
        return self._locales[user_id]

    async def _deliver_agent(self, action: AgentAction) -> None:
        """Agent actions that change a case wait their turn (one at a time, in arrival order);
        one that only opens or redraws a form goes at once: Slack's trigger for the modal is
        good for 3 seconds, which a queue of other agents' clicks could outlast."""
        assert self._on_agent_action is not None
        key = (f"form:{action.trigger_id or action.event_id}" if action.kind in READ_ONLY_ACTIONS else "agents")
        await self._tracked(key, self._on_agent_action(action))

    async def _tracked(self, key: str, work: Awaitable[None]) -> None:
        """Run a handler before the ack, one at a time per customer (and for all agent
        actions), in arrival order: Slack may deliver two requests at once but the app should
        see a person's messages in order. Counted so stop() and idle() can wait for it."""
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        entry = self._order_locks.setdefault(key, [asyncio.Lock(), 0])
        entry[1] += 1
        try:
            async with entry[0]:
                await work
        except DeliverLater:        # not acked: Slack delivers it again (X-Slack-Retry-Num)
            raise
        except Exception:
            log.exception("Slack handler failed")
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                self._order_locks.pop(key, None)
            if task is not None:
                self._inflight.discard(task)

    # ---- customers: outbound ----------------------------------------------------------

    async def send(self, message: OutboundMessage) -> SendResult:
        """A DM to a Slack user: conversations.open (cached), then chat.postMessage with the
        text in section blocks and the buttons under it; long texts become several messages
        and the last one (with the buttons) is the id returned."""
        try:
            channel = await self.open_dm(message.address)
            ts = ""
            buttons = [(b.label, b.value) for b in message.buttons]
            for text, blocks in question_messages(message.text, buttons):
                resp = await self._client.chat_postMessage(
                    channel=channel, text=text, blocks=blocks, link_names=False,
                    unfurl_links=False, unfurl_media=False)
                ts = str(resp["ts"])
            return SendResult(SendStatus.SENT, platform_message_id=ts)
        except SlackApiError as e:
            if slack_error(e) == "channel_not_found":
                self._dm_channels.pop(message.address, None)
            return result_from_error(e, unreachable=UNREACHABLE_ERRORS)
        except NETWORK_ERRORS as e:
            return SendResult(SendStatus.RETRY, error=f"network: {e!r}")

    async def mark_chosen(self, choice: ChoiceMade) -> None:
        """Replace the question's buttons with "✔ <label>" (chat.update); best effort."""
        text, blocks = answered_question(choice.question_text, choice.chosen_label)
        try:
            channel = await self.open_dm(choice.address)
            await self._client.chat_update(channel=channel, ts=choice.platform_message_id,
                                           text=text, blocks=blocks, link_names=False)
        except (SlackApiError, *NETWORK_ERRORS) as e:
            log.warning("could not mark Slack question %s answered: %r", choice.platform_message_id, e)

    async def open_dm(self, user_id: str) -> str:
        """The DM channel id with `user_id` (conversations.open once, then cached)."""
        if user_id not in self._dm_channels:
            resp = await self._client.conversations_open(users=user_id)
            self._dm_channels[user_id] = str(resp["channel"]["id"])
        return self._dm_channels[user_id]

    async def lookup_user_by_email(self, email: str) -> Optional[str]:
        """The Slack user id for an imported customer's email, None when there is none."""
        try:
            resp = await self._client.users_lookupByEmail(email=email)
        except SlackApiError as e:
            if slack_error(e) in ("users_not_found", "user_not_found"):
                return None
            raise SlackUnavailable(f"users.lookupByEmail: {slack_error(e)}") from e
        except NETWORK_ERRORS as e:
            raise SlackUnavailable(f"users.lookupByEmail: {e!r}") from e
        user = resp.get("user") or {}
        return None if user.get("deleted") else str(user.get("id"))


def _bypasses_proxy(base_url: str) -> bool:
    host = urlsplit(base_url).hostname or ""
    no_proxy = {h.strip() for h in (os.environ.get("NO_PROXY") or os.environ.get("no_proxy") or "").split(",")}
    return host in _LOOPBACK or host in no_proxy
