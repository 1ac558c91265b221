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
    """Evaluate each model alone on the in-house held-out sets (or --data FILE): accuracy,
    macro-F1, confident wrong answers, worst confusions, a PNG; with several languages, one line
    per language at the end. The independent sets and the router: `aftercare nlu evaluate`."""
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


@nlu.command("evaluate", epilog="Example: aftercare nlu evaluate --router data/heldout --json heldout.json")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--router/--model-alone", default=True, show_default=True,
              help="Score the language router as the bot calls it (parse(text, language)), or each "
                   "language's model alone.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the figures (no held-out text) as JSON to this file.")
@click.option("--errors", "show_errors", is_flag=True,
              help="List every wrong answer (development sets only: never on a sealed set).")
@click.option("--check", is_flag=True, help="Exit with status 1 when a language misses a target.")
@click.pass_context
def evaluate_command(ctx: click.Context, paths: tuple[Path, ...], router: bool, json_out: Path | None,
                     show_errors: bool, check: bool) -> None:
    """Score held-out files named by language (de.yml, nlu_test_de.yml; a folder: its .yml files)
    against issue #22's targets: macro-F1 (>= 0.95 en, >= 0.90 else), confidently wrong (>= 0.8)
    below 3 %, and dangerous reads (a problem, refund, delivery, person or STOP message read as
    works_well, affirm or thanks): 0.  [default PATHS: data/heldout, the independent sets]"""
    from rich.console import Console
    from rich.table import Table

    from bot.nlu.evaluate import load_examples
    from bot.nlu.router_eval import HeldOutFileError, held_out_files, score

    settings = _settings(ctx)
    root = Path((ctx.find_root().obj or {}).get("config_path", "config.yml")).resolve().parent
    try:
        files = held_out_files(paths or (root / "data" / "heldout",), settings.languages)
    except HeldOutFileError as exc:
        raise click.ClickException(str(exc)) from None
    parser = _parser(settings)
    if not isinstance(parser, LanguageRouter):
        raise click.ClickException("one trained language only (config nlu.languages): nothing to route")
    training = {lang: [ex.text for ex in load_examples(data)] for lang, (data, _) in settings.language_files.items()
                if lang in {language for language, _ in files}}
    try:
        if router:
            scores = score(parser, files, training)
        else:
            scores = [one for language, path in files
                      for one in score(parser.for_language(language), [(language, path)], training)]
    except HeldOutFileError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        parser.close()
    console = Console(highlight=False, width=max(100, Console().width))
    table = Table(title=f"held out through {'the language router' if router else 'each model alone'}")
    for column in ("lang", "n", "macro-F1", "target", "wrong >= 0.8", "dangerous", "fallback", "copies",
                   "unseen F1"):
        table.add_column(column, justify="left" if column == "lang" else "right")
    for one in scores:
        figures = one.as_dict()
        table.add_row(one.language, str(one.examples), f"{one.macro_f1:.3f}",
                      f">= {one.target_macro_f1:.2f} {'MISS' if one.macro_f1 < one.target_macro_f1 else 'ok'}",
                      f"{one.confidently_wrong:.1%}", str(len(one.dangerous)), str(figures["fallbacks"]),
                      str(figures["copies_of_training"]), f"{figures['unseen_macro_f1']:.3f}")
    console.print(table)
    for one in scores:
        console.print(f"[{one.language}] {one.path}", markup=False)
    console.print("dangerous: a problem, refund, delivery, person or STOP message read as works_well, affirm or "
                  "thanks; copies: held-out lines that are also training lines; unseen F1: macro-F1 without them",
                  markup=False)
    console.print("targets: macro-F1 as shown; confidently wrong (>= 0.8) < 3 %; dangerous reads 0",
                  markup=False)
    if show_errors:
        for one in scores:
            for example, predicted, confidence in one.errors():
                console.print(f"[{one.language}] {example.intent} -> {predicted} {confidence:.2f}: {example.text}",
                              markup=False, soft_wrap=True)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps({"router": router, "languages": [one.as_dict() for one in scores]},
                                       indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        click.echo(f"figures: {json_out}", err=True)
    missed = [(one.language, miss) for one in scores for miss in one.misses()]
    if check and missed:
        for language, miss in missed:
            click.echo(f"error: [{language}] {miss}", err=True)
        sys.exit(1)
