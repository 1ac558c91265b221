"""The pure step function: precedence (opt-out, human, button, stated score, intent), timers,
hand-back, purity, and the step features no shipped flow happens to use."""
from __future__ import annotations

import copy
import shutil
from datetime import timedelta

import pytest

from bot.flowfiles import load_flows
from bot.engine.machine import Answer, Begin, ConversationState, Engine, Handback, Timer
from bot.nlu.base import Parse
from tests.engine.helpers import NOW, TIMING, Talk, action, actions, button, buttons, context, text, texts
from tests.support.harness import DIALOGS

OPT_OUT_TEXT = "Done: you won't get any more messages from us. If you change your mind, send /start."
HUMAN_TEXT = "Got it: I'm handing this to a person on our support team. They'll reply right here."


def waiting_steps(flows):
    return [(flow.name, step.name) for flow in flows.flows.values() for step in flow.steps.values() if step.waits]


@pytest.fixture(scope="module")
def every_waiting_step():
    return waiting_steps(load_flows(DIALOGS))


def test_every_shipped_flow_has_waiting_steps_to_test(every_waiting_step):
    names = {flow for flow, _ in every_waiting_step}
    assert {"checkin", "nps", "ces", "inbox"} <= names
    assert len(every_waiting_step) >= 8


# ---- 1. opt-out at any step -----------------------------------------------------------------

@pytest.mark.parametrize("how", ["command", "intent"])
def test_opt_out_at_every_waiting_step(flows, every_waiting_step, how):
    for flow, step in every_waiting_step:
        talk = Talk(flows).at(flow, step, csat=5)
        answer = Answer(text="/stop", stop=True) if how == "command" else text("please stop texting me", "opt_out")
        out = talk.send(answer)
        assert texts(out) == [OPT_OUT_TEXT], (flow, step)
        assert actions(out) == ["opt_out"], (flow, step)
        assert talk.state.status == "closed" and talk.state.wake_at is None, (flow, step)


def test_opt_out_wins_over_a_stated_score(flows):
    talk = Talk(flows)
    talk.begin("checkin")
    out = talk.say("5 stars but stop messaging me", "opt_out")
    assert actions(out) == ["opt_out"]
    assert "csat" not in talk.slots


def test_opt_out_without_any_conversation(flows):
    talk = Talk(flows)
    out = talk.send(text("unsubscribe", "opt_out"))
    assert texts(out) == [OPT_OUT_TEXT] and actions(out) == ["opt_out"]


def test_opt_out_of_a_closed_conversation(flows):
    talk = Talk(flows)
    talk.begin("thank_you", proactive=False)
    out = talk.send(text("leave me alone", "opt_out"))
    assert actions(out) == ["opt_out"]


# ---- 2. human at any step ---------------------------------------------------------------------

def test_human_at_every_waiting_step(flows, every_waiting_step):
    for flow, step in every_waiting_step:
        talk = Talk(flows).at(flow, step)
        out = talk.say("let me talk to a person", "human")
        assert texts(out) == [HUMAN_TEXT], (flow, step)
        assert actions(out) == ["escalate"], (flow, step)
        assert action(out, "escalate").args["reason"] == "human"
        assert talk.state.status == "active" and talk.state.wake_at is None
        assert talk.slots["had_case"] is True


def test_human_wins_over_a_stated_score(flows):
    talk = Talk(flows)
    talk.begin("checkin")
    out = talk.say("5, but I want an agent", "human")
    assert actions(out) == ["escalate"]


# ---- 3. a button carries its value, never an intent ---------------------------------------------

@pytest.mark.parametrize("planted", ["opt_out", "human", "product_problem", "not_used_yet"])
def test_button_press_ignores_any_parse(flows, planted):
    talk = Talk(flows)
    talk.begin("checkin")
    out = talk.send(button("5", parse_as=planted))
    assert "opt_out" not in actions(out) and "escalate" not in actions(out)
    assert action(out, "record_score").args == {"metric": "csat", "score": 5, "text": "", "intent": None,
                                                "entities": []}


def test_button_from_another_question_is_not_an_answer(flows):
    talk = Talk(flows)
    talk.begin("checkin")
    out = talk.press("yes")
    assert "record_score" not in actions(out)
    assert texts(out)[0] == "Sorry, I didn't catch that."
    assert buttons(out) == ["1", "2", "3", "4", "5"]


