"""One Rasa model per language, behind the one `Parser` interface.

Each trained language (config `nlu.languages`) has its own training file and its own model,
so adding Italian never moves the English figures, and each model stays small and fast to
train. `LanguageRouter.parse` reads a message with the model of the customer's language when
the bot knows it (the inbound handler passes it: choice > order > platform > shop default),
after one cheap check that no other model knows more of the message's words (a word index, so
the check costs the same with six languages as with two). Only when the language is unknown,
or the message is clearly in another one, does it score every model (known words, then
character trigrams, the measure the unfamiliar-text guard uses): a customer writing German is
read by the German model whatever language the shop assumed, and a language no model knows
(Japanese) falls back instead of being guessed at.
"""
from __future__ import annotations

from bot.base.errors import AftercareError
import dataclasses
import logging
import multiprocessing
import os
import re
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence, Union, cast

from bot.i18n.catalogs import base_language, normalize_tag
from bot.nlu.archive import Vocabulary, read_vocabulary
from bot.nlu.base import FALLBACK_INTENT, Parse
from bot.nlu.batching import Batcher, Batchers
from bot.nlu.rasa_nlu import (MIN_FAMILIARITY, ModelNotTrainedError, NluSetup, RasaParser, clean_text, familiarity,
                              model_path, pipeline_for, train, trained_words)

log = logging.getLogger(__name__)

TRAIN_AT_ONCE = 2          # languages trained side by side, one process each (capped by the cores)
FIRST_READERS_WAIT = 1.0    # seconds a loaded model's trace waits for the messages already waiting for it
REPLIES_FIRST = 0.3         # seconds more it waits when there were some: their replies go out first


class ModelUnavailable(AftercareError, RuntimeError):
    """A language's model failed to load: its messages cannot be read (never by another model)."""


def for_language(settings: NluSetup, language: str) -> NluSetup:
    """The settings of one language's model (its own data, its own cache key)."""
    if language not in settings.language_files:
        raise KeyError(f"{language}: not a trained language (config nlu.languages: {', '.join(settings.languages)})")
    training, held_out = settings.language_files[language]
    pipeline = pipeline_for(settings.pipeline, settings.overrides.get(language, {}))
    return dataclasses.replace(settings, language=language, training_data=training, test_data=held_out,
                               pipeline=pipeline)


def train_all(settings: NluSetup, force: bool = False,
              progress: Optional[Callable[[str], None]] = None) -> list[Path]:
    """Train every language's model that is not cached yet; return their paths.

    One Rasa training keeps about one core busy, so languages train side by side, one child
    process per core (at most TRAIN_AT_ONCE): on 2 cores a fresh clone's six models take about
    half the time. Each child imports Rasa afresh (spawn: TensorFlow must not be forked)."""
    say = progress or (lambda message: None)
    setups = [for_language(settings, language) for language in settings.languages]
    paths = [model_path(setup) for setup in setups]
    todo = [setup for setup, path in zip(setups, paths) if force or not path.exists()]
    for setup, path in zip(setups, paths):
        if setup not in todo:
            say(f"[{setup.language}] model up to date: {path}")
    workers = min(TRAIN_AT_ONCE, os.cpu_count() or 1, len(todo))
    if workers <= 1:
        for setup in todo:
            train(setup, force=force, progress=LanguageSay(setup.language, say), keep=tuple(paths))
        return paths
    say(f"training {len(todo)} languages, {workers} at a time ...")
    started = time.monotonic()
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=spawn) as pool:
        trainings = [pool.submit(train, setup, force, LanguageSay(setup.language), tuple(paths)) for setup in todo]
        for training in trainings:
            training.result()          # a failed training raises here, with its own message
    say(f"trained {len(todo)} languages in {time.monotonic() - started:.0f} s")
    return paths


@dataclasses.dataclass(frozen=True)
class LanguageSay:
    """A training's progress line, prefixed with its language (picklable: it crosses into the
    child process; there it writes to stderr, as the CLI's progress does)."""

    language: str
    say: Optional[Callable[[str], None]] = None

    def __call__(self, message: str) -> None:
        line = f"[{self.language}] {message}"
        if self.say is not None:
            self.say(line)
        else:
            print(line, file=sys.stderr, flush=True)


def model_paths(settings: NluSetup) -> dict[str, Path]:
    """Every language's cached model archive, in the configured order; never trains."""
    paths: dict[str, Path] = {}
    for language in settings.languages:
        one = for_language(settings, language)
        path = model_path(one)
        if not path.exists():
            raise ModelNotTrainedError(
                f"no trained NLU model matches {one.training_data.name} and the pipeline "
                f"(expected {path}); run `aftercare nlu train` first")
        paths[language] = path
    return paths


