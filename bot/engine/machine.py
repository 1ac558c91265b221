"""The pure dialog step: (conversation state, input, context, now) -> (state', messages, actions).

No SQL, no clock, no network, no SDK: time and facts come in as arguments, and what should
happen comes out as data for the store to apply in one transaction.
Precedence (shared/CONVERSATION.md): opt-out, then "help" (the help menu), then `human`, then a
button's value, then a score stated in text, then the question's own branches by intent; above
them all, a reply that names a problem is never read as praise, yes or thanks (`moves.problem_first`).
"""
from __future__ import annotations

import copy
from dataclasses import replace
from datetime import datetime
from typing import Callable, Optional

from bot.engine import moves
from bot.engine.flows import AGAIN, END, Branch, Flow, FlowSet, Step
from bot.engine.scores import score_from_text
from bot.engine.state import (SCALES, ActionCall, Answer, Begin, ConversationState, Context, Handback, Input,
                              Message, Outcome, Owner, Status, Timer, Timing, WakeKind)
from bot.engine.vocabulary import Reading, Turn

__all__ = ["ActionCall", "Answer", "Begin", "Context", "ConversationState", "Engine", "Handback", "Input",
           "Message", "Outcome", "Owner", "Status", "Timer", "Timing", "WakeKind"]

INBOX_FLOW = "inbox"
HELP_FLOW = "help"
RESOLVED_FLOW = "ces"
_MAX_STEPS = 100


# ---- the engine -------------------------------------------------------------------------

