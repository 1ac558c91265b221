"""The case desk: claim, reply, resolve, ownership, authorization and the SLA reminder."""
from __future__ import annotations

from datetime import timedelta

import pytest

from bot.channels.console import MemoryDesk
from bot.base.events import InboundKind
from tests.support.harness import Harness, make_settings

CES_Q = ("Thanks for your patience while we sorted this out. How easy was it to get your issue resolved? "
         "1 (very hard) to 7 (very easy).")


class RecordingDesk(MemoryDesk):
    """The in-memory desk, also keeping the ephemeral refusals shown to agents."""

    def __init__(self, members=None) -> None:
        super().__init__(members=members)
        self.ephemeral: list[tuple[str, str]] = []

    async def post_ephemeral(self, channel, user, text, *, mentions=()):
        self.ephemeral.append((user, " ".join([*(f"<@{m}>" for m in mentions), text])))
        return await super().post_ephemeral(channel, user, text, mentions=mentions)


def harness(**settings) -> Harness:
    return Harness(make_settings(schedule={"weekly_cap": 5}, **settings),
                   desk=RecordingDesk(members={"U0AGENT", "U0OTHER"}))


@pytest.fixture
async def h() -> Harness:
    harness_ = harness()
    await harness_.start_checkin()
    await harness_.press("1")
    await harness_.say("the sole came off")
    assert harness_.case().status == "open"
    return harness_


# ---- the card -------------------------------------------------------------------------------

async def test_case_card_has_what_an_agent_needs(h):
    card = h.core.cases.card(h.case().id, h.clock.now())
    assert card["reason"] == "product_problem" and card["problem_type"] == "defective"
    assert card["scores"] == {"csat": 1}
    assert card["customer"] == "Ana Silva" and card["order"] == "A-1" and card["sku"] == "TR2-44"
    assert card["customer_words"] == "the sole came off"
    assert [t["from"] for t in card["last_turns"]][-2:] == ["customer", "bot"]
    assert card["sla_state"] == "within SLA"
    assert h.desk.posts[0].text.startswith("Case 1: product_problem / defective")
    assert h.case().card_ts == h.desk.posts[0].ts


# ---- claim, reply, resolve ------------------------------------------------------------------

async def test_claim_hands_the_conversation_to_a_human(h):
    await h.agent("claim")
    case = h.case()
    assert (case.status, case.agent) == ("claimed", "U0AGENT")
    assert h.conversation().owner == "human"
    assert h.desk.posts[0].case["status"] == "claimed"       # the card was updated in place


async def test_reply_is_relayed_to_the_customer_as_the_agent(h):
    await h.agent("claim")
    await h.agent("reply", "Sorry! A replacement ships today.")
    assert h.texts()[-1] == "Sorry! A replacement ships today."
    row = h.store.db.execute("select sender from messages where text = ?", ["Sorry! A replacement ships today."]).fetchone()
    assert row[0] == "agent"
    assert h.case().first_reply_at is not None


async def test_reply_before_claim_claims(h):
    await h.agent("reply", "Looking into it now.")
    case = h.case()
    assert (case.status, case.agent) == ("claimed", "U0AGENT")
    assert h.conversation().owner == "human"
    assert h.texts()[-1] == "Looking into it now."


async def test_only_the_owner_may_reply_or_resolve(h):
    await h.agent("claim")
    sent = list(h.texts())
    await h.agent("reply", "I'll take it from here", agent_id="U0OTHER")
    await h.agent("resolve", agent_id="U0OTHER")
    await h.agent("claim", agent_id="U0OTHER")
    assert h.texts() == sent
    assert h.case().status == "claimed" and h.case().agent == "U0AGENT"
    owns = ("<@U0AGENT> owns this case; add a note instead (the Note button, or the message's shortcut "
            "\"Add a private note\").")
    assert [text for _, text in h.desk.ephemeral] == [
        owns, "<@U0AGENT> owns this case; only they can resolve it.", owns,
    ]


