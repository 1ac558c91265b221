"""A customer's data rights and the free-text retention, over the store.

`forget` erases in one transaction and, in that same transaction, queues what must change on
the support desk: the customer's words posted in case threads are deleted (deleted on the platform) and the case cards
are redrawn from the erased store (updated there). The dispatcher sends those like any other post,
so a running bot (or the next start) does it, within the desk's limits, retrying on failure.
"""
from __future__ import annotations

import getpass
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Optional

from bot.base.errors import AftercareError
from bot.conversation.cases import SUPPORT
from bot.channels.registry import desk_channel
from bot.config.settings import Settings
from bot.base.kinds import OutboxKind
from bot.store.privacy import SupportPost
from bot.store.store import Store

log = logging.getLogger(__name__)
RETENTION_EVERY = timedelta(days=1)


class CustomerRefError(AftercareError, LookupError):
    """REF matches no customer, or more than one."""


class AlreadyForgotten(CustomerRefError):
    """REF names a customer who was forgotten (their ref, email, order or address is on the
    suppression list): nothing personal is held any more."""


@dataclass
class ForgetResult:
    customer_id: int
    already_forgotten: Optional[str] = None      # when it was, if it was
    counts: dict[str, int] = field(default_factory=dict)
    posts_deleted: int = 0
    cards_redrawn: int = 0


def os_user() -> str:
    """Who runs the command, for the erasure log."""
    try:
        return getpass.getuser()
    except Exception:  # no login name (e.g. a container without a passwd entry)
        return "unknown"


def find_customer(store: Store, ref: str) -> int:
    """The one customer REF names; CustomerRefError says why not."""
    matches = store.privacy.find(ref)
    if not matches and was_forgotten(store, ref):
        raise AlreadyForgotten(f"{ref!r} belongs to a customer who was already forgotten; nothing personal is held")
    if not matches:
        raise CustomerRefError(f"no customer matches {ref!r} (try a customer id, order id, email or "
                               "channel address, <channel>:<address>)")
    if len(matches) > 1:
        hows = ", ".join(f"customer {m.customer_id} by {m.how}" for m in matches)
        raise CustomerRefError(f"{ref!r} matches several customers ({hows}); prefix it: id:, order:, email:, "
                               "ref: or <channel>:")
    return matches[0].customer_id


def was_forgotten(store: Store, ref: str) -> bool:
    """Does REF (bare, or prefixed ref:/email:/order:/<channel>:) name a forgotten customer?"""
    kind, _, value = ref.strip().partition(":")
    if value and kind in ("ref", "email", "order"):
        return store.privacy.is_suppressed(kind, value.strip())
    if value and store.privacy.is_suppressed(kind, value.strip()):
        return True                                   # <channel>:<address>
    return any(store.privacy.is_suppressed(k, ref.strip()) for k in ("ref", "email", "order"))


def export_customer(store: Store, customer_id: int, now: datetime) -> dict:
    """Everything held about the customer, as one JSON-able object."""
    return {"exported_at": now.isoformat(), "customer_id": customer_id, **store.privacy.export(customer_id)}


def forget_customer(store: Store, settings: Settings, customer_id: int, actor: str, now: datetime) -> ForgetResult:
    """Erase the customer's personal data and free text; queue the desk's deletions and card redraws."""
    result = ForgetResult(customer_id)
    with store.transaction():
        result.already_forgotten = store.privacy.forgotten_at(customer_id)
        if result.already_forgotten:
            return result
        cases = store.privacy.case_ids(customer_id)
        posts = store.privacy.customer_posts(cases)
        result.counts = store.privacy.forget(customer_id, actor, now)
        result.posts_deleted, result.cards_redrawn = _scrub_support(store, settings, cases, posts, now)
    log.info("customer %s forgotten by %s", customer_id, actor)
    return result


def erase_old_free_text(store: Store, settings: Settings, now: datetime, actor: str) -> Optional[dict[str, int]]:
    """`privacy.free_text_retention`: erase the customers' words older than that (None when off)."""
    keep = settings.privacy.free_text_retention
    if keep is None:
        return None
    cutoff = now - keep
    with store.transaction():
        cases = store.privacy.cases_with_text_before(cutoff)
        posts = store.privacy.customer_posts(cases, before=cutoff)
        counts = store.privacy.erase_free_text_before(cutoff)
        deleted, redrawn = _scrub_support(store, settings, cases, posts, now)
        desk = desk_channel()       # the channel that carries the desk names its counts
        counts.update({f"{desk}_posts_deleted": deleted, f"{desk}_cards_redrawn": redrawn})
        if any(counts.values()):
            store.privacy.log("retention", actor, now, counts)
    if any(counts.values()):
        log.info("retention: erased free text older than %s: %s", cutoff.date(), counts)
    return counts


def _scrub_support(store: Store, settings: Settings, cases: list[int], posts: list[SupportPost],
                   now: datetime) -> tuple[int, int]:
    for post in posts:
        store.outbox.add(SUPPORT, post.channel, None, None, "delete a post that quoted a customer", now,
                         kind=OutboxKind.DELETE_POST, payload={"case_id": post.case_id, "ts": post.ts})
    carded = store.privacy.carded_cases(cases)
    for case in carded:
        store.outbox.add(SUPPORT, case.card_channel or settings.escalation.support_channel, None, None,
                         f"case {case.id} update", now, kind=OutboxKind.CASE_UPDATE, payload={"case_id": case.id})
    return len(posts), len(carded)


class Retention:
    """Runs the retention once a day in a running bot (first at start)."""

    def __init__(self, store: Store, settings: Settings, actor: str = "aftercare run (retention)") -> None:
        self.store = store
        self.settings = settings
        self.actor = actor
        self._last: Optional[datetime] = None

    def tick(self, now: datetime) -> Optional[dict[str, int]]:
        if self.settings.privacy.free_text_retention is None:
            return None
        if self._last is not None and now - self._last < RETENTION_EVERY:
            return None
        self._last = now
        return erase_old_free_text(self.store, self.settings, now, self.actor)
