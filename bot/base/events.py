"""Plain message types shared by every room: no SDK types, no I/O.

Channel adapters turn platform updates into `InboundEvent`s and `OutboundMessage`s into
platform calls; everything between them only sees these classes.
"""
from __future__ import annotations

from bot.base.errors import AftercareError
import dataclasses
import enum
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

# A UTF-16 surrogate on its own: legal in JSON as an escape ("\\ud800"), not encodable as
# UTF-8, so SQLite (and every platform) would refuse the text it sits in.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def storable(value: Any) -> Any:
    """`value` with every lone surrogate replaced by U+FFFD (strings, and tuples of them).
    Only plain `str`: a str-valued enum member passes through as itself."""
    if type(value) is str:
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, tuple):
        return tuple(storable(item) for item in value)
    return value


def make_storable(instance: Any) -> None:
    """Clean every text field of a frozen dataclass in place (for `__post_init__`)."""
    for item in dataclasses.fields(instance):
        value = getattr(instance, item.name)
        cleaned = storable(value)
        if cleaned is not value:
            object.__setattr__(instance, item.name, cleaned)


class DeliverLater(AftercareError):
    """The app cannot take this event now (a service it needs, such as the shared NLU, is
    down): nothing of it was committed, and the channel must not confirm it, so the platform
    delivers it again (each adapter says how: an offset kept before it, an error status)."""


class InboundKind(str, enum.Enum):
    """What the customer (or agent) did."""

    TEXT = "text"          # free text: goes through the NLU
    BUTTON = "button"      # a tap on a choice: carries its value, never reaches the NLU
    START = "start"        # /start (a deep link) or an opt-in
    HELP = "help"          # /help
    STOP = "stop"          # /stop or an explicit unsubscribe command
    MEDIA = "media"        # a photo (kept, attached to a case) or other media (asked for words)


@dataclass(frozen=True)
class Button:
    """One choice under a question; `value` is what a tap sends back."""

    label: str
    value: str


@dataclass(frozen=True)
class InboundEvent:
    """One thing a person did on a channel, normalized.

    `event_id` is the platform's id for the delivery (an update or event id);
    the app processes each (channel, event_id) once.
    """

    channel: str
    event_id: str
    address: str                      # chat or user id: where replies go
    kind: InboundKind
    at: datetime
    text: str = ""
    button_value: Optional[str] = None
    reply_to: Optional[str] = None    # platform message id the tap/reply belongs to
    start_payload: Optional[str] = None
    photo_ids: tuple[str, ...] = ()
    media_type: Optional[str] = None  # "photo", "sticker", "voice", ... for MEDIA events
    language_code: Optional[str] = None
    display_name: Optional[str] = None

    def __post_init__(self) -> None:
        make_storable(self)


@dataclass(frozen=True)
class OutboundMessage:
    """One message to one identity. Every outbound message carries its explicit target."""

    channel: str
    address: str
    text: str
    buttons: tuple[Button, ...] = ()


class SendStatus(str, enum.Enum):
    """What an adapter reports after trying one send; the dispatcher decides what follows."""

    SENT = "sent"
    RETRY = "retry"              # try again after `retry_after` seconds (429, network, 5xx)
    UNREACHABLE = "unreachable"  # blocked / account gone: mark the identity, never retry
    FAILED = "failed"            # permanent error for this message (bad request)


@dataclass(frozen=True)
class SendResult:
    status: SendStatus
    platform_message_id: Optional[str] = None
    retry_after: float = 0.0
    error: str = ""


@dataclass(frozen=True)
class ChoiceMade:
    """Sent back to a channel after a tap so it can mark the question answered."""

    channel: str
    address: str
    platform_message_id: str
    question_text: str
    chosen_label: str
