"""One Rasa model per language, behind the one `Parser` interface.

Each trained language (config `nlu.languages`) has its own training file and its own model,
so adding Italian never moves the English figures, and each model stays small and fast to
train. `LanguageRouter.parse` picks the model whose training vocabulary covers the message best
(character trigrams, the same measure the unfamiliar-text guard uses): a customer writing
German is read by the German model whatever language the shop assumed, and a language no
model knows (Japanese) falls back instead of being guessed at.
"""
from __future__ import annotations

import asyncio
import dataclasses
import re
from pathlib import Path
from typing import Callable, Optional, Union

from bot.nlu.base import FALLBACK_INTENT, Parse
from bot.nlu.rasa_nlu import (MIN_FAMILIARITY, ModelNotTrainedError, NluSetup, RasaParser, clean_text, familiarity,
                              model_path, train, trained_words)


def for_language(settings: NluSetup, language: str) -> NluSetup:
    """The settings of one language's model (its own data, its own cache key)."""
    if language not in settings.language_files:
        raise KeyError(f"{language}: not a trained language (config nlu.languages: {', '.join(settings.languages)})")
    training, held_out = settings.language_files[language]
    return dataclasses.replace(settings, language=language, training_data=training, test_data=held_out)


def train_all(settings: NluSetup, force: bool = False,
              progress: Optional[Callable[[str], None]] = None) -> list[Path]:
    """Train every language's model that is not cached yet; return their paths."""
    say = progress or (lambda message: None)
    paths: list[Path] = []
    for language in settings.languages:
        say(f"[{language}]")
        paths.append(train(for_language(settings, language), force=force, progress=say, keep=tuple(paths)))
    return paths


def load_parser(settings: NluSetup) -> Union[RasaParser, "LanguageRouter"]:
    """Every language's cached model; never trains. One language: its plain parser."""
    parsers: dict[str, RasaParser] = {}
    for language in settings.languages:
        one = for_language(settings, language)
        path = model_path(one)
        if not path.exists():
            raise ModelNotTrainedError(
                f"no trained NLU model matches {one.training_data.name} and the pipeline "
                f"(expected {path}); run `aftercare nlu train` first")
        parsers[language] = RasaParser.load(path, settings.confidence_threshold)
    if len(parsers) == 1:
        return next(iter(parsers.values()))
    return LanguageRouter(parsers)


class LanguageRouter:
    """Several languages' parsers; each message goes to the one that knows its words best."""

    def __init__(self, parsers: dict[str, RasaParser]) -> None:
        self.parsers = parsers          # language -> parser, the first one wins ties
        self.words = {lang: trained_words(parser) for lang, parser in parsers.items()}

    @property
    def languages(self) -> list[str]:
        return list(self.parsers)

    def language_of(self, text: str) -> Optional[str]:
        """The language whose training vocabulary covers `text` best; None when no model
        knows it well enough to read it (another script, keyboard mash, emoji)."""
        clean = clean_text(text)
        if not clean:
            return None
        words = [w for w in re.findall(r"\w+", clean.lower()) if not w.isdigit()]
        scores = {lang: (sum(w in self.words[lang] for w in words) / len(words) if words else 0.0,
                         familiarity(clean, parser.vocabulary))
                  for lang, parser in self.parsers.items()}
        best = max(scores, key=lambda lang: scores[lang])     # known words first, then trigrams; first on ties
        return best if scores[best][1] >= MIN_FAMILIARITY else None

    def parse(self, text: str) -> Parse:
        language = self.language_of(text)
        if language is None:
            return Parse(text=text, intent=FALLBACK_INTENT, confidence=0.0)
        return self.parsers[language].parse(text)

    def parse_as(self, text: str, language: str) -> Parse:
        """Parse with one language's model (`aftercare nlu parse --language xx`)."""
        return self.parsers[language].parse(text)

    async def aparse(self, text: str) -> Parse:
        return await asyncio.to_thread(self.parse, text)

    def without_keyword_fallback(self) -> "LanguageRouter":
        return LanguageRouter({lang: p.without_keyword_fallback() for lang, p in self.parsers.items()})

    def for_language(self, language: str) -> RasaParser:
        return self.parsers[language]

    def close(self) -> None:
        for parser in self.parsers.values():
            parser.close()
