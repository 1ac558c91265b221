"""Run one engine step on a stored conversation and apply what it decided, in one transaction.

The inbound handler, the scheduler and the case desk all go through here, so a state change
and the messages it causes are always committed together (invariant 2).
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Optional

from bot.base.clock import parse_iso
from bot.config.settings import Settings
from bot.conversation.context import NOTHING_KNOWN, Known, build_context
from bot.conversation.effects import Effect, EffectNotApplied, Effects, default_effects
from bot.engine.machine import ActionCall, Begin, Context, ConversationState, Engine, Input, Outcome
from bot.engine.moves import OPT_OUT
from bot.store.store import Identity, Store

log = logging.getLogger(__name__)

class ConversationRunner:
    """Loads state, steps the engine, writes state + messages + records together."""

    def __init__(self, store: Store, engine: Engine, settings: Settings, effects: Optional[Effects] = None) -> None:
        self.store = store
        self.engine = engine
        self.settings = settings
        self.effects = effects if effects is not None else default_effects()

    def start(self, identity: Identity, order_id: Optional[str], sku: Optional[str], event: Input,
              now: datetime, known: Known = NOTHING_KNOWN, savepoint: bool = True) -> int:
        """Create a conversation for `identity` and feed it its first input (`known`: rows the
        caller read in this transaction, not read again; `savepoint=False`: inside a caller's
        transaction that any error undoes whole, no savepoint of its own: Store.transaction)."""
        with self.store.transaction(savepoint):
            conversation_id = self.store.conversations.create(identity.customer_id, identity.id, order_id, sku,
                                                              "", "", now)
            self._step(conversation_id, None, identity, order_id, sku, event, now, known)
        return conversation_id

    def feed(self, conversation_id: int, event: Input, now: datetime, known: Known = NOTHING_KNOWN,
             savepoint: bool = True) -> Outcome:
        """Feed an input to an existing conversation (`known`: rows the caller read in this
        transaction, the conversation and its identity among them, not read again; `savepoint`:
        as `start`'s)."""
        with self.store.transaction(savepoint):
            row = known.conversation if known.conversation is not None and known.conversation.id == conversation_id \
                else self.store.conversations.get(conversation_id)
            identity = known.identity if known.identity is not None and known.identity.id == row.identity_id \
                else self.store.customers.identity(row.identity_id)
            state = ConversationState(flow=row.flow, step=row.step, slots=row.slots, status=row.status,
                                      owner=row.owner, wake_at=parse_iso(row.wake_at), wake_kind=row.wake_kind,
                                      reminded=bool(row.reminded))
            return self._step(conversation_id, state, identity, row.order_id, row.sku, event, now, known)

    def context(self, customer_id: int, order_id: Optional[str], sku: Optional[str],
                platform_language: Optional[str] = None, touchpoint: Optional[str] = None,
                known: Known = NOTHING_KNOWN) -> Context:
        """The facts and template variables a text about this order may use (the flows' vocabulary),
        and the customer's language with its translations."""
        return build_context(self.store, self.settings, customer_id, order_id, sku, self.engine.vocabulary,
                             catalogs=self.engine.flows.catalogs, platform_language=platform_language,
                             touchpoint=touchpoint, tips=self.engine.flows.tips, known=known)

    def _step(self, conversation_id: int, state: Optional[ConversationState], identity: Identity,
              order_id: Optional[str], sku: Optional[str], event: Input, now: datetime,
              known: Known = NOTHING_KNOWN) -> Outcome:
        seeded = event.slots if isinstance(event, Begin) else {}
        touchpoint = seeded.get("touchpoint") or (state.slots.get("touchpoint") if state else None)
        ctx = self.context(identity.customer_id, order_id, sku, identity.language_code, touchpoint, known)
        outcome = self.engine.step(state, event, ctx, now)
        self._apply(conversation_id, identity, order_id, sku, outcome, now)
        return outcome

    def _apply(self, conversation_id: int, identity: Identity, order_id: Optional[str], sku: Optional[str],
               outcome: Outcome, now: datetime) -> None:
        store = self.store
        opted_out = any(a.name == OPT_OUT for a in outcome.actions)
        if opted_out:
            store.customers.opt_out(identity.id, now, source=f"conversation:{conversation_id}")
            store.outbox.cancel_for_identity(identity.id, "opted out")
        if outcome.proactive and outcome.messages and not outcome.reminder:
            store.customers.record_contact(identity.customer_id, outcome.state.flow, now)
        question_id = None
        for message in outcome.messages:
            buttons = [[b.label, b.value] for b in message.buttons]
            outbox_id = store.outbox.add(identity.channel, identity.address, identity.id, conversation_id,
                                         message.text, now, buttons=buttons,
                                         payload={"opt_out_confirmation": opted_out}, reply=not outcome.proactive)
            message_id = store.conversations.add_message(conversation_id, identity.id, "out", "bot", message.text,
                                                         now, buttons=buttons, outbox_id=outbox_id)
            if buttons:
                question_id = message_id
        # the state and the question the customer now sees (when it said something), in one update
        store.conversations.save(conversation_id, _row(outcome.state), now, said=bool(outcome.messages),
                                 question_message_id=question_id)
        for action in outcome.actions:
            self._act(action, conversation_id, identity, order_id, sku, now)

    def _act(self, action: ActionCall, conversation_id: int, identity: Identity, order_id: Optional[str],
             sku: Optional[str], now: datetime) -> None:
        """Apply one effect the engine returned, through its registered applier (bot/conversation/effects.py).
        One with no applier raises EffectNotApplied, which undoes the whole step (its transaction)."""
        if action.name == OPT_OUT:
            return                                   # the runner's own: applied before the messages
        apply = self.effects.get(action.name)
        if apply is None:
            error = EffectNotApplied(action.name, action.by)
            log.error("conversation %s: %s", conversation_id, error)
            raise error
        apply(Effect(self.store, self.settings, conversation_id, identity, order_id, sku, now, action.args))


def _row(state: ConversationState) -> dict:
    """The state as the store keeps it: plain values, enums as their strings (the slots are
    written as JSON at once, so they are not copied: `dataclasses.asdict` deep-copied them)."""
    return {"flow": state.flow, "step": state.step, "slots": state.slots, "status": state.status.value,
            "owner": state.owner.value, "wake_at": state.wake_at,
            "wake_kind": state.wake_kind.value if state.wake_kind else None, "reminded": state.reminded}
