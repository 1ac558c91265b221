"""What support agents do to a case, normalized like `InboundEvent` is for customers: plain
dataclasses, no SDK types, so the app handles claim/resolve/reply without knowing the desk's platform."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Awaitable, Callable

from bot.base.events import make_storable


class AgentActionKind(str, enum.Enum):
    CLAIM = "claim"        # the Claim button on a case card
    RESOLVE = "resolve"    # the Resolve button on a case card
    REPLY = "reply"        # a human's message in a case thread: relay it to the customer


@dataclass(frozen=True)
class AgentAction:
    """One agent action on one case.

    `case_ref` is the case id (the button's value) for claim/resolve and the case card's
    message ts (the thread) for replies; the app maps either to its case. `event_id` is unique
    per delivery so the app can process each action once. `channel_id`/`message_ts` say where
    it happened (the card, or the reply itself), for card updates and ephemeral refusals."""

    kind: AgentActionKind
    case_ref: str
    agent_id: str
    event_id: str
    at: datetime
    text: str = ""
    channel_id: str = ""
    message_ts: str = ""

    def __post_init__(self) -> None:
        make_storable(self)


AgentActionHandler = Callable[[AgentAction], Awaitable[None]]
