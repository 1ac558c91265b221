"""Everything a customer does enters through InboundHandler.handle: dedupe, buttons that never
reach the NLU, stale taps, STOP at any step, help, media, open cases, weird messages."""
from __future__ import annotations

from datetime import timedelta

import pytest

from bot.base.events import InboundEvent, InboundKind, SendResult, SendStatus
from bot.nlu.base import Parse, SyncParser
from tests.support.harness import ADDRESS, Harness, make_settings

OPT_OUT = "Done: you won't get any more messages from us. If you change your mind, send /start."
HELP = "I'm the shop's follow-up assistant"
ACK = "Thanks, I've added that to your case; our support team will reply here."
CSAT_Q = "How is Trail Runner 2 shoes working for you? Tap 1 (not good) to 5 (great)."


class ExplodingParser(SyncParser):
    """A parser that must never be called (buttons) or that fails (weird input)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def parse(self, text: str, language: str | None = None) -> Parse:
        self.calls.append(text)
        raise RuntimeError("the NLU fell over")


@pytest.fixture
async def h() -> Harness:
    harness = Harness(make_settings(schedule={"weekly_cap": 5}))
    await harness.start_checkin()
    assert harness.texts()[-1] == CSAT_Q
    return harness


# ---- 1. an event is processed once ------------------------------------------------------------

async def test_repeated_event_id_is_processed_once(h):
    event = h.event(InboundKind.BUTTON, button_value="2", reply_to=h.last_question_id())
    assert await h.deliver(event) is True
    sent = list(h.texts())
    assert await h.deliver(event) is False
    assert await h.deliver(event) is False
    assert h.texts() == sent
    assert [r.score for r in h.responses()] == [2]
    assert h.store.db.execute("select count(*) from messages where direction = 'in'").fetchone()[0] == 1


async def test_same_event_id_on_another_channel_is_a_different_event(h):
    assert await h.deliver(h.event(event_id="77", text="hello"))
    other = InboundEvent("slack", "77", "U0STRANGER", InboundKind.TEXT, h.clock.now(), text="hi")
    assert h.core.inbound.handle(other, h.clock.now()) is True


# ---- 2. buttons never reach the NLU; free text always does ------------------------------------------

async def test_button_press_never_reaches_the_parser():
    h = Harness(parser=ExplodingParser())
    await h.start_checkin()
    await h.press("5")
    await h.press("yes")
    assert h.parser.calls == []
    assert h.scores() == {"csat": 5}
    assert h.texts()[-1].startswith("Thank you! Here's the link")


async def test_free_text_always_reaches_the_parser(h):
    await h.say("I love them")
    await h.say("still pretty great")
    assert h.parser.calls == ["I love them", "still pretty great"]


async def test_tap_marks_the_question_answered(h):
    question_id = h.last_question_id()
    await h.press("4")
    [choice] = h.channel.chosen
    assert (choice.platform_message_id, choice.chosen_label, choice.question_text) == (question_id, "4", CSAT_Q)


# ---- 3. a tap on an old question ---------------------------------------------------------------

async def test_tap_on_an_old_question_is_ignored(h):
    old_question = h.last_question_id()
    await h.press("5")                                   # -> the review question
    sent = list(h.texts())
    await h.press("1", reply_to=old_question)           # the CSAT buttons are still on screen
    assert h.texts() == sent
    assert h.scores() == {"csat": 5}
    assert h.conversation().step == "review"


async def test_tap_after_the_flow_ended_is_ignored(h):
    await h.press("3")
    await h.say("more colours please")
    assert h.conversation().status == "closed"
    sent = list(h.texts())
    await h.press("5", reply_to="100")
    assert h.texts() == sent and h.scores() == {"csat": 3}


# ---- 4. STOP at any step ------------------------------------------------------------------------

async def _reach(h: Harness, where: str) -> None:
    if where == "ask_csat":
        return
    if where == "triage":
        await h.press("2")
    elif where == "ask_better":
        await h.press("3")
    elif where == "review":
        await h.press("5")
    elif where == "offer_person":
        h.settings.faq.clear()
        await h.say("how do I clean them")
    elif where == "rescheduled":
        await h.say("haven't tried them yet")
    elif where == "closed":
        await h.press("3")
        await h.say("more colours")
    elif where == "case_open":
        await h.say("the sole came off")
    elif where == "case_claimed":
        await h.say("the sole came off")
        await h.agent("claim")
    elif where == "ces":
        await h.say("the sole came off")
        await h.agent("resolve")
    elif where == "reminded":
        await h.advance(timedelta(hours=24, minutes=1))
        assert h.texts()[-1].startswith("Just checking in")


STEPS = ["ask_csat", "triage", "ask_better", "review", "offer_person", "rescheduled", "closed", "case_open",
         "case_claimed", "ces", "reminded"]


@pytest.mark.parametrize("where", STEPS)
@pytest.mark.parametrize("stop", ["STOP", "stop.", "Unsubscribe", "please stop messaging me", "/stop"])
async def test_stop_at_any_step(h, where, stop):
    await _reach(h, where)
    before = len(h.texts())
    if stop == "/stop":
        await h.deliver(h.event(InboundKind.STOP, text="/stop"))
    else:
        await h.say(stop)
    assert h.texts()[before:] == [OPT_OUT]
    identity = h.identity()
    assert identity.opted_out
    assert h.store.customers.ledger(h.customer_id())[-1].action == "opt_out"
    # silence afterwards: replies, reminders, later touchpoints, agent replies
    await h.say("hello?")
    await h.press("5", reply_to=None)
    h.add_order("A-2", delivered=h.clock.now())
    await h.advance(timedelta(days=40))
    if h.case() and h.case().status != "resolved":
        await h.agent("reply", "Sorry about that!")
    assert h.texts()[before:] == [OPT_OUT]


async def test_stop_words_never_need_the_nlu():
    h = Harness(parser=ExplodingParser())
    await h.start_checkin()
    await h.say("STOP")
    assert h.parser.calls == [] and h.identity().opted_out


async def test_opt_in_again_with_start(h):
    await h.say("stop")
    await h.deliver(h.event(InboundKind.START, text="/start"))
    assert h.texts()[-1] == "Welcome back! You'll hear from us about your orders again."
    assert h.identity().contactable
    assert [r.action for r in h.store.customers.ledger(h.customer_id())][-2:] == ["opt_out", "opt_in"]


async def test_opt_out_cancels_what_was_queued(h):
    h.channel.script.append(SendResult(SendStatus.RETRY, retry_after=600, error="429"))
    await h.press("5")                                   # the review question is held by a 429 ...
    await h.say("stop")                                  # ... and the customer opts out meanwhile
    await h.advance(timedelta(minutes=15))
    assert h.texts()[-1] == OPT_OUT
    assert not any(t.startswith("So glad") for t in h.texts())


# ---- 5. help, media, photos ------------------------------------------------------------------------

async def test_help_command_opens_the_help_menu(h):
    # shared/CONVERSATION.md, Safety: help gets a short menu with buttons (a person, stop, how-to)
    await h.deliver(h.event(InboundKind.HELP, text="/help"))
    assert h.texts()[-1] == "I'm the shop's follow-up assistant. How can I help?"
    assert h.last_buttons() == ["person", "stop", "how_to"]
    assert (h.conversation().flow, h.conversation().step, h.conversation().status) == ("help", "menu", "waiting")


@pytest.mark.parametrize("words", ["help", "I need help", "Hilfe", "ayuda", "aiuto", "ヘルプ"])
async def test_help_in_words_opens_the_menu_and_is_never_a_no(h, words):
    await h.say(words)
    assert h.texts()[-1] == "I'm the shop's follow-up assistant. How can I help?"
    assert not h.conversation().slots.get("said_no") and not h.cases()


async def test_the_help_menus_stop_button_opts_out(h):
    await h.say("help")
    await h.press("stop")
    assert h.texts()[-1] == OPT_OUT


async def test_sticker_asks_for_words(h):
    await h.deliver(h.event(InboundKind.MEDIA, media_type="sticker"))
    assert h.texts()[-1] == "Sorry, I can only read text and photos here. Could you write it in words?"
    assert h.conversation().step == "ask_csat"


async def test_photo_with_caption_goes_with_the_case(h):
    await h.press("1")
    await h.deliver(h.event(InboundKind.MEDIA, media_type="photo", photo_ids=("AgAD-photo",),
                            text="the sole came off, see photo"))
    case = h.case()
    assert case.reason == "product_problem" and "AgAD-photo" in case.photos


async def test_photo_while_a_case_is_open_is_attached(h):
    await h.say("the sole came off")
    await h.deliver(h.event(InboundKind.MEDIA, media_type="photo", photo_ids=("p1", "p2")))
    assert h.case().photos == ["p1", "p2"]
    assert h.desk_texts()[-1] == "Customer: [2 photo(s) attached to the case]"


# ---- 6. an open case takes the customer's messages -----------------------------------------------

async def test_text_during_an_open_case_goes_to_its_thread_and_is_acknowledged(h):
    await h.say("the sole came off")
    sent = list(h.texts())
    await h.say("also the laces are frayed")
    await h.say("ok thanks")
    assert h.texts() == sent + [ACK]                      # a person has it: said once, not per message
    assert h.desk_texts()[-2:] == ["Customer: also the laces are frayed", "Customer: ok thanks"]
    assert h.case().reason == "product_problem"        # a later reply never rewrites it
    assert len(h.cases()) == 1


@pytest.mark.parametrize("kind", ["help", "sticker", "button"])
async def test_human_owned_conversation_gets_only_the_acknowledgement(h, kind):
    """While a human owns the conversation the bot sends nothing of its own but the short
    "a person has it" (CONVERSATION.md, Safety: a waiting customer is answered)."""
    await h.say("the sole came off")
    await h.agent("claim")
    assert h.conversation().owner == "human"
    sent = list(h.texts())
    if kind == "help":
        await h.deliver(h.event(InboundKind.HELP, text="/help"))
    elif kind == "sticker":
        await h.deliver(h.event(InboundKind.MEDIA, media_type="sticker"))
    else:
        await h.press("4", reply_to=None)
    assert h.texts() == sent + [ACK]
    assert h.desk_texts()[-1].startswith("Customer: ")
    assert h.desk_texts()[-1] != "Customer: "            # never an empty post


async def test_human_request_mid_flow_escalates(h):
    await h.say("can I talk to a person")
    assert h.texts()[-1] == "Got it: I'm handing this to a person on our support team. They'll reply right here."
    assert h.case().reason == "human"
    assert h.desk_texts()[0].startswith("Case 1: human")


# ---- 7. weird messages never crash ------------------------------------------------------------------

WEIRD = ["", "   ", "x" * 10_000, "🙂🙂🙂", "👍", "очень хорошо", "とても良い", "جيد جدا", "\u200b\u200b",
         "\x00\x01 control", "<!channel> <@U123> <https://evil.example|click>", "{customer.name}", "5" * 5000]


@pytest.mark.parametrize("text", WEIRD, ids=range(len(WEIRD)))
async def test_weird_messages_never_crash(h, text):
    assert await h.say(text) is True
    assert h.conversation().status in ("waiting", "closed")
    assert h.texts()[-1] == CSAT_Q                      # asked again, never escalated on a guess
    assert h.case() is None


@pytest.mark.parametrize("text", WEIRD, ids=range(len(WEIRD)))
async def test_weird_messages_with_a_failing_parser(text):
    h = Harness(parser=ExplodingParser())
    await h.start_checkin()
    assert await h.say(text) is True
    assert h.texts()[-1] == CSAT_Q and h.case() is None


async def test_very_long_text_is_stored_trimmed(h):
    await h.say("é" * 10_000)
    stored = h.store.db.execute("select text from messages where direction = 'in'").fetchone()[0]
    assert 0 < len(stored) <= 4000


async def test_weird_text_from_a_stranger(h):
    assert await h.say("🙂", address="999999") is True
    assert h.texts("999999")[-1].startswith(HELP)
    assert h.store.customers.identity_at("telegram", "999999") is None


# ---- 8. odds and ends ----------------------------------------------------------------------------

async def test_language_code_is_remembered(h):
    await h.deliver(h.event(text="hola", language_code="es"))
    assert h.identity().language_code == "es"


async def test_message_out_of_the_blue_starts_an_inbox_conversation(h):
    await h.press("3")
    await h.say("more colours")
    await h.say("where is my other parcel, it never arrived")
    assert h.conversation().flow == "inbox"
    assert h.case().reason == "delivery_problem"


async def test_reply_cost_does_not_grow_with_history(h):
    """Invariant 7: a reply loads the conversation's state, never its message history."""
    await h.press("3")
    conversation_id = h.conversation().id
    for n in range(300):
        h.store.conversations.add_message(conversation_id, h.identity().id, "in", "customer", f"m{n}", h.clock.now())
    statements: list[str] = []
    h.store.db.conn.set_trace_callback(statements.append)
    try:
        h.core.inbound.handle(h.event(text="more colours please"), h.clock.now())
    finally:
        h.store.db.conn.set_trace_callback(None)
    reads = [s for s in statements if "from [messages]" in s.lower() or "from messages" in s.lower()]
    assert all("where [id] = " in s.lower() or "where id = " in s.lower() for s in reads), reads


