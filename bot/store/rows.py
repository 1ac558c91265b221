"""Typed rows: what the store hands to the rest of the bot (engine runner, scheduler, dispatcher,
case desk, sandbox, report) instead of bare dicts, so a misspelt column is a mypy error and a
status is an enum (bot/base/kinds.py), not a string compared by hand.

Each row is frozen: a reader cannot change the store by changing the row; writes go through the
store's methods. Timestamps stay the stored ISO text (`bot.base.clock.parse_iso` turns them into
datetimes where a caller computes with them); JSON columns arrive decoded.
"""
from __future__ import annotations

import dataclasses
import functools
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence, TypedDict, TypeVar

from bot.config.settings import Audience
from bot.i18n.catalogs import pick_language
from bot.base.kinds import CaseStatus, ConversationStatus, OutboxKind, OutboxStatus, Owner, WakeKind

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_Row = TypeVar("_Row", bound="DataclassInstance")


def _build(cls: type[_Row], row: Mapping[str, Any], **converted: Any) -> _Row:
    """`cls` from a row: every field from its column (a KeyError names a field the query did not
    select), or from `converted` where the stored form differs from the typed one."""
    return cls(**{name: converted[name] if name in converted else row[name] for name in _field_names(cls)})


@functools.lru_cache(maxsize=None)
def _field_names(cls: type) -> tuple[str, ...]:
    """A row class's field names (`dataclasses.fields` walks the class's fields on every call:
    ~1 µs a field, on every row the store reads)."""
    return tuple(f.name for f in dataclasses.fields(cls))


def _json(raw: Optional[str], empty: Any) -> Any:
    return json.loads(raw) if raw else empty


@dataclasses.dataclass(frozen=True, kw_only=True)
class CustomerRow:
    id: int
    ref: str
    name: Optional[str]
    email: Optional[str]
    timezone: Optional[str]
    language: Optional[str]                # the order's (the shop's) language
    language_choice: Optional[str]         # the customer's own choice (/language): wins
    created_at: Optional[str]
    forgotten_at: Optional[str]            # erased by `aftercare customer forget`

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "CustomerRow":
        return _build(cls, row)

    def speaks(self, enabled: Sequence[str], default: str, platform_language: Optional[str] = None) -> str:
        """Whose language: the customer's own choice (/language), else the order's `language`
        column, else what the platform says, else the shop's default. Regional variants fall
        back to their base language's texts. Here so the conversation and the desk read it alike."""
        return pick_language([self.language_choice, self.language, platform_language], enabled, default)


@dataclasses.dataclass(frozen=True, kw_only=True)
class StoredOrder:
    """An order as the store keeps it (`bot.orders.files.OrderRow` is a line of an orders file)."""

    order_id: str
    customer_id: int
    channel: str                           # the chat channel the customer is reached on
    status: str                            # placed, ..., cancelled, returned
    purchased_at: Optional[str]
    shipped_at: Optional[str]
    delivered_at: Optional[str]
    expected_at: Optional[str]
    shipment_status: Optional[str]
    referral_code: Optional[str]
    updated_at: Optional[str]

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "StoredOrder":
        return _build(cls, row)


@dataclasses.dataclass(frozen=True, kw_only=True)
class LineItemRow:
    id: int
    order_id: str
    sku: str
    product: str
    category: str
    quantity: int
    price: Optional[float]

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "LineItemRow":
        return _build(cls, row)


@dataclasses.dataclass(frozen=True, kw_only=True)
class TouchpointRow:
    id: int
    order_id: str
    sku: str
    kind: str                              # a touchpoint kind (config.yml `touchpoints`)
    flow: str
    due_at: str
    # pending, held, started, cancelled, skipped, expired, or "suppressed:/dropped:/skipped:<why>"
    status: str
    held_reason: Optional[str]
    conversation_id: Optional[int]
    started_at: Optional[str]
    anchor: Optional[str]                  # the moment it was timed from
    expires_at: Optional[str]

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "TouchpointRow":
        return _build(cls, row)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConversationRow:
    id: int
    customer_id: int
    identity_id: int
    order_id: Optional[str]
    sku: Optional[str]
    flow: str
    step: str
    slots: dict[str, Any]
    owner: Owner
    status: ConversationStatus
    wake_at: Optional[str]
    wake_kind: Optional[WakeKind]
    reminded: bool
    question_message_id: Optional[int]     # the messages row of the question that waits for an answer
    created_at: str
    updated_at: str

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "ConversationRow":
        return _build(cls, row, slots=_json(row["slots"], {}), owner=Owner(row["owner"]),
                      status=ConversationStatus(row["status"]),
                      wake_kind=WakeKind(row["wake_kind"]) if row.get("wake_kind") else None,
                      reminded=bool(row["reminded"]))


