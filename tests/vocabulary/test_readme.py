"""The README's lists of conditions, actions, guards and template variables are generated from the
registered vocabulary; this fails when someone edits one side only."""
from __future__ import annotations

from click.testing import CliRunner

from bot.cli import main
from bot.cli.flows import README_END, README_START, with_vocabulary
from bot.engine.builtins import default_vocabulary
from bot.engine.vocabulary import markdown
from tests.support.harness import ROOT

README = ROOT / "README.md"


def test_readme_lists_exactly_the_registered_vocabulary():
    text = README.read_text(encoding="utf-8")
    assert with_vocabulary(text, markdown(default_vocabulary())) == text, (
        "README.md's vocabulary section is stale: run `aftercare flows vocabulary --readme README.md`")


def test_every_registered_word_is_in_the_readme():
    section = README.read_text(encoding="utf-8").split(README_START)[1].split(README_END)[0]
    vocabulary = default_vocabulary()
    for name in [*vocabulary.actions, *vocabulary.guards, *vocabulary.conditions]:
        assert f"`{name}`" in section
    for name in vocabulary.variables:
        assert f"`{{{name}}}`" in section


def test_vocabulary_command_prints_every_word():
    result = CliRunner().invoke(main, ["flows", "vocabulary"])
    assert result.exit_code == 0, result.output
    vocabulary = default_vocabulary()
    for name in [*vocabulary.actions, *vocabulary.guards, *vocabulary.conditions, *vocabulary.variables]:
        assert name in result.output
    markdown_out = CliRunner().invoke(main, ["flows", "vocabulary", "--markdown"]).output
    assert markdown_out == markdown(vocabulary)


def test_readme_option_rewrites_only_the_marked_section(tmp_path):
    path = tmp_path / "README.md"
    path.write_text(f"# Shop\n\nbefore\n{README_START}\nold list\n{README_END}\nafter\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["flows", "vocabulary", "--readme", str(path)])
    assert result.exit_code == 0, result.output
    text = path.read_text(encoding="utf-8")
    assert "old list" not in text and "- `escalate`" in text
    assert text.startswith("# Shop\n\nbefore\n") and text.endswith(f"{README_END}\nafter\n")
