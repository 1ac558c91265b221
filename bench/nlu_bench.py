"""NLU figures against the issue's targets: macro-F1 >= 0.90, parse p50 <= 15 ms and
p99 <= 40 ms (model loaded once), training from scratch <= 3 min, cached load <= 15 s.

`python -m bench.nlu_bench [--train] [--config config.yml] [--rounds 3]`; `--train` (slow)
also times a from-scratch training in a temporary folder, with Rasa's cache bypassed.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

TARGETS = {"macro_f1": 0.90, "p50_ms": 15.0, "p99_ms": 40.0, "train_s": 180.0, "load_s": 15.0}


def _line(label: str, value: float, unit: str, target: float, higher_is_better: bool) -> str:
    ok = value >= target if higher_is_better else value <= target
    sign = ">=" if higher_is_better else "<="
    return f"{label:<28} {value:>9.3f} {unit:<3} (target {sign} {target:g}) {'ok' if ok else 'MISS'}"


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> None:
    """Print the figures; `argv` None means defaults (as `python -m bench` calls it)."""
    options = argparse.ArgumentParser(prog="nlu_bench", description=__doc__)
    options.add_argument("--config", default="config.yml")
    options.add_argument("--train", action="store_true", help="also time training from scratch")
    options.add_argument("--rounds", type=int, default=3, help="passes over the test set")
    args = options.parse_args(argv or [])

    from bot.nlu.rasa_nlu import RasaParser, load_nlu_settings, prepare_environment, train

    settings = load_nlu_settings(Path(args.config))
    if args.train:
        print(_line("training from scratch", _train_from_scratch(Path(args.config)), "s",
                    TARGETS["train_s"], False), flush=True)

    path = train(settings)  # the cached model; trains only when none matches
    prepare_environment(settings.model_dir)
    started = time.monotonic()
    import rasa.core.agent  # noqa: F401  (import cost shown apart from the model load)

    imported = time.monotonic()
    parser = RasaParser.load(path, settings.confidence_threshold)
    loaded = time.monotonic()
    print(f"{'import rasa':<28} {imported - started:>9.3f} s", flush=True)
    print(_line("cached model load", loaded - imported, "s", TARGETS["load_s"], False))
    print(_line("import + load", loaded - started, "s", TARGETS["load_s"], False), flush=True)

    from bot.nlu.evaluate import evaluate, load_examples

    examples = load_examples(settings.test_data)
    result = evaluate(parser, examples)
    print(_line(f"macro-F1 ({len(examples)} examples)", result.macro_f1, "", TARGETS["macro_f1"],
                True))
    print(f"{'accuracy':<28} {result.accuracy:>9.3f}")

    latencies = []
    for _ in range(max(1, args.rounds)):
        for example in examples:
            tick = time.perf_counter()
            parser.parse(example.text)
            latencies.append((time.perf_counter() - tick) * 1000)
    print(_line(f"parse p50 ({len(latencies)} parses)", _percentile(latencies, 0.50), "ms",
                TARGETS["p50_ms"], False))
    print(_line("parse p99", _percentile(latencies, 0.99), "ms", TARGETS["p99_ms"], False),
          flush=True)
    async_latencies = asyncio.run(_aparse_latencies(parser, [ex.text for ex in examples]))
    print(f"{'aparse p50 / p99 (in a loop)':<28} {_percentile(async_latencies, 0.5):>9.3f} / "
          f"{_percentile(async_latencies, 0.99):.3f} ms", flush=True)
    parser.close()


def _train_from_scratch(config: Path) -> float:
    """Seconds to train in a fresh process, into a temporary folder, with a cold Rasa cache
    (this process stays cold too, so the load figures below include importing Rasa)."""
    with tempfile.TemporaryDirectory(prefix="nlu-bench-") as tmp:
        script = ("import dataclasses, pathlib, sys\n"
                  "from bot.nlu.rasa_nlu import load_nlu_settings, train\n"
                  "s = load_nlu_settings(sys.argv[1])\n"
                  "train(dataclasses.replace(s, model_dir=pathlib.Path(sys.argv[2])))\n")
        env = {**os.environ, "RASA_CACHE_DIRECTORY": str(Path(tmp) / "rasa-cache")}
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", script, str(config), tmp], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.monotonic() - started


async def _aparse_latencies(parser, texts: list[str]) -> list[float]:
    """The bot's path: `await aparse` from inside a running event loop."""
    latencies = []
    for text in texts:
        tick = time.perf_counter()
        await parser.aparse(text)
        latencies.append((time.perf_counter() - tick) * 1000)
    return latencies


if __name__ == "__main__":
    main(sys.argv[1:])
