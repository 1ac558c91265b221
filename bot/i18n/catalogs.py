"""Customer-facing texts in the customer's language.

Flows are written in English in `dialogs/*.yml`; `dialogs/i18n/<lang>.yml` maps each English
text to its translation (gettext-style: the English text is the key, so changing the English
wording makes `aftercare flows check` name every catalog that still needs the new text). A
regional catalog (`pt-BR.yml`) only holds the texts that differ from its base language (`pt`).

Lookups never fail at run time: a text with no translation falls back to the base language,
then to English. Missing texts are caught before the bot starts, by `translation_problems`.
The catalog files are read by bot/flowfiles/; this module only checks what was read.
"""
from __future__ import annotations

import functools

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional, Sequence

from babel import Locale, UnknownLocaleError

from bot.i18n.placeholders import placeholders
from bot.base.yamldoc import SourceError, YamlDoc


SOURCE_LANGUAGE = "en"
CATALOG_DIR = "i18n"
TEXT_KEYS = ("say", "ask", "remind", "label")
WORD_KINDS = ("stop", "human", "help")
_NO_PUNCTUATION = str.maketrans({c: " " for c in ".,!?;:¡¿…。、！？\"«»“”"})


def normalize_tag(tag: object) -> Optional[str]:
    """'pt_br', 'PT-br' -> 'pt-BR'; 'de' -> 'de'; None, '' or not a string (a malformed
    platform field) -> None."""
    if not tag or not isinstance(tag, str):
        return None
    if tag.isalpha():                            # 'de', 'EN': the common case, without a regex
        return tag.lower()
    parts = re.split(r"[-_]", tag.strip())
    if not parts or not parts[0].isalpha():
        return None
    base = parts[0].lower()
    region = next((p for p in parts[1:] if len(p) == 2 and p.isalpha()), None)
    return f"{base}-{region.upper()}" if region else base


def base_language(tag: str) -> str:
    """'pt-BR' -> 'pt'."""
    return tag.split("-")[0]


def pick_language(candidates: Iterable[Optional[str]], enabled: Iterable[str], default: str) -> str:
    """The first candidate the shop enabled (exactly, or by its base language), else `default`.

    `candidates` are in order of precedence: the order's language column, then what the
    platform says (the language code or locale the channel reports).
    """
    enabled_tags = _tags(tuple(enabled))
    for raw in candidates:
        tag = normalize_tag(raw)
        if not tag:
            continue
        if tag in enabled_tags:
            return tag
        if base_language(tag) in enabled_tags:
            # a regional variant the shop enabled only as its base: keep the region, so a
            # pt-BR catalog added later applies without re-asking the customer
            return tag
    return normalize_tag(default) or SOURCE_LANGUAGE


@functools.lru_cache(maxsize=64)
def _tags(enabled: tuple[str, ...]) -> frozenset[str]:
    """The enabled tags normalized (the same few lists, read at every message)."""
    return frozenset(normalize_tag(t) or t for t in enabled)


def language_name(tag: str) -> str:
    """The language's own name for itself ('de' -> 'Deutsch'), for the /language buttons."""
    try:
        name = Locale.parse(tag, sep="-").get_display_name(Locale.parse(tag, sep="-"))
    except (ValueError, UnknownLocaleError):
        return tag
    return (name or tag)[:1].upper() + (name or tag)[1:]


def language_label(tag: str) -> str:
    """'pt-BR' -> 'Português (Brasil) (pt-BR)': what an agent reads on a case card."""
    return f"{language_name(tag)} ({tag})"


@dataclass
class Catalog:
    """One language's translations, keyed by the English text."""

    language: str
    path: Path
    texts: dict[str, str]
    lines: dict[str, int] = field(default_factory=dict)
    words: dict[str, frozenset[str]] = field(default_factory=dict)   # stop / human -> exact replies


@dataclass
class Catalogs:
    """All translations of a dialogs folder; `translate` is what the engine calls."""

    catalogs: dict[str, Catalog] = field(default_factory=dict)

    @property
    def languages(self) -> list[str]:
        return sorted({SOURCE_LANGUAGE, *self.catalogs})

    def translate(self, text: str, language: Optional[str]) -> str:
        """`text` (English) in `language`: exact tag, then its base language, then English."""
        tag = normalize_tag(language)
        if not tag or tag == SOURCE_LANGUAGE:
            return text
        for candidate in (tag, base_language(tag)):
            catalog = self.catalogs.get(candidate)
            if catalog is not None and text in catalog.texts:
                return catalog.texts[text]
        return text

    def says(self, text: str, kind: str) -> bool:
        """True when the whole message is one of the `kind` words ("stop", "human") of ANY
        shipped language: STOP is honoured whatever language we think the customer speaks."""
        said = command_form(text)
        return bool(said) and any(said in c.words.get(kind, ()) for c in self.catalogs.values())

    def has(self, text: str, language: str) -> bool:
        """True when `language` (or its base) translates `text`."""
        return any(c in self.catalogs and text in self.catalogs[c].texts
                   for c in (language, base_language(language)))


