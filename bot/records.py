"""Kinds and states of stored rows that more than one room reads: the store keeps their
`.value`s, everyone else compares against these instead of string literals."""
from __future__ import annotations

import enum


class OutboxKind(str, enum.Enum):
    MESSAGE = "message"            # a message to a customer
    MARK_CHOSEN = "mark_chosen"    # edit an answered question so its buttons are gone
    CASE_CARD = "case_card"        # a new case's card on the support desk
    CASE_UPDATE = "case_update"    # redraw a case card
    THREAD = "thread"              # a post in a case's thread
    EPHEMERAL = "ephemeral"        # a note only one agent sees
    NOTICE = "notice"              # a top-level post on the desk (the weekly digest)
    DELETE_POST = "delete_post"    # take one of the bot's desk posts down (erasure)


class CaseStatus(str, enum.Enum):
    OPEN = "open"
    CLAIMED = "claimed"
    RESOLVED = "resolved"