class Engine:
    """Runs flows. Holds only the (immutable) flow definitions and the vocabulary they were checked
    against: every action, guard and condition is dispatched through it."""

    def __init__(self, flows: FlowSet) -> None:
        self.flows = flows
        self.vocabulary = flows.vocabulary

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
        slots = {**(state.slots if state else {}), **event.slots}
        new = ConversationState(flow=flow.name, step=flow.start, slots=slots)
        out = Outcome(new, proactive=event.proactive)
        self._run_from(out, flow, flow.start, ctx, now)
        return out

    def _answer(self, state: Optional[ConversationState], answer: Answer, ctx: Context, now: datetime) -> Outcome:
        answer = moves.problem_first(answer)      # above every question's own reading
        typed = answer.typed
        intent = typed.intent if typed else None
        parked = self._parked(state)
        if state is not None and parked is not None and parked.score \
                and self._read_answer(parked, answer, ctx)[0] is not None:
            # rescheduled ("not used yet") and now they state the score: it answers the question
            state.step, state.wake_at, state.wake_kind = parked.name, None, None
            state.slots.pop("_resume", None)
            parked = None
        before = copy.deepcopy(state) if parked is not None else None
        if state is None or state.status is Status.CLOSED or not self._waiting_step(state):
            state = ConversationState(flow=INBOX_FLOW, step=self.flows[INBOX_FLOW].start,
                                      slots=dict(state.slots) if state else {})
        out = Outcome(state)
        if answer.photos:
            state.slots.setdefault("photos", []).extend(answer.photos)
        if answer.text and answer.button is None:
            state.slots["last_text"] = answer.text[:2000]
        if answer.stop:                 # the STOP detector's verdict (bot/conversation/optout.py)
            moves.opt_out(out, ctx.text(self.flows.texts["opt_out"], out.state.slots))
            return out
        if answer.help and HELP_FLOW in self.flows.flows:
            # "help" in any language: a short menu with buttons (a person is one of them), never a
            # reading of yes, no or "a person" of its own
            help_flow = self.flows[HELP_FLOW]
            self._run_from(out, help_flow, help_flow.start, ctx, now, answer)
            return out
        if intent == "human":
            moves.escalate(out, "human", answer)
            out.messages.append(Message(self._text("human", out, ctx)))
            return out
        flow = self.flows[state.flow]
        step = flow.step(state.step)
        score, choice = self._read_answer(step, answer, ctx)
        if score is not None:
            moves.record_score(out, step.score or "", score, answer)
        if moves.said_no(answer, choice):
            state.slots["said_no"] = True       # no offer after a "no" in this conversation
        branch = self._pick_branch(step, Reading(score, choice, answer, state.slots, ctx, self._has(state.slots, ctx)))
        if branch.say:
            out.messages.append(Message(ctx.text(branch.say, state.slots)))
        self._follow(out, flow, step, branch.goto, ctx, now, answer)
        if before is not None and out.state.status is Status.CLOSED:
            # a passing remark ("ok thanks!") while a check-back is scheduled keeps the check-back
            out.state.flow, out.state.step, out.state.status = before.flow, before.step, before.status
            out.state.wake_at, out.state.wake_kind, out.state.reminded = before.wake_at, before.wake_kind, before.reminded
        return out

    def _parked(self, state: Optional[ConversationState]) -> Optional[Step]:
        """The question a rescheduled conversation will ask again when it resumes, if any."""
        if state is None or state.status is not Status.WAITING or state.wake_kind is not WakeKind.RESUME:
            return None
        flow = self.flows.flows.get(state.flow)
        resume = state.slots.get("_resume")
        return flow.step(resume) if flow and resume in flow.steps else None

    def _timer(self, state: ConversationState, ctx: Context, now: datetime) -> Outcome:
        out = Outcome(state)
        kind = state.wake_kind
        if kind is WakeKind.REMIND and not state.reminded and self._waiting_step(state):
            step = self.flows[state.flow].step(state.step)
            text = step.remind or step.ask or ""
            out.messages.append(Message(ctx.text(text, state.slots), ctx.buttons(step.buttons())))
            out.proactive, out.reminder = True, True
            state.reminded = True
            state.wake_at, state.wake_kind = now + ctx.timing.close_after, WakeKind.CLOSE
        elif kind is WakeKind.RESUME:
            flow = self.flows[state.flow]
            out.proactive = True
            self._run_from(out, flow, state.slots.pop("_resume", flow.start), ctx, now)
        else:  # close quietly: no goodbye message
            moves.close(state)
        return out

    def _handback(self, state: ConversationState, ctx: Context, now: datetime) -> Outcome:
        state.owner = Owner.BOT
        flow = self.flows[RESOLVED_FLOW]
        state.flow, state.step = flow.name, flow.start
        out = Outcome(state)
        self._run_from(out, flow, flow.start, replace(ctx, has_open_case=False), now)
        return out

    # -- answers --------------------------------------------------------------------------

    def _waiting_step(self, state: ConversationState) -> bool:
        flow = self.flows.flows.get(state.flow)
        return bool(flow and state.step in flow.steps and flow.step(state.step).waits
                    and state.status is Status.WAITING)

    def _read_answer(self, step: Step, answer: Answer, ctx: Context) -> tuple[Optional[int], Optional[str]]:
        """(score, choice value) the answer carries for this question, if any."""
        buttons = step.buttons()
        choice = None
        if answer.button is not None:
            choice = answer.button if any(b.value == answer.button for b in buttons) else None
        elif answer.text:
            typed = answer.text.strip().lower()
            labels = [(b.value, b.label) for b in buttons] + [(b.value, b.label) for b in ctx.buttons(buttons)]
            choice = next((value for value, label in labels if typed in (value.lower(), label.lower())), None)
        score = None
        if step.score:
            low, high = SCALES[step.score]
            if choice is not None and choice.isdigit():
                score = int(choice)
            elif answer.button is None and answer.text:
                rating = answer.parse.entity("rating") if answer.parse else None
                score = score_from_text(answer.text, low, high, rating)
        return score, choice

    def _pick_branch(self, step: Step, reading: Reading) -> Branch:
        conditions = self.vocabulary.conditions
        for branch in step.branches:
            if branch.is_default or all(conditions[key].matches(wanted, reading)
                                        for key, wanted in branch.when.items()):
                return branch
        return step.branches[-1]

    def _has(self, slots: dict, ctx: Context) -> Callable[[str], bool]:
        """`has: name`: a guard by that name, else the template variable's truthiness."""
        return lambda name: self.vocabulary.guard(name, slots, ctx)

    def _follow(self, out: Outcome, flow: Flow, step: Step, goto: str, ctx: Context, now: datetime,
                answer: Optional[Answer] = None) -> None:
        if goto == AGAIN:
            out.messages.append(Message(ctx.text(step.ask or "", out.state.slots), ctx.buttons(step.buttons())))
            moves.wait(out.state, ctx, now, step.reminds)
        elif goto == END:
            moves.close(out.state)
        else:
            self._run_from(out, flow, goto, ctx, now, answer)

    # -- running steps --------------------------------------------------------------------

    def _run_from(self, out: Outcome, flow: Flow, name: str, ctx: Context, now: datetime,
                  answer: Optional[Answer] = None) -> None:
        state = out.state
        for _ in range(_MAX_STEPS):
            step = flow.step(name)
            state.flow, state.step = flow.name, name
            if step.guard and not self.vocabulary.guard(step.guard, state.slots, ctx):
                name = step.otherwise or END
                continue
            state.slots.update(step.set_slots)
            action = self.vocabulary.actions[step.action] if step.action else None
            if action is not None:
                action.run(Turn(out, step.args, ctx, now, answer, action.name))
            if step.say:
                out.messages.append(Message(ctx.text(step.say, state.slots)))
            if action is not None and action.stops:
                return
            if step.waits:
                if step.ask:
                    out.messages.append(Message(ctx.text(step.ask, state.slots), ctx.buttons(step.buttons())))
                moves.wait(state, ctx, now, step.reminds)
                return
            if step.next is None or step.next == END or (action is not None and action.ends):
                moves.close(state)
                return
            name = step.next
        raise RuntimeError(f"flow {flow.name!r} ran {_MAX_STEPS} steps without waiting")

    def _text(self, key: str, out: Outcome, ctx: Context) -> str:
        return ctx.text(self.flows.texts[key], out.state.slots)