def catalog_from(doc: YamlDoc) -> Catalog:
    """One catalog file as read (bot/flowfiles reads it), checked; SourceError names file:line."""
    data = doc.data
    if not isinstance(data, dict):
        raise SourceError(doc.path, 1, "a catalog is a mapping with `language:` and `texts:`")
    tag = normalize_tag(str(data.get("language") or ""))
    if not tag:
        raise SourceError(doc.path, doc.line_of(["language"]), "`language:` must be a language tag like es or pt-BR")
    if tag != normalize_tag(doc.path.stem):
        raise SourceError(doc.path, doc.line_of(["language"]),
                          f"`language: {tag}` does not match the file name {doc.path.name}")
    texts = data.get("texts")
    if not isinstance(texts, dict):
        raise SourceError(doc.path, doc.line_of(["texts"]), "`texts:` must map each English text to its translation")
    words = data.get("words") or {}
    if not isinstance(words, dict) or not all(isinstance(v, list) for v in words.values()):
        raise SourceError(doc.path, doc.line_of(["words"]), "`words:` maps stop / human to lists of exact replies")
    unknown = sorted(set(words) - set(WORD_KINDS))
    if unknown:
        raise SourceError(doc.path, doc.line_of(["words", unknown[0]]),
                          f"`words.{unknown[0]}`: unknown kind (use {', '.join(WORD_KINDS)})")
    lines: dict[str, int] = {}
    for english, translated in texts.items():
        line = doc.line_of(["texts", english])
        if not isinstance(translated, str) or not translated.strip():
            raise SourceError(doc.path, line, f"[{tag}] empty translation of {_short(english)}")
        lines[english] = line or 1
    return Catalog(tag, doc.path, {str(k): str(v) for k, v in texts.items()}, lines,
                   {kind: frozenset(command_form(str(w)) for w in found) for kind, found in words.items()})


def command_form(text: str) -> str:
    """How a whole message is compared with the stop/human words: case, punctuation and
    repeated spaces do not matter ("STOP!", " Stop. " and "stop" are one reply)."""
    return " ".join(text.casefold().translate(_NO_PUNCTUATION).split())


@dataclass(frozen=True)
class SourceText:
    """One English text in a flow or global file (or a word a template variable says), and
    where it is."""

    text: str
    path: Path
    line: int
    note: str = ""            # what the text is, when it is not a flow text ("a word of {x}")


def texts_in(doc: YamlDoc) -> Iterator[SourceText]:
    """Every customer-facing English text of one flow or global file as read, with its line."""
    return _texts_in(doc, doc.data, ())


def _texts_in(doc: YamlDoc, node: object, key_path: tuple) -> Iterator[SourceText]:
    if isinstance(node, dict):
        for key, value in node.items():
            child = key_path + (key,)
            in_global = bool(key_path) and key_path[0] in ("global", "tips")    # every text in them
            if isinstance(value, str) and (key in TEXT_KEYS or in_global):
                yield SourceText(value, doc.path, doc.line_of(child) or 1)
            else:
                yield from _texts_in(doc, value, child)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            if isinstance(value, str) and key_path and key_path[-1] == "choices":
                yield SourceText(value, doc.path, doc.line_of(key_path + (index,)) or 1)
            else:
                yield from _texts_in(doc, value, key_path + (index,))


def variables(text: str) -> set[str]:
    """The `{template variables}` a text uses."""
    return set(placeholders(text))


def translation_problems(catalogs: Catalogs, texts: Sequence[SourceText], enabled: Iterable[str],
                         dialogs_dir: Path | str) -> list[SourceError]:
    """Every problem that would make a customer read English or a broken text, file:line each.

    For each enabled language: a text with no translation (named at the English text's line),
    a translation whose template variables differ from the English (named at the catalog's
    line), and a catalog entry no flow uses any more (stale, named at the catalog's line).
    `texts`: every English text the flows say, and what template variables say besides
    (`bot.engine.vocabulary.variable_words`); `dialogs_dir`: where a missing catalog would go.
    Reading the files is bot/flowfiles' `check_translations`.
    """
    used = {t.text for t in texts}
    problems: list[SourceError] = []
    wanted = [normalize_tag(t) or t for t in enabled if normalize_tag(t) != SOURCE_LANGUAGE]
    for tag in wanted:
        if tag not in catalogs.catalogs and base_language(tag) not in catalogs.catalogs:
            problems.append(SourceError(Path(dialogs_dir) / CATALOG_DIR / f"{tag}.yml", None,
                                        f"[{tag}] language enabled in config but it has no catalog"))
            continue
        for source in texts:
            if not catalogs.has(source.text, tag):
                problems.append(SourceError(source.path, source.line,
                                            f"[{tag}] no translation of {_short(source.text)}{source.note}"))
    for catalog in catalogs.catalogs.values():
        for english, translated in catalog.texts.items():
            line = catalog.lines.get(english)
            if english not in used:
                problems.append(SourceError(catalog.path, line,
                                            f"[{catalog.language}] stale: no flow says {_short(english)}"))
            elif variables(english) != variables(translated):
                problems.append(SourceError(
                    catalog.path, line,
                    f"[{catalog.language}] template variables {sorted(variables(translated))} differ from the "
                    f"English {sorted(variables(english))} in {_short(english)}"))
    return problems


def _short(text: str, width: int = 60) -> str:
    return repr(text if len(text) <= width else text[: width - 1] + "…")


def translator(catalogs: Catalogs, language: Optional[str]) -> Callable[[str], str]:
    """A one-argument function for the engine: English text in, the customer's text out."""
    return lambda text: catalogs.translate(text, language)