async def test_non_member_is_refused(h):
    sent = list(h.texts())
    await h.agent("claim", agent_id="U0EVIL")
    await h.agent("reply", "gotcha", agent_id="U0EVIL")
    await h.agent("resolve", agent_id="U0EVIL")
    assert h.case().status == "open" and h.case().agent is None
    assert h.texts() == sent
    assert [text for _, text in h.desk.ephemeral] == ["Only members of the support channel can act on cases."] * 3


async def test_allowlisted_agent_may_act_without_membership():
    h = harness(escalation={"agents": ["U0CONTRACTOR"]})
    await h.start_checkin()
    await h.say("the sole came off")
    await h.agent("claim", agent_id="U0CONTRACTOR")
    assert h.case().agent == "U0CONTRACTOR"


async def test_agent_action_delivered_twice_is_applied_once(h):
    from bot.base.agent_events import AgentAction, AgentActionKind
    action = AgentAction(AgentActionKind.REPLY, h.case().card_ts, "U0AGENT", "evt-1", h.clock.now(), text="Hi!")
    await h.core.on_agent_action(action)
    await h.core.on_agent_action(action)
    await h.pump()
    assert h.texts().count("Hi!") == 1


async def test_an_empty_agent_reply_sends_nothing_and_says_why(h):
    sent = list(h.texts())
    await h.agent("reply", "  \n ")
    assert h.texts() == sent
    assert h.desk.ephemeral[-1] == ("U0AGENT", "That reply has no text, so nothing was sent to the customer.")


async def test_an_agent_action_that_fails_midway_is_applied_when_delivered_again(h, monkeypatch):
    """The dedupe row commits with the action's effect: a failure rolls back both, so Slack's
    redelivery claims the case instead of being dropped as a duplicate."""
    from bot.base.agent_events import AgentAction, AgentActionKind
    case = h.case()
    action = AgentAction(AgentActionKind.CLAIM, str(case.id), "U0AGENT", "evt-claim", h.clock.now())
    real_set_owner = h.store.conversations.set_owner

    def fail_once(*args, **kwargs):
        monkeypatch.setattr(h.store.conversations, "set_owner", real_set_owner)
        raise RuntimeError("disk I/O error")

    monkeypatch.setattr(h.store.conversations, "set_owner", fail_once)
    with pytest.raises(RuntimeError):
        await h.core.on_agent_action(action)
    assert h.case().status == "open"
    assert not h.store.events.seen("support", "evt-claim")
    await h.core.on_agent_action(action)
    assert h.case().status == "claimed" and h.case().agent == "U0AGENT"
    assert h.store.conversations.get(case.conversation_id).owner == "human"


async def test_while_a_human_owns_it_the_bot_sends_only_the_acknowledgement(h):
    await h.agent("claim")
    sent = list(h.texts())
    await h.say("any news?")
    await h.say("I'd give it a 5 now")
    await h.deliver(h.event(InboundKind.HELP, text="/help"))
    h.add_order("A-2", delivered=h.clock.now() - timedelta(days=4))   # another check-in falls due
    await h.advance(timedelta(days=3))
    # only the short "a person has it", once for the three messages (at most one per 10 minutes)
    assert h.texts() == sent + ["Thanks, I've added that to your case; our support team will reply here."]
    thread = [t for t in h.desk_texts() if t.startswith("Customer: ")]
    assert thread == ["Customer: any news?", "Customer: I'd give it a 5 now", "Customer: /help"]
    assert h.scores() == {"csat": 1}
    assert any(t.held_reason == "another conversation is open" for t in h.store.orders.touchpoints("A-2"))


async def test_resolve_hands_back_and_asks_ces(h):
    await h.agent("claim")
    await h.agent("reply", "Replacement shipped.")
    await h.agent("resolve")
    assert h.case().status == "resolved" and h.case().resolved_at
    assert h.conversation().owner == "bot"
    assert h.texts()[-1] == CES_Q
    assert h.last_buttons() == [str(n) for n in range(1, 8)]
    await h.press("7")
    assert h.scores() == {"csat": 1, "ces": 7}
    assert h.conversation().slots["review_requested"] is True
    assert h.texts()[-1].startswith("Glad we could help!")
    assert "upsell_offered" not in h.conversation().slots


