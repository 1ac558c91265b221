"""The simulated people of the sandbox demo: one customer persona per order, and the agent.

Pure data and rules, no I/O: a persona reads a message the way a person would (its words and
its buttons) and answers with a tap or a sentence, or not at all. `bot.sandbox.cast` makes
them act through the channels' loopback servers.

Which persona an order gets: the `persona` column of the order file when it has one (the
importer ignores unknown columns), else one picked from the order id (stable across runs).
"""
from __future__ import annotations

import csv
import json
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence, Union

from bot.sandbox.scenario import Press, Say   # the same moves a scenario file uses


Move = Union[Press, Say]

# What a bot message asks for, as a person reading it would tell.
CSAT, CES, NPS, YES_NO, TRIAGE, IMPROVE, AGENT, DELAY, INVITE, INFO, TIP, ASK = (
    "csat", "ces", "nps", "yes_no", "triage", "improve", "agent", "delay", "invite", "info", "tip", "ask")

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
    writes_first: Optional[str] = None   # what they write the day after delivery, before any check-in

    def answer(self, kind: str, occurrence: int, language: Optional[str] = None) -> Optional[Move]:
        """The move for the `occurrence`-th (0-based) message of `kind`, or None; what it says
        is said in `language` when the persona knows how."""
        moves = self.moves.get(kind, ())
        move = moves[min(occurrence, len(moves) - 1)] if moves else None
        if isinstance(move, Say) and language:
            words = SAYINGS.get(language) or SAYINGS.get(language.split("-")[0]) or {}
            return Say(words.get(move.text, move.text))
        return move


