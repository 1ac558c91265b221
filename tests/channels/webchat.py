"""A toy third channel, declared and implemented outside bot/: a web chat whose visitors have
addresses like `w-42` and say `#stop` to stop. Nothing in bot/ knows it exists."""
from __future__ import annotations

import itertools
import re
from typing import Optional

from bot.base.agent_events import AgentActionHandler
from bot.channels.base import EventHandler
from bot.channels.spec import Capability, ChannelSpec
from bot.config.model import ConfigModel
from bot.base.events import ChoiceMade, OutboundMessage, SendResult, SendStatus


class WebChatSettings(ConfigModel):
    per_visitor_per_second: float = 2.0


class WebChatChannel:
    name = "webchat"

    def __init__(self) -> None:
        self.sent: list[OutboundMessage] = []
        self.on_event: Optional[EventHandler] = None
        self._ids = itertools.count(1)

    async def start(self, on_event: EventHandler, on_agent_action: Optional[AgentActionHandler] = None) -> None:
        self.on_event = on_event

    async def stop(self) -> None:
        self.on_event = None

    async def send(self, message: OutboundMessage) -> SendResult:
        self.sent.append(message)
        return SendResult(SendStatus.SENT, platform_message_id=f"m{next(self._ids)}")

    async def mark_chosen(self, choice: ChoiceMade) -> None:
        pass


SPEC = ChannelSpec(
    name="webchat",
    title="the web chat",
    settings=WebChatSettings,
    limits=lambda s: dict(per_address=s.per_visitor_per_second, per_channel=50.0, burst=1),
    address=re.compile(r"w-\d+"),
    address_hint="a web chat visitor id (w-<number>)",
    stop_commands=frozenset({"#stop"}),
    capabilities=frozenset({Capability.BUTTONS}),
)
