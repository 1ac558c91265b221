"""The rooms of bot/ keep to their doors: the layers and forbidden imports declared in
pyproject.toml (import-linter), no import cycles (grimp builds the graph, in-function imports
included), no SQL outside bot/store, no module reaching into another's private names."""
from __future__ import annotations

import ast
import os
import subprocess
import shutil
import sys
from pathlib import Path

import grimp
import pytest

BOT = Path(__file__).resolve().parents[1] / "bot"


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


ROOT = BOT.parent


def _lint_imports(root: Path) -> tuple[int, str]:
    """import-linter over the `bot` package under `root`, in a child process: the graph is built
    from that folder alone, whatever earlier tests left in this process's sys.path and sys.modules."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    run = subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import lint_imports; "
                          "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))"],
                         cwd=root, env=env, capture_output=True, text=True, timeout=600)
    return run.returncode, run.stdout + run.stderr


def test_the_import_contracts_hold(capsys):
    """pyproject.toml's [tool.importlinter]: the layers (types at the bottom, entry points on top,
    so no two packages import each other), the pure engine (no store, channel, schedule, NLU or
    I/O, directly or through another module; no YAML library or module of ours that reads files:
    bot/flowfiles reads the dialogs), channels that never reach the store or the CLI."""
    code, out = _lint_imports(ROOT)
    assert code == 0, out


@pytest.mark.parametrize("room,line,broken", [
    ("engine/moves.py", "import sqlite_utils", "The engine is pure"),
    ("engine/moves.py", "from bot.schedule import governor", "Layers"),
    ("channels/console.py", "from bot.store import store", "Channels never open the store"),
    ("channels/console.py", "from bot.cli import common", "Channels never open the store or reach the CLI"),
    ("engine/templates.py", "from bot.nlu import base", "The engine is pure"),
    ("store/store.py", "from bot.conversation import runner", "Layers"),       # a package cycle: store <-> conversation
    ("engine/flows.py", "from bot.base.yamlsource import load_yaml", "The engine reads no file"),   # the loader back
    ("engine/flows.py", "from bot.flowfiles import load_catalogs", "The engine reads no file"),
    ("engine/builtins.py", "import ruamel.yaml", "The engine reads no file"),
    ("base/codes.py", "from bot.base.secretfile import install_secret", "The engine reads no file"),   # through base
    ("config/settings.py", "from bot.config.loading import load_settings", "The engine reads no file"),
])
def test_the_import_contracts_catch_a_break(tmp_path, monkeypatch, capsys, room, line, broken):
    """The same contracts on a copy of bot/ with one forbidden import added: they fail."""
    shutil.copytree(BOT, tmp_path / "bot", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with (tmp_path / "bot" / room).open("a", encoding="utf-8") as module:
        module.write(f"\n{line}  # noqa\n")
    code, out = _lint_imports(tmp_path)
    assert code == 1 and broken in out.split("Broken contracts")[-1], out


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for name in ("a", "a.x", "a.y", "a.z"):
        graph.add_module(name)
    graph.add_import(importer="a.x", imported="a.y")
    graph.add_import(importer="a.y", imported="a.x")
    graph.add_import(importer="a.z", imported="a.x")
    assert _cycles(graph) == [["a.x", "a.y"]]


def test_bot_has_no_import_cycles():
    graph = grimp.build_graph("bot", include_external_packages=False, cache_dir=None)
    assert _cycles(graph) == []


def _layered_packages(pyproject: Path) -> set[str]:
    """Every package the layers contract names (`a | b` is two rooms of one layer)."""
    import tomli

    contracts = tomli.loads(pyproject.read_text(encoding="utf-8"))["tool"]["importlinter"]["contracts"]
    layers = next(c["layers"] for c in contracts if c["type"] == "layers")
    return {room.strip() for layer in layers for room in layer.split("|")}


def _packages(bot: Path) -> set[str]:
    return {f"bot.{path.name}" for path in bot.iterdir() if (path / "__init__.py").is_file()}


def _loose_modules(bot: Path) -> list[str]:
    return sorted(p.name for p in bot.glob("*.py") if p.name not in ("__init__.py", "__main__.py"))


def test_every_package_is_in_a_layer_so_no_two_packages_import_each_other():
    """The layers contract is what keeps packages free of cycles: a package it does not name
    could import any other and be imported back. Every package of bot/ is in it, and nothing else is."""
    assert _packages(BOT) == _layered_packages(ROOT / "pyproject.toml")


def test_no_loose_module_at_the_top_of_bot():
    """Code lives in a package by its job; bot/ holds only __init__.py (and __main__.py)."""
    assert _loose_modules(BOT) == []


def test_the_layout_checks_catch_a_loose_module_and_an_unlayered_package(tmp_path):
    shutil.copytree(BOT, tmp_path / "bot", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "bot" / "helpers.py").write_text("", encoding="utf-8")
    (tmp_path / "bot" / "extras").mkdir()
    (tmp_path / "bot" / "extras" / "__init__.py").write_text("", encoding="utf-8")
    assert _loose_modules(tmp_path / "bot") == ["helpers.py"]
    assert _packages(tmp_path / "bot") - _layered_packages(ROOT / "pyproject.toml") == {"bot.extras"}


def _modules() -> list[tuple[str, ast.Module]]:
    return [(str(path.relative_to(BOT.parent)), ast.parse(path.read_text(), str(path)))
            for path in sorted(BOT.rglob("*.py"))]


def test_only_the_store_touches_the_database():
    offences = []
    for name, tree in _modules():
        if name.startswith("bot/store/"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "db":
                offences.append(f"{name}:{node.lineno} .db")
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                if any(n.split(".")[0] in ("sqlite3", "sqlite_utils") for n in names):
                    offences.append(f"{name}:{node.lineno} imports {names}")
    assert offences == []


def test_no_module_imports_another_modules_private_names():
    offences = []
    for name, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bot"):
                offences += [f"{name}:{node.lineno} {node.module}.{a.name}" for a in node.names
                             if a.name.startswith("_") and not a.name.startswith("__")]
    assert offences == []


def test_no_module_reads_another_objects_private_attributes():
    """`x._name` only on self/cls (own state); the NLU's reach into Rasa's internals is that
    library's, not another room of bot/ (its loading and graph, DIET's batched predict, the count vectors' batch)."""
    offences = []
    for name, tree in _modules():
        if name in ("bot/nlu/rasa_nlu.py", "bot/nlu/diet_batch.py", "bot/nlu/count_batch.py"):
            continue
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                    and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))):
                offences.append(f"{name}:{node.lineno} .{node.attr}")
    assert offences == []


