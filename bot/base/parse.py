"""What a message was understood to mean (`Parse`) and the meanings there are: plain types the
engine reads, so it never imports the NLU that produces them (bot/nlu/)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

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
# A problem named in general words, with no type: "there's a problem with it", "useless".
GENERAL = "general"


@dataclass(frozen=True)
class Cues:
    """What the lexical detectors beside the intent model found in one reply (bot/nlu/cues.py
    reads them; the conversation layer attaches them to every parse: `with_cues`)."""

    problem: Optional[str] = None      # a problem type (damaged, late, ...) or GENERAL; None: none named
    negation: bool = False             # a "no"/"not" word outside the stock polite phrases ("no problem")
    question: bool = False             # a question ("why should I?", "do I have to?")


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
    cues: Cues = Cues()

    def entity(self, name: str) -> str | None:
        """The first value of entity `name`, or None."""
        for ent in self.entities:
            if ent.entity == name:
                return ent.value
        return None


def problem_reason(parse: Optional[Parse], min_confidence: float = 0.0) -> Optional[str]:
    """THE answer to "does this reply name a problem?" (shared/CONVERSATION.md, Safety): the
    escalation reason it names, or None. A problem intent (at `min_confidence` or more; the
    parser already turned anything under the fallback threshold into nlu_fallback), else a
    `problem_type` entity, else a problem cue in the words (`parse.cues`, bot/nlu/cues.py), which
    counts whatever the intent model said ("la padella si è arrugginita" read as works_well).
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
