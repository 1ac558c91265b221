"""`aftercare tell-fixed` ("you spoke, we listened"): tell every customer who reported a problem
on a SKU that it has been fixed, once each.

This module only chooses who and queues a notice per customer (`fix_notices`); the scheduler
sends each one through the governor as a proactive message, so it shares the weekly cap and
waits out quiet hours instead of being lost. The shop writes the text once per language
(`Texts`); each customer gets the text of their own language (or of its base: `pt` for `pt-BR`),
and a customer whose language has no text is never sent another language's: the request is
refused, or they are left out when the shop says so (`queue(..., skip_untranslated=True)`).
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Mapping, Optional, Sequence

from bot.base.errors import AftercareError
from bot.base.yamlsource import SourceError, load_yaml
from bot.config.settings import LanguageSettings
from bot.i18n.catalogs import base_language, normalize_tag
from bot.nlu.base import PROBLEM_TYPES
from bot.store.rows import ProblemReport
from bot.store.store import Identity, Store

FORGOTTEN = "forgotten (data erased)"
OPTED_OUT = "opted out"
UNREACHABLE = "unreachable"
NO_CONSENT = "no consent to proactive messages"
NOT_LINKED = "not linked to a channel"
ALREADY_TOLD = "already told about this fix"
_LANGUAGE_PREFIX = re.compile(r"^\s*([A-Za-z]{2,3}(?:[-_][A-Za-z]{2})?)\s*=(.*)$", re.S)

Texts = Mapping[str, str]        # language tag -> the shop's text in that language


class TellFixedError(AftercareError, ValueError):
    """Bad input to tell-fixed; the message is one line naming the option and the problem."""


@dataclass(frozen=True)
class Candidate:
    """A customer who reported the problem; `skip` says why they will not be told (None: they will)."""

    customer_id: int
    name: Optional[str]
    identity_id: Optional[int]
    channel: Optional[str]
    reported_at: str
    skip: Optional[str]
    language: str = "en"          # the language they are written to in (CustomerRow.speaks)

    @property
    def label(self) -> str:
        return f"customer {self.customer_id}" + (f" {self.name}" if self.name else "")


@dataclass(frozen=True)
class Plan:
    sku: str
    problem_type: str
    candidates: tuple[Candidate, ...]
    product: Optional[str] = None         # the SKU's product name in the orders, when known

    @property
    def recipients(self) -> list[Candidate]:
        return [c for c in self.candidates if c.skip is None]

    @property
    def skipped(self) -> list[Candidate]:
        return [c for c in self.candidates if c.skip is not None]

    def languages(self) -> Counter:
        """How many recipients speak each language, most first."""
        return Counter(c.language for c in self.recipients)

    def untranslated(self, texts: Texts) -> list[Candidate]:
        """The recipients whose language `texts` has no text for."""
        return [c for c in self.recipients if text_for(texts, c.language) is None]


def text_for(texts: Texts, language: str) -> Optional[str]:
    """The shop's text for `language`: its exact tag, else its base language (`pt` serves
    `pt-BR`); never another language's."""
    tag = normalize_tag(language) or language
    for candidate in (tag, base_language(tag)):
        if candidate in texts:
            return texts[candidate]
    return None


def parse_messages(values: Sequence[str], languages: LanguageSettings) -> dict[str, str]:
    """Each `--message LANG=TEXT` as {LANG: TEXT}; one line naming the problem for a value with
    no language, a language the shop does not answer in, two texts for one language, or an
    empty text."""
    texts: dict[str, str] = {}
    for value in values:
        match = _LANGUAGE_PREFIX.match(value)
        tag = normalize_tag(match.group(1)) if match else None
        if match is None or tag is None:
            raise TellFixedError(f"--message: {_short(value)} names no language; write it as LANG=TEXT, "
                                 f"e.g. --message {languages.default}=\"...\"")
        _add_text(texts, tag, match.group(2), "--message", languages)
    return texts


def load_messages(path: Path, languages: LanguageSettings, texts: Optional[dict[str, str]] = None) -> dict[str, str]:
    """A YAML file mapping each language to its text (`de: "..."`), added to `texts`; a problem
    is `file:line: reason`."""
    doc = load_yaml(path)
    if not isinstance(doc.data, dict) or not doc.data:
        raise SourceError(path, 1, "give one text per language, e.g. `en: \"We fixed it...\"`")
    found = dict(texts or {})
    for key, value in doc.data.items():
        tag = normalize_tag(str(key))
        where = doc.line_of([key])
        if tag is None or not isinstance(value, str):
            raise SourceError(path, where, f"{str(key)!r}: write `LANG: \"text\"` (a language tag and its text)")
        try:
            _add_text(found, tag, value, "the file", languages)
        except TellFixedError as exc:
            raise SourceError(path, where, str(exc)) from None
    return found


