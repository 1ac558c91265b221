"""The pure dialog step: (conversation state, input, context, now) -> (state', messages, actions).

No SQL, no clock, no network, no SDK: time and facts come in as arguments, and what should
happen comes out as data for the store to apply in one transaction.
Precedence (shared/CONVERSATION.md): opt-out, then `human`, then a button's value, then a
score stated in text, then the question's own branches by intent.
"""
from __future__ import annotations

import copy
import operator
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Mapping, Optional, Union

from bot.engine.flows import AGAIN, END, SCALES, Branch, Choice, Flow, FlowSet, Step
from bot.engine.scores import score_from_text
from bot.engine.templates import render
from bot.nlu.base import Parse

PROBLEM_INTENTS = ("product_problem", "delivery_problem", "return_refund")
INBOX_FLOW = "inbox"
RESOLVED_FLOW = "ces"
_MAX_STEPS = 100
_COMPARE = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt,
            "==": operator.eq, "=": operator.eq, None: operator.eq}
_SCORE_COND = re.compile(r"^\s*(<=|>=|<|>|==|=)?\s*(\d+)\s*$")


# ---- state, inputs, outputs -------------------------------------------------------------

@dataclass
class ConversationState:
    """Everything needed to continue a conversation: never its history (invariant 7)."""

    flow: str
    step: str
    slots: dict[str, Any] = field(default_factory=dict)
    status: str = "active"            # active | waiting | closed
    owner: str = "bot"                # bot | human
    wake_at: Optional[datetime] = None
    wake_kind: Optional[str] = None   # remind | close | resume
    reminded: bool = False


@dataclass(frozen=True)
class Timing:
    reminder_after: timedelta = timedelta(hours=24)
    close_after: timedelta = timedelta(hours=48)
    not_used_yet_delay: timedelta = timedelta(days=7)


@dataclass(frozen=True)
class Context:
    """Read-only facts about the customer, order and product for templates and guards."""

    variables: Mapping[str, Any] = field(default_factory=dict)
    timing: Timing = Timing()
    has_open_case: bool = False
    upsell_offered_before: bool = False
    # What earlier conversations about the same order established: the latest `csat` / `nps`,
    # and `low_score` / `had_case` when any of them had one. A flow that starts a conversation
    # of its own (replenishment) is judged on these, since its own slots hold no score yet.
    earlier: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Begin:
    """Start `flow` (a touchpoint fell due); proactive unless said otherwise."""

    flow: str
    proactive: bool = True


@dataclass(frozen=True)
class Answer:
    """What the customer sent: a button value, or text with its parse."""

    text: str = ""
    button: Optional[str] = None
    parse: Optional[Parse] = None
    stop: bool = False                 # an explicit /stop command
    photos: tuple[str, ...] = ()


@dataclass(frozen=True)
class Timer:
    """The conversation's wake-up time has come (reminder, close, or resume)."""


@dataclass(frozen=True)
class Handback:
    """An agent resolved the case: the bot owns the conversation again."""


Input = Union[Begin, Answer, Timer, Handback]


@dataclass(frozen=True)
class Say:
    text: str
    buttons: tuple[Choice, ...] = ()


@dataclass(frozen=True)
class ActionCall:
    name: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    state: ConversationState
    messages: list[Say] = field(default_factory=list)
    actions: list[ActionCall] = field(default_factory=list)
    proactive: bool = False           # these messages start a contact (cap, quiet hours)


# ---- the engine -------------------------------------------------------------------------

