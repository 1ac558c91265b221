"""The one interface the rest of Aftercare uses to understand text.

Rasa is the shipped implementation (`bot.nlu.rasa_nlu`); keeping it behind this protocol lets
a successor be swapped in (Rasa Open Source 3.6 is the last open-source release).
"""
from __future__ import annotations

import logging
from typing import Any, Optional, Protocol

from bot.base.events import DeliverLater

# the types and meanings live below the engine (bot/base/parse.py); the NLU's callers find them here too
from bot.base.parse import (DELIVERY_PROBLEMS, FALLBACK_INTENT, INTENTS, PROBLEM_INTENTS,  # noqa: F401
                            PROBLEM_TYPES, REQUESTS, Cues, Entity, Parse, problem_reason, problem_type)

log = logging.getLogger(__name__)


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


class NluUnavailable(DeliverLater):
    """The NLU could not read the message now (the shared service is down or still loading):
    the message waits and is read again later; it is never guessed at."""


def parse_to_json(parse: Parse) -> dict[str, Any]:
    """A `Parse` as plain JSON (the shared NLU service's answer)."""
    return {"text": parse.text, "intent": parse.intent, "confidence": parse.confidence,
            "entities": [[e.entity, e.value] for e in parse.entities],
            "ranking": [[name, confidence] for name, confidence in parse.ranking]}


def parse_from_json(data: Any) -> Parse:
    """The `Parse` in a service answer; ValueError naming the field when it is not one."""
    if not isinstance(data, dict):
        raise ValueError(f"an NLU answer is a JSON object, not {type(data).__name__}")
    try:
        return Parse(text=str(data["text"]), intent=str(data["intent"]), confidence=float(data["confidence"]),
                     entities=tuple(Entity(str(name), str(value)) for name, value in data.get("entities") or ()),
                     ranking=tuple((str(name), float(conf)) for name, conf in data.get("ranking") or ()))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"an NLU answer without a valid {exc}") from None


def not_understood(text: str) -> Parse:
    """What a message means when the NLU could not read it: nothing, so the flow's fallback answers."""
    return Parse(text=text, intent=FALLBACK_INTENT, confidence=0.0)


def understand(parser: Parser, text: str, language: Optional[str] = None) -> Parse:
    """`parser.parse`, where a failing NLU means 'not understood': a weird message never crashes the bot."""
    try:
        return parser.parse(text, language)
    except NluUnavailable:              # the message waits: never read as "not understood"
        raise
    except Exception:
        log.exception("NLU failed on a message; treating it as not understood")
        return not_understood(text)


async def aunderstand(parser: Parser, text: str, language: Optional[str] = None) -> Parse:
    """`understand` without blocking the event loop."""
    try:
        return await parser.aparse(text, language)
    except NluUnavailable:
        raise
    except Exception:
        log.exception("NLU failed on a message; treating it as not understood")
        return not_understood(text)