def _add_text(texts: dict[str, str], tag: str, text: str, where: str, languages: LanguageSettings) -> None:
    enabled = [normalize_tag(t) or t for t in languages.enabled]
    if tag not in enabled:
        raise TellFixedError(f"{where}: {tag} is not a language the shop writes in (languages.enabled: "
                             f"{', '.join(enabled)})")
    if tag in texts:
        raise TellFixedError(f"{where}: two texts for {tag}")
    if not text.strip():
        raise TellFixedError(f"{where}: the {tag} text is empty; write the text {tag} customers should get")
    texts[tag] = text.strip()


def _short(text: str, width: int = 40) -> str:
    return repr(text if len(text) <= width else text[: width - 1] + "…")


def parse_since(text: Optional[str]) -> Optional[datetime]:
    """--since YYYY-MM-DD as the start of that day in UTC."""
    if text is None:
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise TellFixedError(f"--since: {text!r} is not a date (use YYYY-MM-DD)") from None
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


def check_problem_type(problem_type: str) -> None:
    """Only the problem types the NLU extracts can have been reported."""
    if problem_type not in PROBLEM_TYPES:
        raise TellFixedError(f"--problem-type: unknown problem type {problem_type!r} "
                             f"(known: {', '.join(PROBLEM_TYPES)})")


def check_request(store: Store, sku: str, problem_type: str) -> None:
    """Refuse what cannot be right before anything is queued (the texts are checked as they
    are read: `parse_messages`, `load_messages`)."""
    check_problem_type(problem_type)
    if not sku.strip():
        raise TellFixedError("--sku: empty")
    if not store.fix_notices.sku_known(sku):
        raise TellFixedError(f"--sku: no order in the store contains SKU {sku!r}")


def check_translated(chosen: Plan, texts: Texts) -> None:
    """Refuse to tell anyone when a recipient's language has no text: one line naming each
    such language with its count, and the two ways out."""
    missing = Counter(c.language for c in chosen.untranslated(texts))
    if missing:
        named = ", ".join(f"{tag} ({n} customer{'s' if n != 1 else ''})" for tag, n in sorted(missing.items()))
        first = sorted(missing)[0]
        raise UntranslatedError(f"no text for {named}: add --message {first}=TEXT for each, "
                                "or --skip-untranslated to leave them out")


class UntranslatedError(TellFixedError):
    """Some recipients' languages have no text (and the shop did not say to leave them out)."""


def plan(store: Store, sku: str, problem_type: str, since: Optional[datetime] = None,
         languages: Optional[LanguageSettings] = None) -> Plan:
    """Each customer who reported `problem_type` on `sku` (since `since`), once, in their
    language (`languages`: the shop's config), with the reason they are skipped if they are."""
    languages = languages or LanguageSettings()
    told = store.fix_notices.told(sku, problem_type)
    seen: dict[int, Candidate] = {}
    for report in store.fix_notices.reports(sku, problem_type, since):
        customer_id = report.customer_id
        if customer_id in seen:
            continue
        identity = _identity(store, customer_id, report.identity_id)
        skip = ALREADY_TOLD if customer_id in told else _skip(report, identity)
        language = store.customers.get(customer_id).speaks(languages.enabled, languages.default,
                                                           identity.language_code if identity else None)
        seen[customer_id] = Candidate(customer_id, None if report.forgotten_at else report.name,
                                      identity.id if identity else None, identity.channel if identity else None,
                                      report.opened_at, skip, language)
    return Plan(sku, problem_type, tuple(seen.values()), store.fix_notices.product_name(sku))


def queue(store: Store, chosen: Plan, texts: Texts, now: datetime, skip_untranslated: bool = False) -> int:
    """Queue the notice, in their language, for every recipient of `chosen`; returns how many
    were new (a customer told before, even by a run racing this one, is not queued again).
    A recipient whose language has no text raises UntranslatedError before anything is queued,
    unless `skip_untranslated` (then they are left out, and can be told by a later run)."""
    if not skip_untranslated:
        check_translated(chosen, texts)
    queued = 0
    with store.transaction():
        for candidate in chosen.recipients:
            text = text_for(texts, candidate.language)
            if text is None:
                continue
            assert candidate.identity_id is not None
            queued += store.fix_notices.queue(candidate.customer_id, candidate.identity_id, chosen.sku,
                                              chosen.problem_type, text, now)
    return queued



def _identity(store: Store, customer_id: int, identity_id: Optional[int]) -> Optional[Identity]:
    """The identity the customer reported the problem on, else their first linked one."""
    if identity_id is not None:
        return store.customers.identity(identity_id)
    identities = store.customers.identities_of(customer_id)
    return next((i for i in identities if i.address), identities[0] if identities else None)


def _skip(report: ProblemReport, identity: Optional[Identity]) -> Optional[str]:
    if report.forgotten_at:
        return FORGOTTEN
    if identity is None or not identity.address:
        return NOT_LINKED
    if identity.opted_out:
        return OPTED_OUT
    if not identity.reachable:
        return UNREACHABLE
    if not identity.consent:
        return NO_CONSENT
    return None
