"""Run every `bench/*_bench.py` module's `main()`, or only those named: `python -m bench nlu`;
options after one name are its own: `python -m bench hosting --parts startup,service`."""
from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def bench_modules() -> list[str]:
    """The benchmark module names, sorted, found next to this file."""
    folder = Path(__file__).resolve().parent
    return sorted(info.name for info in pkgutil.iter_modules([str(folder)])
                  if info.name.endswith("_bench"))


def main(argv: list[str]) -> int:
    split = next((n for n, arg in enumerate(argv) if arg.startswith("-")), len(argv))
    argv, options = argv[:split], argv[split:]
    if options and len(argv) != 1:
        print("options follow exactly one benchmark's name: python -m bench hosting --parts startup",
              file=sys.stderr)
        return 2
    wanted = {name.removesuffix("_bench") for name in argv}
    names = [name for name in bench_modules()
             if not wanted or name.removesuffix("_bench") in wanted]
    if wanted and not names:
        print(f"no such benchmark: {' '.join(sorted(wanted))}; have: "
              f"{' '.join(bench_modules())}", file=sys.stderr)
        return 2
    for name in names:
        print(f"== {name}", flush=True)
        importlib.import_module(f"bench.{name}").main(options)  # defaults unless given
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
