"""The one interface the rest of Aftercare uses to understand text.

Rasa is the shipped implementation (`bot.nlu.rasa_nlu`); keeping it behind this protocol lets
a successor be swapped in (Rasa Open Source 3.6 is the last open-source release).
"""
from __future__ import annotations

import logging
from typing import Optional, Protocol

# the types and meanings live below the engine (bot/base/parse.py); the NLU's callers find them here too
from bot.base.parse import (FALLBACK_INTENT, INTENTS, PROBLEM_TYPES, REQUESTS, Entity,  # noqa: F401
                            Parse)

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
