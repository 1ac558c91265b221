"""`aftercare nlu ...`: train, try and evaluate the Rasa NLU model (a thin layer over bot.nlu)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from bot.config import ConfigError
from bot.nlu.rasa_nlu import (
    ModelNotTrainedError, NluSetup, RasaParser, load_nlu_settings, load_parser,
)
from bot.nlu import rasa_nlu


def _settings(ctx: click.Context) -> NluSetup:
    obj = ctx.find_root().obj or {}
    config_path = Path(obj.get("config_path", "config.yml"))
    try:
        return load_nlu_settings(config_path)
    except FileNotFoundError as exc:
        raise click.ClickException(f"{exc.filename}: no such file") from None
    except ConfigError as exc:  # already says file, line and reason
        raise click.ClickException(str(exc)) from None


def _parser(settings: NluSetup, keyword_fallback: bool = True) -> RasaParser:
    """The cached model, or exit 1 with what to do: these commands never train."""
    try:
        parser = load_parser(settings)
        return parser if keyword_fallback else parser.without_keyword_fallback()
    except (ModelNotTrainedError, FileNotFoundError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


@click.group()
def nlu() -> None:
    """Train, try and evaluate the Rasa NLU model."""


@nlu.command()
@click.option("--force", is_flag=True, help="Retrain even when a cached model matches.")
@click.pass_context
def train(ctx: click.Context, force: bool) -> None:
    """Train the model unless one for the current data and pipeline is cached."""
    settings = _settings(ctx)
    if not settings.training_data.exists():
        raise click.ClickException(f"{settings.training_data}: no training data")
    path = rasa_nlu.train(settings, force=force, progress=lambda msg: click.echo(msg, err=True))
    click.echo(str(path))


@nlu.command()
@click.pass_context
def parse(ctx: click.Context) -> None:
    """Read utterances, one per line, on stdin; print one JSON object per line."""
    parser = _parser(_settings(ctx))
    for line in sys.stdin:
        result = parser.parse(line.rstrip("\r\n"))
        click.echo(json.dumps({
            "text": result.text,
            "intent": result.intent,
            "confidence": round(result.confidence, 4),
            "entities": [{"entity": e.entity, "value": e.value} for e in result.entities],
        }, ensure_ascii=False))


@nlu.command("test")
@click.option("--data", "data_path", type=click.Path(exists=True, dir_okay=False),
              help="Test file in Rasa NLU format.  [default: data/nlu_test.yml]")
@click.option("--out", type=click.Path(dir_okay=False),
              help="Confusion matrix PNG.  [default: <model_dir>/confusion_matrix.png]")
@click.option("--min-f1", type=float, default=None,
              help="Exit with status 1 when macro-F1 is below this.")
@click.option("--errors", "show_errors", is_flag=True, help="List every misclassified example.")
@click.option("--keyword-fallback/--no-keyword-fallback", default=True,
              help="Add the keyword entity rules after the model (as the bot does), or "
                   "measure the model's own entities.")
@click.pass_context
def test(ctx: click.Context, data_path: str | None, out: str | None, min_f1: float | None,
         show_errors: bool, keyword_fallback: bool) -> None:
    """Evaluate on the held-out set (or --data FILE): accuracy, macro-F1, confident wrong
    answers, worst confusions, a PNG."""
    from rich.console import Console
    from rich.table import Table

    from bot.nlu.evaluate import CONFIDENT, evaluate, load_examples, plot_confusion

    settings = _settings(ctx)
    test_file = Path(data_path) if data_path else settings.test_data
    if not test_file.exists():
        raise click.ClickException(f"{test_file}: no test data")
    parser = _parser(settings, keyword_fallback)
    examples = load_examples(test_file)
    result = evaluate(parser, examples)
    console = Console(highlight=False)

    table = Table(title=f"{len(examples)} examples")
    for column in ("intent", "precision", "recall", "F1", "support"):
        table.add_column(column, justify="left" if column == "intent" else "right")
    for label, score in result.per_intent().items():
        table.add_row(label, f"{score.precision:.3f}", f"{score.recall:.3f}",
                      f"{score.f1:.3f}", str(score.support))
    console.print(table)

    pairs = Table(title="worst-confused pairs")
    for column in ("expected", "predicted", "count"):
        pairs.add_column(column)
    for gold, predicted, count in result.confused_pairs(5):
        pairs.add_row(gold, predicted, str(count))
    console.print(pairs)

    if show_errors:
        for example, predicted in result.errors():
            console.print(f"{example.intent} -> {predicted}: {example.text}", markup=False,
                          soft_wrap=True)

    entities = result.entity_scores()
    entity_line = (f"entities F1 {entities.f1:.3f} (P {entities.precision:.3f}, "
                   f"R {entities.recall:.3f})" if entities.support else "no entities labelled")
    console.print(f"accuracy {result.accuracy:.3f}  macro-F1 {result.macro_f1:.3f}  "
                  + entity_line)
    console.print(f"confident (>= {CONFIDENT}) wrong intents {result.confident_errors():.1%} "
                  f"of {len(examples)}")
    picture = plot_confusion(result, Path(out) if out else
                             settings.model_dir / "confusion_matrix.png")
    console.print(f"confusion matrix: {picture}")
    if min_f1 is not None and result.macro_f1 < min_f1:
        click.echo(f"error: macro-F1 {result.macro_f1:.3f} is below {min_f1}", err=True)
        sys.exit(1)