def load_parser(settings: NluSetup, behind: bool = False,
                on_loaded: Optional[Callable[[], None]] = None) -> Union[RasaParser, "LanguageRouter"]:
    """Every language's cached model; never trains. One language: its plain parser.

    `behind`: return at once (the vocabularies only, read from the archives) and load the
    models in a background thread, the shop's default language first; a message waits for
    the model that must read it. `on_loaded` runs in that thread once all have loaded."""
    paths = model_paths(settings)
    if behind:
        first = [lang for lang in (base_language(settings.default_language), settings.language) if lang in paths]
        return LanguageRouter.loading(paths, settings.confidence_threshold, first=first, on_loaded=on_loaded)
    parsers = {language: RasaParser.load(path, settings.confidence_threshold) for language, path in paths.items()}
    if len(parsers) == 1:
        return next(iter(parsers.values()))
    return LanguageRouter(parsers)


class LanguageRouter:
    """Several languages' parsers; each message goes to the customer's language's model, or,
    when that is unknown or the message is clearly in another language, to the model that
    knows its words best."""

    def __init__(self, parsers: dict[str, RasaParser],
                 vocabularies: Optional[Mapping[str, Vocabulary]] = None) -> None:
        self.parsers = parsers          # language -> loaded parser
        if vocabularies is None:
            vocabularies = {lang: Vocabulary(trained_words(p), p.vocabulary) for lang, p in parsers.items()}
        self._languages = list(vocabularies)    # the first one wins ties
        self.words = {lang: vocabulary.words for lang, vocabulary in vocabularies.items()}
        self.trigrams = {lang: vocabulary.trigrams for lang, vocabulary in vocabularies.items()}
        # word -> the languages whose model was trained on it: one lookup per word, whatever
        # the number of languages
        self._knowers: dict[str, tuple[str, ...]] = {}
        for lang, words in self.words.items():
            for word in words:
                self._knowers[word] = (*self._knowers.get(word, ()), lang)
        self._changed = threading.Condition()
        self._failed: dict[str, BaseException] = {}
        self._waiting: Counter[str] = Counter()     # threads in parser_for, per language
        # every model loaded (or failed) and its graph traced: at once when given loaded parsers
        self._settled = len(parsers) == len(self._languages)
        self._batchers = Batchers(self._batcher)   # per loop and (reading language, wait)

    @classmethod
    def loading(cls, paths: Mapping[str, Path], confidence_threshold: float, first: Sequence[str] = (),
                on_loaded: Optional[Callable[[], None]] = None) -> "LanguageRouter":
        """A router that routes at once (from the archives' vocabularies) while its models
        load in a background thread, `first` ones first."""
        router = cls({}, {lang: read_vocabulary(path) for lang, path in paths.items()})
        order = [*dict.fromkeys(lang for lang in first if lang in paths), *paths]
        threading.Thread(target=router.load_models, args=(list(dict.fromkeys(order)), paths, confidence_threshold,
                                                          on_loaded),
                         name="nlu-load", daemon=True).start()
        return router

    def load_models(self, order: Sequence[str], paths: Mapping[str, Path], threshold: float,
                    on_loaded: Optional[Callable[[], None]] = None) -> None:
        """Load each language's model in `order`, making it available as it comes (a router
        made by `loading` runs this in its background thread)."""
        for language in order:
            try:
                # untraced: the first reply waits for the load, not for the graph's trace
                parser: Optional[RasaParser] = RasaParser.load(paths[language], threshold, warm=False)
            except Exception as exc:  # noqa: BLE001 - a message for it then fails loudly, never misread
                log.exception("the %s NLU model did not load", language)
                parser = None
                failure: BaseException = exc
            with self._changed:
                readers = self._waiting[language]      # messages that waited for this model
                if parser is not None:
                    self.parsers[language] = parser
                else:
                    self._failed[language] = failure
                self._changed.notify_all()
            log.info("NLU model %s loaded (%d of %d)", language, len(self.parsers), len(paths))
            if parser is not None:
                self._warm_up(language, parser, readers)
        with self._changed:
            self._settled = True
            self._changed.notify_all()
        log.info("NLU models warmed up (%d of %d)", len(self.parsers), len(paths))
        if on_loaded is not None:
            on_loaded()

    def _warm_up(self, language: str, parser: RasaParser, readers: int) -> None:
        """Trace `language`'s graph, after the messages that were already waiting for the model
        have taken it (they are read eagerly, ~0.06 s each: a first reply does not wait for the
        trace's ~0.8 s); later messages get the traced graph (~0.008 s). When some were
        waiting, the trace (and the next model's load) also waits REPLIES_FIRST: on a busy
        core it would slow their replies' way out (engine, store, send) to a third of its
        speed: a start's first reply came ~0.33 s after its reading, ~0.1 s with the wait."""
        with self._changed:
            self._changed.wait_for(lambda: not self._waiting[language], FIRST_READERS_WAIT)
        time.sleep(REPLIES_FIRST if readers else 0.01)      # 0.01: readers reach the parser's lock first
        try:
            parser.warm_up()
        except Exception:  # noqa: BLE001 - its messages then trace (or fail) when they come
            log.exception("the %s NLU model did not warm up", language)

    def parser_for(self, language: str, timeout: Optional[float] = None) -> RasaParser:
        """`language`'s parser, waiting while it loads; raises when it failed to load (or,
        with `timeout`, when it is not loaded by then: TimeoutError)."""
        with self._changed:
            self._waiting[language] += 1
            try:
                ready = self._changed.wait_for(lambda: language in self.parsers or language in self._failed, timeout)
            finally:
                self._waiting[language] -= 1
                if not self._waiting[language]:
                    self._changed.notify_all()
            if not ready:
                raise TimeoutError(f"the {language} NLU model is still loading")
            if language in self._failed:
                raise ModelUnavailable(f"the {language} NLU model did not load") from self._failed[language]
            return self.parsers[language]

    def wait_loaded(self, timeout: Optional[float] = None) -> bool:
        """True once every language's model has loaded (or failed to) and been warmed up."""
        with self._changed:
            return self._changed.wait_for(lambda: self._settled, timeout)

    @property
    def loaded(self) -> list[str]:
        """The languages whose model is loaded now."""
        return [lang for lang in self._languages if lang in self.parsers]

    @property
    def languages(self) -> list[str]:
        return list(self._languages)

    def model_language(self, language: Optional[str]) -> Optional[str]:
        """The trained language that reads `language` ('pt-BR' -> 'pt'); None when none does."""
        tag = normalize_tag(language)
        if tag is None:
            return None
        for candidate in (tag, base_language(tag)):
            if candidate in self.words:
                return candidate
        return None

    def language_of(self, text: str) -> Optional[str]:
        """The language whose training vocabulary covers `text` best; None when no model
        knows it well enough to read it (another script, keyboard mash, emoji)."""
        clean = clean_text(text)
        if not clean:
            return None
        words = _words(clean)
        scores = {lang: (sum(w in self.words[lang] for w in words) / len(words) if words else 0.0,
                         familiarity(clean, self.trigrams[lang]))
                  for lang in self._languages}
        best = max(scores, key=lambda lang: scores[lang])     # known words first, then trigrams; first on ties
        return best if scores[best][1] >= MIN_FAMILIARITY else None

    def reading_language(self, text: str, expected: Optional[str] = None) -> Optional[str]:
        """Which model reads `text` from a customer whose language is `expected`: that one's,
        unless another model knows strictly more of the words (the customer wrote in another
        language); then, or when `expected` has no model, the best guess (`language_of`)."""
        model = self.model_language(expected)
        if model is None:
            return self.language_of(text)
        known: Counter[str] = Counter()
        for word in _words(text):
            known.update(self._knowers.get(word, ()))
        if known and max(known.values()) > known[model]:
            return self.language_of(text)
        return model        # its own unfamiliar-text guard still refuses what it cannot read

    def parse(self, text: str, language: Optional[str] = None) -> Parse:
        """Read `text` with the model `reading_language` picks; nlu_fallback when none can.
        While that model loads, this waits for it."""
        return self.parse_waiting(text, language, None)

    def parse_waiting(self, text: str, language: Optional[str], timeout: Optional[float]) -> Parse:
        """`parse`, waiting at most `timeout` seconds for the model (TimeoutError after)."""
        reader = self.reading_language(text, language)
        if reader is None:
            return Parse(text=text, intent=FALLBACK_INTENT, confidence=0.0)
        return self.parser_for(reader, timeout).parse(text)

    async def aparse(self, text: str, language: Optional[str] = None) -> Parse:
        """`parse` from the event loop: messages for one model that wait together are read in
        one batch (bot/nlu/batching.py); a lone one at once."""
        return await self.aparse_waiting(text, language, None)

    async def aparse_waiting(self, text: str, language: Optional[str], timeout: Optional[float]) -> Parse:
        """`parse_waiting` from the event loop, batched as `aparse`."""
        reader = self.reading_language(text, language)
        if reader is None:
            return Parse(text=text, intent=FALLBACK_INTENT, confidence=0.0)
        return await self._batchers.get((reader, timeout)).aparse(text)

    def _batcher(self, key: object) -> Batcher:
        reader, timeout = cast(tuple[str, Optional[float]], key)
        return Batcher(lambda texts: self.parser_for(reader, timeout).parse_many(texts),
                       shared_errors=(TimeoutError, ModelUnavailable))

    def without_keyword_fallback(self) -> "LanguageRouter":
        self.wait_loaded()
        return LanguageRouter({lang: p.without_keyword_fallback() for lang, p in self.parsers.items()},
                              {lang: Vocabulary(self.words[lang], self.trigrams[lang]) for lang in self._languages})

    def for_language(self, language: str) -> RasaParser:
        return self.parser_for(language)

    def close(self) -> None:
        for parser in list(self.parsers.values()):
            parser.close()


def _words(text: str) -> list[str]:
    """The message's words as the word vocabularies hold them (lower case, no bare numbers)."""
    return [w for w in re.findall(r"\w+", text.lower()) if not w.isdigit()]
