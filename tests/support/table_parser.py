"""A table-driven stand-in for the NLU, for engine tests only (never shipped as the product's NLU)."""
from __future__ import annotations

import re

from bot.nlu.base import Entity, Parse, SyncParser

TABLE = [
    (r"\b(stop|unsubscribe|leave me alone)\b", "opt_out", None),
    (r"\b(person|agent|human|manager)\b", "human", None),
    (r"\b(refund|return|exchange)\b", "return_refund", None),
    (r"\b(broke|broken|sole came off|cracked|defective|doesn'?t work)\b", "product_problem", "defective"),
    (r"\b(never arrived|not arrived|where is my|late)\b", "delivery_problem", "late"),
    (r"\b(how do i|how to|clean)\b", "how_to", None),
    (r"\b(not used|still in the box|haven'?t tried|not opened)\b", "not_used_yet", None),
    (r"\b(love|great|perfect|works well)\b", "works_well", None),
    (r"\b(ok|meh|fine)\b", "mixed_feedback", None),
    (r"\b(thanks|thank you)\b", "thanks", None),
    (r"^(yes|sure|yep)\b", "affirm", None),
    (r"^(no|nope)\b", "deny", None),
]


class TableParser(SyncParser):
    def parse(self, text: str, language: str | None = None) -> Parse:
        lowered = text.lower()
        for pattern, intent, problem in TABLE:
            if re.search(pattern, lowered):
                entities = (Entity("problem_type", problem),) if problem else ()
                return Parse(text, intent, 0.99, entities)
        return Parse(text, "nlu_fallback", 0.2)
