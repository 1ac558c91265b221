"""Drive the pure engine directly: no store, no clock, no NLU model."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

from bot.engine.flows import FlowSet
from bot.engine.machine import (Answer, Begin, Context, ConversationState, Engine, Handback, Outcome, Timer,
                                Timing)
from bot.nlu.base import Entity, Parse
from bot.nlu.cues import with_cues
from bot.conversation.optout import means_stop

UTC = timezone.utc
NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
TIMING = Timing(reminder_after=timedelta(hours=24), close_after=timedelta(hours=48),
                not_used_yet_delay=timedelta(days=7))
VARIABLES = {
    "customer.name": "Ana Silva", "customer.first_name": "Ana", "product.name": "Trail Runner 2 shoes",
    "product.sku": "TR2-44", "product.category": "footwear", "order.id": "A-1",
    "review_url": "https://shop.example/review/TR2-44", "upsell.offer": "Trail socks",
    "upsell.url": "https://shop.example/socks", "refill.url": "https://shop.example/refill",
    "faq": "Brush them clean.", "checkback_days": 7,
    "shop.name": "our shop",
}


def context(has_open_case: bool = False, upsell_offered_before: bool = False,
            earlier: Optional[dict] = None, refill_offered_before: bool = False,
            referral_asked_before: bool = False, **variables: Any) -> Context:
    """A context with realistic variables; `upsell__offer=None` overrides `upsell.offer`."""
    merged = {**VARIABLES, **{k.replace("__", "."): v for k, v in variables.items()}}
    before = {"upsell_offered": upsell_offered_before, "refill_offered": refill_offered_before,
              "referral_asked": referral_asked_before}
    return Context(variables=merged, timing=TIMING, has_open_case=has_open_case, before=before,
                   earlier=earlier or {}, offer_key="upsell:TR2-44", refill_key="refill:TR2-44")


def text(words: str, intent: str = "nlu_fallback", **entities: str) -> Answer:
    # with the lexical cues, as the inbound handler attaches them (bot/nlu/cues.py)
    parse = with_cues(Parse(words, intent, 0.9, tuple(Entity(k, v) for k, v in entities.items())))
    return Answer(text=words, parse=parse, stop=means_stop(parse))   # as the inbound handler asks bot/conversation/optout.py


def button(value: str, parse_as: Optional[str] = None) -> Answer:
    """A tap; `parse_as` plants a parse that the engine must ignore for a button."""
    parse = Parse(value, parse_as, 0.99) if parse_as else None
    return Answer(button=value, parse=parse)


class Talk:
    """One conversation driven through the engine, keeping every outcome."""

    def __init__(self, flows: FlowSet, ctx: Optional[Context] = None, now: datetime = NOW) -> None:
        self.engine = Engine(flows)
        self.ctx = ctx or context()
        self.now = now
        self.state: Optional[ConversationState] = None
        self.outcomes: list[Outcome] = []

    def _do(self, event) -> Outcome:
        out = self.engine.step(self.state, event, self.ctx, self.now)
        self.state = out.state
        self.outcomes.append(out)
        return out

    def begin(self, flow: str = "checkin", proactive: bool = True) -> Outcome:
        return self._do(Begin(flow, proactive=proactive))

    def send(self, answer: Answer) -> Outcome:
        return self._do(answer)

    def say(self, words: str, intent: str = "nlu_fallback", **entities: str) -> Outcome:
        return self._do(text(words, intent, **entities))

    def press(self, value: str) -> Outcome:
        return self._do(button(value))

    def timer(self, after: timedelta = timedelta(0)) -> Outcome:
        self.now += after
        return self._do(Timer())

    def handback(self) -> Outcome:
        return self._do(Handback())

    def at(self, flow: str, step: str, **slots: Any) -> "Talk":
        """Put the conversation at a waiting step, as if its question had just been asked."""
        self.state = ConversationState(flow=flow, step=step, slots=dict(slots), status="waiting",
                                       wake_at=self.now + TIMING.reminder_after, wake_kind="remind")
        return self

    @property
    def slots(self) -> dict:
        return self.state.slots if self.state else {}

    def with_ctx(self, **changes: Any) -> "Talk":
        self.ctx = replace(self.ctx, **changes)
        return self


def texts(out: Outcome) -> list[str]:
    return [m.text for m in out.messages]


def buttons(out: Outcome) -> list[str]:
    """Values of the buttons under the last message that has any."""
    for message in reversed(out.messages):
        if message.buttons:
            return [b.value for b in message.buttons]
    return []


def actions(out: Outcome) -> list[str]:
    return [a.name for a in out.actions]


def action(out: Outcome, name: str):
    found = [a for a in out.actions if a.name == name]
    assert found, f"no {name!r} action in {actions(out)}"
    return found[0]
