"""Slack in the sandbox: the loopback workspace with the real slack-bolt adapter pointed at
it, the support channel and its agent, and the clients: a customer's DM for the demo's
personas (`SlackSide`) and for a `simulate` scenario (`SlackCustomer`), and the agent at the
case cards (`SlackDeskClient`)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Optional

from bot.base.agent_events import AgentActionHandler, AgentActionKind
from bot.channels.base import Channel, EventHandler, SupportDesk
from bot.channels.slack_blocks import (
    ASSIGN_ACTION, CHOICE_PREFIX, CLAIM_ACTION, GOODWILL_ACTION, HISTORY_ACTION, NOTE_ACTION, RELEASE_ACTION,
    RESOLVE_ACTION, SAVED_REPLY_ACTION, SNOOZE_ACTION,
)
from bot.config.settings import Settings
from bot.orders.files import OrderRow
from bot.sandbox.platforms.base import CaseCard, DeskClient, DeskPost, Platform, PlatformCustomer, Seconds, Seen, Side
from bot.sandbox.platforms.slack_api import Message, SlackSandbox
from bot.store.store import Store

if TYPE_CHECKING:     # the SDK is imported when an adapter is built (a worker builds one channel's only)
    from bot.channels.slack import SlackChannel

NAME = "slack"


class SlackRunning:
    """The loopback workspace (with the support channel and an agent in it) and a
    `SlackChannel` that serves customers' DMs and carries the support desk."""

    name = NAME

    def __init__(self, server: SlackSandbox, adapter: SlackChannel, desk_client: "SlackDeskClient") -> None:
        self.server, self.adapter = server, adapter
        self.desk_client: Optional[DeskClient] = desk_client

    @classmethod
    async def start(cls, settings: Settings, seconds: Seconds) -> "SlackRunning":
        from bot.channels.slack import SlackChannel
        server = SlackSandbox(clock=seconds)
        await server.start()
        agent_id = server.add_user("support-agent", "agent@shop.example")
        second = server.add_user("second-agent", "agent2@shop.example")
        support = server.add_channel(settings.escalation.support_channel.lstrip("#"), members=[agent_id, second])
        adapter = SlackChannel(bot_token=server.token, signing_secret=server.signing_secret,
                               base_url=server.base_url, support_channels=[support], clock=seconds)
        return cls(server, adapter, SlackDeskClient(server, adapter, support, agent_id, second))

    @property
    def url(self) -> str:
        return self.server.base_url

    async def connect(self, on_event: EventHandler, on_agent_action: AgentActionHandler) -> None:
        await self.adapter.start(on_event, on_agent_action)
        self.server.events_url = self.adapter.events_url

    def side(self, store: Store, row: OrderRow, number: int) -> Optional[Side]:
        if not (row.address or row.email):
            return None
        return SlackSide(self.server, self.adapter, row.customer_name or row.customer_ref, row.email, row.address)

    def scripted_customer(self, store: Store, customer: Mapping[str, Any]) -> PlatformCustomer:
        return SlackCustomer(self.server, self.adapter, str(customer.get("name", "Sam Customer")),
                             str(customer.get("email", "customer@example.com")))


class SlackSide:
    """A customer's DM with the bot in the demo."""

    channel = NAME
    language = "en"
    unlinked = False

    def __init__(self, api: SlackSandbox, adapter: SlackChannel, name: str, email: Optional[str],
                 user_id: Optional[str]) -> None:
        self.api, self.adapter = api, adapter
        self.address = api.add_user(name, email, user_id=user_id)

    async def setup(self) -> None:
        pass

    def screen(self) -> list[Seen]:
        return [Seen(m.ts, m.text, tuple((e["text"]["text"], e["value"]) for b in m.blocks if b.get("type") == "actions"
                                         for e in b["elements"] if e["action_id"].startswith(CHOICE_PREFIX)))
                for m in self.api.dms_to(self.address)]

    async def say(self, text: str) -> None:
        await self.api.user_sends_dm(self.address, text)
        await self.adapter.idle()

    async def press(self, seen: Seen, value: str) -> None:
        channel = self.api.dm_channel(self.address)
        message = self.api.message(channel, seen.message_id)
        action_id = next(e["action_id"] for b in message.blocks if b.get("type") == "actions"
                         for e in b["elements"] if e.get("value") == value)
        await self.api.user_clicks(self.address, channel, seen.message_id, action_id, value)
        await self.adapter.idle()

    async def block(self) -> None:
        self.api.deactivate(self.address)

    def link_message(self, customer_id: int, secret: bytes, expires: int) -> tuple[str, str]:
        raise NotImplementedError("a Slack customer is reached by user id or email, not by a link")


class SlackCustomer:
    """A `simulate` scenario's customer, in a DM with the bot."""

    channel = NAME

    def __init__(self, api: SlackSandbox, adapter: SlackChannel, name: str, email: str) -> None:
        self.api, self.adapter = api, adapter
        self.address = api.add_user(name or "customer", email)

    async def setup(self) -> None:
        pass

    async def say(self, text: str) -> None:
        await self.api.user_sends_dm(self.address, text)
        await self.adapter.idle()

    async def press(self, value: str, platform_message_id: Optional[str]) -> None:
        api = self.api
        assert platform_message_id is not None, "a click is on a message the bot sent"
        message = api.message(api.dm_channel(self.address), platform_message_id)
        action_id = next(e["action_id"] for b in message.blocks if b.get("type") == "actions"
                         for e in b["elements"] if e.get("value") == value and e["action_id"].startswith(CHOICE_PREFIX))
        await api.user_clicks(self.address, api.dm_channel(self.address), platform_message_id, action_id, value)
        await self.adapter.idle()

    async def block(self) -> None:
        self.api.deactivate(self.address)