# Where a channel may be named: its own module in bot/channels, and the sandbox's platform
# servers and their clients. Everything else asks the channel registries.
CHANNEL_NAMES = ("telegram", "slack")
CHANNEL_PLACES = (BOT / "channels", BOT / "sandbox" / "platforms")


def _channel_mentions(root: Path, names: tuple[str, ...], allowed: tuple[Path, ...]) -> list[str]:
    """`path:line: text` of every line under `root` (any file) that names a channel outside `allowed`."""
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        if any(path.is_relative_to(place) for place in allowed):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            if any(name in line.lower() for name in names):
                found.append(f"{path.relative_to(root.parent)}:{number}: {line.strip()}")
    return found


def test_the_channel_name_finder_finds_a_name(tmp_path):
    (tmp_path / "bot" / "channels").mkdir(parents=True)
    (tmp_path / "bot" / "core.py").write_text('limit = 1\nif name == "Slack":\n', encoding="utf-8")
    (tmp_path / "bot" / "channels" / "slack.py").write_text('name = "slack"\n', encoding="utf-8")
    found = _channel_mentions(tmp_path / "bot", CHANNEL_NAMES, (tmp_path / "bot" / "channels",))
    assert found == ['bot/core.py:2: if name == "Slack":']


def test_no_channel_is_named_outside_its_module_and_the_sandbox_platforms():
    assert _channel_mentions(BOT, CHANNEL_NAMES, CHANNEL_PLACES) == []


