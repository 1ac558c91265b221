"""Read-only mappings whose values are worked out when first read, then kept.

An engine step reads a few of the facts a flow may use (template variables, a customer's
history, earlier scores): the runner hands these in so that each is read from the store only
when a flow asks for it, inside the same transaction, once.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator, Mapping, Optional, TypeVar

V = TypeVar("V")


class OnFirstRead(Mapping[str, Any]):
    """A mapping loaded whole by `load()` the first time anything looks into it."""

    def __init__(self, load: Callable[[], Mapping[str, Any]]) -> None:
        self._load = load
        self._loaded: Optional[Mapping[str, Any]] = None

    def _data(self) -> Mapping[str, Any]:
        if self._loaded is None:
            self._loaded = self._load()
        return self._loaded

    def __getitem__(self, key: str) -> Any:
        return self._data()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data())

    def __len__(self) -> int:
        return len(self._data())

    def __repr__(self) -> str:
        return f"OnFirstRead({dict(self._data())!r})" if self._loaded is not None else "OnFirstRead(<not read>)"


class EachOnFirstRead(Mapping[str, V]):
    """A mapping of known keys, each value computed by its own function the first time it is read.

    `get` and `in` look at the keys only: a function that raises (even KeyError) raises to
    the reader, as it would have when the values were computed up front."""

    def __init__(self, compute: Mapping[str, Callable[[], V]]) -> None:
        self._compute = compute
        self._values: dict[str, V] = {}

    def __getitem__(self, key: str) -> V:
        if key not in self._values:
            self._values[key] = self._compute[key]()
        return self._values[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self._compute else default

    def __contains__(self, key: object) -> bool:
        return key in self._compute

    def __iter__(self) -> Iterator[str]:
        return iter(self._compute)

    def __len__(self) -> int:
        return len(self._compute)

    def __repr__(self) -> str:
        return f"EachOnFirstRead({self._values!r}, not read: {sorted(set(self._compute) - set(self._values))})"
