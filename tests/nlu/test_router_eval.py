"""The router evaluation's arithmetic and file handling on a fake parser (no model needed):
what counts as confidently wrong (>= 0.8), as a dangerous read, as a copy of training."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.nlu.base import Parse
from bot.nlu.router_eval import HeldOutFileError, held_out_files, language_of_file, score

LANGUAGES = ["en", "es", "pt", "de", "fr", "it"]
HELD_OUT = """version: "3.1"
nlu:
- intent: product_problem
  examples: |
    - the lid snapped off
    - it leaks
- intent: opt_out
  examples: |
    - stop texting me
- intent: affirm
  examples: |
    - yes
    - sure thing
"""


class Scripted:
    """Answers from a table, and remembers the language each text was parsed as."""

    def __init__(self, answers: dict[str, tuple[str, float]]) -> None:
        self.answers = answers
        self.languages: list[str | None] = []

    def parse(self, text: str, language: str | None = None) -> Parse:
        self.languages.append(language)
        intent, confidence = self.answers[text]
        return Parse(text, intent, confidence)


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    (tmp_path / "de.yml").write_text(HELD_OUT, encoding="utf-8")
    return tmp_path


ANSWERS = {"the lid snapped off": ("works_well", 0.95),   # dangerous and confidently wrong
           "it leaks": ("product_problem", 0.9),
           "stop texting me": ("thanks", 0.79),          # dangerous, not confidently wrong
           "yes": ("affirm", 0.99),
           "sure thing": ("deny", 0.8)}                  # confidently wrong (>= 0.8), not dangerous


def test_figures_count_what_the_issue_names(folder: Path) -> None:
    parser = Scripted(ANSWERS)
    [one] = score(parser, held_out_files([folder], LANGUAGES), {"de": ["Yes!", "something else"]})
    assert parser.languages == ["de"] * 5          # each text parsed as its file's language
    assert one.language == "de" and one.examples == 5
    assert one.confidently_wrong == pytest.approx(2 / 5)
    assert sorted((d.example.text, d.predicted) for d in one.dangerous) == [
        ("stop texting me", "thanks"), ("the lid snapped off", "works_well")]
    figures = one.as_dict()
    assert figures["copies_of_training"] == 1 and figures["unseen_examples"] == 4
    assert figures["dangerous_reads"] == 2 and figures["confidently_wrong_count"] == 2
    assert "yes" not in str(figures) and "lid" not in str(figures)    # no held-out text in the figures
    assert len(one.misses()) == 3


def test_a_clean_run_misses_nothing(folder: Path) -> None:
    right = {text: (intent, 0.99) for text, intent in
             [("the lid snapped off", "product_problem"), ("it leaks", "product_problem"),
              ("stop texting me", "opt_out"), ("yes", "affirm"), ("sure thing", "affirm")]}
    [one] = score(Scripted(right), held_out_files([folder], LANGUAGES))
    assert one.macro_f1 == 1.0 and one.misses() == [] and one.dangerous == []


@pytest.mark.parametrize("name,language", [("de.yml", "de"), ("nlu_test_fr.yml", "fr"), ("nlu_test.yml", "en"),
                                           ("pt-BR.yml", "pt"), ("it.yaml", "it")])
def test_files_are_named_by_language(name: str, language: str) -> None:
    assert language_of_file(Path(name), LANGUAGES) == language


@pytest.mark.parametrize("name", ["ja.yml", "notes.yml", "nlu_test_xx.yml"])
def test_a_file_named_for_no_trained_language_is_refused(name: str) -> None:
    with pytest.raises(HeldOutFileError, match=name):
        language_of_file(Path(name), LANGUAGES)


def test_bad_paths_are_named(tmp_path: Path) -> None:
    with pytest.raises(HeldOutFileError, match="no such file"):
        held_out_files([tmp_path / "missing"], LANGUAGES)
    with pytest.raises(HeldOutFileError, match="no .yml file"):
        held_out_files([tmp_path], LANGUAGES)
    (tmp_path / "es.yml").write_text("nlu: [", encoding="utf-8")
    with pytest.raises(HeldOutFileError, match="es.yml: not a Rasa NLU YAML"):
        score(Scripted({}), held_out_files([tmp_path], LANGUAGES))


def test_the_command_names_a_bad_path_before_loading_any_model(tmp_path: Path) -> None:
    (tmp_path / "klingon.yml").write_text(HELD_OUT, encoding="utf-8")
    root = Path(__file__).resolve().parents[2]
    result = CliRunner().invoke(main, ["--config", str(root / "config.yml"), "nlu", "evaluate", str(tmp_path)])
    assert result.exit_code == 1
    assert "klingon.yml: the file name names no trained language" in result.stderr