# Store methods (and bot/store functions) that may hand out a plain dict or Any, each with why.
# Anything else that leaves the store is a typed row (bot/store/rows.py), an enum or a scalar.
_UNTYPED_RETURNS_ALLOWED = {
    "browse.py:datasette_metadata": "Datasette's own metadata document (its JSON schema, not ours)",
    "privacy.py:Privacy.export": "the data-subject export: every stored column of every row, as JSON, by contract",
    "desk_reporting.py:agent_figures": "the `agents` entries of `report --json`; their keys are the report's contract",
    "reporting.py:Reporting.report": "the `report --json` object; its keys are the report's contract (README)",
    "reporting.py:Reporting.overall": "the nested figures of `report --json` (empty_figures() is their shape)",
    "reporting.py:Reporting.groups": "the nested figures of `report --json`, one entry per slice",
    "reporting.py:Reporting.cohorts": "figures merged into the `report --json` slices",
    "reporting.py:empty_figures": "the shape of the nested figures of `report --json`",
    "rows.py:as_mapping": "typed rows flattened for the engine's `Facts`, which reads template variables by name",
    "run_log.py:RunLog.conversation_slots": "slots are the flows' own free-form memory (JSON)",
    "tables.py:get": "the store's own plumbing: raw rows before a repository types them",
    "tables.py:where": "the store's own plumbing: raw rows before a repository types them",
    "tables.py:query": "the store's own plumbing: raw rows before a repository types them",
}


def _untyped(annotation: ast.expr | None) -> bool:
    """A return annotation that is missing, says Any, or holds a bare dict/Mapping (no key and
    value types) anywhere: `dict`, `list[dict]`, `Optional[dict]`, `dict[str, Any]` all count."""
    if annotation is None:
        return True
    subscripted = {id(node.value) for node in ast.walk(annotation) if isinstance(node, ast.Subscript)}
    for node in ast.walk(annotation):
        name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
        if name == "Any":
            return True
        if name in ("dict", "Dict", "Mapping") and id(node) not in subscripted:
            return True
    return False


def _store_returns() -> dict[str, ast.expr | None]:
    """Every public method of a public class, and every public function, in bot/store: its
    return annotation, by "file:Class.method" or "file:function"."""
    found: dict[str, ast.expr | None] = {}
    for path in sorted((BOT / "store").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                found[f"{path.name}:{node.name}"] = node.returns
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and not item.name.startswith("_"):
                        if item.name == "__init__" or (item.returns is not None and ast.unparse(item.returns) == "None"):
                            continue
                        found[f"{path.name}:{node.name}.{item.name}"] = item.returns
    return found


def test_the_untyped_return_finder_finds_them():
    def returns(source: str) -> ast.expr | None:
        function = ast.parse(source).body[0]
        assert isinstance(function, ast.FunctionDef)
        return function.returns

    for untyped in ("def f(): ...", "def f() -> dict: ...", "def f() -> list[dict]: ...",
                    "def f() -> Optional[dict]: ...", "def f() -> dict[str, Any]: ...", "def f() -> Any: ...",
                    "def f() -> typing.Mapping: ...", "def f() -> dict[Optional[str], dict]: ..."):
        assert _untyped(returns(untyped)), untyped
    for typed in ("def f() -> CaseRow: ...", "def f() -> list[OutboxRow]: ...", "def f() -> dict[str, int]: ...",
                  "def f() -> Optional[ConversationRow]: ...", "def f() -> tuple[int, int]: ...",
                  "def f() -> dict[Optional[str], dict[str, int]]: ..."):
        assert not _untyped(returns(typed)), typed


def test_store_reads_leave_the_store_as_typed_rows():
    """What the store hands to the engine's runner, the scheduler, the dispatcher, the case desk
    and the sandbox is a typed row (bot/store/rows.py), so mypy checks every column a caller
    reads; only the listed exceptions, each with its reason, stay plain dicts."""
    returns = _store_returns()
    offences = sorted(name for name, annotation in returns.items()
                      if _untyped(annotation) and name not in _UNTYPED_RETURNS_ALLOWED)
    assert offences == []
    stale = sorted(name for name in _UNTYPED_RETURNS_ALLOWED
                   if name not in returns or not _untyped(returns[name]))
    assert stale == [], "an allowed exception that is gone or typed now: take it off the list"
