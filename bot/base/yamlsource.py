"""Read YAML while keeping where each key came from, so errors can say `file:line: reason`.

ruamel.yaml (pinned by Rasa) keeps line/column of every key in round-trip mode; this module
turns that into a lookup from a key path to a line number.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

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


def load_yaml(path: Path) -> YamlDoc:
    """Parse `path`, raising SourceError with a line number for syntax errors."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceError(path, None, f"cannot read: {exc.strerror or exc}") from exc
    yaml = YAML(typ="rt")
    try:
        raw = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise SourceError(path, line, f"invalid YAML: {exc.problem or exc.context}") from exc
    lines: dict[tuple, int] = {(): 1}
    data = _plain(raw, (), lines)
    return YamlDoc(Path(path), data, lines)


def _plain(node: Any, key_path: tuple, lines: dict[tuple, int]) -> Any:
    """Convert ruamel's round-trip nodes to dict/list/scalars, recording key lines."""
    if isinstance(node, CommentedMap):
        out = {}
        for key, value in node.items():
            child = key_path + (key,)
            try:
                lines[child] = node.lc.key(key)[0] + 1
            except (KeyError, TypeError):
                pass
            out[key] = _plain(value, child, lines)
        return out
    if isinstance(node, CommentedSeq):
        out_list = []
        for index, value in enumerate(node):
            child = key_path + (index,)
            try:
                lines[child] = node.lc.item(index)[0] + 1
            except (KeyError, TypeError, IndexError):
                pass
            out_list.append(_plain(value, child, lines))
        return out_list
    if node is None or isinstance(node, (bool, int, float)):
        return node
    return str(node)