async def test_state_and_messages_commit_together_or_not_at_all(h, monkeypatch):
    """Invariant 2: a failure while applying a step leaves no trace, and the redelivered event
    is processed normally (its id was not recorded either)."""
    before = (h.conversation(), h.store.outbox.counts(), h.cases())
    event = h.event(text="the sole came off")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(h.store.cases, "open", broken)
        await h.core.on_event(event)                     # logged, never raised to the channel
    assert (h.conversation(), h.store.outbox.counts(), h.cases()) == before
    assert await h.deliver(event) is True               # the platform's redelivery
    assert h.case().reason == "product_problem"


async def test_an_unknown_effect_is_refused_by_name_and_the_conversation_stays_consistent(h, caplog):
    """An effect nothing applies is an error naming it, never skipped: the transaction it is in
    writes nothing (tests/plugins/test_effect_appliers.py runs it through a plugin)."""
    from bot.conversation.effects import EffectNotApplied
    from bot.engine.machine import ActionCall
    conversation = h.conversation()
    with pytest.raises(EffectNotApplied, match="action 'give_coupon' emitted effect 'send_coupon', which no plugin"):
        with h.store.transaction():
            h.store.conversations.postpone_wakeup(conversation.id, h.clock.now())
            h.core.runner._act(ActionCall("send_coupon", {}, by="give_coupon"), conversation.id, h.identity(), "A-1",
                               "TR2-44", h.clock.now())
    assert "'send_coupon', which no plugin applies" in caplog.text
    assert h.conversation() == conversation
    await h.press("4")
    assert h.scores() == {"csat": 4}


async def test_customer_who_unblocked_the_bot_and_writes_is_reachable_again(h):
    await h.press("5")
    await h.press("no")
    h.channel.blocked.add(ADDRESS)
    h.add_order("A-2", delivered=h.clock.now() - timedelta(days=4))
    await h.advance(timedelta(days=8))                      # the next check-in bounces
    assert not h.identity().reachable
    h.channel.blocked.clear()
    await h.say("my new shoes broke")
    assert h.identity().reachable
    assert h.texts()[-1] == "Sorry about that! I've passed it to our support team; a person will reply here shortly."
