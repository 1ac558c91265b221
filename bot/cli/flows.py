"""`aftercare flows check|diagram`."""
from __future__ import annotations

import click

from bot.cli.common import settings_from
from bot.engine.flows import FlowError, load_flows, mermaid
from bot.i18n import check_translations
from bot.yamlsource import SourceError


@click.group()
def flows() -> None:
    """Validate the conversation flows in dialogs/ and draw them."""


@flows.command()
@click.option("--dir", "directory", type=click.Path(file_okay=False), help="Flow folder (default: dialogs_dir from config).")
@click.pass_context
def check(ctx: click.Context, directory: str | None) -> None:
    """Validate every flow and its translations; exit 1 with file:line: reason per problem.

    Translations: every enabled language (config `languages.enabled`) must translate every
    text, with the same template variables as the English.
    """
    settings = settings_from(ctx)
    folder = directory or settings.resolve(settings.dialogs_dir)
    try:
        flow_set = load_flows(folder)
        problems = check_translations(folder, settings.languages.enabled)
    except (FlowError, SourceError) as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1)
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    if problems:
        raise SystemExit(1)
    for flow in flow_set.flows.values():
        click.echo(f"ok  {flow.path}: flow {flow.name!r}, {len(flow.steps)} steps")
    languages = ", ".join(settings.languages.enabled)
    click.echo(f"ok  translations: {languages}")


@flows.command()
@click.option("--flow", "name", help="Only this flow.")
@click.option("--dir", "directory", type=click.Path(file_okay=False), help="Flow folder (default: dialogs_dir from config).")
@click.pass_context
def diagram(ctx: click.Context, name: str | None, directory: str | None) -> None:
    """Print a Mermaid state diagram of each flow, generated from its YAML."""
    folder = directory or settings_from(ctx).resolve(settings_from(ctx).dialogs_dir)
    try:
        flow_set = load_flows(folder)
    except FlowError as exc:
        raise click.ClickException(str(exc)) from None
    for flow in flow_set.flows.values():
        if name and flow.name != name:
            continue
        click.echo(f"%% {flow.name}: {flow.description}\n```mermaid\n{mermaid(flow)}\n```\n")
