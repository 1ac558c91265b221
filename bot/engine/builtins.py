"""The shipped flow vocabulary, registered exactly the way a shop would register its own.

A shop's addition is one more object passed to `Vocabulary.register` (see tests/vocabulary/):
nothing here is special to the loader, the engine or the runner.
"""
from __future__ import annotations

import logging
import operator
import re
from datetime import date
from typing import Any, Callable, Mapping, Optional
from zoneinfo import ZoneInfo

from bot.base.clock import parse_iso
from bot.base.codes import personal_code
from bot.config.settings import TouchpointKind
from bot.base.durations import parse_duration
from bot.engine import moves
from bot.engine.state import SCALES, Context, Message, Status, WakeKind
from bot.engine.vocabulary import (Action, Arg, Condition, Facts, Guard, Question, Reading, Turn,
                                   Variable, Vocabulary)
from bot.base.parse import FALLBACK_INTENT, INTENTS, PROBLEM_TYPES
from bot.base.clock import resolve_zone

REASONS = ("product_problem", "delivery_problem", "return_refund", "human", "low_score")
log = logging.getLogger(__name__)
_SCORE_CONDITION = re.compile(r"^\s*(<=|>=|<|>|==|=)?\s*(\d+)\s*$")
_COMPARE = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt,
            "==": operator.eq, "=": operator.eq, None: operator.eq}


def default_vocabulary() -> Vocabulary:
    """A fresh vocabulary holding the built-ins; register a shop's own entries on it."""
    vocabulary = Vocabulary()
    register(vocabulary)
    return vocabulary


def register(vocabulary: Vocabulary) -> None:
    """Register every built-in action, guard, condition and template variable."""
    vocabulary.register(*ACTIONS, *GUARDS, *CONDITIONS, *VARIABLES)


def as_list(value: Any) -> list:
    """`intent: thanks` and `intent: [thanks, affirm]` alike."""
    return list(value) if isinstance(value, (list, tuple)) else [value]


# ---- actions ----------------------------------------------------------------------------

def _check_reason(value: Any) -> Optional[str]:
    if value != "auto" and value not in REASONS:
        return f"unknown escalation reason {value!r} (auto or one of {', '.join(REASONS)})"
    return None


def _escalate(turn: Turn) -> None:
    reason = turn.args.get("reason", "auto")
    if reason == "auto":   # this answer's problem, else the one stated beside a score, else the low score
        reason = moves.problem_reason(turn.answer) or turn.slots.get("problem_reason") or "low_score"
    moves.escalate(turn.out, reason, turn.answer)


def _check_score(args: Mapping[str, Any]) -> Optional[str]:
    metric, value = args.get("metric", "csat"), args.get("score")
    if metric not in SCALES:
        return f"unknown score metric {metric!r} (csat, nps or ces)"
    low, high = SCALES[metric]
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        return f"record_score needs `score:` a whole number from {low} to {high} for {metric}"
    return None


def _record_score(turn: Turn) -> None:
    moves.record_score(turn.out, str(turn.args.get("metric", "csat")), int(turn.args.get("score", 0)), turn.answer)


def _record_text(turn: Turn) -> None:
    if turn.slots.get("last_text"):
        turn.emit("record_text", text=turn.slots["last_text"], **moves.parse_facts(turn.answer))


# One ask per conversation (shared/CONVERSATION.md, Safety): a review request, an offer, a
# referral ask and a testimonial request each set this slot, and every ask's guard checks it.
ASKED = "asked"


def _request_review(turn: Turn) -> None:
    turn.slots[ASKED] = True
    turn.slots["review_requested"] = True
    turn.emit("request_review", url=turn.ctx.variables.get("review_url"))


def _offer_upsell(turn: Turn) -> None:
    turn.slots[ASKED] = True
    turn.slots["upsell_offered"] = True
    turn.slots["offer"] = turn.ctx.offer_key       # each distinct offer goes to a customer once
    turn.emit("offer_upsell", offer=turn.ctx.variables.get("upsell.offer"), url=turn.ctx.variables.get("upsell.url"))


def _give_gift_code(turn: Turn) -> None:
    code = turn.ctx.variables.get("milestone.gift_code")
    if code:
        turn.slots["gift_code"] = code
        turn.emit("give_gift_code", code=code, kind=turn.slots.get("touchpoint") or turn.state.flow)


