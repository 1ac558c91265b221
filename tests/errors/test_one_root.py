"""One exception family: every error bot/ raises on purpose subclasses `AftercareError`, and the
CLI turns any of them into one line and exit code 1 (a bug keeps its traceback)."""
from __future__ import annotations

import ast
import builtins
import importlib
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from bot.base.errors import AftercareError
from bot.cli import main
from bot.engine.flows import FlowError
from bot.ops.fixes import TellFixedError

BOT = Path(__file__).resolve().parents[2] / "bot"


def _exception_classes() -> list[tuple[str, str]]:
    """(module, class) of every public class in bot/ whose bases look like an exception's."""
    found = []
    for path in sorted(BOT.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if not isinstance(node, ast.ClassDef) or node.name.startswith("_"):
                continue
            bases = [b.id if isinstance(b, ast.Name) else b.attr if isinstance(b, ast.Attribute) else "" for b in node.bases]
            if any(name.endswith(("Error", "Exception")) or isinstance(getattr(builtins, name, None), type)
                   and issubclass(getattr(builtins, name), BaseException) for name in bases):
                module = ".".join(path.relative_to(BOT.parent).with_suffix("").parts)
                found.append((module, node.name))
    return found


def test_the_finder_sees_the_exceptions():
    found = _exception_classes()
    assert ("bot.base.yamldoc", "SourceError") in found and ("bot.engine.flows", "FlowError") in found
    assert len(found) >= 18


@pytest.mark.parametrize("module,name", _exception_classes())
def test_every_exception_of_bot_has_the_one_root(module, name):
    cls = getattr(importlib.import_module(module), name)
    assert issubclass(cls, AftercareError), f"{module}.{name} does not subclass AftercareError"


@pytest.fixture
def failing_command():
    """A command that fails with the error it is given, added to `aftercare` for one test."""
    raised: list[BaseException] = []

    @click.command("fail-for-test")
    def fail() -> None:
        """Fail on purpose."""
        raise raised[0]

    main.add_command(fail)
    yield raised
    main.commands.pop("fail-for-test")


@pytest.mark.parametrize("error", [
    FlowError("dialogs/checkin.yml", 12, "unknown action 'give_coupon'"),
    TellFixedError("unknown SKU 'NOPE'\n(see `aftercare report --by sku`)"),
    AftercareError("anything named on purpose"),
])
def test_the_cli_turns_any_of_them_into_one_line_and_exit_1(failing_command, error):
    failing_command.append(error)
    result = CliRunner().invoke(main, ["fail-for-test"])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.output
    assert " ".join(str(error).split()) in lines[0]


def test_a_bug_is_not_dressed_up_as_one_line(failing_command):
    failing_command.append(KeyError("a bug"))
    result = CliRunner().invoke(main, ["fail-for-test"])
    assert result.exit_code == 1 and isinstance(result.exception, KeyError)
