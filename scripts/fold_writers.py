"""Fold an independent writer's training lines (data/incoming/) into data/nlu*.yml.

Issue #22: training grows from writers who never saw `data/`, never from reading held-out
misses. A writer's line joins its language's training file unless it (nearly) copies a
held-out line, so every held-out figure stays earned on unseen text:

- normalised equal to a held-out line of any language, or >= 0.85 similar (bot/nlu/hygiene.py)
  to one of its own language (data/nlu_test*.yml, data/heldout/nlu_test_*.yml) or to a sentence
  of tests/nlu/test_parse.py (English);
- already in training (normalised equal): not added twice.

The lines go in a block of their own after a `# ---- Independent writer '<name>'` comment
(scripts/nlu_cv.py validates on those blocks). Sealed sets are never read.

    .venv/bin/python scripts/fold_writers.py --writer writer3 --name train3 [--dry-run]

reads data/incoming/<writer>_<lang>.yml (the 12 intents) and <writer>_other_<lang>.yml (intent
`out_of_scope`: greetings, off-topic, gibberish; the parser answers nlu_fallback for it).
"""
from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.nlu.evaluate import load_examples  # noqa: E402
from bot.nlu.hygiene import normalise, overlaps  # noqa: E402

LANGUAGES = ("en", "es", "pt", "de", "fr", "it")
MARKER = "# ---- Independent writer"


def training_file(language: str) -> Path:
    return ROOT / "data" / ("nlu.yml" if language == "en" else f"nlu_{language}.yml")


def held_out_files() -> dict[str, list[Path]]:
    """Every language's held-out files (never a sealed one)."""
    found: dict[str, list[Path]] = defaultdict(list)
    for path in sorted((ROOT / "data").rglob("nlu_test*.yml")):
        if "sealed" in str(path.relative_to(ROOT)):
            continue
        stem = path.stem.removeprefix("nlu_test").lstrip("_") or "en"
        found[stem].append(path)
    return found


def parse_test_sentences() -> list[str]:
    from tests.nlu.test_parse import CASES, ROBUST, UNRELATED

    return [t for cases in (CASES, ROBUST) for texts in cases.values() for t in texts] + list(UNRELATED)


def fold(writer: str, name: str, dry_run: bool) -> None:
    held = held_out_files()
    everywhere = {normalise(ex.text) for paths in held.values() for p in paths for ex in load_examples(p)}
    for language in LANGUAGES:
        sources = [ROOT / "data" / "incoming" / f"{writer}_{language}.yml",
                   ROOT / "data" / "incoming" / f"{writer}_other_{language}.yml"]
        target = training_file(language)
        text = target.read_text(encoding="utf-8")
        if f"{MARKER} '{name}'" in text:
            raise SystemExit(f"{target}: already holds writer '{name}'")
        trained = {normalise(ex.text) for ex in load_examples(target)}
        own_held = [ex.text for p in held[language] for ex in load_examples(p)]
        if language == "en":
            own_held += parse_test_sentences()
        kept: dict[str, list[str]] = defaultdict(list)
        total = dropped = 0
        for source in sources:
            if not source.exists():
                raise SystemExit(f"{source}: missing")
            for ex in load_examples(source):
                total += 1
                key = normalise(ex.text)
                if not key or key in everywhere or key in trained or overlaps([ex.text], own_held):
                    dropped += 1
                    continue
                trained.add(key)
                kept[ex.intent].append(ex.text)
        block = (f"\n{MARKER} '{name}' (issue #22): wrote from the intent definitions of\n"
                 f"# CONVERSATION.md and a product list only, never saw this file or any held-out set;\n"
                 f"# {dropped} of its {total} lines left out as copies of held-out or training lines.\n")
        for intent, lines in kept.items():
            block += f"- intent: {intent}\n  examples: |\n" + "".join(f"    - {_safe(t)}\n" for t in lines)
        print(f"{language}: {total - dropped} of {total} lines kept ({dropped} copies left out)")
        if not dry_run:
            target.write_text(text.rstrip("\n") + "\n" + block, encoding="utf-8")


def _safe(text: str) -> str:
    """One line, as Rasa's example lists need it."""
    return " ".join(text.split())


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add_argument("--writer", required=True, help="file prefix in data/incoming, e.g. writer3")
    options.add_argument("--name", required=True, help="the writer's name in the block comment, e.g. train3")
    options.add_argument("--dry-run", action="store_true")
    args = options.parse_args()
    fold(args.writer, args.name, args.dry_run)


if __name__ == "__main__":
    main()
