"""Saved replies: answers a shop writes once in a YAML file (`escalation.saved_replies`, beside
config.yml) and agents pick from the case card, edit, and send. Each has an `id`, a `title`
(the menu's label), a `text` and optional `translations` per language; the customer gets the
one in their language when it exists, else the `text`. Variables: {first_name}, {product},
{order_id}, {tracking_url} and {goodwill_code} (a code is issued from the weekly budget only
when the reply is sent)."""
from __future__ import annotations

import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Optional

from bot.base.yamlsource import SourceError, load_yaml

VARIABLES = ("first_name", "product", "order_id", "tracking_url", "goodwill_code")
GOODWILL = "{goodwill_code}"
MAX_TITLE = 75           # a menu option's label


@dataclass(frozen=True)
class SavedReply:
    id: str
    title: str
    text: str
    translations: Mapping[str, str] = field(default_factory=dict)

    def in_language(self, language: str) -> tuple[str, str]:
        """(text, the language it is in): the translation for `language` (or its base
        language), else the shop's own text."""
        for tag in (language, language.split("-")[0]):
            if tag in self.translations:
                return self.translations[tag], tag
        return self.text, ""


@dataclass(frozen=True)
class SavedReplies:
    path: Optional[Path]
    replies: tuple[SavedReply, ...] = ()

    def get(self, reply_id: str) -> Optional[SavedReply]:
        return next((r for r in self.replies if r.id == reply_id), None)


def load_saved_replies(path: Path, languages: Iterable[str] = ()) -> SavedReplies:
    """Read and check the file (SourceError with file:line: reason); no file: no saved replies."""
    if not path.exists():
        return SavedReplies(None)
    problems = check_saved_replies(path, languages)
    if problems:
        raise problems[0]
    doc = load_yaml(path)
    replies = tuple(SavedReply(str(r["id"]), str(r["title"]), str(r["text"]),
                               {str(k): str(v) for k, v in (r.get("translations") or {}).items()})
                    for r in (doc.data or {}).get("replies") or [])
    return SavedReplies(path, replies)


def check_saved_replies(path: Path, languages: Iterable[str] = ()) -> list[SourceError]:
    """Every problem of the file, each naming its line: unknown keys or variables, a missing
    id/title/text, a duplicate id, a translation in a language the shop does not speak."""
    doc = load_yaml(path)
    known_languages = set(languages)
    data = doc.data

    def problem(where: list, reason: str) -> SourceError:
        return SourceError(path, doc.line_of(where), reason)

    if data is None:
        return []
    if not isinstance(data, dict) or set(data) - {"replies"}:
        return [problem([], "a saved replies file is a mapping with one key, `replies:` (a list)")]
    replies = data.get("replies") or []
    if not isinstance(replies, list):
        return [problem(["replies"], "replies: must be a list of {id, title, text, translations}")]
    out: list[SourceError] = []
    seen: set[str] = set()
    for index, reply in enumerate(replies):
        where: list = ["replies", index]
        if not isinstance(reply, dict):
            out.append(problem(where, "a saved reply is a mapping {id, title, text, translations}"))
            continue
        for key in sorted(set(reply) - {"id", "title", "text", "translations"}):
            out.append(problem(where + [key], f"unknown key {key!r} (id, title, text, translations)"))
        for key in ("id", "title", "text"):
            if not isinstance(reply.get(key), str) or not reply[key].strip():
                out.append(problem(where + [key], f"{key} is required (text)"))
        reply_id = str(reply.get("id") or "")
        if reply_id in seen:
            out.append(problem(where + ["id"], f"id {reply_id!r} is used twice"))
        seen.add(reply_id)
        if len(str(reply.get("title") or "")) > MAX_TITLE:
            out.append(problem(where + ["title"], f"title is longer than {MAX_TITLE} characters"))
        texts = {"text": reply.get("text")}
        translations = reply.get("translations") or {}
        if not isinstance(translations, dict):
            out.append(problem(where + ["translations"], "translations: a mapping of language -> text"))
            translations = {}
        for tag, text in translations.items():
            if known_languages and str(tag) not in known_languages:
                out.append(problem(where + ["translations", tag],
                                   f"{tag!r} is not an enabled language ({', '.join(sorted(known_languages))})"))
            texts[f"translations.{tag}"] = text
        for name, text in texts.items():
            if not isinstance(text, str):
                continue
            bad = _unknown_variables(text)
            if bad:
                key = where + (["translations", name.split(".", 1)[1]] if "." in name else ["text"])
                out.append(problem(key, f"unknown variable {{{bad[0]}}} (known: "
                                        f"{', '.join('{' + v + '}' for v in VARIABLES)})"))
    return out


def _unknown_variables(text: str) -> list[str]:
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError:
        return ["(an unmatched brace)"]
    return [name for name in names if name not in VARIABLES]


def render(text: str, facts: Mapping[str, Optional[str]]) -> str:
    """Fill the variables we know; {goodwill_code} stays until the reply is sent (the code is
    issued then), and a variable with no value becomes a visible [name] for the agent to fix."""
    values = {name: (facts.get(name) or f"[{name}]") for name in VARIABLES}
    values["goodwill_code"] = GOODWILL
    return string.Formatter().vformat(text, (), values)