def _ask_referral(turn: Turn) -> None:
    turn.slots[ASKED] = True
    turn.slots["referral_asked"] = True
    turn.emit("ask_referral", code=turn.ctx.variables.get("referral.code"), link=turn.ctx.variables.get("referral.url"))


def _record_testimonial(turn: Turn) -> None:
    if turn.slots.get("last_text"):
        turn.slots["testimonial"] = True
        turn.emit("record_testimonial", text=turn.slots["last_text"], **moves.parse_facts(turn.answer))


def _offer_refill(turn: Turn) -> None:
    turn.slots[ASKED] = True
    turn.slots["upsell_offered"] = True            # what `aftercare report` counts (replenishment row)
    turn.slots["offer"] = turn.ctx.refill_key       # each distinct offer goes to a customer once
    turn.emit("offer_refill", url=turn.ctx.variables.get("refill.url"))


def _opt_out(turn: Turn) -> None:
    moves.opt_out(turn.out)


def _check_duration(value: Any) -> Optional[str]:
    if value is None:
        return None
    try:
        parse_duration(value)
    except ValueError as exc:
        return f"reschedule after: {exc}"
    return None


def _reschedule(turn: Turn) -> None:
    after = turn.args.get("after")
    delay = turn.ctx.timing.not_used_yet_delay if after is None else parse_duration(after)
    state = turn.state
    turn.slots["_resume"] = turn.args["resume"]
    turn.slots["rescheduled"] = True
    state.status, state.wake_at, state.wake_kind = Status.WAITING, turn.now + delay, WakeKind.RESUME
    state.reminded = False
    turn.emit("reschedule", at=turn.now + delay)


def _end(turn: Turn) -> None:
    moves.close(turn.state)


def _say_tip(turn: Turn) -> None:
    tip = turn.ctx.tips.get(str(turn.slots.get("touchpoint") or ""))
    if tip is None:                    # guard with has_tip; without one there is nothing to say
        return
    turn.slots["tip"] = tip[0]         # which tip: `aftercare report` counts helpful / not helpful per tip
    turn.out.messages.append(Message(turn.ctx.text(tip[1], turn.slots)))


ACTIONS = (
    Action("record_score", "record a score given in args (asks with `score:` do it themselves)", _record_score, effects=("record_score",),
           args=(Arg("metric", "csat (default), nps or ces"),
                 Arg("score", "a whole number on the metric's scale", required=True)),
           check=_check_score),
    Action("record_text", "keep the customer's last free-text answer as feedback", _record_text, effects=("record_text",)),
    Action("escalate", "open a support case; the conversation waits for an agent", _escalate,
           args=(Arg("reason", f"auto (the intent) or one of {', '.join(REASONS)}", check=_check_reason),),
           waits="for an agent", stops=True, diagram="escalated to an agent", effects=("escalate",)),
    Action("request_review", "mark a review request, the conversation's one ask (guard with review_eligible)",
           _request_review, effects=("request_review",)),
    Action("offer_upsell", "mark the product's upsell offer as made, the conversation's one ask (guard with "
           "upsell_eligible)", _offer_upsell, effects=("offer_upsell",)),
    Action("offer_refill", "mark the product's refill offer as made (guard with refill_eligible); `set: "
           "{offer_declined: true}` when they say no", _offer_refill, effects=("offer_refill",)),
    Action("give_gift_code", "record that this milestone's gift code ({milestone.gift_code}) went to the customer "
           "(guard with has_gift_code)", _give_gift_code, effects=("give_gift_code",)),
    Action("ask_referral", "record the referral ask and the customer's referral code, once per customer "
           "(guard with referral_eligible)", _ask_referral, effects=("ask_referral",)),
    Action("record_testimonial", "keep the customer's last free-text answer as a testimonial (shown in the report)",
           _record_testimonial, effects=("record_testimonial",)),
    Action("opt_out", "record the opt-out; nothing more is ever sent to this identity", _opt_out, stops=True),
    Action("reschedule", "check in again later; resumes at the `resume` step", _reschedule,
           args=(Arg("resume", "where to pick up later", required=True, step=True),
                 Arg("after", "how much later, e.g. 7d (default schedule.not_used_yet_delay)", check=_check_duration)),
           waits="until the later check-in", stops=True, diagram="later", effects=("reschedule",)),
    Action("end", "close the conversation quietly", _end, ends=True),
    Action("say_tip", "say the product's onboarding tip for the touchpoint that started the conversation "
           "(dialogs/tips.yml; guard with has_tip)", _say_tip),
)


