"""bot/base/lazy.py: facts worked out when first read, once, and errors that still reach the reader."""
from __future__ import annotations

import pytest

from bot.base.lazy import EachOnFirstRead, OnFirstRead


def test_a_mapping_is_loaded_on_the_first_look_and_only_once():
    loads: list[int] = []
    facts = OnFirstRead(lambda: loads.append(1) or {"csat": 5})
    assert loads == []
    assert facts.get("csat") == 5 and "nps" not in facts and dict(facts) == {"csat": 5}
    assert loads == [1]


def test_each_value_is_computed_when_read_and_kept():
    calls: list[str] = []

    def value(name: str):
        return lambda: calls.append(name) or name.upper()

    values = EachOnFirstRead({"a": value("a"), "b": value("b")})
    assert "a" in values and "c" not in values and len(values) == 2 and calls == []
    assert values.get("a") == "A" and values["a"] == "A" and values.get("c", "none") == "none"
    assert calls == ["a"]                        # b never read, a computed once


def test_a_key_error_inside_a_value_reaches_the_reader():
    def broken() -> str:
        return {}["missing"]

    values = EachOnFirstRead({"broken": broken})
    with pytest.raises(KeyError):
        values.get("broken")                     # not taken for an unknown name (get's default)
