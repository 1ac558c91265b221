"""The support desk on Slack: case cards in the support channel, their threads, notes only
one agent sees, and who may act on cases (channel membership). It shares the customer
adapter's client (bot/channels/slack.py) but is its own part: the dispatcher sends desk posts
through it, the app asks it who is a member. Every SDK error becomes a `SendResult`."""
from __future__ import annotations

import asyncio
import time
from typing import Any, Callable, Iterable, Optional

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.base.agent_events import Form
from bot.base.errors import AftercareError
from bot.channels.slack_blocks import case_card, mention, question_messages, text_message
from bot.channels.slack_forms import modal
from bot.base.events import SendResult, SendStatus

NETWORK_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, OSError)


class SlackUnavailable(AftercareError, RuntimeError):
    """Slack could not answer a lookup (network, rate limit, server error); try later."""


class SlackDesk:
    """A `SupportDesk` on a Slack workspace. `support_channels` is shared with the adapter:
    a channel a card is posted in becomes one whose thread replies are agents' replies."""

    def __init__(self, client: AsyncWebClient, support_channels: set[str], *,
                 member_cache_seconds: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._support_channels = support_channels
        self._member_ttl = member_cache_seconds
        self._clock = clock
        self._members: dict[str, tuple[float, frozenset[str]]] = {}
        self._form_channels: dict[str, str] = {}     # trigger or view id -> where the agent acted

    async def post_case(self, channel: str, case: dict) -> SendResult:
        """Post a case card; `platform_message_id` is its ts, which is also the case thread."""
        self._support_channels.add(channel)
        text, blocks = case_card(case)
        return await self._post(channel, text, blocks)

    async def update_case(self, channel: str, ts: str, case: dict) -> SendResult:
        """Redraw a case card (claimed by whom and when, SLA state, resolved)."""
        text, blocks = case_card(case)
        try:
            await self._client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks,
                                           link_names=False)
            return SendResult(SendStatus.SENT, platform_message_id=ts)
        except SlackApiError as e:
            return result_from_error(e)
        except NETWORK_ERRORS as e:
            return SendResult(SendStatus.RETRY, error=f"network: {e!r}")

    async def post_in_thread(self, channel: str, thread_ts: str, text: str, *,
                             mentions: Iterable[str] = ()) -> SendResult:
        """Post `text` (always escaped: it may be the customer's) in a case thread. Real
        mentions only through `mentions`: user ids (U.../W...) or user group ids (S...)."""
        prefix = " ".join(mention(ref) for ref in mentions)
        result = SendResult(SendStatus.FAILED, error="empty text")
        for n, piece in enumerate(text_message(text) or [""]):
            body = f"{prefix} {piece}".strip() if prefix and n == 0 else piece
            result = await self._post(channel, body or " ", None, thread_ts=thread_ts)
            if result.status is not SendStatus.SENT:
                break
        return result

    async def post_ephemeral(self, channel: str, user: str, text: str, *, mentions: Iterable[str] = ()) -> SendResult:
        """A note only `user` sees (e.g. "only support channel members can claim cases"); the
        text is escaped, real mentions only through `mentions`."""
        prefix = " ".join(mention(ref) for ref in mentions)
        body = text_message(text)[0] if text else " "
        try:
            resp = await self._client.chat_postEphemeral(channel=self._channel_id(channel), user=user,
                                                         text=f"{prefix} {body}".strip() if prefix else body,
                                                         link_names=False)
            return SendResult(SendStatus.SENT, platform_message_id=str(resp.get("message_ts", "")))
        except SlackApiError as e:
            return result_from_error(e)
        except NETWORK_ERRORS as e:
            return SendResult(SendStatus.RETRY, error=f"network: {e!r}")

    def remember_channel(self, handle: str, channel: str) -> None:
        """Where the agent acted, for the form their action opens (`handle`: the trigger id)
        or redraws (the view id): a modal's submission carries no channel of its own."""
        if handle and channel:
            self._form_channels[handle] = channel
            while len(self._form_channels) > 1000:
                self._form_channels.pop(next(iter(self._form_channels)))

    async def open_form(self, trigger: str, form: Form) -> SendResult:
        """views.open: the form as a modal, for the agent whose click gave `trigger` (valid 3 s)."""
        view = modal(form, self._form_channels.pop(trigger, ""))
        try:
            resp = await self._client.views_open(trigger_id=trigger, view=view)
            return SendResult(SendStatus.SENT, platform_message_id=str((resp.get("view") or {}).get("id", "")))
        except SlackApiError as e:
            return result_from_error(e)
        except NETWORK_ERRORS as e:
            return SendResult(SendStatus.RETRY, error=f"network: {e!r}")

    async def update_form(self, form_id: str, form: Form) -> SendResult:
        """views.update: redraw an open modal (a saved reply's text, once picked)."""
        view = modal(form, self._form_channels.get(form_id, ""))
        try:
            await self._client.views_update(view_id=form_id, view=view)
            return SendResult(SendStatus.SENT, platform_message_id=form_id)
        except SlackApiError as e:
            return result_from_error(e)
        except NETWORK_ERRORS as e:
            return SendResult(SendStatus.RETRY, error=f"network: {e!r}")

    def _channel_id(self, channel: str) -> str:
        """A channel given by name ("#support", from config) as the one support channel's id."""
        if channel.startswith("#") and len(self._support_channels) == 1:
            return next(iter(self._support_channels))
        return channel

    async def post_notice(self, channel: str, text: str) -> SendResult:
        """A top-level post in `channel` (the weekly digest): escaped, in section blocks."""
        result = SendResult(SendStatus.FAILED, error="empty text")
        for piece, blocks in question_messages(text, []):
            result = await self._post(channel, piece, blocks)
            if result.status is not SendStatus.SENT:
                break
        return result

    async def delete_post(self, channel: str, ts: str) -> SendResult:
        """chat.delete one of the bot's posts; a post already gone counts as deleted."""
        try:
            await self._client.chat_delete(channel=channel, ts=ts)
            return SendResult(SendStatus.SENT, platform_message_id=ts)
        except SlackApiError as e:
            if slack_error(e) == "message_not_found":
                return SendResult(SendStatus.SENT, platform_message_id=ts)
            return result_from_error(e)
        except NETWORK_ERRORS as e:
            return SendResult(SendStatus.RETRY, error=f"network: {e!r}")

    async def is_member(self, channel: str, user: str) -> bool:
        """Is `user` in `channel`? conversations.members, cached for `member_cache_seconds`."""
        now = self._clock()
        cached = self._members.get(channel)
        if cached is None or cached[0] <= now:
            members = await self._fetch_members(channel)
            cached = (now + self._member_ttl, members)
            self._members[channel] = cached
        return user in cached[1]

    async def _fetch_members(self, channel: str) -> frozenset[str]:
        members: set[str] = set()
        cursor = None
        try:
            while True:
                resp = await self._client.conversations_members(channel=channel, limit=200,
                                                                cursor=cursor)
                members.update(resp.get("members") or [])
                cursor = (resp.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    return frozenset(members)
        except SlackApiError as e:
            if slack_error(e) in ("channel_not_found", "not_in_channel"):
                return frozenset()
            raise SlackUnavailable(f"conversations.members: {slack_error(e)}") from e
        except NETWORK_ERRORS as e:
            raise SlackUnavailable(f"conversations.members: {e!r}") from e


    async def _post(self, channel: str, text: str, blocks: Optional[list], *,
                    thread_ts: Optional[str] = None) -> SendResult:
        try:
            resp = await self._client.chat_postMessage(
                channel=channel, text=text, blocks=blocks, thread_ts=thread_ts,
                link_names=False, unfurl_links=False, unfurl_media=False)
            return SendResult(SendStatus.SENT, platform_message_id=str(resp["ts"]))
        except SlackApiError as e:
            return result_from_error(e)
        except NETWORK_ERRORS as e:
            return SendResult(SendStatus.RETRY, error=f"network: {e!r}")


def slack_error(e: SlackApiError) -> str:
    data = e.response.data if isinstance(e.response.data, dict) else {}
    return str(data.get("error") or "")


def result_from_error(e: SlackApiError, unreachable: frozenset[str] = frozenset()) -> SendResult:
    """429 -> RETRY after Retry-After; 5xx -> RETRY; `unreachable` codes -> UNREACHABLE;
    anything else -> FAILED."""
    status = e.response.status_code
    error = slack_error(e) or f"http {status}"
    if status == 429 or error == "ratelimited":
        return SendResult(SendStatus.RETRY, retry_after=_retry_after(e.response.headers), error="ratelimited")
    if status >= 500:
        return SendResult(SendStatus.RETRY, error=error)
    if error in unreachable:
        return SendResult(SendStatus.UNREACHABLE, error=error)
    return SendResult(SendStatus.FAILED, error=error)


def _retry_after(headers: Any) -> float:
    value = None
    if headers is not None:
        value = headers.get("Retry-After") or headers.get("retry-after")
        if isinstance(value, list):
            value = value[0] if value else None
    try:
        return max(0.0, float(value)) if value is not None else 1.0
    except ValueError:
        return 1.0