# ---- guards -----------------------------------------------------------------------------

def _happy(facts: Mapping[str, Any]) -> bool:
    return facts.get("csat") in (4, 5) or facts.get("nps") in (9, 10)


def _review_eligible(slots: Mapping[str, Any], ctx: Context) -> bool:
    resolved_well = slots.get("had_case") and (slots.get("ces") or 0) >= 6
    return not ctx.has_open_case and not slots.get(ASKED) and bool(_happy(slots) or resolved_well)


def _may_offer(slots: Mapping[str, Any], ctx: Context) -> bool:
    """What every offer needs (shared/CONVERSATION.md): a happy score here, else the order's
    latest; no low score or case about the order, no open case, no "no" here, no offer yet here."""
    scored_here = any(metric in slots for metric in ("csat", "nps"))
    happy = _happy(slots) if scored_here else _happy(ctx.earlier)
    trouble = any(facts.get(key) for facts in (slots, ctx.earlier) for key in ("low_score", "had_case"))
    return (happy and not trouble and not ctx.has_open_case and not slots.get("said_no")
            and not slots.get("upsell_offered") and not slots.get(ASKED) and not slots.get("problem_reason"))


def _upsell_eligible(slots: Mapping[str, Any], ctx: Context) -> bool:
    return _may_offer(slots, ctx) and not ctx.upsell_offered_before and bool(ctx.variables.get("upsell.offer"))


def _refill_eligible(slots: Mapping[str, Any], ctx: Context) -> bool:
    return _may_offer(slots, ctx) and not ctx.refill_offered_before and bool(ctx.variables.get("refill.url"))


def _resolved_here(slots: Mapping[str, Any], ctx: Context) -> bool:
    variables = ctx.variables
    return (not ctx.has_open_case and bool(variables.get("last_resolved")) and bool(variables.get("order.id"))
            and variables.get("last_resolved.order") == variables.get("order.id")
            and variables.get("last_resolved.type") not in DELIVERY_PROBLEMS)


def _referral_eligible(slots: Mapping[str, Any], ctx: Context) -> bool:
    promoter = slots.get("nps") in (9, 10) or slots.get("csat") == 5
    return (promoter and not ctx.has_open_case and not slots.get("low_score") and not slots.get("problem_reason")
            and not slots.get("said_no") and not ctx.referral_asked_before and not slots.get("referral_asked")
            and not slots.get(ASKED)
            and bool(ctx.variables.get("referral.url") or ctx.variables.get("referral.testimonials")))


GUARDS = (
    Guard("review_eligible", "no open case, no ask yet in this conversation, and CSAT 4-5 or NPS 9-10 or CES >= 6 "
          "after a resolved case",
          _review_eligible),
    Guard("upsell_eligible", "CSAT 4-5 or NPS 9-10 (here, else the order's latest), no low score or case about the "
          "order, no open case, no \"no\" or problem from the customer here, no ask yet here, this offer never made to "
          "them, an offer exists",
          _upsell_eligible),
    Guard("refill_eligible", "like upsell_eligible, for the product's refill (upsell.replenishment): never offered "
          "to them before, declined or not", _refill_eligible),
    Guard("has_faq", "the product has an FAQ answer in config", lambda slots, ctx: bool(ctx.variables.get("faq"))),
    Guard("has_review_url", "a review link is configured for the product",
          lambda slots, ctx: bool(ctx.variables.get("review_url"))),
    Guard("has_tip", "dialogs/tips.yml has a tip for the product (SKU, else category) and this touchpoint kind",
          lambda slots, ctx: str(slots.get("touchpoint") or "") in ctx.tips),
    Guard("has_goodwill_code", "delays.goodwill_code has a code for the product's category (or a default)",
          lambda slots, ctx: bool(ctx.variables.get("goodwill_code"))),
    Guard("has_gift_code", "milestones.gift_codes has a code for the touchpoint kind that started the conversation",
          lambda slots, ctx: bool(ctx.variables.get("milestone.gift_code"))),
    Guard("referral_eligible", "NPS 9-10 or CSAT 5 here (a case only if resolved), no low score, problem or \"no\" "
          "here, no ask yet here, never asked before, and a referral link or testimonials configured", _referral_eligible),
    Guard("has_referral_link", "referrals.url is configured (a personal link to share)",
          lambda slots, ctx: bool(ctx.variables.get("referral.url"))),
    Guard("testimonials_wanted", "referrals.testimonials invites a one-sentence testimonial",
          lambda slots, ctx: bool(ctx.variables.get("referral.testimonials"))),
    Guard("resolved_here", "the customer's last resolved case was about this order's product (not its delivery), "
          "and no case is open: follow up on it instead of asking the generic question", _resolved_here),
)


