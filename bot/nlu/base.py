"""The one interface the rest of Aftercare uses to understand text.

Rasa is the shipped implementation (`bot.nlu.rasa_nlu`); keeping it behind this protocol lets
a successor be swapped in (Rasa Open Source 3.6 is the last open-source release).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from typing import Optional, Protocol

from bot.nlu.cues import GENERAL, Cues, read_cues

log = logging.getLogger(__name__)

INTENTS = (
    "works_well", "mixed_feedback", "product_problem", "delivery_problem", "return_refund",
    "how_to", "not_used_yet", "human", "opt_out", "affirm", "deny", "thanks",
)
FALLBACK_INTENT = "nlu_fallback"
PROBLEM_TYPES = (
    "damaged", "defective", "missing_part", "wrong_item", "not_as_described", "size_fit",
    "late", "not_received",
)
# What the customer asks for, beside what is wrong ("arrived broken, I want a refund"): the
# `request` entity, so a problem message keeps its refund ask and a refund ask its problem.
REQUESTS = ("refund", "replacement", "exchange", "return", "repair")
# Intents that name a problem: each is also an escalation reason.
PROBLEM_INTENTS = ("product_problem", "delivery_problem", "return_refund")
DELIVERY_PROBLEMS = ("late", "not_received")   # problem types that mean "I don't have it"


@dataclass(frozen=True)
class Entity:
    entity: str
    value: str


@dataclass(frozen=True)
class Parse:
    """What the NLU understood of one message."""

    text: str
    intent: str
    confidence: float
    entities: tuple[Entity, ...] = field(default_factory=tuple)
    ranking: tuple[tuple[str, float], ...] = field(default_factory=tuple)

    def entity(self, name: str) -> str | None:
        """The first value of entity `name`, or None."""
        for ent in self.entities:
            if ent.entity == name:
                return ent.value
        return None

    @cached_property
    def cues(self) -> Cues:
        """The lexical detectors' reading of the text (bot/nlu/cues.py), whatever parser made
        this parse: a problem named in words, a "no", a question."""
        return read_cues(self.text)


def problem_reason(parse: Optional[Parse], min_confidence: float = 0.0) -> Optional[str]:
    """THE answer to "does this reply name a problem?" (shared/CONVERSATION.md, Safety): the
    escalation reason it names, or None. A problem intent (at `min_confidence` or more; the
    parser already turned anything under the fallback threshold into nlu_fallback), else a
    `problem_type` entity, else a problem cue in the words (bot/nlu/cues.py), which counts
    whatever the intent model said ("la padella si è arrugginita" read as works_well).
    A "late" cue beside `not_used_yet` does not count ("haven't tried it yet")."""
    if parse is None:
        return None
    if parse.intent in PROBLEM_INTENTS and parse.confidence >= min_confidence:
        return parse.intent
    problem = parse.entity("problem_type")
    if problem is None:
        problem = parse.cues.problem
        if problem == "late" and parse.intent == "not_used_yet":
            problem = None
    if problem is None:
        return None
    return "delivery_problem" if problem in DELIVERY_PROBLEMS else "product_problem"


def problem_type(parse: Optional[Parse]) -> Optional[str]:
    """The problem type a reply names: the entity, else the cue's type (None for a problem
    named only in general words)."""
    if parse is None:
        return None
    found = parse.entity("problem_type") or parse.cues.problem
    return None if found == GENERAL else found


class Parser(Protocol):
    """Anything that turns a message into a `Parse`: `parse` where blocking is fine (the CLI,
    the evaluation), `aparse` from the event loop (it must not block it).

    `language` is the customer's language when the bot knows it (a tag like "de" or "pt-BR"):
    a hint, so a parser with one model per language need not guess; a one-language parser
    ignores it."""

    def parse(self, text: str, language: Optional[str] = None) -> Parse:
        ...

    async def aparse(self, text: str, language: Optional[str] = None) -> Parse:
        ...


class SyncParser:
    """A base for parsers that are fast enough to answer inside the loop (tables, fakes)."""

    def parse(self, text: str, language: Optional[str] = None) -> Parse:
        raise NotImplementedError

    async def aparse(self, text: str, language: Optional[str] = None) -> Parse:
        return self.parse(text, language)


def not_understood(text: str) -> Parse:
    """What a message means when the NLU could not read it: nothing, so the flow's fallback answers."""
    return Parse(text=text, intent=FALLBACK_INTENT, confidence=0.0)


def understand(parser: Parser, text: str, language: Optional[str] = None) -> Parse:
    """`parser.parse`, where a failing NLU means 'not understood': a weird message never crashes the bot."""
    try:
        return parser.parse(text, language)
    except Exception:
        log.exception("NLU failed on a message; treating it as not understood")
        return not_understood(text)


async def aunderstand(parser: Parser, text: str, language: Optional[str] = None) -> Parse:
    """`understand` without blocking the event loop."""
    try:
        return await parser.aparse(text, language)
    except Exception:
        log.exception("NLU failed on a message; treating it as not understood")
        return not_understood(text)
