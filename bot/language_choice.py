"""A customer switches language: `/language` (buttons), or a message that is just a language's
name ("Deutsch", "português", "japanese", "/language fr"). The choice is stored on the customer
and wins over the order's language and the platform's from then on.
"""
from __future__ import annotations

import functools
from typing import Iterable, Optional

from babel import Locale, UnknownLocaleError

from bot.events import Button
from bot.i18n import command_form, language_name, normalize_tag

BUTTON_PREFIX = "lang:"        # a tap on a language button sends "lang:<tag>"
COMMAND = "/language"


def is_menu_request(text: str) -> bool:
    """`/language` alone (a platform may append @BotName)."""
    return command_form(text).split("@")[0] in (COMMAND, COMMAND.lstrip("/"), "/idioma", "/sprache", "/langue", "/lingua")


def buttons(enabled: Iterable[str]) -> tuple[Button, ...]:
    """One button per enabled language, labelled in that language ("Deutsch", "日本語")."""
    return tuple(Button(language_name(tag), f"{BUTTON_PREFIX}{tag}") for tag in enabled)


def chosen(button_value: Optional[str], enabled: Iterable[str]) -> Optional[str]:
    """The language a tap on a language button chose, if it is one and enabled."""
    if not button_value or not button_value.startswith(BUTTON_PREFIX):
        return None
    tag = normalize_tag(button_value[len(BUTTON_PREFIX):])
    return tag if tag in list(enabled) else None


def requested(text: str, enabled: Iterable[str]) -> Optional[str]:
    """The enabled language a whole message names ("/language de", "Deutsch", "em português"
    is not matched: only the bare name, in its own words or in English), else None."""
    said = command_form(text)
    if said.startswith(COMMAND + " "):
        said = said[len(COMMAND) + 1:].strip()
    for tag in enabled:
        if said in _names(tag):
            return tag
    return None


@functools.lru_cache(maxsize=None)
def _names(tag: str) -> frozenset[str]:
    """Every way to name `tag` in one message; computed once per tag (every text message asks)."""
    names = {tag.lower(), command_form(language_name(tag))}
    try:
        locale = Locale.parse(tag, sep="-")
    except (ValueError, UnknownLocaleError):
        return frozenset(names - {""})
    names.add(command_form(locale.get_display_name("en") or ""))
    bare = {command_form(locale.get_language_name(locale) or ""), command_form(locale.get_language_name("en") or "")}
    if "-" in tag:  # "português" alone means the base language, not the region
        names -= bare
    else:
        names |= bare
    return frozenset(names - {""})
