"""State changes shared by the engine's handlers that apply at every step and by the built-in actions.

One place for "close", "wait for an answer", "escalate", "record a score" and "opt out", so a
STOP typed mid-question and an `action: opt_out` step leave the same state behind.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, Optional

from bot.engine.state import (SCALES, ActionCall, Answer, ConversationState, Context, Message, Outcome, Status,
                              WakeKind)
from bot.base import parse as nlu

OPT_OUT = "opt_out"          # the action the runner turns into a consent-ledger entry
PROBLEM_INTENTS = nlu.PROBLEM_INTENTS
LOW_SCORE = {"csat": 3, "nps": 6}   # at or below: a low score (upsell and offers stay away)
DELIVERY_PROBLEMS = nlu.DELIVERY_PROBLEMS
# Beside a stated score, a problem intent counts only when the model is this sure: "I'd give it
# a 4" read as return_refund at 0.74 is a score, not a complaint (a problem_type or a problem
# cue always counts).
PROBLEM_BESIDE_SCORE = 0.8
# A typed "yes" opens an ask (a review link, an offer) only when the model is this sure of it,
# and the reply has no problem, no "no" and no question in it (shared/CONVERSATION.md, Safety).
CLEAN_YES_CONFIDENCE = 0.85
# Intents a problem named in the same reply overrides: praise, yes, thanks, "ok", "not yet",
# how-to, a "no", or nothing understood.
_OVERRIDDEN = frozenset({"works_well", "mixed_feedback", "affirm", "thanks", "deny", "not_used_yet", "how_to",
                         nlu.FALLBACK_INTENT})


def problem_reason(answer: Optional[Answer], min_confidence: float = 0.0) -> Optional[str]:
    """The escalation reason a typed answer names (bot/nlu/base.py `problem_reason`: a problem
    intent, a problem type, or a problem cue in the words); None if it names none."""
    return nlu.problem_reason(answer.typed if answer else None, min_confidence)


def problem_first(answer: Answer) -> Answer:
    """A reply that names a problem is never read as praise, yes or thanks: its intent becomes
    the problem's reason, so every question's problem branch takes it (shared/CONVERSATION.md,
    "Safety: problems first"). Buttons, STOP and "a person" are left as they are."""
    parse = answer.typed
    if parse is None or parse.intent not in _OVERRIDDEN:
        return answer
    reason = nlu.problem_reason(parse)
    if reason is None:
        return answer
    return replace(answer, parse=replace(parse, intent=reason))


def clean_yes(answer: Optional[Answer], choice: Optional[str]) -> bool:
    """A yes that may open an ask: the yes button, or typed text that is the yes button's label
    or read as `affirm` with high confidence, with no problem, no "no" and no question in it."""
    if answer is None:
        return False
    parse = answer.typed
    if parse is None:
        return choice == "yes" and answer.button is not None
    said_yes = choice == "yes" or (parse.intent == "affirm" and parse.confidence >= CLEAN_YES_CONFIDENCE)
    cues = parse.cues
    return (said_yes and cues.problem is None and not cues.negation and not cues.question
            and nlu.problem_reason(parse) is None)


def said_no(answer: Optional[Answer], choice: Optional[str]) -> bool:
    """A "no" from the customer: the no button, or typed text meaning no (shared/CONVERSATION.md:
    no offer comes after one in the same conversation)."""
    parse = answer.typed if answer else None
    return choice == "no" or (choice is None and parse is not None and parse.intent == "deny")


def close(state: ConversationState) -> None:
    """Closed, with nothing scheduled: no goodbye message."""
    state.status, state.wake_at, state.wake_kind = Status.CLOSED, None, None


def wait(state: ConversationState, ctx: Context, now: datetime, remind: bool = True) -> None:
    """Wait for the customer's answer; remind once if none comes (unless the step says
    `remind: false`: then it closes quietly when a reminder would have been due plus close_after)."""
    state.status = Status.WAITING
    state.reminded = False
    if remind:
        state.wake_at, state.wake_kind = now + ctx.timing.reminder_after, WakeKind.REMIND
    else:
        state.wake_at, state.wake_kind = now + ctx.timing.reminder_after + ctx.timing.close_after, WakeKind.CLOSE


def parse_facts(answer: Optional[Answer]) -> dict[str, Any]:
    """Intent and entities of typed text, as recorded beside a score or a free-text answer."""
    parse = answer.typed if answer else None
    if parse is None:
        return {"intent": None, "entities": []}
    return {"intent": parse.intent, "entities": [{"entity": e.entity, "value": e.value} for e in parse.entities]}


def record_score(out: Outcome, metric: str, score: int, answer: Optional[Answer]) -> None:
    slots = out.state.slots
    slots[metric] = score
    if metric in LOW_SCORE and score <= LOW_SCORE[metric]:
        slots["low_score"] = True
    text = answer.text if answer and answer.button is None else ""
    reason = problem_reason(answer, PROBLEM_BESIDE_SCORE)
    if reason:            # a score stated together with a problem: keep the problem for the case
        slots["problem_reason"] = reason
        problem = nlu.problem_type(answer.typed if answer else None)
        if problem:
            slots["problem_type"] = problem
    out.actions.append(ActionCall("record_score", {"metric": metric, "score": score, "text": text,
                                                   **parse_facts(answer)}))


def escalate(out: Outcome, reason: str, answer: Optional[Answer]) -> None:
    """Open a case: the conversation stays active and waits for an agent."""
    state, slots = out.state, out.state.slots
    parse = answer.typed if answer else None
    problem = nlu.problem_type(parse)
    if problem:
        slots["problem_type"] = problem
    request = parse.entity("request") if parse else None  # "...and I want a refund"
    if request:
        slots["request"] = request
    slots["had_case"] = True
    slots["escalation_reason"] = reason
    state.status, state.wake_at, state.wake_kind = Status.ACTIVE, None, None
    out.actions.append(ActionCall("escalate", {
        "reason": reason,
        "problem_type": slots.get("problem_type"),
        "request": slots.get("request"),
        "text": slots.get("last_text", ""),
        "photos": list(slots.get("photos", [])),
        "scores": {m: slots[m] for m in SCALES if m in slots},
    }))


def opt_out(out: Outcome, confirmation: Optional[str] = None) -> None:
    out.actions.append(ActionCall(OPT_OUT))
    if confirmation is not None:
        out.messages.append(Message(confirmation))
    close(out.state)
