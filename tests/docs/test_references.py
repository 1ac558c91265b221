"""The README's command and configuration references are generated (cog) from the click commands
and the settings model: this fails when either changed and `cog -r README.md` was not run."""
from __future__ import annotations

from cogapp import Cog

from tests.support.harness import ROOT

README = ROOT / "README.md"


def _check(path) -> int:
    return Cog().main(["cog", "--check", str(path)])


def test_the_readme_references_are_current():
    assert _check(README) == 0, "README.md's references are stale: run `cog -r README.md`"


def test_a_stale_reference_is_caught(tmp_path):
    stale = tmp_path / "README.md"
    text = README.read_text(encoding="utf-8")
    assert "| `aftercare run` |" in text and "| `store.path` |" in text
    stale.write_text(text.replace("| `aftercare run` |", "| `aftercare walk` |"), encoding="utf-8")
    assert _check(stale) != 0
    stale.write_text(text.replace("| `store.path` | str |", "| `store.path` | int |"), encoding="utf-8")
    assert _check(stale) != 0
