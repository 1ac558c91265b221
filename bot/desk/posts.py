"""Posts to the support desk go through the outbox like customer messages: each is a row
addressed to the desk (channel `SUPPORT`), drawn from the store at send time so a card is
never stale. The runner queues a new case's card here and the case logic (bot/conversation/cases.py)
queues the rest, so neither calls back into the other."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from bot.base.kinds import OutboxKind
from bot.store.store import Store

SUPPORT = "support"


def queue_case_card(store: Store, support_channel: str, case_id: int, conversation_id: Optional[int],
                    now: datetime) -> None:
    """Queue the card of a case just opened (inside the escalation's transaction)."""
    store.outbox.add(SUPPORT, support_channel, None, conversation_id, f"case {case_id}", now,
                     kind=OutboxKind.CASE_CARD, payload={"case_id": case_id})


def queue_thread(store: Store, support_channel: str, case_id: int, conversation_id: Optional[int], text: str,
                 now: datetime, *, mentions: Optional[list] = None, customer_text: bool = False,
                 internal: bool = False) -> int:
    """Queue a post in a case's thread. `customer_text`: the customer's words (what erasure
    deletes from the desk); `internal`: an agent's private note (the desk marks it, nothing
    relays it)."""
    payload: dict = {"case_id": case_id, "mentions": mentions or []}
    if customer_text:
        payload["customer_text"] = True
    if internal:
        payload["internal"] = True
    return store.outbox.add(SUPPORT, support_channel, None, conversation_id, text, now, kind=OutboxKind.THREAD,
                            payload=payload)


def queue_card_update(store: Store, support_channel: str, case_id: int, conversation_id: Optional[int],
                      now: datetime) -> None:
    """Queue a redraw of a case's card (drawn from the store when it goes out)."""
    store.outbox.add(SUPPORT, support_channel, None, conversation_id, f"case {case_id} update", now,
                     kind=OutboxKind.CASE_UPDATE, payload={"case_id": case_id})


def queue_ephemeral(store: Store, support_channel: str, user: str, text: str, now: datetime) -> None:
    """Queue a line only `user` sees in the support channel."""
    store.outbox.add(SUPPORT, support_channel, None, None, text, now, kind=OutboxKind.EPHEMERAL,
                     payload={"user": user})
