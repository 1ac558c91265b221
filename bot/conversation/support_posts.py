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
