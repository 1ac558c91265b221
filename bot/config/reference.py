"""config.yml's reference, generated from the settings model itself (cog writes it into the
README, and a test fails when the README is stale): every key, its type and its default."""
from __future__ import annotations

from datetime import time, timedelta
from enum import Enum
from typing import Any, Iterator

from pydantic import BaseModel, SecretStr
from pydantic.fields import SHAPE_DICT, SHAPE_MAPPING, ModelField


def keys_markdown(model: type[BaseModel]) -> str:
    """A markdown table of every key under `model` (the loaded `Settings` class, channels included)."""
    rows = ["| key | type | default |", "| --- | --- | --- |"]
    rows += [f"| `{key}` | {kind} | {default} |" for key, kind, default in _keys(model, "")]
    return "\n".join(rows) + "\n"


def _keys(model: type[BaseModel], prefix: str) -> Iterator[tuple[str, str, str]]:
    for name, field in model.__fields__.items():
        if name == "config_path":
            continue
        key = f"{prefix}{name}"
        inner = field.type_
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            if field.shape in (SHAPE_DICT, SHAPE_MAPPING):
                yield key, "mapping of sections", _shown(field.get_default()) if field.default else "(none)"
                yield from _keys(inner, f"{key}.<name>.")
            else:
                yield from _keys(inner, f"{key}.")
            continue
        yield key, _type(field), _default(field)


_PLAIN = {"ConstrainedIntValue": "int", "ConstrainedFloatValue": "float", "timedelta": "duration",
          "List": "list", "Dict": "mapping", "time": "HH:MM", "Duration": "duration"}


def _type(field: ModelField) -> str:
    if "shown_type" in field.field_info.extra:          # a field that says it better than its type
        return str(field.field_info.extra["shown_type"])
    if isinstance(field.type_, type) and issubclass(field.type_, Enum):
        return " \\| ".join(str(member.value) for member in field.type_)
    if field.type_ is SecretStr:
        return "secret (`${ENV}`)"
    inner: Any = field.outer_type_
    name = getattr(inner, "__name__", None) or str(inner).replace("typing.", "").split("[")[0]
    return _PLAIN.get(name, name)


def _default(field: ModelField) -> str:
    if field.type_ is SecretStr:
        return "(unset)"
    if field.required:
        return "(required)"
    return _shown(field.get_default())


def _shown(value: Any) -> str:
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, timedelta):
        value = _duration(value)
    if isinstance(value, time):
        value = value.strftime("%H:%M")
    if isinstance(value, dict):
        value = ", ".join(map(str, value)) or "{}"
    text = str(value) if value not in (None, "") else "(none)"
    return f"`{text}`".replace("|", "\\|") if text != "(none)" else text


def _duration(value: timedelta) -> str:
    """How config.yml writes it: 14d, 36h, 5m."""
    seconds, parts = int(value.total_seconds()), list[str]()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size or (not parts and unit == "s"):
            count, seconds = divmod(seconds, size)
            if count:
                parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"
