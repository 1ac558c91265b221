"""On a channel that can find people by email (its declaration says `EMAIL_LOOKUP`), customers
can be imported by email only: resolve each email to an address once, then they are reachable
like any other identity. On a channel that knows its users' languages (`LOCALE_LOOKUP`), a
customer whose language nothing else tells gets it from the platform before the first message."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Awaitable, Callable, Optional

from bot.store.store import Store

log = logging.getLogger(__name__)
Lookup = Callable[[str], Awaitable[Optional[str]]]
LOCALES_PER_CALL = 20           # a few per loop turn (each channel declares its own: `ChannelSpec.locale_lookups`)


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
                store.customers.bind_address(identity_id, user_id, now, source=f"{channel}-lookup-by-email", by="lookup")
                resolved += 1
    return resolved


async def resolve_locales(store: Store, lookup: Lookup, channel: str, after_id: int = 0,
                          limit: int = LOCALES_PER_CALL) -> tuple[int, int]:
    """Ask the platform for the language of up to `limit` identities whose language is unknown,
    from id `after_id` on, and store what it says (as a platform language: the order's and the
    customer's own choice still win). Returns (languages stored, where the next call starts:
    0 once the end is reached). The adapter remembers its answers, so a pass over people the
    platform knows no language for costs no calls."""
    rows = store.customers.without_language(channel, after_id, limit)
    stored = 0
    for identity_id, address in rows:
        try:
            locale = await lookup(address)
        except Exception:  # a lookup failure must not stop the loop; the next pass asks again
            log.exception("%s lookup of a customer's language failed", channel)
            locale = None
        if locale:
            with store.transaction():
                store.customers.set_language(identity_id, locale)
            stored += 1
    return stored, (rows[-1][0] if len(rows) == limit else 0)
