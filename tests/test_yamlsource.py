"""The fast YAML path (libyaml's events) reads every file exactly as ruamel's round-trip
loader does, or hands it to ruamel: same data, same types, same key lines, same errors."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from bot.base import yamlsource
from bot.base.yamlsource import SourceError, load_yaml, read_fast

ROOT = Path(__file__).resolve().parents[1]


def by_ruamel(text: str) -> tuple[object, dict[tuple, int]]:
    lines: dict[tuple, int] = {(): 1}
    return yamlsource._plain(YAML(typ="rt").load(text), (), lines), lines


def same(a: object, b: object) -> bool:
    """Equal, and of the same types all the way down (True is not 'true', 1 is not 1.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))  # type: ignore[arg-type]
    if isinstance(a, dict):
        assert isinstance(b, dict)
        return (list(a) == list(b) and all(type(x) is type(y) for x, y in zip(a, b))
                and all(same(a[k], b[k]) for k in a))
    return a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b))  # type: ignore[arg-type]


SCALARS = """\
plain: hello world
yes_no: [yes, no, on, off, y, n]
bools: [true, True, TRUE, false, False]
nulls: [~, null, Null, NULL, ]
empty:
ints: [12, -3, +4, 0o17, 012, 0x1f, 1_000]
floats: [1.5, -.5, 1e3, .inf, -.Inf, .nan]
dates: [2026-01-01, 2026-01-01 10:00:00, 2026-01-01T10:00:00Z]
times: [1:20, 10:30:00]
quoted: ["true", '12', "null", ""]
"key with: colon": 1
1: int key
block: |
  line one
  line two
folded: >
  folded
  text
nested:
  - a: 1
    b: [x, {c: d}]
  - - deep
    - 2.0
  -
version: 1.10
"""


def test_scalars_and_lines_match_ruamel() -> None:
    fast = read_fast(SCALARS)
    assert fast is not None, "this file is within the fast path"
    data, lines = by_ruamel(SCALARS)
    assert same(fast[0], data)
    assert fast[1] == lines


@pytest.mark.parametrize("text", [
    "a: &x 1\nb: *x\n",                       # anchor and alias
    "base: &b {x: 1}\nchild:\n  <<: *b\n",     # merge key
    "a: 1\na: 2\n",                           # duplicate key (ruamel refuses it)
    "a: !!str 1\n",                           # explicit tag
    "%YAML 1.1\n---\na: yes\n",               # another YAML version
    "a: 1\n---\nb: 2\n",                      # two documents
    "a: [1, 2\n",                             # syntax error
    "? [a, b]\n: c\n",                        # a key that is not a scalar
])
def test_what_it_does_not_read_the_same_goes_to_ruamel(text: str) -> None:
    assert read_fast(text) is None


def test_errors_are_ruamels(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("a: 1\nb: [1, 2\nc: 3\n", encoding="utf-8")
    with pytest.raises(SourceError) as caught:
        load_yaml(broken)
    assert str(caught.value).startswith(f"{broken}:") and "invalid YAML" in str(caught.value)
    twice = tmp_path / "twice.yml"
    twice.write_text("a: 1\na: 2\n", encoding="utf-8")
    with pytest.raises(SourceError, match="invalid YAML"):
        load_yaml(twice)


def test_every_yaml_file_of_the_project_reads_the_same() -> None:
    files = [p for pattern in ("*.yml", "*.yaml") for p in ROOT.rglob(pattern)
             if not {".venv", "node_modules"} & set(p.parts) and "sealed" not in str(p)]
    assert len(files) > 20
    read = 0
    for path in files:
        text = path.read_text(encoding="utf-8")
        fast = read_fast(text)
        if fast is None:
            continue
        read += 1
        data, lines = by_ruamel(text)
        assert same(fast[0], data), path
        assert fast[1] == lines, path
    assert read >= len(files) - 5, "most files take the fast path"