def test_button_text_is_not_kept_as_free_text(flows):
    talk = Talk(flows)
    talk.begin("checkin")
    talk.send(Answer(text="5", button="5"))
    assert "last_text" not in talk.slots


# ---- 4. score in words beats intent -------------------------------------------------------------

def test_stated_score_beats_intent_at_rating_question(flows):
    talk = Talk(flows)
    talk.begin("checkin")
    out = talk.say("I'd give it a 2", "works_well")
    assert action(out, "record_score").args["score"] == 2
    assert talk.state.step == "triage"


def test_rating_entity_is_used_when_text_has_no_pattern(flows):
    talk = Talk(flows)
    talk.begin("checkin")
    out = talk.say("a solid four honestly", "works_well", rating="4")
    assert action(out, "record_score").args["score"] == 4


def test_score_out_of_range_is_not_a_score(flows):
    talk = Talk(flows)
    talk.begin("checkin")
    out = talk.say("9", "nlu_fallback")
    assert "record_score" not in actions(out)
    assert texts(out)[0] == "Sorry, I didn't catch that."


def test_score_and_parse_facts_are_recorded_with_the_text(flows):
    talk = Talk(flows)
    talk.begin("checkin")
    out = talk.say("4/5 but the box was damaged", "product_problem", problem_type="damaged")
    args = action(out, "record_score").args
    assert args == {"metric": "csat", "score": 4, "text": "4/5 but the box was damaged", "intent": "product_problem",
                    "entities": [{"entity": "problem_type", "value": "damaged"}]}


# ---- timers, hand-back ------------------------------------------------------------------------

def test_only_one_reminder_even_if_the_timer_fires_twice(flows):
    talk = Talk(flows)
    talk.begin("checkin")
    first = talk.timer(TIMING.reminder_after)
    talk.state.wake_kind = "remind"           # a stray second reminder timer
    second = talk.timer(timedelta(hours=1))
    assert len(first.messages) == 1
    assert second.messages == [] and talk.state.status == "closed"


def test_timer_on_a_conversation_waiting_for_an_agent_sends_nothing(flows):
    talk = Talk(flows)
    talk.begin("checkin")
    talk.say("it broke", "product_problem")
    out = talk.timer(TIMING.reminder_after)
    assert out.messages == []


def test_timer_and_handback_need_a_conversation(flows):
    engine = Engine(flows)
    for event in (Timer(), Handback()):
        with pytest.raises(ValueError):
            engine.step(None, event, context(), NOW)


def test_handback_works_even_from_a_closed_state(flows):
    talk = Talk(flows)
    talk.begin("checkin")
    talk.say("stop", "opt_out")
    out = talk.handback()
    assert talk.state.flow == "ces" and buttons(out) == [str(n) for n in range(1, 8)]


# ---- purity, slots ------------------------------------------------------------------------------

def test_step_never_modifies_the_given_state(flows):
    engine = Engine(flows)
    state = ConversationState("checkin", "ask_csat", slots={"photos": ["p0"]}, status="waiting",
                              wake_at=NOW, wake_kind="remind")
    before = copy.deepcopy(state)
    engine.step(state, Answer(text="5", parse=Parse("5", "nlu_fallback", 0.1), photos=("p1",)), context(), NOW)
    assert state == before


def test_same_input_same_outcome(flows):
    engine = Engine(flows)
    state = ConversationState("checkin", "ask_csat", status="waiting")
    one = engine.step(state, text("I'd give it a 4", "works_well"), context(), NOW)
    two = engine.step(state, text("I'd give it a 4", "works_well"), context(), NOW)
    assert one == two


def test_begin_keeps_earlier_slots(flows):
    engine = Engine(flows)
    state = ConversationState("checkin", "done", slots={"csat": 5}, status="closed")
    out = engine.step(state, Begin("nps"), context(), NOW)
    assert out.state.slots["csat"] == 5 and out.state.flow == "nps"