@dataclasses.dataclass(frozen=True, kw_only=True)
class MessageRow:
    id: int
    conversation_id: Optional[int]
    identity_id: Optional[int]
    direction: str                         # "in" (from the customer) or "out"
    sender: str                            # "customer", "bot", or an agent
    text: str
    buttons: list[list[str]]               # [label, value] pairs
    platform_message_id: Optional[str]
    outbox_id: Optional[int]
    at: str

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "MessageRow":
        return _build(cls, row, buttons=_json(row["buttons"], []))


@dataclasses.dataclass(frozen=True, kw_only=True)
class ResponseRow:
    """A customer's answer: a score (csat, nps, ces) or words (a testimonial, a comment)."""

    id: int
    conversation_id: Optional[int]
    customer_id: int
    order_id: Optional[str]
    sku: Optional[str]
    metric: str
    score: Optional[int]
    text: Optional[str]
    intent: Optional[str]
    entities: list[Any]
    at: str

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "ResponseRow":
        return _build(cls, row, entities=_json(row["entities"], []))


@dataclasses.dataclass(frozen=True, kw_only=True)
class CaseRow:
    """An escalation: a case on the support desk."""

    id: int
    conversation_id: int                   # every case is opened from a conversation
    customer_id: int
    order_id: Optional[str]
    reason: str
    problem_type: Optional[str]
    request: Optional[str]                 # refund, replacement, ... beside the problem
    status: CaseStatus
    agent: Optional[str]
    text: Optional[str]
    photos: list[Any]
    opened_at: str
    claimed_at: Optional[str]
    first_reply_at: Optional[str]
    resolved_at: Optional[str]
    sla_due_at: Optional[str]
    card_channel: Optional[str]
    card_ts: Optional[str]                 # the card's platform id: its thread
    sla_reminded: bool
    nudged: bool
    snoozed_until: Optional[str] = None    # snoozed until then (the SLA clock paused meanwhile)
    snooze_until_customer: bool = False    # snoozed until the customer writes
    sla_paused_at: Optional[str] = None    # when the SLA clock was paused (a snooze); None: running
    sla_warn_at: Optional[str] = None      # when 75 % of the SLA is used
    sla_warned: bool = False
    state_noted: Optional[str] = None      # the customer state already posted in the thread

    @property
    def snoozed(self) -> bool:
        return self.sla_paused_at is not None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "CaseRow":
        return _build(cls, row, status=CaseStatus(row["status"]), photos=_json(row["photos"], []),
                      sla_reminded=bool(row["sla_reminded"]), nudged=bool(row["nudged"]),
                      snooze_until_customer=bool(row.get("snooze_until_customer")),
                      sla_warned=bool(row.get("sla_warned")))


@dataclasses.dataclass(frozen=True, kw_only=True)
class CaseAbout:
    """A case with the product it was about: its conversation's line item, else the order's first."""

    case: CaseRow
    sku: Optional[str]
    product: Optional[str]


@dataclasses.dataclass(frozen=True, kw_only=True)
class OutboxRow:
    """One queued send (bot/live/outbox.py is the only reader that sends it)."""

    id: int
    channel: str
    address: Optional[str]
    identity_id: Optional[int]
    conversation_id: Optional[int]
    kind: OutboxKind
    text: str
    buttons: list[list[str]]               # [label, value] pairs
    payload: dict[str, Any]
    status: OutboxStatus
    not_before: str
    attempts: int
    last_error: Optional[str]
    platform_message_id: Optional[str]
    created_at: str
    sent_at: Optional[str]
    claimed_at: Optional[str]

    @property
    def reply(self) -> bool:
        """Part of an answer to someone who just wrote (may go out in a short burst)."""
        return bool(self.payload.get("reply"))

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "OutboxRow":
        return _build(cls, row, kind=OutboxKind(row["kind"]), status=OutboxStatus(row["status"]),
                      buttons=_json(row["buttons"], []), payload=_json(row["payload"], {}))


