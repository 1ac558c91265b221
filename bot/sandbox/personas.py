"""The simulated people of the sandbox demo: one customer persona per order, and the agent.

Pure data and rules, no I/O: a persona reads a message the way a person would (its words and
its buttons) and answers with a tap or a sentence, or not at all. `bot.sandbox.cast` makes
them act through the loopback Telegram and Slack servers.

Which persona an order gets: the `persona` column of the order file when it has one (the
importer ignores unknown columns), else one picked from the order id (stable across runs).
"""
from __future__ import annotations

import csv
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional, Sequence, Union

from bot.sandbox.scenario import Press, Say   # the same moves a scenario file uses


Move = Union[Press, Say]

# What a bot message asks for, as a person reading it would tell.
CSAT, CES, NPS, YES_NO, TRIAGE, IMPROVE, AGENT, DELAY, INFO = (
    "csat", "ces", "nps", "yes_no", "triage", "improve", "agent", "delay", "info")

AGENT_NAME = "Dana"
AGENT_SIGNATURE = f"{AGENT_NAME} from the support team here"


@dataclass(frozen=True)
class Persona:
    """How one kind of customer answers: per message kind, the moves for its 1st, 2nd, ...
    occurrence, the last one repeating (the same question again gets the same answer)."""

    name: str
    summary: str
    moves: Mapping[str, Sequence[Move]] = field(default_factory=dict)
    blocks_before_checkin: bool = False

    def answer(self, kind: str, occurrence: int) -> Optional[Move]:
        """The move for the `occurrence`-th (0-based) message of `kind`, or None."""
        moves = self.moves.get(kind, ())
        return moves[min(occurrence, len(moves) - 1)] if moves else None


PERSONAS: dict[str, Persona] = {p.name: p for p in (
    Persona("delighted", "loves it: 5, yes to a review", {
        CSAT: [Press("5")], YES_NO: [Press("yes")], CES: [Press("7")], NPS: [Press("10")]}),
    Persona("so_so", "it's ok: 3 and a comment", {
        CSAT: [Press("3")], IMPROVE: [Say("It's ok, a bit pricey for what it is.")], NPS: [Press("7")]}),
    Persona("broken", "broken product: 1, 'it arrived cracked'", {
        CSAT: [Press("1")], TRIAGE: [Say("it arrived cracked")],
        AGENT: [Say("Thank you, that's great!")], CES: [Press("6")], NPS: [Press("5")],
        IMPROVE: [Say("Maybe a cheaper price.")]}),
    Persona("never_arrived", "never arrived: 'tracking hasn't moved'", {
        CSAT: [Say("it never arrived, tracking hasn't moved")],
        DELAY: [Say("it never arrived, tracking hasn't moved")],
        AGENT: [Say("Great, thanks for checking!")], CES: [Press("5")], NPS: [Press("8")]}),
    Persona("wants_human", "wants a person", {
        CSAT: [Say("can I talk to a person?")],
        AGENT: [Say("Is it safe to use on an induction hob?")], CES: [Press("7")], NPS: [Press("9")]}),
    Persona("not_used_yet", "not used yet: 'still in the box', later a 4", {
        CSAT: [Say("still in the box"), Press("4")], YES_NO: [Press("no")], NPS: [Press("9")]}),
    Persona("stop", "says STOP", {CSAT: [Say("STOP")]}),
    Persona("silent", "never answers"),
    Persona("blocked", "blocks the bot before the check-in", blocks_before_checkin=True),
)}
ORDER = tuple(PERSONAS)


def persona_for(order_id: str, named: Optional[str] = None) -> Persona:
    """The named persona, else a stable pick from the order id."""
    if named:
        key = named.strip().lower().replace("-", "_").replace(" ", "_")
        if key not in PERSONAS:
            raise ValueError(f"unknown persona {named!r} for order {order_id} (one of {', '.join(ORDER)})")
        return PERSONAS[key]
    return PERSONAS[ORDER[zlib.crc32(order_id.encode()) % len(ORDER)]]


def personas_in_file(path: Path | str) -> dict[str, str]:
    """order id -> the `persona` column's value, for the orders that have one (CSV or JSON)."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        doc = json.loads(path.read_text(encoding="utf-8"))
        records = doc.get("orders", []) if isinstance(doc, dict) else doc
    else:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            records = list(csv.DictReader(handle))
    found: dict[str, str] = {}
    for record in records:
        if isinstance(record, dict) and record.get("order_id") and record.get("persona"):
            found.setdefault(str(record["order_id"]).strip(), str(record["persona"]).strip())
    return found


def classify(text: str, button_values: Sequence[str]) -> str:
    """What a bot message asks, read from its buttons and words."""
    values = set(button_values)
    if values == {str(n) for n in range(1, 6)}:
        return CSAT
    if values == {str(n) for n in range(1, 8)}:
        return CES
    if values == {str(n) for n in range(0, 11)}:
        return NPS
    if values and values <= {"yes", "no"}:
        return YES_NO
    lowered = text.lower()
    if AGENT_SIGNATURE.lower() in lowered:
        return AGENT
    if "what went wrong" in lowered:
        return TRIAGE
    if "what could we do better" in lowered or "should improve" in lowered:
        return IMPROVE
    if "taking longer than we promised" in lowered:
        return DELAY
    return INFO


def reply_delay(order_id: str, count: int, move: Move) -> float:
    """Simulated seconds before a person answers: a tap takes a minute or two, words longer."""
    spread = zlib.crc32(f"{order_id}:{count}".encode()) % 240
    return (60 if isinstance(move, Press) else 150) + spread


# ---- the agent -------------------------------------------------------------------------

AGENT_REPLIES = {
    "product_problem": "I'm so sorry it arrived damaged! A replacement is on its way today, "
                       "and there's no need to send the broken one back.",
    "delivery_problem": "I checked with the carrier: your parcel was stuck at their depot. It's moving "
                        "again and should reach you within two days.",
    "return_refund": "I've started the return for you; you'll get a prepaid label by email.",
    "human": "Happy to help! What can I do for you?",
    "low_score": "Sorry it wasn't right. I've refunded the shipping cost; tell me if there's more I can do.",
}
AGENT_CLOSING = "Glad I could help. I'm closing this case now; have a great day!"
CLAIM_DELAYS_MIN = (6, 12, 41)       # every third case waits past the 30-minute SLA
REPLY_AFTER_CLAIM_MIN = 3
RESOLVE_AFTER_ANSWER_MIN = 4
RESOLVE_WITHOUT_ANSWER_MIN = 180


def agent_reply(reason: str, first_name: str) -> str:
    """The agent's first answer to a case, by its reason."""
    body = AGENT_REPLIES.get(reason, AGENT_REPLIES["low_score"])
    return f"Hi {first_name}, {AGENT_SIGNATURE}. {body}"


def claim_delay_minutes(case_number: int) -> int:
    return CLAIM_DELAYS_MIN[(case_number - 1) % len(CLAIM_DELAYS_MIN)]
