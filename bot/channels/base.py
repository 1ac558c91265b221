"""What every channel adapter offers. Adapters are thin: SDK in, `InboundEvent` out;
`OutboundMessage` in, SDK call out, `SendResult` back. No retries or rate limits here:
the outbox dispatcher owns those."""
from __future__ import annotations

from typing import Awaitable, Callable, Protocol

from bot.events import ChoiceMade, InboundEvent, OutboundMessage, SendResult

EventHandler = Callable[[InboundEvent], Awaitable[None]]


class Channel(Protocol):
    name: str

    async def start(self, on_event: EventHandler) -> None:
        """Connect and begin delivering inbound events to `on_event`."""

    async def stop(self) -> None:
        """Stop receiving; finish what is in flight."""

    async def send(self, message: OutboundMessage) -> SendResult:
        """Try one send; translate every SDK error into a `SendResult`, never raise."""

    async def mark_chosen(self, choice: ChoiceMade) -> None:
        """Edit an answered question so its buttons cannot be tapped again."""
