"""YAML already read: plain data with the line of each key, and the error that names `file:line`.

Pure types, so the code that checks parsed files (the engine's flows, the catalogs, the
settings) never needs the module that reads them (`yamlsource.py`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from bot.base.errors import AftercareError


class SourceError(AftercareError, ValueError):
    """A problem in a YAML file, with the file and line it is on."""

    def __init__(self, path: Path | str, line: int | None, reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {reason}")


@dataclass
class YamlDoc:
    """Plain Python data plus the line of each key path (1-based)."""

    path: Path
    data: Any
    lines: dict[tuple, int] = field(default_factory=dict)

    def line_of(self, key_path: Sequence[Any]) -> int | None:
        """Line of the deepest known prefix of `key_path`."""
        key_path = tuple(key_path)
        while key_path:
            if key_path in self.lines:
                return self.lines[key_path]
            key_path = key_path[:-1]
        return self.lines.get((), 1)
