"""`dialogs/*.yml` read from disk, in file-name order, and handed to the engine's flow parser
(bot/engine/flows.py), which checks them; then the folder's catalogs. Every problem is a
FlowError naming the file, the line and the reason."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Iterator, Optional, Sequence

from bot.base.yamldoc import SourceError, YamlDoc
from bot.base.yamlsource import load_yaml
from bot.engine.flows import FlowError, FlowSet, parse_flows
from bot.engine.vocabulary import Vocabulary
from bot.flowfiles.catalogs import load_catalogs


def load_flows(directory: Path | str, vocabulary: Optional[Vocabulary] = None) -> FlowSet:
    """Load every dialogs/*.yml against `vocabulary` (default: the built-ins); raise FlowError on
    the first problem found, in file order (a file is read only when the ones before it are good)."""
    directory = Path(directory)
    files = sorted(directory.glob("*.yml")) + sorted(directory.glob("*.yaml"))
    if not files:
        raise FlowError(directory, None, "no flow files (*.yml) found")
    flows = parse_flows(_read(files), directory, vocabulary)
    try:
        catalogs = load_catalogs(directory)
    except SourceError as exc:
        raise FlowError(exc.path, exc.line, exc.reason) from exc
    return replace(flows, catalogs=catalogs)


def _read(files: Sequence[Path]) -> Iterator[YamlDoc]:
    """Each file as read, one at a time; bad YAML or an unreadable file is a FlowError (file:line)."""
    for path in files:
        try:
            yield load_yaml(path)
        except SourceError as exc:
            raise FlowError(exc.path, exc.line, exc.reason) from exc
