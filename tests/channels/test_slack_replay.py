"""A validly signed Slack request replayed without retry headers, inside the five minutes in
which its signature is still accepted, is processed once: through slack-bolt and the real
core, counted in what the customer and the agents would see."""
from __future__ import annotations


import aiohttp
import pytest

from bot.base.events import InboundEvent, InboundKind
from bot.sandbox.platforms.slack_delivery import Signing, event_envelope, json_body, signed_headers
from tests.support.live_stack import Stack
from tests.support.waiting import until


@pytest.fixture
async def stack():
    stack = await Stack().start()
    yield stack
    await stack.stop()


async def replay(stack: Stack, body: str, times: int = 2) -> list[int]:
    """POST the same signed body `times` times, freshly signed, with no X-Slack-Retry-Num."""
    statuses = []
    async with aiohttp.ClientSession(trust_env=False) as session:
        for _ in range(times):
            headers = {"Content-Type": "application/json",
                       **signed_headers(stack.world.server("slack").signing_secret, body, Signing.VALID)}
            async with session.post(stack.world.adapter("slack").events_url, data=body.encode(), headers=headers) as resp:
                statuses.append(resp.status)
    await stack.world.adapter("slack").idle()
    return statuses


def envelope(stack: Stack, event: dict, event_id: str) -> str:
    api = stack.world.server("slack")
    return json_body(event_envelope(event=event, event_id=event_id, team_id=api.workspace.team_id,
                                    app_id=api.workspace.app_id, bot_user_id=api.bot_user_id, event_time=1))


async def test_a_replayed_customer_message_is_processed_once(stack):
    user = stack.slack_users[0]
    event = {"type": "message", "channel": stack.world.server("slack").dm_channel(user), "user": user,
             "text": "is anyone there?", "ts": "1700000000.000200", "channel_type": "im"}
    assert await replay(stack, envelope(stack, event, "EvREPLAY1"), times=3) == [200, 200, 200]
    rows = stack.store.db.execute("select count(*) from messages where direction = 'in' "
                                  "and text = 'is anyone there?'").fetchone()[0]
    assert rows == 1


async def test_a_replayed_agent_reply_reaches_the_customer_once(stack):
    user = stack.slack_users[1]
    opened = InboundEvent("slack", "setup-1", user, InboundKind.TEXT, stack.core.clock.now(),
                          text="I want a human")
    await stack.core.on_event(opened)
    case = stack.store.db.execute("select id from escalations").fetchone()
    assert case is not None, "the setup did not open a case"
    await until(lambda: stack.store.cases.get(case[0]).card_ts)
    card_ts = stack.store.cases.get(case[0]).card_ts
    agent = stack.world.agent_id
    event = {"type": "message", "channel": stack.world.support_channel_id, "user": agent,
             "text": "Hi, Dana here, sorry about that!", "ts": "1700000001.000300",
             "thread_ts": card_ts, "channel_type": "channel"}
    assert await replay(stack, envelope(stack, event, "EvREPLAY2")) == [200, 200]
    relayed = stack.store.db.execute("select count(*) from outbox where address = ? and text = ?",
                                     [user, "Hi, Dana here, sorry about that!"]).fetchone()[0]
    assert relayed == 1
