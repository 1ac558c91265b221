"""Each desk action end to end: a signed click, shortcut or modal submission from the loopback
Slack, through the real slack-bolt app, into the core and back to Slack and the customer."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.sandbox.platforms.slack_api import SlackSandbox
from tests.support.desk_rig import DeskRig


@pytest.fixture
async def sandbox():
    sb = SlackSandbox(rate=0)
    await sb.start()
    yield sb
    await sb.stop()


@pytest.fixture
async def rig(sandbox):
    r = await DeskRig(sandbox).start()
    await r.open_case()
    yield r
    await r.stop()


async def claimed(rig: DeskRig, agent: str) -> None:
    await rig.click(agent, "case_claim")
    assert rig.h.case().agent == agent


# ---- private notes ----------------------------------------------------------------------------

async def test_a_note_from_the_card_button_is_posted_internal_and_never_reaches_the_customer(rig):
    await claimed(rig, rig.ana)
    before = rig.customer_texts()
    await rig.click(rig.bo, "case_note")
    view = rig.open_view(rig.bo)
    assert view.body["callback_id"] == "aftercare_form_note"
    rig.sandbox.type_in_view(rig.bo, view.id, "text", "Customer called too; refund approved by finance.")
    await rig.submit(rig.bo, view)
    note = rig.thread_texts()[-1]
    assert note.startswith(f"<@{rig.bo}> 🔒 Internal note (never sent to the customer):")
    assert "refund approved by finance" in note
    assert rig.customer_texts() == before
    assert [a.kind for a in rig.h.store.desk.actions(rig.h.case().id)][-1] == "note"


async def test_a_note_from_the_message_shortcut_on_a_thread_post(rig):
    await claimed(rig, rig.ana)
    await rig.reply(rig.ana, "Sorry! Looking into it.")
    reply_ts = rig.sandbox.thread(rig.support, rig.card_ts)[-1].ts
    await rig.sandbox.user_shortcut(rig.bo, rig.support, reply_ts, "case_note_shortcut")
    await rig.settle()
    view = rig.open_view(rig.bo)
    rig.sandbox.type_in_view(rig.bo, view.id, "text", "FYI the replacement is out of stock.")
    await rig.submit(rig.bo, view)
    assert "out of stock" in rig.thread_texts()[-1]
    assert not any("out of stock" in t for t in rig.customer_texts())


# ---- ownership --------------------------------------------------------------------------------

async def test_only_the_owner_is_relayed_others_are_told_to_add_a_note(rig):
    await claimed(rig, rig.ana)
    await rig.reply(rig.bo, "I can help with that!")
    assert "I can help with that!" not in rig.customer_texts()
    assert rig.ephemerals(rig.bo)[-1].startswith(f"<@{rig.ana}> owns this case; add a note instead")
    await rig.reply(rig.ana, "A replacement ships today.")
    assert rig.customer_texts()[-1] == "A replacement ships today."


async def test_hand_to_a_named_agent_then_only_they_reply(rig):
    await claimed(rig, rig.ana)
    await rig.pick_person(rig.ana, rig.bo)
    assert rig.h.case().agent == rig.bo
    assert rig.thread_texts()[-1].startswith(f"<@{rig.bo}> now owns this case")
    await rig.reply(rig.ana, "still me")
    assert "still me" not in rig.customer_texts()
    assert rig.ephemerals(rig.ana)[-1].startswith(f"<@{rig.bo}> owns this case")
    await rig.reply(rig.bo, "Hi, Bo here: sorting it out now.")
    assert rig.customer_texts()[-1] == "Hi, Bo here: sorting it out now."


async def test_someone_else_cannot_hand_over_the_owners_case(rig):
    await claimed(rig, rig.ana)
    await rig.pick_person(rig.bo, rig.bo)
    assert rig.h.case().agent == rig.ana
    assert rig.ephemerals(rig.bo)[-1].startswith(f"<@{rig.ana}> owns this case")


async def test_release_puts_the_case_back_in_the_queue(rig):
    await claimed(rig, rig.ana)
    assert "case_release" in rig.card_buttons()
    await rig.click(rig.ana, "case_release")
    case = rig.h.case()
    assert (case.status, case.agent) == ("open", None)
    assert "case_claim" in rig.card_buttons()
    assert "released the case" in rig.thread_texts()[-1]
    await claimed(rig, rig.bo)


async def test_two_agents_claiming_at_once_one_wins_the_other_is_told(rig):
    card, case_id = rig.card_ts, str(rig.h.case().id)
    await asyncio.gather(*(rig.sandbox.user_clicks(a, rig.support, card, "case_claim", case_id)
                           for a in (rig.ana, rig.bo)))
    await rig.settle()
    owner = rig.h.case().agent
    loser = rig.bo if owner == rig.ana else rig.ana
    assert owner in (rig.ana, rig.bo)
    assert rig.ephemerals(loser) and rig.ephemerals(loser)[-1].startswith(f"<@{owner}> owns this case")
    assert [a.kind for a in rig.h.store.desk.actions()].count("claim") == 1


# ---- snooze -----------------------------------------------------------------------------------

async def test_snooze_until_the_customer_writes_pauses_the_sla_and_says_so(rig):
    await claimed(rig, rig.ana)
    due = rig.h.case().sla_due_at
    await rig.click(rig.ana, "case_snooze")
    view = rig.open_view(rig.ana)
    rig.sandbox.pick_in_view(rig.ana, view.id, "choice", "customer")
    await rig.submit(rig.ana, view)
    assert "snoozed the case until the customer writes: the SLA clock is paused" in rig.thread_texts()[-1]
    assert rig.h.case().snoozed
    await rig.h.advance(timedelta(hours=2))
    assert not any("SLA" in t and "breached" in t for t in rig.thread_texts())
    await rig.h.say("any news?")
    await rig.settle()
    texts = rig.thread_texts()
    assert texts[-2] == "Customer: any news?"
    assert texts[-1].startswith(f"<@{rig.ana}> Snooze over (the customer wrote): the SLA clock runs again")
    assert not rig.h.case().snoozed and rig.h.case().sla_due_at > due


async def test_snooze_for_an_hour_ends_by_itself(rig):
    await claimed(rig, rig.ana)
    await rig.click(rig.ana, "case_snooze")
    view = rig.open_view(rig.ana)
    rig.sandbox.pick_in_view(rig.ana, view.id, "choice", "1h")
    await rig.submit(rig.ana, view)
    await rig.h.advance(timedelta(minutes=61))
    assert any("Snooze over (its time came)" in t for t in rig.thread_texts())


# ---- saved replies ----------------------------------------------------------------------------

async def test_saved_reply_picked_filled_in_edited_and_sent(rig):
    await claimed(rig, rig.ana)
    await rig.click(rig.ana, "case_saved_reply")
    view = rig.open_view(rig.ana)
    await rig.sandbox.user_picks_in_view(rig.ana, view.id, "reply", "tracking")
    await rig.settle()
    view = rig.open_view(rig.ana)
    text = rig.field(view, "text")["element"]["initial_value"]
    assert text == ("Hi Ana, your order A-1 is on its way. You can follow it here: "
                    "https://shop.example/track/A-1")
    rig.sandbox.type_in_view(rig.ana, view.id, "text", text + " Sorry for the wait!")
    await rig.submit(rig.ana, view)
    assert rig.customer_texts()[-1] == text + " Sorry for the wait!"
    assert [a.kind for a in rig.h.store.desk.actions()][-1] == "saved_reply"


async def test_saved_reply_in_the_customers_language(sandbox):
    rig = await DeskRig(sandbox).start()
    try:
        await rig.open_case(language="es")
        await claimed(rig, rig.ana)
        await rig.click(rig.ana, "case_saved_reply")
        view = rig.open_view(rig.ana)
        await rig.sandbox.user_picks_in_view(rig.ana, view.id, "reply", "replacement")
        await rig.settle()
        await rig.submit(rig.ana, rig.open_view(rig.ana))
        assert rig.customer_texts()[-1].startswith("Sentimos lo de tu Trail Runner 2 shoes, Ana.")
    finally:
        await rig.stop()


# ---- history and goodwill ---------------------------------------------------------------------

async def test_history_is_shown_to_the_agent_only(rig):
    thread = rig.thread_texts()
    await rig.click(rig.bo, "case_history")
    shown = rig.ephemerals(rig.bo)[-1]
    assert shown.startswith("History of Ana Silva (case 1)")
    assert "A-1" in shown and "CSAT 1" in shown and "Earlier cases: none" in shown
    assert rig.thread_texts() == thread


async def test_repeat_customers_are_named_on_the_card(sandbox):
    rig = await DeskRig(sandbox).start()
    try:
        rig.h.add_order("A-0", sku="SERUM-30", product="Serum")
        await rig.open_case()
        assert "Repeat customer: 2 orders" in str(rig.card().blocks)
    finally:
        await rig.stop()


async def test_goodwill_codes_from_the_weekly_budget_then_refused_with_the_reason(sandbox):
    rig = await DeskRig(sandbox, escalation={"goodwill": {"per_week": 1}}).start()
    try:
        await rig.open_case()
        await claimed(rig, rig.ana)
        await rig.click(rig.ana, "case_goodwill")
        assert "issued goodwill code SORRY-" in rig.thread_texts()[-1]
        await rig.click(rig.ana, "case_goodwill")
        assert rig.ephemerals(rig.ana)[-1].startswith("No goodwill code: this week's budget of 1 is spent")
        assert rig.h.store.db.execute("select count(*) from goodwill_codes").fetchone()[0] == 1
    finally:
        await rig.stop()


# ---- the customer's state ---------------------------------------------------------------------

async def test_stop_during_a_case_is_posted_and_the_case_closes_without_messaging(rig):
    await claimed(rig, rig.ana)
    await rig.h.say("stop")
    await rig.settle()
    assert rig.thread_texts()[-1].startswith(f"<@{rig.ana}> The customer said STOP")
    sent = rig.customer_texts()
    await rig.click(rig.ana, "case_resolve")
    assert rig.h.case().status == "resolved"
    assert rig.customer_texts() == sent


async def test_an_unreachable_customer_is_posted(rig):
    await claimed(rig, rig.ana)
    rig.h.channel.blocked.add("1001")
    await rig.reply(rig.ana, "Are you there?")
    await rig.settle()
    assert "can't be reached any more" in rig.thread_texts()[-1]


async def test_sla_warning_then_breach_in_the_thread(rig):
    await rig.h.advance(timedelta(minutes=23))
    assert rig.thread_texts()[-1].startswith("<!subteam^S0SUPPORT> SLA warning: 75% of the SLA is used")
    await rig.h.advance(timedelta(minutes=8))
    assert rig.thread_texts()[-1].startswith("<!subteam^S0SUPPORT> SLA breached")
