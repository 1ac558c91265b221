"""Dates and numbers as the customer's language writes them, from Babel's CLDR data: a date is
"March 12", "12 de marzo", "12. März" or "3月12日"; 1.5 is "1,5" in German. The template
renderer calls `localized` for every value it fills in, so a variable or slot that holds a
date or a number reads right in every language without a per-language rule anywhere."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, Optional

from babel import Locale, UnknownLocaleError
from babel.dates import format_skeleton
from babel.numbers import format_decimal

DATE_SKELETON = "dMMMM"       # day and month name, in the language's own order ("12 de marzo")


@lru_cache(maxsize=64)
def locale_of(language: Optional[str]) -> Locale:
    """Babel's locale for a tag ('pt-BR' -> pt_BR); its base language, else English, when
    Babel does not know the tag."""
    tag = (language or "en").replace("_", "-")
    for candidate in (tag, tag.split("-")[0], "en"):
        try:
            return Locale.parse(candidate, sep="-")
        except (ValueError, UnknownLocaleError):
            continue
    return Locale("en")


def localized(value: Any, language: Optional[str]) -> str:
    """`value` as text for a customer reading `language`: numbers and dates localized,
    everything else as it is (None: empty)."""
    if value is None:
        return ""
    if isinstance(value, bool) or isinstance(value, str):
        return str(value)
    if isinstance(value, (int, float, Decimal)):
        return format_decimal(value, locale=locale_of(language))
    if isinstance(value, datetime):
        value = value.date()          # a day in a text; the caller picks the time zone
    if isinstance(value, date):
        return format_skeleton(DATE_SKELETON, value, locale=locale_of(language))
    return str(value)
