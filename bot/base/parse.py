"""What a message was understood to mean (`Parse`) and the meanings there are: plain types the
engine reads, so it never imports the NLU that produces them (bot/nlu/)."""
from __future__ import annotations

from dataclasses import dataclass, field

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
