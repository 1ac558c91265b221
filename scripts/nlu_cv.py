"""Cross-validation on training data only, to choose NLU settings without a held-out set.

Issue #22 asks what lifts wording nobody here wrote. The training files end with the lines of
independent writers (after a `# ---- Independent writer` comment, data/nlu*.yml): they are the
validation material. Each fold trains on every in-house line plus the other folds' independent
lines and scores the held-back independent lines with `RasaParser.parse` (fallback threshold
included). `--no-independent` trains on the in-house lines alone (one model per language, the
same validation folds): what the independent lines themselves add.

    nice .venv/bin/python scripts/nlu_cv.py --name shipped [--override '{"DIETClassifier": {"epochs": 30}}']
        [--languages en,de] [--folds 3] [--out results/cv.jsonl]

Slow (one training per fold and language): run it niced on a shared machine.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import random
import re
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.nlu.evaluate import Example, evaluate  # noqa: E402
from bot.nlu.languages import for_language  # noqa: E402
from bot.nlu.rasa_nlu import RasaParser, load_nlu_settings, pipeline_for, train  # noqa: E402
from bot.nlu.router_eval import CONFIDENTLY  # noqa: E402

MARKER = "# ---- Independent writer"


def split(path: Path) -> tuple[str, list[tuple[str, str]]]:
    """The file's in-house part (as text) and its independent lines as (intent, text)."""
    text = path.read_text(encoding="utf-8")
    at = text.find(MARKER)
    if at < 0:
        raise SystemExit(f"{path}: no '{MARKER}' section: nothing to validate on")
    house, independent, intent = text[:at], [], None
    for line in text[at:].splitlines():
        found = re.match(r"^- intent: (\S+)", line)
        if found:
            intent = found.group(1)
        elif intent and line.startswith("    - "):
            independent.append((intent, line[6:]))
    return house, independent


def folds(lines: list[tuple[str, str]], k: int, seed: int = 7) -> list[list[tuple[str, str]]]:
    """k folds stratified by intent (the same for every candidate: fixed seed)."""
    by_intent: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for item in lines:
        by_intent[item[0]].append(item)
    out: list[list[tuple[str, str]]] = [[] for _ in range(k)]
    rng = random.Random(seed)
    for intent in sorted(by_intent):
        items = by_intent[intent]
        rng.shuffle(items)
        for i, item in enumerate(items):
            out[i % k].append(item)
    return out


def training_text(house: str, lines: list[tuple[str, str]]) -> str:
    grouped: dict[str, list[str]] = defaultdict(list)
    for intent, text in lines:
        grouped[intent].append(text)
    return house.rstrip("\n") + "\n" + "".join(
        f"- intent: {intent}\n  examples: |\n" + "".join(f"    - {t}\n" for t in texts)
        for intent, texts in grouped.items())


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add_argument("--name", required=True)
    options.add_argument("--override", default="{}", help="step name -> keys, merged into every language's pipeline")
    options.add_argument("--replace", default="{}", help="step name -> a whole step that replaces it")
    options.add_argument("--languages", default="")
    options.add_argument("--folds", type=int, default=3)
    options.add_argument("--no-independent", action="store_true")
    options.add_argument("--out", default=str(ROOT / "results" / "cv.jsonl"))
    args = options.parse_args()

    settings = load_nlu_settings(ROOT / "config.yml")
    languages = [lang for lang in args.languages.split(",") if lang] or settings.languages
    override, replace = json.loads(args.override), json.loads(args.replace)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="nlu-cv-") as tmp:
        for language in languages:
            one = for_language(settings, language)
            pipeline = [replace.get(str(step.get("name")), step) for step in pipeline_for(one.pipeline, override)]
            house, independent = split(one.training_data)
            parts = folds(independent, args.folds)
            results = []
            rankings: list[list] = []
            started = time.monotonic()
            for index, held in enumerate(parts):
                kept = [] if args.no_independent else [item for j, part in enumerate(parts) if j != index for item in part]
                if args.no_independent and index > 0:
                    parser = results[0][0]
                else:
                    data = Path(tmp) / f"{language}-{index}.yml"
                    data.write_text(training_text(house, kept), encoding="utf-8")
                    folder = Path(tmp) / f"models-{language}-{index}"
                    setup = dataclasses.replace(one, training_data=data, model_dir=folder, pipeline=pipeline)
                    parser = RasaParser.load(train(setup), one.confidence_threshold)
                examples = [Example(text, intent) for intent, text in held]
                results.append((parser, evaluate(parser, examples)))
                rankings.extend([list(p.ranking[:3]) for p in (parser.parse(ex.text) for ex in examples)])
            per_fold = [round(ev.macro_f1, 4) for _, ev in results]
            merged = results[0][1]
            for _, ev in results[1:]:
                merged.examples += ev.examples
                merged.predicted += ev.predicted
                merged.confidences += ev.confidences
                merged.predicted_entities += ev.predicted_entities
            row = {"name": args.name, "language": language, "folds": args.folds, "examples": len(merged.examples),
                   "independent_in_training": not args.no_independent, "override": override, "replace": replace,
                   "macro_f1": round(merged.macro_f1, 4),
                   "confidently_wrong": round(merged.confident_errors(CONFIDENTLY), 4),
                   "per_fold_macro_f1": per_fold,
                   "seconds": round(time.monotonic() - started)}
            print(json.dumps(row), flush=True)
            with out.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(row) + "\n")
            # every validation answer, so a rule after the model (a cue) can be scored without retraining
            with out.with_suffix(".predictions.jsonl").open("a", encoding="utf-8") as handle:
                for ex, pred, conf, ranking in zip(merged.examples, merged.predicted, merged.confidences, rankings):
                    handle.write(json.dumps({"name": args.name, "language": language, "text": ex.text, "gold": ex.intent,
                                             "predicted": pred, "confidence": round(conf, 4), "ranking": ranking},
                                            ensure_ascii=False) + "\n")
            for parser, _ in results:
                try:
                    parser.close()
                except Exception:  # noqa: BLE001 - closed twice when reused
                    pass


if __name__ == "__main__":
    main()