PERSONAS: dict[str, Persona] = {p.name: p for p in (
    Persona("delighted", "loves it: 5, yes to a review, a sentence for a testimonial, tips help", {
        CSAT: [Press("5")], YES_NO: [Press("yes")], CES: [Press("7")], NPS: [Press("10")],
        INVITE: [Say("It just works, and your team answers fast. I tell all my friends!")], TIP: [Press("yes")]}),
    Persona("so_so", "it's ok: 3 and a comment; tips don't help", {
        CSAT: [Press("3")], IMPROVE: [Say("It's ok, a bit pricey for what it is.")], NPS: [Press("7")],
        TIP: [Press("no")]}),
    Persona("broken", "broken product: 1, 'it arrived cracked'", {
        CSAT: [Press("1")], TRIAGE: [Say("it arrived cracked")],
        AGENT: [Say("Thank you, that's great!")], CES: [Press("6")], NPS: [Press("5")],
        IMPROVE: [Say("Maybe a cheaper price.")]}),
    Persona("never_arrived", "never arrived: 'tracking hasn't moved'", {
        CSAT: [Say("it never arrived, tracking hasn't moved"), Press("1")],      # not understood -> taps
        TRIAGE: [Say("it never arrived, tracking hasn't moved")],
        DELAY: [Say("talk to a person")],                      # sorry it's late? then a person, please
        AGENT: [Say("Great, thanks for checking!")], CES: [Press("5")], NPS: [Press("8")]}),
    Persona("wants_human", "wants a person", {
        CSAT: [Say("can I talk to a person?")],
        AGENT: [Say("Is it safe to use on an induction hob?")], CES: [Press("7")], NPS: [Press("9")]}),
    Persona("not_used_yet", "not used yet: 'still in the box', later a 4; asks how to use it under a tip", {
        CSAT: [Say("still in the box"), Press("4")], YES_NO: [Press("no")], NPS: [Press("9")],
        TIP: [Press("question")], ASK: [Say("how do I clean them?")]}),
    Persona("stop", "says STOP", {CSAT: [Say("STOP")]}),
    Persona("silent", "never answers"),
    Persona("blocked", "blocks the bot before the check-in", blocks_before_checkin=True),
    Persona("writes_first", "writes the day after delivery: it arrived cracked; put right, the check-in asks about that", {
        AGENT: [Say("Thank you, that was quick!")], CES: [Press("7")], YES_NO: [Press("yes")],
        CSAT: [Press("5")], NPS: [Press("9")]},
        writes_first="The bottle arrived cracked and leaking."),
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
    return column_in_file(path, "persona")


def column_in_file(path: Path | str, column: str) -> dict[str, str]:
    """order id -> a sandbox-only column's value (`persona`, `referred_by`), for the orders that
    have one (CSV or JSON); the importer ignores such columns."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        doc = json.loads(path.read_text(encoding="utf-8"))
        records = doc.get("orders", []) if isinstance(doc, dict) else doc
    else:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            records = list(csv.DictReader(handle))
    found: dict[str, str] = {}
    for record in records:
        if isinstance(record, dict) and record.get("order_id") and record.get(column):
            found.setdefault(str(record["order_id"]).strip(), str(record[column]).strip())
    return found


# What each persona says, in the other languages of the sample orders (written, not machine-made).
SAYINGS: dict[str, dict[str, str]] = {
    "pt": {"how do I clean them?": "como é que os limpo?",
           "It just works, and your team answers fast. I tell all my friends!":
           "Funciona e a vossa equipa responde depressa. Falo de vocês a todos os meus amigos!",
           "It's ok, a bit pricey for what it is.": "Está ok, um pouco caro para o que é.",
           "it arrived cracked": "chegou rachado", "Thank you, that's great!": "Obrigado, ótimo!",
           "Maybe a cheaper price.": "Talvez um preço mais baixo.",
           "it never arrived, tracking hasn't moved": "nunca chegou, o rastreio não mexe",
           "Great, thanks for checking!": "Ótimo, obrigado por verificar!",
           "can I talk to a person?": "posso falar com uma pessoa?", "still in the box": "ainda está na caixa"},
    "es": {"how do I clean them?": "¿cómo los limpio?",
           "It just works, and your team answers fast. I tell all my friends!":
           "Funciona sin más y vuestro equipo responde rápido. ¡Se lo cuento a todos mis amigos!",
           "It's ok, a bit pricey for what it is.": "Está bien, un poco caro para lo que es.",
           "it arrived cracked": "llegó agrietado", "Thank you, that's great!": "¡Gracias, genial!",
           "it never arrived, tracking hasn't moved": "nunca llegó, el seguimiento no se mueve",
           "can I talk to a person?": "¿puedo hablar con una persona?", "still in the box": "sigue en la caja"},
    "de": {"how do I clean them?": "wie reinige ich sie?",
           "It's ok, a bit pricey for what it is.": "Ganz ok, etwas teuer für das, was es ist.",
           "it arrived cracked": "kam gesprungen an", "Thank you, that's great!": "Danke, super!",
           "it never arrived, tracking hasn't moved": "ist nie angekommen, die Sendungsverfolgung bewegt sich nicht",
           "can I talk to a person?": "kann ich mit einem Menschen sprechen?", "still in the box": "liegt noch im Karton"},
    "fr": {"how do I clean them?": "comment je les nettoie ?",
           "It's ok, a bit pricey for what it is.": "C'est correct, un peu cher pour ce que c'est.",
           "it arrived cracked": "il est arrivé fissuré", "Thank you, that's great!": "Merci, c'est parfait !",
           "it never arrived, tracking hasn't moved": "jamais arrivé, le suivi ne bouge plus",
           "can I talk to a person?": "je peux parler à quelqu'un ?", "still in the box": "toujours dans sa boîte"},
    "it": {"how do I clean them?": "come li pulisco?",
           "It's ok, a bit pricey for what it is.": "Va bene, un po' caro per quello che è.",
           "it arrived cracked": "è arrivato crepato", "Thank you, that's great!": "Grazie, ottimo!",
           "it never arrived, tracking hasn't moved": "non è mai arrivato, il tracking è fermo",
           "Great, thanks for checking!": "Perfetto, grazie per il controllo!",
           "can I talk to a person?": "posso parlare con una persona?", "still in the box": "è ancora nella scatola"},
    "ja": {"how do I clean them?": "どうやってお手入れすればいいですか？",
           "It's ok, a bit pricey for what it is.": "まあまあです。値段のわりには少し高いです。",
           "it arrived cracked": "届いたときにひびが入っていました", "Thank you, that's great!": "ありがとうございます、助かります！",
           "Maybe a cheaper price.": "もう少し安ければ。", "STOP": "停止",
           "it never arrived, tracking hasn't moved": "届いていません。追跡も止まったままです",
           "can I talk to a person?": "担当者と話せますか？", "still in the box": "まだ箱に入ったままです"},
}

# The bot's questions a persona recognises by their words (any language, through `translate`).
# The invitation to a testimonial (dialogs/nps.yml, checkin.yml): its only button is "No thanks".
INVITATION = ("Would you tell me in one sentence what you like about us? We may share it with other shoppers, "
              "with your first name only.")
QUESTIONS = {"I'm sorry to hear that. What went wrong?": TRIAGE,
             "Sure, what would you like to know?": ASK,
             "Thanks! What could we do better?": IMPROVE,
             "Thanks for being honest. What's the one thing we should improve?": IMPROVE}
# The delay notice (dialogs/delay_notice.yml), recognised by its longest fixed words.
NOTICES = ("Hi {customer.first_name}, I'm sorry: {product.name} is taking longer than we promised (it was due on "
           "{order.expected_date}). Latest from the carrier: {order.shipment_status}. I'll check in once it has arrived.",)


def classify(text: str, button_values: Sequence[str], translate: Callable[[str], str] = lambda t: t) -> str:
    """What a bot message asks, read from its buttons and words (`translate`: the customer's
    language, so a persona reads "O que correu mal?" as the triage question)."""
    values = set(button_values)
    if translate(INVITATION).lower() in text.lower():
        return INVITE
    if values == {str(n) for n in range(1, 6)}:
        return CSAT
    if values == {str(n) for n in range(1, 8)}:
        return CES
    if values == {str(n) for n in range(0, 11)}:
        return NPS
    if values and values <= {"yes", "no"}:
        return YES_NO
    if values == {"yes", "no", "question"}:          # under a tip (dialogs/tip.yml): helpful? or a question
        return TIP
    lowered = text.lower()
    if AGENT_SIGNATURE.lower() in lowered:
        return AGENT
    for question, kind in QUESTIONS.items():
        if translate(question).lower() in lowered:
            return kind
    if "what went wrong" in lowered:
        return TRIAGE
    if "what could we do better" in lowered or "should improve" in lowered:
        return IMPROVE
    for template in NOTICES:
        fragment = max(re.split(r"\{[^{}]*\}", translate(template)), key=len).strip().lower()
        if fragment and fragment in lowered:
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
