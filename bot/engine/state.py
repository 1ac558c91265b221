"""The engine's data: a conversation's state, what comes in, what goes out, and the facts it reads.

Plain values only (no SQL, no clock, no SDK), shared by the engine, the vocabulary it runs
and the runner that stores the outcome.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping, Optional, Sequence, Union

from bot.engine.templates import render
from bot.base.events import Button
from bot.base.parse import Parse
from bot.base.kinds import ConversationStatus, Owner, WakeKind

SCALES = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}   # score questions: lowest, highest


Status = ConversationStatus     # the stored kinds and states live in bot/base/kinds.py


@dataclass
class ConversationState:
    """Everything needed to continue a conversation: never its history (invariant 7)."""

    flow: str
    step: str
    slots: dict[str, Any] = field(default_factory=dict)
    status: Status = Status.ACTIVE
    owner: Owner = Owner.BOT
    wake_at: Optional[datetime] = None
    wake_kind: Optional[WakeKind] = None
    reminded: bool = False

    def __post_init__(self) -> None:
        # rows from the store carry plain strings; the engine compares enums
        self.status = Status(self.status)
        self.owner = Owner(self.owner)
        self.wake_kind = WakeKind(self.wake_kind) if self.wake_kind else None


@dataclass(frozen=True)
class Timing:
    reminder_after: timedelta = timedelta(hours=24)
    close_after: timedelta = timedelta(hours=48)
    not_used_yet_delay: timedelta = timedelta(days=7)


@dataclass(frozen=True)
class Context:
    """Read-only facts about the customer, order and product for templates and guards."""

    # The facts that come from the store are mappings, which the runner hands in lazy (each
    # read when a step first looks: bot/base/lazy.py, bot/conversation/context.py).
    variables: Mapping[str, Any] = field(default_factory=dict)
    timing: Timing = Timing()
    has_open_case: bool = False
    offer_key: Optional[str] = None           # "upsell:SKU": what offer_upsell offers
    refill_key: Optional[str] = None          # "refill:SKU" for a consumable: what offer_refill offers
    # What was offered or asked of the customer before: `upsell_offered` (this very offer,
    # offer_key), `refill_offered` (that refill, declined or not), `referral_asked` (a referral
    # or testimonial); a missing key is False.
    before: Mapping[str, bool] = field(default_factory=dict)
    # What earlier conversations about the same order established: the latest `csat` / `nps`,
    # and `low_score` / `had_case` when any of them had one. A flow that starts a conversation
    # of its own (replenishment) is judged on these, since its own slots hold no score yet.
    earlier: Mapping[str, Any] = field(default_factory=dict)
    # English flow text -> the customer's language (bot/i18n/catalogs.py); the identity when untranslated.
    translate: Callable[[str], str] = field(default=lambda text: text)
    language: str = "en"
    # The product's onboarding tips (dialogs/tips.yml): touchpoint kind -> (tip id, English text).
    tips: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def upsell_offered_before(self) -> bool:
        return bool(self.before.get("upsell_offered"))

    @property
    def refill_offered_before(self) -> bool:
        return bool(self.before.get("refill_offered"))

    @property
    def referral_asked_before(self) -> bool:
        return bool(self.before.get("referral_asked"))

    def text(self, template: str, slots: Mapping[str, Any]) -> str:
        """A flow text as this customer reads it: translated, then its {variables} filled."""
        return render(self.translate(template), self.variables, slots, self.language)

    def buttons(self, buttons: Sequence[Button]) -> tuple[Button, ...]:
        """Buttons with their labels in the customer's language; values never change."""
        return tuple(Button(self.translate(b.label), b.value) for b in buttons)


@dataclass(frozen=True)
class Begin:
    """Start `flow` (a touchpoint fell due); proactive unless said otherwise. `slots` seed the
    conversation (the scheduler puts the touchpoint kind in `touchpoint`)."""

    flow: str
    proactive: bool = True
    slots: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    """What the customer sent: a button value, or text with its parse."""

    text: str = ""
    button: Optional[str] = None
    parse: Optional[Parse] = None
    stop: bool = False                 # asks to stop all messages: bot/conversation/optout.py's verdict
    help: bool = False                 # asks for help ("help", "I need help", /help): the help menu
    photos: tuple[str, ...] = ()

    @property
    def typed(self) -> Optional[Parse]:
        """The parse of typed text; None for a button tap (buttons never reach the NLU)."""
        return self.parse if self.button is None else None


@dataclass(frozen=True)
class Timer:
    """The conversation's wake-up time has come (reminder, close, or resume)."""


@dataclass(frozen=True)
class Handback:
    """An agent resolved the case: the bot owns the conversation again."""


Input = Union[Begin, Answer, Timer, Handback]


@dataclass(frozen=True)
class Message:
    """One message the bot sends, with the choices shown under it."""

    text: str
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True)
class ActionCall:
    """An action the engine decided on, for the runner to record in the same transaction."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)
    by: Optional[str] = field(default=None, compare=False)    # the action that emitted it, for errors


@dataclass
class Outcome:
    state: ConversationState
    messages: list[Message] = field(default_factory=list)
    actions: list[ActionCall] = field(default_factory=list)
    proactive: bool = False           # these messages start a contact (cap, quiet hours)
    reminder: bool = False            # a reminder belongs to the contact it reminds about: no new cap slot