def test_photos_are_kept_and_go_with_the_escalation(flows):
    talk = Talk(flows)
    talk.begin("checkin")
    talk.press("1")
    out = talk.send(Answer(text="see photo", parse=Parse("see photo", "product_problem", 0.9), photos=("ph1",)))
    assert action(out, "escalate").args["photos"] == ["ph1"]


def test_long_text_is_trimmed_in_slots(flows):
    talk = Talk(flows)
    talk.begin("checkin")
    talk.say("x" * 10_000, "nlu_fallback")
    assert len(talk.slots["last_text"]) == 2000


@pytest.mark.parametrize("words", ["", "🙂🙂🙂", "очень хорошо", "很好", "\u200b", "<!channel> {product.name}"])
def test_weird_text_never_crashes(flows, words):
    talk = Talk(flows)
    talk.begin("checkin")
    out = talk.send(Answer(text=words, parse=Parse(words, "nlu_fallback", 0.0)))
    assert talk.state.status == "waiting"
    assert texts(out)[0] == "Sorry, I didn't catch that." and buttons(out) == ["1", "2", "3", "4", "5"]


def test_templates_are_not_re_rendered_from_customer_text(flows):
    talk = Talk(flows)
    talk.begin("checkin")
    talk.press("3")
    out = talk.say("{customer.name} {faq}", "mixed_feedback")
    assert action(out, "record_text").args["text"] == "{customer.name} {faq}"


# ---- step features no shipped flow uses ---------------------------------------------------------

CUSTOM = """\
flow: custom
start: intro
steps:
  intro:
    set: {tier: gold}
    say: "Hello {slots.tier} {customer.first_name}"
    next: q
  q:
    ask: "Pick one"
    choices: [red, {label: "Deep blue", value: blue}]
    on:
      - when: {choice: red, slot: {tier: gold}}
        goto: scored
      - when: {entity: {problem_type: size_fit}}
        goto: sizes
      - when: {has: has_faq}
        say: "free text with FAQ"
        goto: later
      - default: true
        goto: again
  scored:
    action: record_score
    args: {metric: nps, score: 10}
    next: listen
  listen:
    listen: true
    on:
      - when: {text: true}
        say: "got text"
        goto: end
      - default: true
        say: "got a tap"
        goto: end
  sizes:
    say: "sizes!"
    action: end
    end: true
  later:
    action: reschedule
    args: {after: 2h, resume: q}
"""


@pytest.fixture
def custom_flows(tmp_path):
    for path in DIALOGS.glob("*.yml"):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "custom.yml").write_text(CUSTOM, encoding="utf-8")
    return load_flows(tmp_path)


def test_custom_set_slot_and_choice_with_slot_condition(custom_flows):
    talk = Talk(custom_flows)
    out = talk.begin("custom")
    assert texts(out) == ["Hello gold Ana", "Pick one"]
    assert [(b.label, b.value) for b in out.messages[-1].buttons] == [("red", "red"), ("Deep blue", "blue")]
    out = talk.press("red")
    assert action(out, "record_score").args["score"] == 10
    assert talk.slots["nps"] == 10 and talk.state.step == "listen" and talk.state.status == "waiting"
    assert texts(out) == []          # a listen step asks nothing
    out = talk.say("anything", "nlu_fallback")
    assert texts(out) == ["got text"] and talk.state.status == "closed"


def test_custom_entity_condition(custom_flows):
    talk = Talk(custom_flows)
    talk.begin("custom")
    out = talk.say("too tight", "product_problem", problem_type="size_fit")
    assert texts(out) == ["sizes!"] and talk.state.status == "closed"


def test_custom_has_condition_and_reschedule_after(custom_flows):
    talk = Talk(custom_flows)
    talk.begin("custom")
    out = talk.say("whatever", "nlu_fallback")
    assert texts(out) == ["free text with FAQ"]
    assert talk.state.wake_at == NOW + timedelta(hours=2) and talk.state.wake_kind == "resume"
    later = talk.timer(timedelta(hours=2))
    assert texts(later) == ["Pick one"]


def test_custom_has_condition_false_goes_to_default(custom_flows):
    talk = Talk(custom_flows, context(faq=None))
    talk.begin("custom")
    out = talk.say("whatever", "nlu_fallback")
    assert texts(out) == ["Pick one"]
    assert talk.state.step == "q"