@dataclasses.dataclass(frozen=True, kw_only=True)
class SentMessage:
    """A message delivered to one address, with who wrote it (the bot or an agent)."""

    id: int
    text: str
    buttons: list[list[str]]
    sent_at: Optional[str]
    platform_message_id: Optional[str]
    sender: str

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "SentMessage":
        return _build(cls, row, buttons=_json(row["buttons"], []))


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConsentEntry:
    """One line of the consent ledger: opt-in, opt-out, link, withdrawal."""

    id: int
    customer_id: int
    identity_id: Optional[int]
    channel: str
    action: str
    source: str
    at: str

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "ConsentEntry":
        return _build(cls, row)


@dataclasses.dataclass(frozen=True, kw_only=True)
class FixNoticeRow:
    """One "it has been fixed" notice (`aftercare tell-fixed`) for a customer, SKU and problem."""

    id: int
    customer_id: int
    identity_id: int
    sku: str
    problem_type: str
    text: str
    status: str                            # pending, held, sent, cancelled, or "suppressed:<reason>"
    due_at: str
    held_reason: Optional[str]
    created_at: str
    sent_at: Optional[str]
    outbox_id: Optional[int]

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "FixNoticeRow":
        return _build(cls, row)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ProblemReport:
    """A case that reported a problem on a SKU, with whom to tell when it is fixed."""

    case_id: int
    customer_id: int
    opened_at: str
    identity_id: Optional[int]
    name: Optional[str]
    forgotten_at: Optional[str]

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "ProblemReport":
        return _build(cls, row)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReferralCode:
    """The referral code a promoter was given (once per customer)."""

    code: str
    customer_id: int
    conversation_id: Optional[int]
    link: Optional[str]
    given_at: str

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "ReferralCode":
        return _build(cls, row)


@dataclasses.dataclass(frozen=True, kw_only=True)
class GiftCode:
    """A gift code a milestone gave a customer (once per customer and milestone kind)."""

    id: int
    customer_id: int
    kind: str
    code: str
    conversation_id: Optional[int]
    given_at: str

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "GiftCode":
        return _build(cls, row)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ErasureEntry:
    """One erasure (`customer forget` or a retention run): who, when, how many rows; never the data."""

    id: int
    kind: str                              # forget, retention
    customer_id: Optional[int]
    actor: str
    at: str
    counts: dict[str, int]                 # table -> rows erased

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "ErasureEntry":
        return _build(cls, row, counts=_json(row["counts"], {}))


class EarlierFacts(TypedDict, total=False):
    """What a customer's conversations about one order established (`Conversations.order_facts`);
    a key is absent when nothing established it. A TypedDict: the engine reads it as a mapping."""

    csat: int
    nps: int
    low_score: bool
    had_case: bool


def as_mapping(row: "DataclassInstance") -> dict[str, Any]:
    """A typed row as the column -> value mapping the engine's `Facts` read template variables
    from (the engine stays free of the store's types); a `CaseAbout` flattens into its case's
    columns with `sku` and `product`."""
    if isinstance(row, CaseAbout):
        return {**as_mapping(row.case), "sku": row.sku, "product": row.product}
    return {name: getattr(row, name) for name in _field_names(type(row))}


@dataclasses.dataclass(frozen=True, kw_only=True)
class DeskActionRow:
    """One thing done on the support desk: by an agent (None: the desk itself), to a case."""

    id: int
    case_id: int
    agent: Optional[str]
    kind: str                              # claim, note, assign, snooze, sla_warning, ...
    detail: Optional[str]                  # a note's text, the agent handed to, a snooze, a code
    at: str

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "DeskActionRow":
        return _build(cls, row)


@dataclasses.dataclass(frozen=True)
class PastOrder:
    """One order of the same customer, as milestones see it (cancelled and returned ones are left out)."""

    order_id: str
    purchased_at: datetime
    skus: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()

    def has(self, only: Audience) -> bool:
        """Holds a product of the audience (any product when `only` lists none)."""
        if not only.skus and not only.categories:
            return True
        return bool(self.skus & set(only.skus)) or bool(self.categories & set(only.categories))
