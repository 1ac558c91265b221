"""`dialogs/i18n/<lang>.yml` and the English texts of `dialogs/*.yml`, read from disk and handed
to bot/i18n/catalogs.py, which checks them."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator, Optional

from bot.base.yamldoc import SourceError
from bot.base.yamlsource import load_yaml
from bot.i18n.catalogs import (CATALOG_DIR, Catalog, Catalogs, SourceText, catalog_from, texts_in,
                               translation_problems)


def load_catalogs(dialogs_dir: Path | str) -> Catalogs:
    """Read `dialogs_dir/i18n/*.yml`; a malformed catalog raises SourceError (file:line)."""
    folder = Path(dialogs_dir) / CATALOG_DIR
    found: dict[str, Catalog] = {}
    for path in sorted(folder.glob("*.yml")) if folder.is_dir() else []:
        catalog = catalog_from(load_yaml(path))
        if catalog.language in found:
            raise SourceError(path, 1, f"language {catalog.language!r} is also in {found[catalog.language].path}")
        found[catalog.language] = catalog
    return Catalogs(found)


def source_texts(dialogs_dir: Path | str) -> Iterator[SourceText]:
    """Every customer-facing English text in `dialogs_dir/*.yml`, with file and line."""
    for path in sorted(Path(dialogs_dir).glob("*.yml")):
        yield from texts_in(load_yaml(path))


def check_translations(dialogs_dir: Path | str, enabled: Iterable[str],
                       catalogs: Optional[Catalogs] = None, *,
                       words: Iterable[SourceText]) -> list[SourceError]:
    """Every translation problem of `dialogs_dir` for the `enabled` languages, file:line each
    (bot.i18n.catalogs.translation_problems); `catalogs` when already read, else read here.
    `words`: what template variables say besides (`bot.engine.vocabulary.variable_words`)."""
    catalogs = catalogs if catalogs is not None else load_catalogs(dialogs_dir)
    return translation_problems(catalogs, [*source_texts(dialogs_dir), *words], enabled, dialogs_dir)
