"""Parse CPU per message in one process (issue #27): the bot's own path with its models in
process, `LanguageRouter.aparse(text, language)` from an event loop (batches of what waits,
bot/nlu/batching.py) and `with_cues` on the answer, as the inbound handler calls them, over the
reply bench's texts. No target of its own: the target is the bot's CPU per message against
`rasa run` (`python -m bench hosting --parts ratio`); this shows where a parse's share goes.

Printed per batch size (how many messages wait together): CPU per message of the whole process,
of the event loop's thread (routing, batching, cues) and of the parse thread, and of that the
part inside DIET's TensorFlow call (which runs without the GIL); the rest of the parse thread is
Python holding the GIL, which the event loop then waits for.

`python -m bench.parse_cpu_bench [--batches 1,8,16] [--rounds 20] [--profile 8]`; `--profile N`
also prints the parse thread's cProfile at batches of N.
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

ROOT = Path(__file__).resolve().parents[1]


class ParseClock:
    """CPU seconds of the parse thread and of DIET's TensorFlow call, summed over parses."""

    def __init__(self) -> None:
        self.parse = 0.0
        self.tensorflow = 0.0
        self.batches = 0
        self.profile: Optional[cProfile.Profile] = None

    def around_parse(self, parse_many: Callable[..., Any]) -> Callable[..., Any]:
        def timed(texts: Any) -> Any:
            started = time.thread_time()
            if self.profile is not None:
                self.profile.enable()
            try:
                return parse_many(texts)
            finally:
                if self.profile is not None:
                    self.profile.disable()
                self.parse += time.thread_time() - started
                self.batches += 1
        return timed

    def around_predict(self, predict: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any) -> Any:
            started = time.thread_time()
            try:
                return predict(*args)
            finally:
                self.tensorflow += time.thread_time() - started
        return timed


async def _pass(router: Any, texts: list[str], size: int, language: str) -> int:
    from bot.nlu.cues import with_cues

    done = 0
    for start in range(0, len(texts), size):
        chunk = texts[start:start + size]
        parses = await asyncio.gather(*(router.aparse(text, language) for text in chunk))
        for parse in parses:
            with_cues(parse)
        done += len(chunk)
    return done


async def measure(router: Any, clock: ParseClock, texts: list[str], size: int, rounds: int,
                  language: str = "en") -> dict[str, float]:
    """CPU ms per message at batches of `size`, after two rounds of warming up."""
    for _ in range(2):
        await _pass(router, texts, size, language)
    clock.parse = clock.tensorflow = 0.0
    clock.batches = 0
    process, loop_thread, done = time.process_time(), time.thread_time(), 0
    for _ in range(rounds):
        done += await _pass(router, texts, size, language)
    process, loop_thread = time.process_time() - process, time.thread_time() - loop_thread
    return {"process": 1000 * process / done, "loop": 1000 * loop_thread / done,
            "parse": 1000 * clock.parse / done, "tensorflow": 1000 * clock.tensorflow / done,
            "batch": done / max(1, clock.batches)}


def main(argv: Optional[list[str]] = None) -> None:
    """Print the figures; `argv` None means defaults (as `python -m bench` calls it)."""
    options = argparse.ArgumentParser(prog="parse_cpu_bench", description=__doc__,
                                      formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add_argument("--config", default=str(ROOT / "config.yml"))
    options.add_argument("--batches", default="1,8,16", help="batch sizes, comma-separated")
    options.add_argument("--rounds", type=int, default=20, help="passes over the texts per batch size")
    options.add_argument("--profile", type=int, default=0, metavar="N",
                         help="also print the parse thread's cProfile at batches of N")
    args = options.parse_args(argv or [])

    from bot.nlu.languages import load_parser
    from bot.nlu.rasa_nlu import load_nlu_settings

    router = load_parser(load_nlu_settings(Path(args.config)))
    clock = ParseClock()
    for parser in getattr(router, "parsers", {"": router}).values():
        parser.parse_many = clock.around_parse(parser.parse_many)   # the Batcher calls it per batch
    from rasa.utils.tensorflow.models import RasaModel

    # DIET's call into its TensorFlow graph (and the tensors' conversion), whichever way it is reached;
    # put back at the end (`python -m bench` runs the other benchmarks in this process)
    predict = RasaModel._rasa_predict
    RasaModel._rasa_predict = clock.around_predict(predict)  # type: ignore[method-assign]
    try:
        _report(router, clock, args)
    finally:
        RasaModel._rasa_predict = predict  # type: ignore[method-assign]
        router.close()


def _report(router: Any, clock: ParseClock, args: argparse.Namespace) -> None:
    from bench.reply_bench import TEXTS

    texts = list(TEXTS)
    print(f"load average {os.getloadavg()[0]:.1f}; {len(texts)} texts x {args.rounds} rounds", flush=True)
    print(f"{'batch':>5} {'process':>9} {'loop':>7} {'parse':>7} {'in TF':>7} {'parse, GIL':>11}  (CPU ms a message)")
    for size in [int(n) for n in args.batches.split(",") if n.strip()]:
        figures = asyncio.run(measure(router, clock, texts, size, args.rounds))
        print(f"{figures['batch']:>5.1f} {figures['process']:>9.2f} {figures['loop']:>7.2f} "
              f"{figures['parse']:>7.2f} {figures['tensorflow']:>7.2f} "
              f"{figures['parse'] - figures['tensorflow']:>11.2f}", flush=True)
    if args.profile:
        clock.profile = cProfile.Profile()
        asyncio.run(measure(router, clock, texts, args.profile, args.rounds))
        stats = pstats.Stats(clock.profile, stream=sys.stdout)
        stats.sort_stats("cumulative").print_stats(40)
        stats.sort_stats("tottime").print_stats(25)
    print(f"load average {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