# ---- conditions -------------------------------------------------------------------------

def _check_score_condition(value: Any, question: Question) -> Optional[str]:
    if not question.score:
        return "a `score` condition needs a `score:` question"
    if not _SCORE_CONDITION.match(str(value)):
        return f"score condition {value!r} must look like 3, '<= 2' or '>= 4'"
    return None


def _score_matches(wanted: Any, reading: Reading) -> bool:
    match = _SCORE_CONDITION.match(str(wanted))
    return bool(reading.score is not None and match
                and _COMPARE[match.group(1)](reading.score, int(match.group(2))))


def _check_choice(value: Any, question: Question) -> Optional[str]:
    for choice in as_list(value):
        if str(choice) not in question.values:
            return f"choice {choice!r} is not one of the question's values {sorted(question.values)}"
    return None


def _check_intent(value: Any, question: Question) -> Optional[str]:
    for intent in as_list(value):
        if intent not in INTENTS and intent != FALLBACK_INTENT:
            return f"unknown intent {intent!r}"
    return None


def _intent_matches(wanted: Any, reading: Reading) -> bool:
    parse = reading.answer.typed
    return (reading.score is None and reading.choice is None and parse is not None
            and parse.intent in as_list(wanted))


def _entity_pairs(value: Any) -> list[tuple[str, Any]]:
    return list(value.items()) if isinstance(value, dict) else [(name, None) for name in as_list(value)]


def _check_entity(value: Any, question: Question) -> Optional[str]:
    for name, wanted in _entity_pairs(value):
        if name == "problem_type" and wanted is not None and wanted not in PROBLEM_TYPES:
            return f"unknown problem_type {wanted!r}"
    return None


def _entity_matches(wanted: Any, reading: Reading) -> bool:
    parse = reading.answer.typed
    for name, value in _entity_pairs(wanted):
        found = parse.entity(name) if parse else None
        if found is None or (value is not None and found != value):
            return False
    return True


def _check_slot(value: Any, question: Question) -> Optional[str]:
    if not isinstance(value, dict):
        return "a `slot` condition maps slot names to values, e.g. {slot: {tier: gold}}"
    return None


def _check_has(value: Any, question: Question) -> Optional[str]:
    vocabulary = question.vocabulary
    if value not in vocabulary.guards and value not in vocabulary.variables:
        return f"unknown `has` target {value!r}"
    return None


CONDITIONS = (
    Condition("score", "the score given, e.g. 3, '<= 2' or '>= 4' (score questions)", _score_matches,
              _check_score_condition),
    Condition("choice", "the button tapped (or its label typed): one value or a list",
              lambda wanted, r: r.choice is not None and r.choice in [str(v) for v in as_list(wanted)],
              _check_choice),
    Condition("intent", "what typed text means (not buttons or scores): one intent or a list", _intent_matches,
              _check_intent),
    Condition("entity", "entities found in typed text, e.g. {problem_type: damaged}", _entity_matches,
              _check_entity),
    Condition("slot", "slot values of the conversation, e.g. {tier: gold}",
              lambda wanted, r: all(r.slots.get(name) == value for name, value in dict(wanted).items()),
              _check_slot),
    Condition("problem", "true: the typed answer names a problem (a problem intent or a problem_type), "
              "even beside a score", lambda wanted, r: (moves.problem_reason(r.answer, moves.PROBLEM_BESIDE_SCORE)
                                                       is not None) == bool(wanted)),
    Condition("clean_yes", "true: a yes that may open an ask: the yes button, or typed text read as yes with high "
              "confidence with no problem, no \"no\" and no question in it",
              lambda wanted, r: moves.clean_yes(r.answer, r.choice) == bool(wanted)),
    Condition("question", "true: the typed answer asks rather than answers (\"why should I?\", \"do I have to?\"), "
              "whatever its intent; an ask's \"no\" branch says `question: false` so such a reply is asked again",
              lambda wanted, r: bool(r.answer.typed is not None and r.answer.typed.cues.question) == bool(wanted)),
    Condition("text", "true: the answer was typed text; false: it was not",
              lambda wanted, r: bool(r.answer.text and r.answer.button is None) == bool(wanted)),
    Condition("has", "a guard passes, or a template variable has a value", lambda wanted, r: r.has(str(wanted)),
              _check_has),
)


