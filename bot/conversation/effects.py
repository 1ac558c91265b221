"""The store side of what a flow's actions decide. The engine is pure: an action's engine side
only returns named effects (`Turn.emit` -> `ActionCall`); the runner applies each one here, in
the same transaction as the conversation's new state and its messages (invariant 2).

An applier is registered by the name its action emits, the built-ins below and a plugin's own
(`aftercare_effects`), so adding a word that writes to the store is still no edit here. An action
declares what it emits (`Action.effects`): one with no applier is refused when the plugins load
(bot/plugins/manager.py). An effect with no applier met while running (emitted but never declared)
is `EffectNotApplied`: the step is not committed at all, and the event waits to be run again."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Mapping, Optional

from bot.base.errors import AftercareError
from bot.base.events import DeliverLater
from bot.config.settings import Settings
from bot.desk.posts import queue_case_card
from bot.store.store import Identity, Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Effect:
    """What an applier sees, inside the runner's transaction."""

    store: Store
    settings: Settings
    conversation_id: int
    identity: Identity
    order_id: Optional[str]
    sku: Optional[str]
    now: datetime
    args: Mapping[str, Any]


Apply = Callable[[Effect], None]


class EffectError(AftercareError, ValueError):
    """Two appliers for one effect name."""


class EffectNotApplied(DeliverLater):
    """A step emitted an effect nothing applies. Writing the step without it would move the
    conversation on with its record lost (the coupon promised, never stored), so nothing of the
    step is written: an inbound event is left unconfirmed (the platform delivers it again, its
    chat's later messages wait behind it), a touchpoint or wake-up is held, until a plugin
    applies the effect and the bot restarts."""

    def __init__(self, effect: str, action: Optional[str]) -> None:
        self.effect, self.action = effect, action
        by = f"action {action!r} emitted effect {effect!r}" if action else f"effect {effect!r} was emitted"
        super().__init__(f"{by}, which no plugin applies (aftercare_effects): nothing of this step was written; "
                         "it runs again once a plugin applies it")


@dataclass
class Effects:
    """Effect name -> its applier; one per name, no global one (build it, pass it to the runner)."""

    appliers: dict[str, Apply] = field(default_factory=dict)

    def register(self, name: str, apply: Apply) -> "Effects":
        if name in self.appliers and self.appliers[name] is not apply:
            raise EffectError(f"effect {name!r} already has an applier")
        self.appliers[name] = apply
        return self

    def get(self, name: str) -> Optional[Apply]:
        return self.appliers.get(name)


def default_effects() -> Effects:
    """A fresh registry holding the built-in appliers."""
    effects = Effects()
    for name, apply in BUILTIN.items():
        effects.register(name, apply)
    return effects


# ---- the built-ins: what the shipped actions write -----------------------------------------

def open_case(effect: Effect) -> None:
    store, args = effect.store, effect.args
    existing = store.cases.active_for_conversation(effect.conversation_id)
    if existing:
        log.info("case %s already open for conversation %s; not opening another", existing.id,
                 effect.conversation_id)
        return
    escalation, zone = effect.settings.escalation, effect.settings.schedule.timezone
    sla = escalation.sla_due(args["reason"], effect.now, zone) - effect.now     # per reason, business hours
    case_id = store.cases.open(effect.conversation_id, effect.identity.customer_id, effect.order_id,
                               args["reason"], args.get("problem_type"), args.get("text", ""),
                               args.get("photos", []), effect.now, sla, request=args.get("request"))
    store.cases.update(case_id, sla_warn_at=escalation.sla_due(args["reason"], effect.now, zone,
                                                               share=escalation.sla_warning))
    queue_case_card(store, effect.settings.escalation.support_channel, case_id, effect.conversation_id, effect.now)


def store_score(effect: Effect) -> None:
    args = effect.args
    effect.store.conversations.add_response(effect.conversation_id, effect.identity.customer_id, effect.order_id,
                                            effect.sku, args["metric"], args["score"], args.get("text", ""),
                                            args.get("intent"), args.get("entities", []), effect.now)


def store_words(metric: str) -> Callable[[Effect], None]:
    """The store side of an action that keeps the customer's words as a response of `metric`."""
    def store(effect: Effect) -> None:
        args = effect.args
        effect.store.conversations.add_response(effect.conversation_id, effect.identity.customer_id,
                                                effect.order_id, effect.sku, metric, None, args["text"],
                                                args.get("intent"), args.get("entities", []), effect.now)
    return store


def store_gift_code(effect: Effect) -> None:
    effect.store.referrals.give_gift(effect.identity.customer_id, effect.args["kind"], effect.args["code"],
                                     effect.conversation_id, effect.now)


def store_referral(effect: Effect) -> None:
    if effect.args.get("code"):
        effect.store.referrals.give(effect.identity.customer_id, effect.args["code"], effect.args.get("link"),
                                    effect.conversation_id, effect.now)


def kept_in_state(effect: Effect) -> None:
    """Nothing more to write: the conversation's own state, saved in this transaction, is the
    record (slots `review_requested`, `upsell_offered`, `rescheduled` and its wake time, which
    `aftercare report` and the scheduler read)."""


BUILTIN: Mapping[str, Apply] = {
    "record_score": store_score,
    "record_text": store_words("text"),
    "escalate": open_case,
    "give_gift_code": store_gift_code,
    "ask_referral": store_referral,
    "record_testimonial": store_words("testimonial"),
    "request_review": kept_in_state,
    "offer_upsell": kept_in_state,
    "offer_refill": kept_in_state,
    "reschedule": kept_in_state,
}
