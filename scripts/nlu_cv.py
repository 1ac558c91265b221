"""Cross-validation on training data only, to choose NLU settings without a held-out set.

Issue #22 asks what lifts wording nobody here wrote. The training files end with the lines of
independent writers (after a `# ---- Independent writer` comment, data/nlu*.yml): they are the
validation material. Each fold trains on every in-house line plus the other folds' independent
lines and scores the held-back independent lines with `RasaParser.parse` (fallback threshold
included). `--no-independent` trains on the in-house lines alone (one model per language, the
same validation folds): what the independent lines themselves add.

    nice .venv/bin/python scripts/nlu_cv.py --name shipped [--override '{"DIETClassifier": {"epochs": 30}}']
        [--languages en,de] [--folds 3] [--out results/cv.jsonl]

Slow (one training per fold and language): run it niced on a shared machine. Every validation
answer is kept (<out>.predictions.jsonl), so what the router does after the model (the
fallback threshold, problem cues overriding a happy reading) is scored without retraining:

    .venv/bin/python scripts/nlu_cv.py --report results/cv.predictions.jsonl

A writer's `out_of_scope` line counts as right when it falls back (the parser answers
nlu_fallback for that internal intent); macro-F1 averages the 12 public intents.
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
    options.add_argument("--name")
    options.add_argument("--report", help="score a predictions file under the router's policies; no training")
    options.add_argument("--override", default="{}", help="step name -> keys, merged into every language's pipeline")
    options.add_argument("--replace", default="{}", help="step name -> a whole step that replaces it")
    options.add_argument("--languages", default="")
    options.add_argument("--folds", type=int, default=3)
    options.add_argument("--no-independent", action="store_true")
    options.add_argument("--out", default=str(ROOT / "results" / "cv.jsonl"))
    args = options.parse_args()
    if args.report:
        report(Path(args.report))
        return
    if not args.name:
        options.error("--name is required (or --report FILE)")

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


OUT_OF_SCOPE = "out_of_scope"
HAPPY = frozenset({"works_well", "affirm", "thanks"})


def routed(row: dict, threshold: float, ambiguity: float, cue_over: frozenset[str]) -> tuple[str, float]:
    """What the router answers for one stored validation answer under one policy: the model's
    top public intent unless under `threshold` or within `ambiguity` of the next one (then
    nlu_fallback); a problem cue turns a reading in `cue_over` into the problem it names."""
    from bot.base.parse import DELIVERY_PROBLEMS, INTENTS
    from bot.nlu.cues import problem_cue

    ranking = [(name, conf) for name, conf in row["ranking"] if name != "nlu_fallback"]
    if not ranking:
        intent, conf = "nlu_fallback", 0.0
    else:
        (intent, conf), second = ranking[0], (ranking[1][1] if len(ranking) > 1 else 0.0)
        if intent not in INTENTS or conf < threshold or conf - second < ambiguity:
            intent = "nlu_fallback"
    if intent in cue_over:
        cue = problem_cue(row["text"])
        if cue is not None:
            intent = "delivery_problem" if cue in DELIVERY_PROBLEMS else "product_problem"
    return intent, conf


def report(path: Path) -> None:
    """Each candidate and language under a grid of router policies: macro-F1 (12 intents),
    share wrong at >= 0.8, dangerous reads, out-of-scope lines answered with an intent."""
    from bot.base.parse import INTENTS
    from bot.nlu.router_eval import HAPPY_READS, MUST_BE_HEARD

    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in rows:
        groups[(row["name"], row["language"])].append(row)
    policies = [(t, a, over) for t in (0.55, 0.6, 0.7) for a in (0.1,)
                for over in (frozenset(), HAPPY, HAPPY | {"mixed_feedback"}, HAPPY | {"mixed_feedback", "nlu_fallback"})]
    print("name language threshold cue_over  macroF1  wrong>=.8  dangerous  oos->intent  n")
    for (name, language), items in sorted(groups.items()):
        for threshold, ambiguity, over in policies:
            gold = ["nlu_fallback" if r["gold"] == OUT_OF_SCOPE else r["gold"] for r in items]
            answers = [routed(r, threshold, ambiguity, over) for r in items]
            f1s = []
            for label in INTENTS:
                tp = sum(g == label and p == label for g, (p, _) in zip(gold, answers))
                fp = sum(g != label and p == label for g, (p, _) in zip(gold, answers))
                fn = sum(g == label and p != label for g, (p, _) in zip(gold, answers))
                if tp + fn:
                    f1s.append(2 * tp / (2 * tp + fp + fn))
            wrong = sum(p != g and p != "nlu_fallback" and c >= CONFIDENTLY for g, (p, c) in zip(gold, answers))
            dangerous = sum(g in MUST_BE_HEARD and p in HAPPY_READS for g, (p, _) in zip(gold, answers))
            oos = [p for g, (p, _) in zip(gold, answers) if g == "nlu_fallback"]
            label = "+".join(sorted(x[:5] for x in over)) or "-"
            print(f"{name} {language} {threshold:.2f} {label:28s} {sum(f1s) / len(f1s):.3f}  "
                  f"{wrong / len(items):.3f}  {dangerous}  {sum(p != 'nlu_fallback' for p in oos)}/{len(oos)}  {len(items)}")


if __name__ == "__main__":
    main()