# ---- template variables -----------------------------------------------------------------

def _name(facts: Facts) -> str:
    return str(facts.customer.get("name") or "")


def _offer(facts: Facts) -> Optional[str]:
    offer = facts.settings.upsell.skus.get(facts.sku)
    return offer.offer if offer else None


def _offer_url(facts: Facts) -> Optional[str]:
    offer = facts.settings.upsell.skus.get(facts.sku)
    return offer.url if offer else None


# What a variable says when its fact is missing, in English: translated like flow texts (the
# catalogs must hold each one), so a German customer with no name on file reads German.
NO_NAME = "there"                         # {customer.first_name}: "Hi there!"
NO_PRODUCT = "your order"                 # {product.name} of an order line without a product
NO_SHOP_NAME = "our shop"                 # {shop.name}
REFILL_OF = "a refill of {product}"       # {refill.offer} when the shop wrote none


def _first_name(facts: Facts) -> str:
    words = _name(facts).split()
    return words[0] if words else facts.translate(NO_NAME)


def _product_name(facts: Facts) -> str:
    return str(facts.item.get("product") or facts.translate(NO_PRODUCT))


def _refill(facts: Facts) -> Optional[str]:
    refill = facts.settings.upsell.replenishment.get(facts.sku)
    if not refill:
        return None
    return refill.offer or facts.translate(REFILL_OF).replace("{product}", _product_name(facts))


def _refill_url(facts: Facts) -> Optional[str]:
    refill = facts.settings.upsell.replenishment.get(facts.sku)
    return refill.url if refill else None


_SHIPMENT_WORDS = {
    "label_printed": "the label is printed, waiting for the carrier",
    "label_purchased": "the label is ready, waiting for the carrier",
    "confirmed": "the carrier has it",
    "in_transit": "in transit",
    "out_for_delivery": "out for delivery",
    "attempted_delivery": "the carrier tried to deliver it",
    "ready_for_pickup": "ready for pickup",
    "held_at_customs": "held at customs",
    "failure": "the carrier reported a problem, and we're on it",
    "delivered": "delivered",
}
_NO_SHIPMENT_WORD = "on its way"


def shipment_words(status: Optional[str], translate: Callable[[str], str] = lambda text: text) -> str:
    """The carrier's latest status in words a customer reads (Shopify's shipment_status values),
    in their language; a status word we do not know is shown as the carrier wrote it."""
    if not status:
        return translate(_NO_SHIPMENT_WORD)
    known = _SHIPMENT_WORDS.get(status)
    return translate(known) if known else status.replace("_", " ")


def _expected_date(facts: Facts) -> Optional[date]:
    """The day the order should have arrived, in the customer's time zone: the carrier's
    estimate, else shipped + schedule.expected_transit (what the delay notice counts from)."""
    order = facts.order
    when = parse_iso(order.get("expected_at"))
    shipped = parse_iso(order.get("shipped_at"))
    if when is None and shipped is not None:
        when = shipped + facts.settings.schedule.expected_transit
    if when is None:
        return None
    zone = resolve_zone(facts.customer.get("timezone"), facts.settings.schedule.timezone)
    return when.astimezone(ZoneInfo(zone)).date()


def _kind_of(facts: Facts) -> Optional[TouchpointKind]:
    return facts.settings.schedule.touchpoints.get(facts.touchpoint) if facts.touchpoint else None


