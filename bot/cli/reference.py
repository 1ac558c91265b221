"""The README's command reference, generated from the click commands themselves (cog writes it;
a test fails when the README is stale): every command, its arguments and options, what it does."""
from __future__ import annotations

from typing import Iterator

import click


def commands_markdown(group: click.Group, name: str = "aftercare") -> str:
    """A markdown table of every command under `group`, sub-commands included, by name."""
    rows = ["| command | arguments and options | what it does |", "| --- | --- | --- |",
            f"| `{name}` | {' '.join(_usage(group))} | {_cell(group.get_short_help_str(limit=300))} |"]
    for path, command in _walk(group, name):
        usage = " ".join(_usage(command))
        rows.append(f"| `{path}` | {usage} | {_cell(command.get_short_help_str(limit=300))} |")
    return "\n".join(rows) + "\n"


def _walk(group: click.Group, prefix: str) -> Iterator[tuple[str, click.Command]]:
    """Every command the group lists (a plugin's included), sub-commands in turn."""
    ctx = click.Context(group)
    for name in sorted(group.list_commands(ctx)):
        command = group.get_command(ctx, name)
        if command is None:
            continue
        if isinstance(command, click.Group):
            yield from _walk(command, f"{prefix} {name}")
        else:
            yield f"{prefix} {name}", command


def _usage(command: click.Command) -> Iterator[str]:
    for param in command.params:
        if isinstance(param, click.Argument):
            yield f"`{param.human_readable_name}`"
        elif isinstance(param, click.Option) and "--help" not in param.opts:
            yield f"`{'/'.join(param.opts)}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")
