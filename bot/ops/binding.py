"""`aftercare customer bind REF CHANNEL:ADDRESS`: an admin binds a chat to a customer.

Besides the signed deep link, this is the only way a chat address becomes a customer's
(order data may only propose one for a customer who has none, #24). It is the shop's word
that the person at the address is this customer (they asked by mail, at the counter), so it
opts the identity in, with the admin's name in the consent ledger. It never undoes the
customer's own STOP, never binds a forgotten customer or a forgotten customer's address, and
never takes another customer's chat unless the admin says `move`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Optional

from bot.base.errors import AftercareError
from bot.store.store import Store


class BindError(AftercareError, ValueError):
    """A binding refused; the message is one line naming the problem and the way out."""


@dataclass(frozen=True)
class BindResult:
    """What `bind` did: the identity, whether anything changed, whose chat it was before
    (`moved_from`, a customer id) and whether the customer stays opted out."""

    identity_id: int
    changed: bool
    moved_from: Optional[int] = None
    opted_out: bool = False


def parse_address(text: str, channels: Iterable[str]) -> tuple[str, str]:
    """`CHANNEL:ADDRESS` split and checked against the channels this install knows."""
    channel, sep, address = text.strip().partition(":")
    known = tuple(channels)
    if not sep or not address.strip():
        raise BindError(f"{text!r} is not CHANNEL:ADDRESS (a channel name, a colon, the chat id)")
    if channel not in known:
        raise BindError(f"unknown channel {channel!r} in {text!r}; channels: {', '.join(known)}")
    return channel, address.strip()


def bind(store: Store, customer_id: int, channel: str, address: str, actor: str, now: datetime,
         move: bool = False) -> BindResult:
    """Bind `channel:address` to the customer (in one transaction), or BindError saying why not."""
    source = f"admin:{actor}"
    with store.transaction():
        if store.privacy.forgotten_at(customer_id):
            raise BindError(f"customer {customer_id} was forgotten: they are never contacted again")
        if store.privacy.is_suppressed(channel, address):
            raise BindError(f"{channel}:{address} belonged to a forgotten customer: it is never contacted again")
        holder = store.customers.identity_at(channel, address)
        if holder is not None and holder.customer_id == customer_id:
            return BindResult(holder.id, False, opted_out=holder.opted_out)
        if holder is not None and not move:
            raise BindError(f"{channel}:{address} is customer {holder.customer_id}'s chat; give --move to take "
                            f"it from them (they lose it), or check the address")
        identity_id = store.customers.ensure_identity(customer_id, channel, None, False, now, source=source)
        store.customers.bind_address(identity_id, address, now, source=source, by="admin")
        identity = store.customers.identity(identity_id)
    return BindResult(identity_id, True, holder.customer_id if holder else None, identity.opted_out)
