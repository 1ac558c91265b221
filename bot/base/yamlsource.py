"""Read YAML while keeping where each key came from, so errors can say `file:line: reason`.

ruamel.yaml (pinned by Rasa) keeps line/column of every key in round-trip mode; this module
turns that into a lookup from a key path to a line number. Its parser is pure Python: the
bot's 22 dialog and catalog files took 0.8 s of CPU at every start. So a file is first read
from libyaml's events (PyYAML's C parser, ~30x faster) with ruamel's YAML 1.2 rules for
plain scalars; anything that path does not handle the same way for certain (anchors, tags,
merge keys, duplicate keys, several documents, a syntax error) is read by ruamel as before,
so the data, the lines and every error message stay ruamel's.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml as libyaml  # type: ignore[import-untyped]
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import VersionedResolver

from bot.base.yamldoc import SourceError, YamlDoc

__all__ = ["SourceError", "YamlDoc", "load_yaml", "read_fast"]


def load_yaml(path: Path) -> YamlDoc:
    """Parse `path`, raising SourceError with a line number for syntax errors."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceError(path, None, f"cannot read: {exc.strerror or exc}") from exc
    fast = read_fast(text)
    if fast is not None:
        return YamlDoc(Path(path), fast[0], fast[1])
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


# ---- the fast path: libyaml's events, ruamel's scalar rules ----------------------------

_RESOLVER = VersionedResolver()       # YAML 1.2, as ruamel's round-trip loader
_STR, _BOOL, _NULL = "tag:yaml.org,2002:str", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"
_BY_RUAMEL = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:timestamp")


class _Unsure(Exception):
    """Something the fast path does not read exactly as ruamel does: let ruamel read it."""


def read_fast(text: str) -> tuple[Any, dict[tuple, int]] | None:
    """(data, key lines) as `load_yaml` makes them from ruamel's nodes, or None when only
    ruamel may read `text` (including every syntax error, so the message stays its own)."""
    lines: dict[tuple, int] = {(): 1}
    try:
        events = libyaml.parse(text, Loader=libyaml.CSafeLoader)
        _expect(next(events), libyaml.StreamStartEvent)
        start = next(events)
        if isinstance(start, libyaml.StreamEndEvent):
            return None, lines                   # an empty file, as ruamel: None
        _expect(start, libyaml.DocumentStartEvent)
        if start.version or start.tags:
            raise _Unsure("a %YAML or %TAG directive")
        data = _node(next(events), events, (), lines)
        _expect(next(events), libyaml.DocumentEndEvent)
        _expect(next(events), libyaml.StreamEndEvent)   # a second document: ruamel refuses it
    except (_Unsure, libyaml.YAMLError, StopIteration):
        return None
    return data, lines


def _expect(event: Any, kind: type) -> None:
    if not isinstance(event, kind):
        raise _Unsure(type(event).__name__)


def _node(event: Any, events: Any, key_path: tuple, lines: dict[tuple, int]) -> Any:
    if isinstance(event, libyaml.AliasEvent) or getattr(event, "anchor", None) or event.tag not in (None, "!"):
        raise _Unsure("an anchor, alias or tag")
    if isinstance(event, libyaml.ScalarEvent):
        return _scalar(event)
    if isinstance(event, libyaml.MappingStartEvent):
        out: dict[Any, Any] = {}
        while not isinstance(key_event := next(events), libyaml.MappingEndEvent):
            if not isinstance(key_event, libyaml.ScalarEvent):
                raise _Unsure("a key that is not a scalar")
            key = _node(key_event, events, key_path, lines)
            if key in out or (key == "<<" and key_event.implicit[0]):
                raise _Unsure("a duplicate or merge key")
            child = key_path + (key,)
            lines[child] = key_event.start_mark.line + 1
            out[key] = _node(next(events), events, child, lines)
        return out
    if isinstance(event, libyaml.SequenceStartEvent):
        items: list[Any] = []
        while not isinstance(item := next(events), libyaml.SequenceEndEvent):
            child = key_path + (len(items),)
            lines[child] = item.start_mark.line + 1
            items.append(_node(item, events, child, lines))
        return items
    raise _Unsure(type(event).__name__)


def _scalar(event: Any) -> Any:
    """A scalar as `_plain` makes ruamel's: bool, int, float and None stay, the rest str."""
    if not event.implicit[0]:                    # quoted or block, not plain: always a string
        return event.value
    tag = _RESOLVER.resolve(ScalarNode, event.value, (True, False))
    if tag == _STR:
        return event.value
    if tag == _NULL:
        return None
    if tag == _BOOL:
        return event.value.lower() == "true"
    if tag in _BY_RUAMEL:                        # digits, signs, dots, dashes, colons: no YAML syntax
        return _plain(YAML(typ="rt").load(event.value), (), {})
    raise _Unsure(tag)
