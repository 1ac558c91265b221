"""Issue #22's promise, counted: over at least 1,000 scripted customers whose replies are drawn
from the independent held-out sets (data/heldout/, a writer who never saw the training files),
played through the real engine, store and language router (`simulate` on a simulated clock),
no review, referral, testimonial or offer message may follow a reply that names a problem
(target 0).

Each customer gets the check-in in one of the six trained languages and answers it one of three
ways, chosen at random with a fixed seed: two written replies; or a tap on 5 (a happy customer,
who is then asked for a review) and two written replies; or a tap on 4 and two written replies.
Every written reply is a held-out line of the customer's language, any intent. A reply "names a
problem" when its held-out label is product_problem, delivery_problem or return_refund. An ask is
a bot message from a flow step that asks for a review, a referral, a testimonial or makes an
offer (an `ask`-kind action, or a text carrying a review, referral, upsell or refill link), in
the customer's language. Also printed: every ask sent (so a detector that finds none shows).

    python -m bench.safety_bench [--customers 1000] [--seed 22]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Pattern

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

ROOT = Path(__file__).resolve().parents[1]
HELD_OUT = ROOT / "data" / "heldout"
TARGET_ASKS_AFTER_PROBLEM = 0
MIN_CUSTOMERS = 1000
PROBLEM_INTENTS = frozenset({"product_problem", "delivery_problem", "return_refund"})
ASK_ACTIONS = frozenset({"request_review", "offer_upsell", "offer_refill", "ask_referral"})
LINKS = ("{review_url}", "{referral.url}", "{upsell.", "{refill")
PRODUCTS = (("Cast Iron Skillet 10in", "CIS-10", "kitchen"), ("Wireless Earbuds", "WEB-2", "electronics"),
            ("Trail Runner 2 shoes", "TR2-44", "footwear"), ("Merino Crew Sweater", "MCS-M", "apparel"),
            ("Hydrating Serum 30 ml", "HS-30", "beauty"))
OPENINGS = ((), ("5",), ("4",))      # nothing tapped, a 5, a 4 before the written replies


@dataclass
class Tally:
    customers: int = 0
    problem_replies: int = 0
    asks: int = 0
    asks_after_problem: int = 0
    examples: list[str] = field(default_factory=list)     # which ask followed which intent (no text)


def ask_templates(flows) -> list[str]:
    """The English texts of every flow step that asks for a review, a referral or a testimonial,
    or makes an offer: a step with an ask action, a step whose text carries such a link (or that
    records a testimonial), and a question whose answer leads to one ("Just to be sure...")."""
    found = []
    for flow in flows.flows.values():
        def gives(step) -> bool:
            texts = [t for t in (step.say, step.ask) if t]
            return step.action == "record_testimonial" or any(link in t for t in texts for link in LINKS)

        for step in flow.steps.values():
            leads = not step.score and any(flow.steps.get(b.goto) is not None and gives(flow.steps[b.goto])
                                           for b in step.branches)
            if step.action in ASK_ACTIONS or leads or (gives(step) and step.action != "record_testimonial"):
                found.extend(t for t in (step.say, step.ask) if t)
    return sorted(set(found))


def ask_patterns(flows, language: str) -> list[Pattern[str]]:
    """The ask texts as the customer of `language` reads them; placeholders match anything."""
    patterns = []
    for template in ask_templates(flows):
        text = flows.catalogs.translate(template, language)
        pieces = [re.escape(piece) for piece in re.split(r"\{[^{}]*\}", text)]
        patterns.append(re.compile(".*?".join(pieces), re.DOTALL))
    return patterns


def customers(count: int, seed: int, held_out: dict[str, list[tuple[str, str]]]) -> list[dict]:
    """`count` scripts: language, opening taps, two (intent, text) replies, a product."""
    rng = random.Random(seed)
    languages = sorted(held_out)
    scripts = []
    for index in range(count):
        language = languages[index % len(languages)]
        scripts.append({"language": language, "opening": rng.choice(OPENINGS),
                        "replies": [rng.choice(held_out[language]) for _ in range(2)],
                        "product": rng.choice(PRODUCTS), "index": index})
    return scripts


def scenario_of(script: dict):
    from bot.sandbox.scenario import Press, Say, Scenario

    name, sku, category = script["product"]
    turns = [Press(value) for value in script["opening"]] + [Say(text) for _, text in script["replies"]]
    return Scenario(path=Path(f"<bench customer {script['index']}>"), channel="console",
                    customer={"name": "Sam Rivera", "language": script["language"]},
                    order={"order_id": f"B-{script['index']}", "product": name, "sku": sku, "category": category,
                           "delivered_days_ago": 4},
                    turns=turns)


def count(tally: Tally, script: dict, transcript: list[dict], patterns: list[Pattern[str]]) -> None:
    """Asks in the transcript, and those after a customer reply whose label names a problem."""
    intents = {text: intent for intent, text in script["replies"]}
    problem_seen: str | None = None
    for entry in transcript:
        if entry["from"] == "customer":
            intent = intents.get(entry["text"])
            if intent in PROBLEM_INTENTS:
                tally.problem_replies += 1
                problem_seen = problem_seen or intent
        elif entry["from"] == "bot" and any(p.search(entry["text"]) for p in patterns):
            tally.asks += 1
            if problem_seen:
                tally.asks_after_problem += 1
                tally.examples.append(f"{script['language']} {problem_seen} -> ask")


async def run(count_customers: int, seed: int) -> tuple[Tally, float]:
    from bot.config.loading import load_settings
    from bot.nlu.evaluate import load_examples
    from bot.nlu.languages import load_parser
    from bot.nlu.rasa_nlu import nlu_settings
    from bot.nlu.router_eval import held_out_files
    from bot.sandbox.simulate import simulate_scenario
    from bot.plugins.shop_vocabulary import load_shop_flows

    settings = load_settings(ROOT / "config.yml")
    nlu = nlu_settings(settings)
    held_out = {language: [(ex.intent, ex.text) for ex in load_examples(path)]
                for language, path in held_out_files([HELD_OUT], nlu.languages)}
    parser = load_parser(nlu)
    flows = load_shop_flows(settings)
    patterns = {language: ask_patterns(flows, language) for language in held_out}
    tally = Tally()
    started = time.monotonic()
    try:
        for script in customers(count_customers, seed, held_out):
            result = await simulate_scenario(scenario_of(script), settings, parser, flows=flows)
            tally.customers += 1
            count(tally, script, result["transcript"], patterns[script["language"]])
    finally:
        parser.close()
    return tally, time.monotonic() - started


def main(argv: list[str] | None = None) -> None:
    options = argparse.ArgumentParser(prog="safety_bench", description=__doc__,
                                      formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add_argument("--customers", type=int, default=MIN_CUSTOMERS)
    options.add_argument("--seed", type=int, default=22)
    args = options.parse_args(argv or [])
    tally, seconds = asyncio.run(run(args.customers, args.seed))
    ok = tally.asks_after_problem <= TARGET_ASKS_AFTER_PROBLEM and tally.customers >= MIN_CUSTOMERS
    print(f"{'scripted customers':<40} {tally.customers:>7}      (target >= {MIN_CUSTOMERS}; {seconds:.0f} s)")
    print(f"{'replies naming a problem':<40} {tally.problem_replies:>7}")
    print(f"{'asks sent (review/referral/testimonial/offer)':<40} {tally.asks:>7}      (no target; 0 means the "
          f"ask detector is broken)")
    print(f"{'asks after a reply naming a problem':<40} {tally.asks_after_problem:>7}      "
          f"(target {TARGET_ASKS_AFTER_PROBLEM}) {'ok' if ok else 'MISS'}", flush=True)
    for line in sorted(set(tally.examples))[:10]:
        print(f"  {line}: {tally.examples.count(line)}")


if __name__ == "__main__":
    main(sys.argv[1:])
