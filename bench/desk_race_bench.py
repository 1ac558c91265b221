"""The support desk under a race: 2 agents x 200 cases, every claim and thread reply delivered at
once through the real slack-bolt app and the loopback Slack, then a private note from each agent on
every case. Targets: 0 duplicate customer messages, 0 customers without their one message, 0
relayed notes, every loser told (2 refusals per case: its claim and its reply)."""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
from pathlib import Path

from bot.config.loading import load_settings
from bot.sandbox.platforms.slack_race import race

CONFIG = Path(__file__).resolve().parents[1] / "config.yml"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=200)
    args = parser.parse_args(argv)
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    logging.getLogger("slack_bolt").setLevel(logging.ERROR)
    result = asyncio.run(race(load_settings(CONFIG, environ={}), cases=args.cases))
    told, want = result.losers_told, 2 * args.cases
    print(f"desk race: 2 agents x {args.cases} cases, {4 * args.cases} simultaneous claims and replies in "
          f"{result.seconds:.1f} s; duplicate customer messages {result.duplicates} (target 0), customers "
          f"without their message {result.missing} (target 0), relayed notes {result.relayed_notes} of "
          f"{result.notes_posted} posted (target 0), losers told {told} of {want} (target {want}); "
          f"cases won: " + ", ".join(f"{agent} {n}" for agent, n in sorted(result.owners.items())))


if __name__ == "__main__":
    main()