class SlackDeskClient:
    """The agent in the loopback support channel: reads the case cards, presses their buttons,
    answers in their threads."""

    def __init__(self, api: SlackSandbox, adapter: SlackChannel, channel_id: str, agent_id: str,
                 second_agent_id: str = "") -> None:
        self.api, self.adapter = api, adapter
        self.channel_id, self.agent_id = channel_id, agent_id
        self.second_agent_id = second_agent_id or agent_id

    def agent_ids(self) -> tuple[str, str]:
        return self.agent_id, self.second_agent_id

    def told(self, agent: str) -> list[str]:
        return [e.text for e in self.api.ephemerals if e.user == agent]

    async def desk_move(self, move: str, card_ts: str, number: str, *, text: str = "", value: str = "",
                        agent: str = "") -> None:
        api, who = self.api, agent or self.agent_id
        buttons = {"claim": CLAIM_ACTION, "resolve": RESOLVE_ACTION, "release": RELEASE_ACTION,
                   "history": HISTORY_ACTION, "goodwill": GOODWILL_ACTION}
        if move == "reply":
            await api.user_posts_in_thread(self.channel_id, card_ts, who, text)
        elif move in buttons:
            await api.user_clicks(who, self.channel_id, card_ts, buttons[move], number)
        elif move == "assign":
            await api.user_selects_user(who, self.channel_id, card_ts, ASSIGN_ACTION, value)
        elif move in ("note", "snooze", "saved_reply"):
            opens = {"note": NOTE_ACTION, "snooze": SNOOZE_ACTION, "saved_reply": SAVED_REPLY_ACTION}[move]
            await api.user_clicks(who, self.channel_id, card_ts, opens, number)
            await self.adapter.idle()
            views = api.views_of(who)
            if not views:                    # refused: the agent was told why instead
                return
            view = views[-1]
            if move == "note":
                api.type_in_view(who, view.id, "text", text)
            elif move == "snooze":
                api.pick_in_view(who, view.id, "choice", value)
            else:
                await api.user_picks_in_view(who, view.id, "reply", value)
                await self.adapter.idle()
                if text:          # the agent edits it: "{saved}" stands for the text as filled in
                    filled = next((b["element"].get("initial_value", "") for b in view.body["blocks"]
                                   if b.get("type") == "input" and b["element"]["action_id"] == "text"), "")
                    api.type_in_view(who, view.id, "text", text.replace("{saved}", filled))
            await api.user_submits_view(who, view.id)
        else:
            raise ValueError(f"unknown desk move {move!r}")
        await self.adapter.idle()

    @property
    def desk(self) -> SupportDesk:
        return self.adapter.desk

    def read(self, start: int) -> tuple[list[DeskPost], int]:
        api = self.api
        posts = api.messages_in(self.channel_id)
        found: list[DeskPost] = []
        for index in range(start, len(posts)):
            post = posts[index]
            if post.user != api.bot_user_id and not post.bot_id:
                continue
            if not post.thread_ts or post.thread_ts == post.ts:
                card = _card(post)
                if card is not None:
                    found.append(DeskPost(index, card=card, text=post.text))
            else:
                found.append(DeskPost(index, thread=post.thread_ts, text=post.text))
        return found, len(posts)

    async def act(self, kind: AgentActionKind, card_ts: str, number: str, text: str = "") -> int:
        api = self.api
        if kind is AgentActionKind.REPLY:
            await api.user_posts_in_thread(self.channel_id, card_ts, self.agent_id, text)
        else:
            action = CLAIM_ACTION if kind is AgentActionKind.CLAIM else RESOLVE_ACTION
            await api.user_clicks(self.agent_id, self.channel_id, card_ts, action, number)
        position = len(api.messages_in(self.channel_id)) - 1
        await self.adapter.idle()
        return position

    def posts(self) -> list[dict]:
        return [{"text": m.text} for m in self.api.messages_in(self.channel_id)
                if m.user == self.api.bot_user_id or m.bot_id]


def _card(post: Message) -> Optional[CaseCard]:
    """The case a top-level post is the card of (None: not a case card)."""
    claim = next((e for b in post.blocks if b.get("type") == "actions" for e in b.get("elements", [])
                  if e.get("action_id") == CLAIM_ACTION), None)
    if claim is None:
        return None
    header = next((b["text"]["text"] for b in post.blocks if b.get("type") == "header"), "")
    reason = header.split(":", 1)[1].strip() if ":" in header else "low_score"
    fields: list[dict] = next((b.get("fields", []) for b in post.blocks if b.get("block_id") == "case_fields"), [])
    customer = next((f["text"].split("\n", 1)[1] for f in fields if f["text"].startswith("*Customer*")), "there")
    return CaseCard(claim["value"], post.ts, reason, customer)


def sender(base_url: str, token: str) -> Channel:
    """A send-only adapter (the dispatcher worker's)."""
    from bot.channels.slack import SlackChannel
    return SlackChannel(bot_token=token, signing_secret="", base_url=base_url)


PLATFORM = Platform(NAME, SlackRunning.start, sender, loggers=("slack_bolt", "slack_sdk"), token_env="SLACK_BOT_TOKEN")
