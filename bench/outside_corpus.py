"""The outside yardstick: a public customer-support corpus that nobody here wrote, mapped to
our intents, never trained on.

Corpus: Bitext "Sample Customer Service" intent-detection dataset (customer-support domain,
27 intents, CDLA-Sharing-1.0), its *testing* split `Bitext_Sample_Customer_Service_Testing_
Dataset.csv` (810 utterances; columns utterance, intent, entity_type, ...), as published in
the public repository bitext/customer-support-intent-detection-training-dataset, file
data/test/, commit e970229e (sha256 below). It is not shipped in this repository or on any
package registry: place the CSV at `../shared/` (beside the checkout) or name it in
AFTERCARE_OUTSIDE_CORPUS; without it the bench says "not available".

Mapping (Bitext intent -> ours, by /work/shared/CONVERSATION.md "What each intent means"):

    track_order, delivery_period                        -> delivery_problem  (tracking, ETA)
    get_refund, track_refund, check_refund_policy       -> return_refund
    contact_human_agent, contact_customer_service       -> human
    complaint, review, cancel_order, change_order, check_cancellation_fee,
    newsletter_subscription, delete_account             -> not scored (see below)
    the rest (place_order, accounts, passwords, invoices, payment, shipping address,
    delivery_options)                                   -> out of scope: scored apart, as the
        share the parser answers with a confident (>= 0.9) intent instead of falling back

Not scored rather than guessed: a complaint may be any of our problem intents and a review
any feedback intent; cancelling an order after it was sent is close to return_refund, and
"unsubscribe from the newsletter" / "delete my account" close to opt_out, so neither a hit
nor a fallback there is clearly right or wrong.

`python -m bench.outside_corpus [CSV] [OUT_DIR]` writes `in_scope.yml` and `out_of_scope.yml`
(Rasa NLU YAML) under bench/out/outside/ (git-ignored); then
`aftercare nlu test --data bench/out/outside/in_scope.yml`.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILE_NAME = "Bitext_Sample_Customer_Service_Testing_Dataset.csv"
OUT_DIR = ROOT / "bench" / "out" / "outside"
OUT_OF_SCOPE = "out_of_scope"
SHA256 = "e5b8984f88ff4e032dec929c93ab15e8165b439056cce665959a386fc14d06d5"  # the copy measured

MAPPING = {
    "track_order": "delivery_problem",
    "delivery_period": "delivery_problem",
    "get_refund": "return_refund",
    "track_refund": "return_refund",
    "check_refund_policy": "return_refund",
    "contact_human_agent": "human",
    "contact_customer_service": "human",
}
UNSCORED = frozenset({"complaint", "review", "cancel_order", "change_order",
                      "check_cancellation_fee", "newsletter_subscription", "delete_account"})


def find_source() -> Path | None:
    """The corpus CSV, if someone placed it: AFTERCARE_OUTSIDE_CORPUS, then ../shared/."""
    named = os.environ.get("AFTERCARE_OUTSIDE_CORPUS")
    candidates = [Path(named)] if named else []
    candidates += [ROOT.parent / "shared" / FILE_NAME, ROOT.parent / "shared" / "bitext" / FILE_NAME]
    return next((path for path in candidates if path.is_file()), None)


def same_copy(source: Path) -> bool:
    """Whether `source` is byte for byte the file the README's figures were measured on."""
    return hashlib.sha256(source.read_bytes()).hexdigest() == SHA256


def read_rows(source: Path) -> list[tuple[str, str]]:
    """(utterance, Bitext intent) pairs; a file without those columns is refused by name."""
    with open(source, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"utterance", "intent"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{source}: no column {', '.join(sorted(missing))} "
                             f"(expected the Bitext testing CSV)")
        return [(row["utterance"].strip(), row["intent"].strip()) for row in reader
                if row["utterance"] and row["utterance"].strip()]


def split(rows: list[tuple[str, str]]) -> tuple[dict[str, list[str]], list[str]]:
    """Mapped utterances by our intent, and the out-of-scope ones (unscored ones dropped)."""
    mapped: dict[str, list[str]] = {}
    outside: list[str] = []
    for text, intent in rows:
        if intent in MAPPING:
            mapped.setdefault(MAPPING[intent], []).append(text)
        elif intent not in UNSCORED:
            outside.append(text)
    return mapped, outside


def _yaml(by_intent: dict[str, list[str]]) -> str:
    """Rasa NLU YAML; brackets become parentheses so no text reads as entity markup, and
    each example is a JSON string, which is valid YAML whatever it contains."""
    lines = ['version: "3.1"', "nlu:"]
    for intent, texts in sorted(by_intent.items()):
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += ["    - " + t.replace("[", "(").replace("]", ")").replace("\n", " ")
                  for t in texts]
    return "\n".join(lines) + "\n"


def convert(source: Path, out_dir: Path = OUT_DIR) -> tuple[Path, Path]:
    """Write in_scope.yml and out_of_scope.yml from the CSV; return their paths."""
    mapped, outside = split(read_rows(source))
    out_dir.mkdir(parents=True, exist_ok=True)
    in_scope, out_of_scope = out_dir / "in_scope.yml", out_dir / "out_of_scope.yml"
    in_scope.write_text(_yaml(mapped), encoding="utf-8")
    out_of_scope.write_text(_yaml({OUT_OF_SCOPE: outside}), encoding="utf-8")
    return in_scope, out_of_scope


def main(argv: list[str]) -> int:
    source = Path(argv[0]) if argv else find_source()
    if source is None:
        print("outside corpus: not available (place "
              f"{FILE_NAME} in ../shared/ or set AFTERCARE_OUTSIDE_CORPUS)")
        return 1
    paths = convert(source, Path(argv[1]) if len(argv) > 1 else OUT_DIR)
    print(json.dumps({"source": str(source), "written": [str(p) for p in paths]}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
