"""The `{name}` placeholder syntax that flow texts and their translations share: the catalogs
check that a translation keeps the English text's placeholders, the engine fills them."""
from __future__ import annotations

import re

TEMPLATE = re.compile(r"\{([^{}]*)\}")


def placeholders(text: str) -> list[str]:
    """The names of the `{...}` placeholders in `text`, for the flow loader to check."""
    return [match.group(1).strip() for match in TEMPLATE.finditer(text)]
