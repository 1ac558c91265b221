"""What every channel adapter offers. Adapters are thin: SDK in, `InboundEvent` out;
`OutboundMessage` in, SDK call out, `SendResult` back. No retries or rate limits here:
the outbox dispatcher owns those."""
from __future__ import annotations

from typing import Awaitable, Callable, Optional, Protocol

from bot.base.agent_events import AgentActionHandler, Form
from bot.base.errors import AftercareError
from bot.base.events import ChoiceMade, InboundEvent, OutboundMessage, SendResult

EventHandler = Callable[[InboundEvent], Awaitable[None]]


class StartError(AftercareError, RuntimeError):
    """A channel (or the app's own server) cannot start: `cause` says what is wrong, `fix` what
    to do; one line, never a secret (`aftercare run` prints it and exits 1; `doctor` lists it)."""

    def __init__(self, cause: str, fix: str) -> None:
        super().__init__(f"{cause}: {fix}")
        self.cause = cause
        self.fix = fix


class Channel(Protocol):
    name: str

    async def start(self, on_event: EventHandler, on_agent_action: Optional[AgentActionHandler] = None) -> None:
        """Connect and begin delivering inbound events to `on_event` (and, for a channel that
        carries the support desk, agents' actions to `on_agent_action`)."""

    async def stop(self) -> None:
        """Stop receiving; finish what is in flight."""

    async def send(self, message: OutboundMessage) -> SendResult:
        """Try one send; translate every SDK error into a `SendResult`, never raise."""

    async def mark_chosen(self, choice: ChoiceMade) -> None:
        """Edit an answered question so its buttons cannot be tapped again."""


class SupportDesk(Protocol):
    """Where agents see cases (the Slack support channel, or memory in the console)."""

    async def post_case(self, channel: str, case: dict) -> SendResult:
        """Post a case card; its platform id is the thread for everything about the case."""

    async def update_case(self, channel: str, ts: str, case: dict) -> SendResult:
        """Redraw the card (claimed, resolved, SLA state)."""

    async def post_in_thread(self, channel: str, thread_ts: str, text: str, *, mentions: tuple = ()) -> SendResult:
        """Post in the case thread; `text` may be the customer's and is escaped by the desk."""

    async def post_ephemeral(self, channel: str, user: str, text: str, *, mentions: tuple = ()) -> SendResult:
        """A note only `user` sees (escaped), after real mentions of `mentions` (user ids)."""

    async def open_form(self, trigger: str, form: Form) -> SendResult:
        """Open a form for the agent whose action gave `trigger` (Slack: a modal, views.open)."""

    async def update_form(self, form_id: str, form: Form) -> SendResult:
        """Redraw an open form (Slack: views.update), e.g. a saved reply's text once picked."""

    async def post_notice(self, channel: str, text: str) -> SendResult:
        """A top-level post that is no case (the weekly digest); `text` is escaped by the desk."""

    async def delete_post(self, channel: str, ts: str) -> SendResult:
        """Delete one of the bot's own posts (a customer's erased words); gone already is done."""

    async def is_member(self, channel: str, user: str) -> bool:
        """May `user` act on cases in `channel`?"""