def _months(facts: Facts) -> int:
    kind = _kind_of(facts)
    offset = kind.after if kind is not None and kind.after is not None else None
    return max(1, round(offset.days / 30.44)) if offset is not None else 0


def _gift_code(facts: Facts) -> Optional[str]:
    """The code given at this milestone before, else the one milestones.gift_codes makes for it."""
    if not facts.touchpoint:
        return None
    return facts.issued.get(f"gift:{facts.touchpoint}") or facts.settings.milestones.code_for(
        facts.touchpoint, str(facts.customer.get("ref") or ""), facts.code_key)


def _referral_code(facts: Facts) -> Optional[str]:
    """The referral code the customer was given, else the one they would be given now."""
    if facts.issued.get("referral"):
        return facts.issued["referral"]
    ref = facts.customer.get("ref")
    return personal_code(facts.code_key, "referral", str(ref)) if ref else None


def _review_url(facts: Facts) -> Optional[str]:
    reviews = facts.settings.reviews
    return reviews.url_for(facts.sku) if facts.sku else reviews.default_url


# ---- memory: what the customer told us before (Facts.history, bot/conversation/context.py) ----------------

DELIVERY_PROBLEMS = frozenset({"late", "not_received", "delivery_problem"})
# One sentence per problem type (else per escalation reason), in the customer's language: each
# is a catalog text like a flow text. {product} is the product the case was about.
PROBLEM_SENTENCES = {
    "damaged": "Last time, your {product} arrived damaged.",
    "defective": "Last time, something on your {product} had stopped working properly.",
    "missing_part": "Last time, a part was missing from your {product}.",
    "wrong_item": "Last time, we sent you the wrong item instead of your {product}.",
    "not_as_described": "Last time, your {product} was not as described.",
    "size_fit": "Last time, your {product} did not fit.",
    "late": "Last time, your {product} took too long to reach you.",
    "not_received": "Last time, your {product} did not reach you.",
    "product_problem": "Last time, something was wrong with your {product}.",
    "delivery_problem": "Last time, there was trouble with the delivery of your {product}.",
    "return_refund": "Last time, you asked us about returning your {product}.",
    "human": "Last time, you asked our team for help with your {product}.",
    "low_score": "Last time, your {product} was not quite right for you.",
}
_SCALE_TOP = {metric: high for metric, (low, high) in SCALES.items()}


def _case(facts: Facts, key: str) -> Mapping[str, Any]:
    return facts.history.get(key) or {}


def _problem_type(case: Mapping[str, Any]) -> str:
    return str(case.get("problem_type") or case.get("reason") or "")


def _problem_sentence(facts: Facts, key: str) -> str:
    """The case `key` ("last_case", "last_resolved") as a sentence in the customer's language."""
    case = _case(facts, key)
    sentence = PROBLEM_SENTENCES.get(_problem_type(case)) or PROBLEM_SENTENCES.get(str(case.get("reason") or ""))
    if not sentence:
        return ""
    product = str(case.get("product") or case.get("sku") or "")
    return facts.translate(sentence).replace("{product}", product)


def _last_score(facts: Facts) -> str:
    row = _case(facts, "last_score")
    if row.get("score") is None:
        return ""
    top = _SCALE_TOP.get(str(row.get("metric")))
    return f"{row['score']}/{top}" if top else str(row["score"])


MEMORY = (
    Variable("last_problem", "the customer's latest case as a sentence in their language (\"Last time, your "
             "Trail Runner 2 arrived damaged.\"), else empty", lambda f: _problem_sentence(f, "last_case"),
             words=tuple(PROBLEM_SENTENCES.values())),
    Variable("last_problem.type", "that case's problem type (damaged, late, ...), else its escalation reason",
             lambda f: _problem_type(_case(f, "last_case"))),
    Variable("last_problem.product", "the product that case was about",
             lambda f: _case(f, "last_case").get("product") or ""),
    Variable("last_problem.status", "that case's status: open, claimed or resolved",
             lambda f: _case(f, "last_case").get("status") or ""),
    Variable("last_resolved", "the customer's latest resolved case as a sentence, like {last_problem}",
             lambda f: _problem_sentence(f, "last_resolved"), words=tuple(PROBLEM_SENTENCES.values())),
    Variable("last_resolved.type", "its problem type, else its escalation reason",
             lambda f: _problem_type(_case(f, "last_resolved"))),
    Variable("last_resolved.product", "the product it was about",
             lambda f: _case(f, "last_resolved").get("product") or ""),
    Variable("last_resolved.order", "the order it was about", lambda f: _case(f, "last_resolved").get("order_id") or ""),
    Variable("last_resolved.on", "the day it was resolved (YYYY-MM-DD)",
             lambda f: str(_case(f, "last_resolved").get("resolved_at") or "")[:10]),
    Variable("last_score", "the customer's latest score with its scale (\"4/5\", \"9/10\"), any order, else empty",
             _last_score),
    Variable("last_score.metric", "which score that was: csat, nps or ces",
             lambda f: _case(f, "last_score").get("metric") or ""),
)


