"""Issue #17's NLU budgets, measured on the product's own code (bot/nlu/languages.py):
training every language's model from scratch <= 6 min on 2 cores, peak RSS of a process that
holds every model (what `aftercare run` loads) <= 1.2 GB, parse p99 through the language
router within 20% of the English model's alone, and macro-F1 per language on its held-out set
(target >= 0.90).

The routed parse is timed as the bot parses: every language's held-out sentences, each with its
customer's language known (`LanguageRouter.parse(text, language)`, as the inbound handler
calls it); the baseline is the English model alone on the English sentences, what the bot did
before it spoke six languages. The two are timed interleaved, sentence by sentence, so a busy
machine slows both alike. Also printed (no target): the routed p99 with the language unknown
(every model scored) and what routing alone adds per message.

`python -m bench.languages_bench [--no-train]`: by default it also trains every language's model
from scratch in a temporary folder, in a child process (minutes); `--no-train` skips that.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

TARGETS = {"train_s": 360.0, "rss_mb": 1200.0, "p99_ratio": 1.2}
# The routed parse before issue #22's data (main at 7dc33a9, this bench's sentences): routed p99 over
# the English model alone 1.003x at load ~15 (180.2 vs 179.6 ms), 1.012x on a quiet machine
# (6.9 vs 6.8 ms, README Performance). "No more than 1.2x today's" is checked on the ratio, which
# the machine's load moves far less than the milliseconds.
BEFORE_22 = {"ratio": 1.012, "routed_p99_ms": 6.9}


def _line(label: str, value: float, unit: str, target: float, higher_is_better: bool) -> str:
    ok = value >= target if higher_is_better else value <= target
    sign = ">=" if higher_is_better else "<="
    return f"{label:<34} {value:>9.3f} {unit:<3} (target {sign} {target:g}) {'ok' if ok else 'MISS'}"


def _p99(seconds: list[float]) -> float:
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))] * 1000


def _interleaved(calls: dict[str, tuple[Callable[..., object], list[tuple]]],
                 rounds: int = 3) -> dict[str, list[float]]:
    """Seconds of each call per argument tuple, the named series taking turns call by call."""
    spent: dict[str, list[float]] = {name: [] for name in calls}
    longest = max(len(args) for _, args in calls.values())
    for _ in range(rounds):
        for i in range(longest):
            for name, (call, args) in calls.items():
                one = args[i % len(args)]
                started = time.perf_counter()
                call(*one)
                spent[name].append(time.perf_counter() - started)
    return spent


def _train_from_scratch(config: Path) -> float:
    """Wall seconds of `aftercare nlu train --force` into an empty model folder (child process)."""
    with tempfile.TemporaryDirectory(prefix="bench-train-") as folder:
        text = config.read_text(encoding="utf-8").replace("model_dir: models", f"model_dir: {folder}")
        copy = config.resolve().parent / f".bench-config-{os.getpid()}.yml"
        copy.write_text(text, encoding="utf-8")
        try:
            started = time.monotonic()
            aftercare = Path(sys.executable).parent / "aftercare"      # the installed CLI, as a user runs it
            subprocess.run([str(aftercare), "--config", str(copy), "nlu", "train", "--force"],
                           check=True, capture_output=True)
            return time.monotonic() - started
        finally:
            copy.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> None:
    options = argparse.ArgumentParser(prog="languages_bench", description=__doc__)
    options.add_argument("--config", default="config.yml")
    options.add_argument("--no-train", dest="train", action="store_false",
                         help="skip timing a from-scratch training of every model")
    args = options.parse_args(argv or [])

    from bot.nlu.evaluate import load_examples
    from bot.nlu.languages import LanguageRouter, load_parser
    from bot.nlu.rasa_nlu import load_nlu_settings

    settings = load_nlu_settings(Path(args.config))
    if args.train:
        print(_line("training every language, scratch", _train_from_scratch(Path(args.config)), "s",
                    TARGETS["train_s"], False), flush=True)
    router = load_parser(settings)
    if not isinstance(router, LanguageRouter):
        print("one language only (config nlu.languages): nothing more to measure")
        return
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(_line(f"peak RSS, {len(router.languages)} models loaded", rss, "MB", TARGETS["rss_mb"], False))
    english = [(ex.text,) for ex in load_examples(settings.test_files["en"])]
    everyone = [(ex.text, lang) for lang in router.languages for ex in load_examples(settings.test_files[lang])]
    spent = _interleaved({"alone": (router.for_language("en").parse, english),
                          "routed": (router.parse, everyone),
                          "guessed": (router.parse, [(text,) for text, _ in everyone]),
                          "routing": (router.reading_language, everyone)})
    alone, routed, guessed = (_p99(spent[name]) for name in ("alone", "routed", "guessed"))
    print(_line("parse p99 routed / English alone", routed / alone, "x", TARGETS["p99_ratio"], False),
          f"({routed:.1f} ms vs {alone:.1f} ms; language known, as the bot parses)")
    print(f"{'  language unknown, all scored':<34} {guessed / alone:>9.3f} x   ({guessed:.1f} ms; no target)")
    print(f"{'  routing alone, p99 per message':<34} {_p99(spent['routing']) * 1000:>9.1f} us  (no target)")
    print(_line("routed/alone now / before #22", (routed / alone) / BEFORE_22["ratio"], "x", TARGETS["p99_ratio"],
                False), f"(before: {BEFORE_22['ratio']:.3f}x, routed p99 {BEFORE_22['routed_p99_ms']} ms on a quiet machine)")
    _router_table(router, settings)
    router.close()


def _router_table(router, settings) -> None:
    """Issue #22's figures per language: the router as the bot calls it, on the independent
    held-out sets (data/heldout/), beside the targets the sealed sets must meet."""
    from bot.nlu.evaluate import load_examples
    from bot.nlu.router_eval import held_out_files, score

    files = held_out_files([Path(settings.training_data).parent / "heldout"], settings.languages)
    training = {lang: [ex.text for ex in load_examples(data)] for lang, (data, _) in settings.language_files.items()}
    print(f"{'router on the independent sets':<34} {'n':>4} {'macro-F1':>9} {'target':>7} {'wrong>=0.8':>11} "
          f"{'dangerous':>10}")
    for one in score(router, files, training):
        print(f"  [{one.language}] {one.path.name:<27} {one.examples:>4} {one.macro_f1:>9.3f} "
              f"{'>=' + format(one.target_macro_f1, '.2f'):>7} {one.confidently_wrong:>10.1%} {len(one.dangerous):>10}  "
              f"{'ok' if not one.misses() else 'MISS'}")
    print("  targets: macro-F1 as shown, confidently wrong (>= 0.8) < 3 %, dangerous reads 0", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