class Engine:
    """Runs flows. Holds only the (immutable) flow definitions."""

    def __init__(self, flows: FlowSet) -> None:
        self.flows = flows

    def step(self, state: Optional[ConversationState], event: Input, ctx: Context, now: datetime) -> Outcome:
        """Advance one conversation by one input. `state` is not modified."""
        state = copy.deepcopy(state) if state else None
        if isinstance(event, Begin):
            return self._begin(state, event, ctx, now)
        if isinstance(event, Answer):
            return self._answer(state, event, ctx, now)
        if state is None:
            raise ValueError(f"{type(event).__name__} needs an existing conversation")
        if isinstance(event, Timer):
            return self._timer(state, ctx, now)
        return self._handback(state, ctx, now)

    # -- inputs ---------------------------------------------------------------------------

    def _begin(self, state: Optional[ConversationState], event: Begin, ctx: Context, now: datetime) -> Outcome:
        flow = self.flows[event.flow]
        slots = state.slots if state else {}
        new = ConversationState(flow=flow.name, step=flow.start, slots=slots)
        out = Outcome(new, proactive=event.proactive)
        self._run_from(out, flow, flow.start, ctx, now)
        return out

    def _answer(self, state: Optional[ConversationState], answer: Answer, ctx: Context, now: datetime) -> Outcome:
        intent = answer.parse.intent if answer.parse and answer.button is None else None
        parked = self._parked(state)
        if parked is not None and parked.score and self._read_answer(parked, answer)[0] is not None:
            # rescheduled ("not used yet") and now they state the score: it answers the question
            state.step, state.wake_at, state.wake_kind = parked.name, None, None
            state.slots.pop("_resume", None)
            parked = None
        before = copy.deepcopy(state) if parked is not None else None
        if state is None or state.status == "closed" or not self._waiting_step(state):
            state = ConversationState(flow=INBOX_FLOW, step=self.flows[INBOX_FLOW].start,
                                      slots=dict(state.slots) if state else {})
        out = Outcome(state)
        if answer.photos:
            state.slots.setdefault("photos", []).extend(answer.photos)
        if answer.text and answer.button is None:
            state.slots["last_text"] = answer.text[:2000]
        if answer.stop or intent == "opt_out":
            self._opt_out(out)
            return out
        if intent == "human":
            self._escalate(out, "human", answer, ctx)
            out.messages.append(Say(self._text("human", out, ctx)))
            return out
        flow = self.flows[state.flow]
        step = flow.step(state.step)
        score, choice = self._read_answer(step, answer)
        if score is not None:
            self._record_score(out, step.score or "", score, answer)
        branch = self._pick_branch(step, score, choice, answer, state.slots, ctx)
        if branch.say:
            out.messages.append(Say(render(branch.say, ctx.variables, state.slots)))
        self._follow(out, flow, step, branch.goto, ctx, now, answer)
        if before is not None and out.state.status == "closed":
            # a passing remark ("ok thanks!") while a check-back is scheduled keeps the check-back
            out.state.flow, out.state.step, out.state.status = before.flow, before.step, before.status
            out.state.wake_at, out.state.wake_kind, out.state.reminded = before.wake_at, before.wake_kind, before.reminded
        return out

    def _parked(self, state: Optional[ConversationState]) -> Optional[Step]:
        """The question a rescheduled conversation will ask again when it resumes, if any."""
        if state is None or state.status != "waiting" or state.wake_kind != "resume":
            return None
        flow = self.flows.flows.get(state.flow)
        resume = state.slots.get("_resume")
        return flow.step(resume) if flow and resume in flow.steps else None

    def _timer(self, state: ConversationState, ctx: Context, now: datetime) -> Outcome:
        out = Outcome(state)
        kind = state.wake_kind
        if kind == "remind" and not state.reminded and self._waiting_step(state):
            step = self.flows[state.flow].step(state.step)
            text = step.remind or step.ask or ""
            out.messages.append(Say(render(text, ctx.variables, state.slots), step.buttons()))
            out.proactive = True
            state.reminded = True
            state.wake_at, state.wake_kind = now + ctx.timing.close_after, "close"
        elif kind == "resume":
            flow = self.flows[state.flow]
            out.proactive = True
            self._run_from(out, flow, state.slots.pop("_resume", flow.start), ctx, now)
        else:  # close quietly: no goodbye message
            self._close(state)
        return out

    def _handback(self, state: ConversationState, ctx: Context, now: datetime) -> Outcome:
        state.owner = "bot"
        flow = self.flows[RESOLVED_FLOW]
        state.flow, state.step = flow.name, flow.start
        out = Outcome(state)
        self._run_from(out, flow, flow.start, replace(ctx, has_open_case=False), now)
        return out

    # -- answers --------------------------------------------------------------------------

    def _waiting_step(self, state: ConversationState) -> bool:
        flow = self.flows.flows.get(state.flow)
        return bool(flow and state.step in flow.steps and flow.step(state.step).waits
                    and state.status == "waiting")

    def _read_answer(self, step: Step, answer: Answer) -> tuple[Optional[int], Optional[str]]:
        """(score, choice value) the answer carries for this question, if any."""
        buttons = step.buttons()
        choice = None
        if answer.button is not None:
            choice = answer.button if any(b.value == answer.button for b in buttons) else None
        elif answer.text:
            typed = answer.text.strip().lower()
            choice = next((b.value for b in buttons if typed in (b.value.lower(), b.label.lower())), None)
        score = None
        if step.score:
            low, high = SCALES[step.score]
            if choice is not None and choice.isdigit():
                score = int(choice)
            elif answer.button is None and answer.text:
                rating = answer.parse.entity("rating") if answer.parse else None
                score = score_from_text(answer.text, low, high, rating)
        return score, choice

    def _pick_branch(self, step: Step, score: Optional[int], choice: Optional[str], answer: Answer,
                     slots: Mapping[str, Any], ctx: Context) -> Branch:
        for branch in step.branches:
            if branch.is_default or self._matches(branch.when, score, choice, answer, slots, ctx):
                return branch
        return step.branches[-1]

    def _matches(self, when: Mapping[str, Any], score: Optional[int], choice: Optional[str],
                 answer: Answer, slots: Mapping[str, Any], ctx: Context) -> bool:
        parse = answer.parse if answer.button is None else None
        for key, wanted in when.items():
            if key == "score":
                match = _SCORE_COND.match(str(wanted))
                if score is None or not match or not _COMPARE[match.group(1)](score, int(match.group(2))):
                    return False
            elif key == "choice":
                if choice is None or choice not in [str(v) for v in _as_list(wanted)]:
                    return False
            elif key == "intent":
                if score is not None or choice is not None or parse is None or parse.intent not in _as_list(wanted):
                    return False
            elif key == "entity":
                pairs = wanted.items() if isinstance(wanted, dict) else [(n, None) for n in _as_list(wanted)]
                for name, value in pairs:
                    found = parse.entity(name) if parse else None
                    if found is None or (value is not None and found != value):
                        return False
            elif key == "slot":
                if any(slots.get(name) != value for name, value in dict(wanted).items()):
                    return False
            elif key == "text":
                if bool(answer.text and answer.button is None) != bool(wanted):
                    return False
            elif key == "has":
                if not self._guard(str(wanted), slots, ctx):
                    return False
        return True

    def _follow(self, out: Outcome, flow: Flow, step: Step, goto: str, ctx: Context, now: datetime,
                answer: Optional[Answer] = None) -> None:
        if goto == AGAIN:
            out.messages.append(Say(render(step.ask or "", ctx.variables, out.state.slots), step.buttons()))
            self._wait(out.state, step, ctx, now)
        elif goto == END:
            self._close(out.state)
        else:
            self._run_from(out, flow, goto, ctx, now, answer)

    # -- running steps --------------------------------------------------------------------

    def _run_from(self, out: Outcome, flow: Flow, name: str, ctx: Context, now: datetime,
                  answer: Optional[Answer] = None) -> None:
        state = out.state
        for _ in range(_MAX_STEPS):
            step = flow.step(name)
            state.flow, state.step = flow.name, name
            if step.guard and not self._guard(step.guard, state.slots, ctx):
                name = step.otherwise or END
                continue
            state.slots.update(step.set_slots)
            if step.action:
                self._act(out, step, ctx, now, answer)
            if step.say:
                out.messages.append(Say(render(step.say, ctx.variables, state.slots)))
            if step.action in ("escalate", "reschedule", "opt_out"):
                return
            if step.waits:
                if step.ask:
                    out.messages.append(Say(render(step.ask, ctx.variables, state.slots), step.buttons()))
                self._wait(state, step, ctx, now)
                return
            if step.next in (None, END) or step.action == "end":
                self._close(state)
                return
            name = step.next
        raise RuntimeError(f"flow {flow.name!r} ran {_MAX_STEPS} steps without waiting")

    def _act(self, out: Outcome, step: Step, ctx: Context, now: datetime, answer: Optional[Answer]) -> None:
        slots, args = out.state.slots, step.args
        name = step.action
        if name == "escalate":
            reason = args.get("reason", "auto")
            if reason == "auto":
                intent = answer.parse.intent if answer and answer.parse and answer.button is None else None
                reason = intent if intent in PROBLEM_INTENTS else "low_score"
            self._escalate(out, reason, answer, ctx)
        elif name == "opt_out":
            self._opt_out(out, say=False)
        elif name == "reschedule":
            after = args.get("after")
            delay = ctx.timing.not_used_yet_delay if after is None else _duration(after)
            slots["_resume"] = args["resume"]
            slots["rescheduled"] = True
            out.state.status, out.state.wake_at, out.state.wake_kind = "waiting", now + delay, "resume"
            out.state.reminded = False
            out.actions.append(ActionCall("reschedule", {"at": now + delay}))
        elif name == "request_review":
            slots["review_requested"] = True
            out.actions.append(ActionCall("request_review", {"url": ctx.variables.get("review_url")}))
        elif name == "offer_upsell":
            slots["upsell_offered"] = True
            out.actions.append(ActionCall("offer_upsell", {"offer": ctx.variables.get("upsell.offer"),
                                                           "url": ctx.variables.get("upsell.url")}))
        elif name == "record_text":
            if slots.get("last_text"):
                out.actions.append(ActionCall("record_text", {"text": slots["last_text"],
                                                              **_parse_facts(answer)}))
        elif name == "record_score":
            metric, score = str(args.get("metric", "csat")), int(args.get("score", 0))
            self._record_score(out, metric, score, answer)
        elif name == "end":
            self._close(out.state)

    def _record_score(self, out: Outcome, metric: str, score: int, answer: Optional[Answer]) -> None:
        slots = out.state.slots
        slots[metric] = score
        if metric in ("csat", "nps") and score <= (3 if metric == "csat" else 6):
            slots["low_score"] = True
        text = answer.text if answer and answer.button is None else ""
        out.actions.append(ActionCall("record_score", {"metric": metric, "score": score, "text": text,
                                                       **_parse_facts(answer)}))

    def _escalate(self, out: Outcome, reason: str, answer: Optional[Answer], ctx: Context) -> None:
        state, slots = out.state, out.state.slots
        problem = answer.parse.entity("problem_type") if answer and answer.parse and answer.button is None else None
        if problem:
            slots["problem_type"] = problem
        slots["had_case"] = True
        slots["escalation_reason"] = reason
        state.status, state.wake_at, state.wake_kind = "active", None, None
        out.actions.append(ActionCall("escalate", {
            "reason": reason,
            "problem_type": slots.get("problem_type"),
            "text": slots.get("last_text", ""),
            "photos": list(slots.get("photos", [])),
            "scores": {m: slots[m] for m in SCALES if m in slots},
        }))

    def _opt_out(self, out: Outcome, say: bool = True) -> None:
        out.actions.append(ActionCall("opt_out"))
        if say:
            out.messages.append(Say(self.flows.texts["opt_out"]))
        self._close(out.state)

    def _wait(self, state: ConversationState, step: Step, ctx: Context, now: datetime) -> None:
        state.status = "waiting"
        state.reminded = False
        state.wake_at, state.wake_kind = now + ctx.timing.reminder_after, "remind"

    @staticmethod
    def _close(state: ConversationState) -> None:
        state.status, state.wake_at, state.wake_kind = "closed", None, None

    def _text(self, key: str, out: Outcome, ctx: Context) -> str:
        return render(self.flows.texts[key], ctx.variables, out.state.slots)

    # -- guards ---------------------------------------------------------------------------

    def _guard(self, name: str, slots: Mapping[str, Any], ctx: Context) -> bool:
        happy = _happy(slots)
        if name == "review_eligible":
            resolved_well = slots.get("had_case") and (slots.get("ces") or 0) >= 6
            return not ctx.has_open_case and bool(happy or resolved_well)
        if name == "upsell_eligible":
            scored_here = any(metric in slots for metric in ("csat", "nps"))
            happy = happy if scored_here else _happy(ctx.earlier)
            trouble = any(facts.get(key) for facts in (slots, ctx.earlier) for key in ("low_score", "had_case"))
            return (happy and not trouble and not ctx.has_open_case
                    and not ctx.upsell_offered_before and not slots.get("upsell_offered")
                    and bool(ctx.variables.get("upsell.offer")))
        if name == "has_faq":
            return bool(ctx.variables.get("faq"))
        if name == "has_review_url":
            return bool(ctx.variables.get("review_url"))
        if name == "has_goodwill_code":
            return bool(ctx.variables.get("goodwill_code"))
        return bool(ctx.variables.get(name))


def _happy(facts: Mapping[str, Any]) -> bool:
    return facts.get("csat") in (4, 5) or facts.get("nps") in (9, 10)


def _parse_facts(answer: Optional[Answer]) -> dict[str, Any]:
    if not answer or not answer.parse or answer.button is not None:
        return {"intent": None, "entities": []}
    return {"intent": answer.parse.intent,
            "entities": [{"entity": e.entity, "value": e.value} for e in answer.parse.entities]}


def _as_list(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _duration(value: Any) -> timedelta:
    from bot.durations import parse_duration
    return parse_duration(value)