async def test_resolve_without_claim(h):
    await h.agent("resolve")
    assert h.case().status == "resolved" and h.case().agent == "U0AGENT"
    assert h.texts()[-1] == CES_Q


async def test_resolved_case_refuses_replies_and_ignores_a_second_resolve(h):
    await h.agent("resolve")
    sent = list(h.texts())
    await h.agent("resolve")
    await h.agent("reply", "one more thing")
    assert h.texts() == sent
    assert h.desk.ephemeral[-1][1] == "This case is resolved; the customer's conversation is back with the bot."


async def test_resolving_for_a_blocked_customer_sends_nothing(h):
    await h.agent("claim")
    h.channel.blocked.add("1001")
    await h.agent("reply", "Are you there?")
    assert not h.identity().reachable
    await h.agent("resolve")
    assert h.conversation().owner == "bot"
    assert CES_Q not in h.texts()
    assert h.outbox(text=CES_Q) == []
    assert h.conversation().status == "closed"          # never holds later touchpoints


async def test_customer_back_after_a_case_resolved_while_blocked_gets_the_next_checkin(h):
    h.channel.blocked.add("1001")
    await h.agent("reply", "Are you there?")
    await h.agent("resolve")
    h.channel.blocked.clear()
    await h.deliver(h.event(InboundKind.START, text="/start"))
    h.add_order("A-2", sku="WEB-3", product="Wireless Earbuds", category="electronics",
                delivered=h.clock.now() - timedelta(days=3))
    await h.advance(timedelta(hours=2))
    assert h.texts()[-1] == "How is Wireless Earbuds working for you? Tap 1 (not good) to 5 (great)."


async def test_customer_reply_after_resolution_reaches_the_ces_question(h):
    await h.agent("resolve")
    await h.say("I'd give it a 6")
    assert h.scores()["ces"] == 6


# ---- SLA -------------------------------------------------------------------------------

async def test_sla_warning_at_75_percent_then_one_breach_notice_for_an_unclaimed_case(h):
    await h.advance(timedelta(minutes=22))
    assert not any("SLA" in t for t in h.desk_texts())
    await h.advance(timedelta(minutes=1))             # 22.5 of 30 minutes: 75 %
    warnings = [t for t in h.desk_texts() if "SLA warning" in t]
    assert len(warnings) == 1 and warnings[0].startswith("@S0SUPPORT SLA warning: 75% of the SLA is used")
    assert "waits for an owner" in warnings[0]
    await h.advance(timedelta(minutes=6))
    assert not any("SLA breached" in t for t in h.desk_texts())
    await h.advance(timedelta(minutes=2))
    breaches = [t for t in h.desk_texts() if "SLA breached" in t]
    assert breaches == ["@S0SUPPORT SLA breached: this case has waited 30 minutes without an owner."]
    await h.advance(timedelta(hours=5))
    assert [t for t in h.desk_texts() if "SLA" in t] == warnings + breaches
    assert h.core.cases.card(h.case().id, h.clock.now())["sla_state"] == "overdue"


async def test_warning_and_one_breach_notice_mention_the_owner_of_a_claimed_case(h):
    await h.agent("claim")
    await h.advance(timedelta(minutes=31))
    await h.advance(timedelta(hours=3))
    assert [t for t in h.desk_texts() if "SLA" in t] == [
        "@U0AGENT SLA warning: 75% of the SLA is used and the case still waits for a first reply; it breaches "
        f"at {h.case().sla_due_at[:16].replace('T', ' ')} UTC.",
        "@U0AGENT SLA breached: the customer hasn't had a reply within 30 minutes."]


async def test_no_nudge_once_the_agent_replied(h):
    await h.agent("claim")
    await h.agent("reply", "On it.")
    await h.advance(timedelta(hours=2))
    assert not any("SLA" in t for t in h.desk_texts())
    assert h.core.cases.card(h.case().id, h.clock.now())["sla_state"] == "answered"
