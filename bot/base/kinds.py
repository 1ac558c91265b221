"""Kinds and states of stored rows that more than one room reads: the store keeps their
`.value`s, everyone else compares against these instead of string literals."""
from __future__ import annotations

import enum


class _Stored(str, enum.Enum):
    """A stored text value: `str()` and `%s` give the value itself, as f-strings do."""

    def __str__(self) -> str:
        return str(self.value)


class OutboxKind(_Stored):
    MESSAGE = "message"            # a message to a customer
    MARK_CHOSEN = "mark_chosen"    # edit an answered question so its buttons are gone
    CASE_CARD = "case_card"        # a new case's card on the support desk
    CASE_UPDATE = "case_update"    # redraw a case card
    THREAD = "thread"              # a post in a case's thread
    EPHEMERAL = "ephemeral"        # a note only one agent sees
    NOTICE = "notice"              # a top-level post on the desk (the weekly digest)
    DELETE_POST = "delete_post"    # take one of the bot's desk posts down (erasure)


class CaseStatus(_Stored):
    OPEN = "open"
    CLAIMED = "claimed"
    RESOLVED = "resolved"


class OutboxStatus(_Stored):
    PENDING = "pending"            # waits for its time and the rate limits
    SENDING = "sending"            # claimed: the platform call is (or was, before a crash) under way
    SENT = "sent"
    FAILED = "failed"              # a permanent error for this message
    UNREACHABLE = "unreachable"    # the address refused it (blocked, gone)
    CANCELLED = "cancelled"        # withdrawn before it went (opt-out, erasure)


class ConversationStatus(_Stored):
    """Where a conversation stands."""

    ACTIVE = "active"      # running, or parked with an agent
    WAITING = "waiting"    # waits for the customer (or a scheduled resume)
    CLOSED = "closed"


class Owner(_Stored):
    """Who answers the customer: the bot, or a person after an escalation."""

    BOT = "bot"
    HUMAN = "human"


class WakeKind(_Stored):
    """What happens when a waiting conversation's `wake_at` comes."""

    REMIND = "remind"      # ask the question once more
    CLOSE = "close"        # close quietly
    RESUME = "resume"      # pick up a rescheduled flow
