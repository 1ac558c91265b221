"""Fill `{product.name}`-style placeholders in flow texts from the conversation's context."""
from __future__ import annotations

import re
from typing import Any, Mapping, Optional

from bot.i18n.formats import localized
from bot.i18n.placeholders import TEMPLATE

SLOT_PREFIX = "slots."


def render(text: str, variables: Mapping[str, Any], slots: Mapping[str, Any], language: Optional[str] = None) -> str:
    """Replace each {name}; unknown or empty values become an empty string, never a crash.
    With `language`, dates and numbers are written as that language writes them."""

    def value(match: re.Match) -> str:
        name = match.group(1).strip()
        if name.startswith(SLOT_PREFIX):
            found = slots.get(name[len(SLOT_PREFIX):])
        else:
            found = variables.get(name)
        if found is None:
            return ""
        return localized(found, language) if language else str(found)

    return TEMPLATE.sub(value, text).strip()