VARIABLES = (
    Variable("customer.name", "the customer's full name", _name),
    Variable("customer.first_name", "the first word of the name, else \"there\" in the customer's language",
             _first_name, words=(NO_NAME,)),
    Variable("product.name", "the product of the order line, else \"your order\" in the customer's language",
             _product_name, words=(NO_PRODUCT,)),
    Variable("product.sku", "the product's SKU", lambda f: f.sku),
    Variable("product.category", "the product's category", lambda f: f.category),
    Variable("order.id", "the order id", lambda f: f.order_id or ""),
    Variable("review_url", "the product's review link (reviews in config)", _review_url),
    Variable("upsell.offer", "the upsell offer for the product (upsell.skus in config)", _offer),
    Variable("upsell.url", "the link to that offer", _offer_url),
    Variable("refill.offer", "the refill offer of a consumable (upsell.replenishment: its `offer`, else "
             "\"a refill of\" the product, in the customer's language)", _refill, words=(REFILL_OF,)),
    Variable("refill.url", "the link to reorder it", _refill_url),
    Variable("faq", "the FAQ answer for the product's SKU or category (faq in config)",
             lambda f: f.settings.faq.get(f.sku) or f.settings.faq.get(f.category)),
    Variable("checkback_days", "days until a rescheduled check-in (schedule.not_used_yet_delay)",
             lambda f: max(1, round(f.settings.schedule.not_used_yet_delay.total_seconds() / 86400))),
    Variable("shop.name", "the shop's name (\"our shop\" in the customer's language)",
             lambda f: f.translate(NO_SHOP_NAME), words=(NO_SHOP_NAME,)),
    Variable("order.shipment_status", "the carrier's latest status in words (\"in transit\"), else \"on its way\", "
             "in the customer's language", lambda f: shipment_words(f.order.get("shipment_status"), f.translate),
             words=(*_SHIPMENT_WORDS.values(), _NO_SHIPMENT_WORD)),
    Variable("order.expected_date", "the day the order should have arrived (the carrier's estimate, else shipped + "
             "schedule.expected_transit), as the customer's language writes a date: \"March 12\", \"12. März\"",
             _expected_date),
    Variable("goodwill_code", "the delay goodwill code for the product's category (delays.goodwill_code)",
             lambda f: f.settings.delays.code_for(f.category)),
    Variable("customer.orders", "how many orders the customer has placed (cancelled and returned ones aside)",
             lambda f: f.orders),
    Variable("milestone.orders", "the order count a milestone kind marks (its `nth_order`), else customer.orders",
             lambda f: kind.nth_order if (kind := _kind_of(f)) and kind.nth_order else f.orders),
    Variable("milestone.months", "the months a milestone kind counts (its `after`, in whole months)", _months),
    Variable("milestone.gift_code", "this milestone's gift code for the customer (milestones.gift_codes)",
             _gift_code),
    Variable("referral.code", "the customer's own referral code (the same every time)", _referral_code),
    Variable("referral.url", "the customer's personal referral link (referrals.url with their code)",
             lambda f: f.settings.referrals.link_for(code) if (code := _referral_code(f)) else None),
    Variable("referral.testimonials", "\"yes\" when referrals.testimonials invites a testimonial, else empty",
             lambda f: "yes" if f.settings.referrals.testimonials else ""),
    *MEMORY,
    Variable("slots.<name>", "a slot of the conversation (set with `set:`, or by actions and answers)"),
)
