"""The console channel: the customer is a person at a terminal (`aftercare chat`) or a
scripted one (`aftercare simulate`). Same Channel protocol as Telegram and Slack."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Callable, Optional

from bot.base.agent_events import AgentActionHandler, Form
from bot.channels.base import EventHandler
from bot.base.events import ChoiceMade, OutboundMessage, SendResult, SendStatus


@dataclass
class ConsoleMessage:
    address: str
    text: str
    buttons: list[tuple[str, str]]
    message_id: str
    chosen: Optional[str] = None


class ConsoleChannel:
    """Keeps what was sent; `on_sent` lets a terminal print it as it happens."""

    name = "console"

    def __init__(self, on_sent: Optional[Callable[[ConsoleMessage], None]] = None) -> None:
        self.sent: list[ConsoleMessage] = []
        self.blocked: set[str] = set()
        self.on_sent = on_sent
        self.on_event: Optional[EventHandler] = None
        self._ids = itertools.count(1)

    async def start(self, on_event: EventHandler, on_agent_action: Optional[AgentActionHandler] = None) -> None:
        self.on_event = on_event

    async def stop(self) -> None:
        self.on_event = None

    async def send(self, message: OutboundMessage) -> SendResult:
        if message.address in self.blocked:
            return SendResult(SendStatus.UNREACHABLE, error="blocked by the user")
        sent = ConsoleMessage(message.address, message.text, [(b.label, b.value) for b in message.buttons],
                              str(next(self._ids)))
        self.sent.append(sent)
        if self.on_sent:
            self.on_sent(sent)
        return SendResult(SendStatus.SENT, platform_message_id=sent.message_id)

    async def mark_chosen(self, choice: ChoiceMade) -> None:
        for sent in self.sent:
            if sent.message_id == choice.platform_message_id:
                sent.chosen = choice.chosen_label

    def block(self, address: str) -> None:
        """The customer blocks the bot: every later send fails as the platform would."""
        self.blocked.add(address)


@dataclass
class DeskPost:
    channel: str
    text: str
    ts: str
    thread_ts: Optional[str] = None
    case: Optional[dict] = None


@dataclass
class MemoryDesk:
    """A support channel kept in memory (console runs and tests without Slack)."""

    posts: list[DeskPost] = field(default_factory=list)
    members: Optional[set[str]] = None
    ephemerals: list[tuple[str, str]] = field(default_factory=list)    # (user, text)
    forms: list[Form] = field(default_factory=list)                     # opened or redrawn, in order
    on_post: Optional[Callable[[DeskPost], None]] = None
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    async def post_case(self, channel: str, case: dict) -> SendResult:
        return self._post(channel, case_summary(case), None, case)

    async def update_case(self, channel: str, ts: str, case: dict) -> SendResult:
        for post in self.posts:
            if post.ts == ts:
                post.case = case
        return SendResult(SendStatus.SENT, platform_message_id=ts)

    async def post_in_thread(self, channel: str, thread_ts: str, text: str, *, mentions: tuple = ()) -> SendResult:
        prefix = " ".join(f"@{m}" for m in mentions)
        return self._post(channel, f"{prefix} {text}".strip(), thread_ts, None)

    async def post_ephemeral(self, channel: str, user: str, text: str, *, mentions: tuple = ()) -> SendResult:
        prefix = " ".join(f"@{m}" for m in mentions)
        self.ephemerals.append((user, f"{prefix} {text}".strip()))
        return SendResult(SendStatus.SENT, platform_message_id="ephemeral")

    async def open_form(self, trigger: str, form: Form) -> SendResult:
        self.forms.append(form)
        return SendResult(SendStatus.SENT, platform_message_id=f"form-{len(self.forms)}")

    async def update_form(self, form_id: str, form: Form) -> SendResult:
        self.forms.append(form)
        return SendResult(SendStatus.SENT, platform_message_id=form_id)

    async def post_notice(self, channel: str, text: str) -> SendResult:
        return self._post(channel, text, None, None)

    async def delete_post(self, channel: str, ts: str) -> SendResult:
        self.posts[:] = [post for post in self.posts if post.ts != ts]
        return SendResult(SendStatus.SENT, platform_message_id=ts)

    async def is_member(self, channel: str, user: str) -> bool:
        return self.members is None or user in self.members

    def _post(self, channel: str, text: str, thread_ts: Optional[str], case: Optional[dict]) -> SendResult:
        post = DeskPost(channel, text, f"{next(self._ids)}.000100", thread_ts, case)
        self.posts.append(post)
        if self.on_post:
            self.on_post(post)
        return SendResult(SendStatus.SENT, platform_message_id=post.ts)


def case_summary(case: dict) -> str:
    """A case card as plain text: what an agent needs at a glance."""
    scores = ", ".join(f"{k.upper()} {v}" for k, v in (case.get("scores") or {}).items()) or "none"
    product = f"{case.get('product') or '?'} ({case.get('sku') or '?'})"
    lines = [
        f"Case {case['id']}: {case.get('reason')}" + (f" / {case['problem_type']}" if case.get("problem_type") else "")
        + (f" / wants {case['request']}" if case.get("request") else ""),
        f"Customer: {case.get('customer')} on {case.get('channel')} | Order {case.get('order')} | {product}",
        f"Scores: {scores}",
        f"Customer's words: {case.get('customer_words') or '-'}",
    ]
    if case.get("photos"):
        lines.append(f"Photos: {len(case['photos'])}")
    return "\n".join(lines)
