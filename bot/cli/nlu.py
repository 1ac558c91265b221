"""`aftercare nlu ...`: train, try and evaluate the Rasa NLU model (a thin layer over bot.nlu)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from bot.config.settings import ConfigError
from bot.nlu.languages import LanguageRouter, load_parser, train_all
from bot.nlu.rasa_nlu import ModelNotTrainedError, NluSetup, RasaParser, load_nlu_settings
from bot.nlu.base import FALLBACK_INTENT, Parse


def _settings(ctx: click.Context) -> NluSetup:
    obj = ctx.find_root().obj or {}
    config_path = Path(obj.get("config_path", "config.yml"))
    try:
        return load_nlu_settings(config_path)
    except FileNotFoundError as exc:
        raise click.ClickException(f"{exc.filename}: no such file") from None
    except ConfigError as exc:  # already says file, line and reason
        raise click.ClickException(str(exc)) from None


def _parser(settings: NluSetup, keyword_fallback: bool = True) -> RasaParser | LanguageRouter:
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
    """Train each language's model (config nlu.languages) unless one for its current data and
    pipeline is cached."""
    settings = _settings(ctx)
    for language, (data, _) in settings.language_files.items():
        if not data.exists():
            raise click.ClickException(f"{data}: no training data for {language} (config nlu.languages)")
    for path in train_all(settings, force=force, progress=lambda msg: click.echo(msg, err=True)):
        click.echo(str(path))


@nlu.command()
@click.option("--language", help="Parse the lines as this language (e.g. de, pt-BR).  [default: the shop's, "
                                 "config languages.default]")
@click.pass_context
def parse(ctx: click.Context, language: str | None) -> None:
    """Read utterances, one per line, on stdin; print one JSON object per line.

    A language the model was not trained on (config nlu.languages) is never guessed at: every
    line comes back as nlu_fallback, as the bot treats it."""
    settings = _settings(ctx)
    base = (language or settings.default_language).replace("_", "-").split("-")[0].lower()
    trained = base in settings.languages
    parser = _parser(settings) if trained else None
    if isinstance(parser, LanguageRouter):
        parser = parser.for_language(base)
    for line in sys.stdin:
        text = line.rstrip("\r\n")
        result = parser.parse(text) if parser else Parse(text=text, intent=FALLBACK_INTENT, confidence=0.0)
        click.echo(json.dumps({
            "text": result.text,
            "intent": result.intent,
            "confidence": round(result.confidence, 4),
            "entities": [{"entity": e.entity, "value": e.value} for e in result.entities],
        }, ensure_ascii=False))


@nlu.command("test")
@click.option("--data", "data_path", type=click.Path(exists=True, dir_okay=False),
              help="Test file in Rasa NLU format.  [default: every trained language's held-out set]")
@click.option("--language", help="Only this language's held-out set (data/nlu_test_xx.yml; English: "
                                 "data/nlu_test.yml).")
@click.option("--out", type=click.Path(dir_okay=False),
              help="Confusion matrix PNG.  [default: <model_dir>/confusion_matrix[_xx].png]")
@click.option("--min-f1", type=float, default=None,
              help="Exit with status 1 when a macro-F1 is below this.")
@click.option("--errors", "show_errors", is_flag=True, help="List every misclassified example.")
@click.option("--keyword-fallback/--no-keyword-fallback", default=True,
              help="Add the keyword entity rules after the model (as the bot does), or "
                   "measure the model's own entities.")
@click.pass_context
def test(ctx: click.Context, data_path: str | None, language: str | None, out: str | None,
         min_f1: float | None, show_errors: bool, keyword_fallback: bool) -> None:
    """Evaluate on the held-out sets (or --data FILE): accuracy, macro-F1, confident wrong
    answers, worst confusions, a PNG; with several languages, one line per language at the end."""
    from rich.console import Console
    from rich.table import Table

    settings = _settings(ctx)
    if data_path:
        runs = [("data", Path(data_path))]
    elif language:
        base = language.replace("_", "-").split("-")[0].lower()
        if base not in settings.test_files:
            raise click.ClickException(f"{language}: not a trained language (config nlu.languages: "
                                       f"{', '.join(settings.languages)})")
        runs = [(base, settings.test_files[base])]
    else:
        runs = list(settings.test_files.items()) or [("en", settings.test_data)]
    for _, test_file in runs:
        if not test_file.exists():
            raise click.ClickException(f"{test_file}: no test data")
    parser = _parser(settings, keyword_fallback)
    console = Console(highlight=False)
    summary: list[tuple[str, int, float, float, float]] = []
    for name, test_file in runs:
        picture = Path(out) if out and len(runs) == 1 else \
            settings.model_dir / ("confusion_matrix.png" if name in ("en", "data") else f"confusion_matrix_{name}.png")
        one = parser.for_language(name) if isinstance(parser, LanguageRouter) and name in parser.languages else parser
        summary.append(_evaluate_file(console, one, name, test_file, picture, show_errors))
    if len(summary) > 1:
        table = Table(title="per language")
        for column in ("language", "examples", "accuracy", "macro-F1", "confident wrong"):
            table.add_column(column, justify="left" if column == "language" else "right")
        for name, count, accuracy, macro_f1, confident in summary:
            table.add_row(name, str(count), f"{accuracy:.3f}", f"{macro_f1:.3f}", f"{confident:.1%}")
        console.print(table)
    low = [(name, f1) for name, _, _, f1, _ in summary if min_f1 is not None and f1 < min_f1]
    for name, f1 in low:
        click.echo(f"error: [{name}] macro-F1 {f1:.3f} is below {min_f1}", err=True)
    if low:
        sys.exit(1)


def _evaluate_file(console, parser: RasaParser | LanguageRouter, name: str, test_file: Path, picture: Path,
                   show_errors: bool) -> tuple[str, int, float, float, float]:
    """Print one held-out set's report; return (name, examples, accuracy, macro-F1, confident wrong)."""
    from rich.table import Table

    from bot.nlu.evaluate import CONFIDENT, evaluate, load_examples, plot_confusion

    examples = load_examples(test_file)
    result = evaluate(parser, examples)
    table = Table(title=f"[{name}] {test_file.name}: {len(examples)} examples")
    for column in ("intent", "precision", "recall", "F1", "support"):
        table.add_column(column, justify="left" if column == "intent" else "right")
    for label, score in result.per_intent().items():
        table.add_row(label, f"{score.precision:.3f}", f"{score.recall:.3f}",
                      f"{score.f1:.3f}", str(score.support))
    console.print(table)

    pairs = Table(title=f"[{name}] worst-confused pairs")
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
    console.print(f"[{name}] accuracy {result.accuracy:.3f}  macro-F1 {result.macro_f1:.3f}  " + entity_line,
                  markup=False)
    console.print(f"[{name}] confident (>= {CONFIDENT}) wrong intents {result.confident_errors():.1%} "
                  f"of {len(examples)}", markup=False)
    console.print(f"confusion matrix: {plot_confusion(result, picture)}")
    return name, len(examples), result.accuracy, result.macro_f1, result.confident_errors()
