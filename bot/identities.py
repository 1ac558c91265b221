"""On a channel that can find people by email (its declaration says `EMAIL_LOOKUP`), customers
can be imported by email only: resolve each email to an address once, then they are reachable
like any other identity."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Awaitable, Callable, Optional

from bot.store.store import Store

log = logging.getLogger(__name__)
Lookup = Callable[[str], Awaitable[Optional[str]]]


async def resolve_emails(store: Store, lookup: Lookup, now: datetime, channel: str) -> int:
    """Look up every unresolved email once; returns how many identities got an address."""
    resolved = 0
    for identity_id, email in store.customers.unresolved_by_email(channel):
        try:
            user_id = await lookup(email)
        except Exception:  # a lookup failure must not stop the loop; it is tried once
            log.exception("%s lookup of a customer email failed", channel)
            user_id = None
        with store.transaction():
            store.customers.lookup_tried(identity_id, now)
            if user_id:
                store.customers.bind_address(identity_id, user_id, now, source=f"{channel}-lookup-by-email")
                resolved += 1
    return resolved
