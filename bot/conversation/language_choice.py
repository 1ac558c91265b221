"""A customer switches language: `/language` (buttons), or a message that is just a language's
name ("Deutsch", "português", "japanese", "/language fr"). The choice is stored on the customer
and wins over the order's language and the platform's from then on.
"""
from __future__ import annotations

import contextlib
import functools
from typing import Iterable, Optional

from babel import Locale, UnknownLocaleError

from bot.base.events import Button
from bot.i18n.catalogs import command_form, language_name, normalize_tag

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


# Words around a language's name in a short request to switch ("in German, please", "auf
# Deutsch bitte", "em português, por favor", "¿puedes escribirme en francés?"): a message that is
# only these and one name asks for that language. Never a word that could say something else
# ("no", "not"), so "no English" is not a request for English. The little words between a
# language and its region ("português do Brasil", "Deutsch aus Österreich") go too.
_REQUEST_WORDS = frozenset("""
    in into to please pls plz can could you u i we me us write speak talk answer reply switch change
    use language the prefer would like want rather only let's lets
    auf bitte sprache sprechen schreiben sie du mir mit uns können könnten koennen gerne lieber
    en em por favor idioma lengua língua lingua puede puedes podría podrías pode podes poderia
    escribir escribirme escríbeme escribame hablarme escrever escreva escreve hablar háblame hable falar fale fala
    prefiero prefiro quiero quero mejor melhor usted você voce
    s'il vous plaît plait svp stp pouvez peux parler écrire ecrire écrivez ecrivez parlez m'écrire
    je préfère prefere voudrais merci
    per piacere favore potete puoi può scrivere scrivimi scrivetemi parlare parlami preferisco vorrei
    meglio grazie
    do da de del von aus
""".split())
_JA_REQUEST = ("でお願いします", "でおねがいします", "でお願い", "で話してください", "で書いてください", "にしてください",
               "でください", "で")          # 日本語でお願いします: Japanese writes no spaces


def requested(text: str, enabled: Iterable[str]) -> Optional[str]:
    """The enabled language a whole message asks for, else None: its bare name ("/language de",
    "Deutsch", "português", "German"; in its own words, in English or in any enabled language),
    or a short request around that name ("in German please", "auf Deutsch bitte", "em francês,
    por favor", "日本語でお願いします")."""
    said = command_form(text)
    if said.startswith(COMMAND + " "):
        said = said[len(COMMAND) + 1:].strip()
    enabled = list(enabled)
    for candidate in _without_request_words(said):
        for tag in enabled:
            if candidate in _names(tag, tuple(enabled)):
                return tag
    return None


def _without_request_words(said: str) -> list[str]:
    """`said` itself, then with the request words around a name taken off (at most six words
    in all, so a sentence that merely mentions a language is not a request)."""
    found = [said]
    for suffix in _JA_REQUEST:
        if said.endswith(suffix) and len(said) > len(suffix):
            found.append(said[:-len(suffix)].strip())
    words = said.split()
    if 1 < len(words) <= 6:
        kept = [w for w in words if w not in _REQUEST_WORDS]
        if kept and len(kept) < len(words):
            found.append(" ".join(kept))
    return found


@functools.lru_cache(maxsize=None)
def _names(tag: str, enabled: tuple[str, ...] = ()) -> frozenset[str]:
    """Every way to name `tag` in one message: its own name, its English one and its name in
    each enabled language ("Englisch", "inglés"); computed once per tag (every text message asks)."""
    names = {tag.lower(), command_form(language_name(tag))}
    try:
        locale = Locale.parse(tag, sep="-")
    except (ValueError, UnknownLocaleError):
        return frozenset(names - {""})
    readers = [locale, Locale.parse("en")]
    for other in enabled:
        with contextlib.suppress(ValueError, UnknownLocaleError):
            readers.append(Locale.parse(other, sep="-"))
    for reader in readers:
        shown = command_form(locale.get_display_name(reader) or "")    # "português (brasil)"
        names.update({shown, " ".join(shown.replace("(", " ").replace(")", " ").split())})
        if "-" not in tag:  # "português" alone means the base language, not the region
            names.add(command_form(locale.get_language_name(reader) or ""))
    return frozenset(names - {""})
