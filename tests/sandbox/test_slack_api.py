"""The loopback Slack as the real slack-sdk client sees it, and as a bot's request URL sees
its deliveries."""
import hashlib
import hmac
import json
import time
from urllib.parse import parse_qs

import aiohttp
import pytest
from aiohttp import web
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.platforms.slack_api import Signing, SlackSandbox
from bot.sandbox.platforms.slack_state import Message


def client(sandbox: SlackSandbox, token: str = None) -> AsyncWebClient:
    c = AsyncWebClient(token=token or sandbox.token, base_url=sandbox.base_url, retry_handlers=[])
    c.proxy = None          # slack-sdk reads HTTPS_PROXY and ignores NO_PROXY
    return c


async def error_of(call) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        await call
    return info.value


def section(text: str, **extra) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text, **extra}}


# ---- Web API ------------------------------------------------------------------------------

async def test_auth_test_names_the_bot(sandbox):
    resp = await client(sandbox).auth_test()
    assert resp["user_id"] == sandbox.bot_user_id and resp["bot_id"] == sandbox.bot_id
    assert resp["team_id"]


async def test_wrong_or_missing_token_is_refused(sandbox):
    e = await error_of(client(sandbox, "xoxb-wrong").auth_test())
    assert e.response.status_code == 200 and e.response["error"] == "invalid_auth"
    async with aiohttp.ClientSession() as s:
        async with s.post(sandbox.base_url + "auth.test") as r:
            assert (await r.json())["error"] == "not_authed"


async def test_form_and_json_bodies_are_both_accepted(sandbox):
    c = client(sandbox)
    user = sandbox.add_user("ann")
    dm = (await c.conversations_open(users=user))["channel"]["id"]          # form body
    await c.chat_postMessage(channel=dm, text="json", blocks=[section("x")])  # JSON body
    async with aiohttp.ClientSession() as s:
        form = {"channel": dm, "text": "form", "blocks": json.dumps([section("y")])}
        async with s.post(sandbox.base_url + "chat.postMessage", data=form,
                          headers={"Authorization": f"Bearer {sandbox.token}"}) as r:
            assert (await r.json())["ok"] is True
    assert [m.text for m in sandbox.dms_to(user)] == ["json", "form"]
    assert sandbox.dms_to(user)[1].blocks == [section("y")]


async def test_post_message_answers_ts_and_channel(sandbox):
    ch = sandbox.add_channel("support")
    resp = await client(sandbox).chat_postMessage(channel=ch, text="hello")
    assert resp["channel"] == ch and resp["ts"] == sandbox.messages_in(ch)[0].ts
    assert resp["message"]["bot_id"] == sandbox.bot_id


async def test_burst_then_429_with_retry_after(sandbox, clock):
    c = client(sandbox)
    ch = sandbox.add_channel("support")
    other = sandbox.add_channel("other")
    for _ in range(3):                                   # the burst allowance
        await c.chat_postMessage(channel=ch, text="ok")
    e = await error_of(c.chat_postMessage(channel=ch, text="too fast"))
    assert e.response.status_code == 429
    assert e.response["error"] == "ratelimited"
    assert e.response.headers["Retry-After"] == "1"
    await c.chat_postMessage(channel=other, text="another channel has its own limit")
    clock.advance(1.0)
    await c.chat_postMessage(channel=ch, text="one more per second")
    await error_of(c.chat_postMessage(channel=ch, text="but only one"))
    assert sandbox.posted == 5 and sandbox.ratelimited == 2
    assert len(sandbox.messages_in(ch)) == 4


async def test_rate_and_burst_are_configurable(clock):
    async with SlackSandbox(clock=clock, rate=0.5, burst=1) as sb:
        c = client(sb)
        ch = sb.add_channel("support")
        await c.chat_postMessage(channel=ch, text="1")
        e = await error_of(c.chat_postMessage(channel=ch, text="2"))
        assert e.response.headers["Retry-After"] == "2"


async def test_deactivated_user(sandbox):
    c = client(sandbox)
    user = sandbox.add_user("bob", "bob@example.com")
    dm = (await c.conversations_open(users=user))["channel"]["id"]
    sandbox.deactivate(user)
    assert (await error_of(c.conversations_open(users=user))).response["error"] == "account_inactive"
    assert (await error_of(c.chat_postMessage(channel=dm, text="hi"))).response["error"] == "account_inactive"
    assert (await c.users_info(user=user))["user"]["deleted"] is True
    e = await error_of(c.users_lookupByEmail(email="bob@example.com"))
    assert e.response["error"] == "users_not_found"


async def test_unknown_user_and_channel_errors(sandbox):
    c = client(sandbox)
    assert (await error_of(c.conversations_open(users="U404"))).response["error"] == "user_not_found"
    assert (await error_of(c.users_info(user="U404"))).response["error"] == "user_not_found"
    assert (await error_of(c.chat_postMessage(channel="C404", text="x"))).response["error"] == "channel_not_found"
    outside = sandbox.add_channel("elsewhere", bot_member=False)
    assert (await error_of(c.chat_postMessage(channel=outside, text="x"))).response["error"] == "not_in_channel"
    archived = sandbox.add_channel("old")
    sandbox.archive(archived)
    assert (await error_of(c.chat_postMessage(channel=archived, text="x"))).response["error"] == "is_archived"


async def test_lookup_by_email_and_users_info(sandbox):
    c = client(sandbox)
    user = sandbox.add_user("cy", "Cy@Example.com")
    assert (await c.users_lookupByEmail(email="cy@example.com"))["user"]["id"] == user
    info = (await c.users_info(user=user))["user"]
    assert info["profile"]["email"] == "Cy@Example.com" and info["deleted"] is False


async def test_message_limits(sandbox):
    c = client(sandbox)
    ch = sandbox.add_channel("support")
    await c.chat_postMessage(channel=ch, text="x" * 40_001)
    assert len(sandbox.messages_in(ch)[0].text) == 40_000
    too_many = [section("b")] * 51
    e = await error_of(c.chat_postMessage(channel=ch, text="x", blocks=too_many))
    assert e.response["error"] == "invalid_blocks" and e.response["errors"]
    e = await error_of(c.chat_postMessage(channel=ch, text="x", blocks=[section("s" * 3_001)]))
    assert e.response["error"] == "invalid_blocks"
    ts = sandbox.messages_in(ch)[0].ts
    e = await error_of(c.chat_update(channel=ch, ts=ts, text="y" * 40_001))
    assert e.response["error"] == "msg_too_long"
    with pytest.warns(UserWarning):                      # slack-sdk warns about the missing text too
        assert (await error_of(c.chat_postMessage(channel=ch))).response["error"] == "no_text"


async def test_threads_updates_and_ephemerals(sandbox, clock):
    c = client(sandbox)
    agent = sandbox.add_user("agent")
    outsider = sandbox.add_user("outsider")
    ch = sandbox.add_channel("support", [agent])
    parent = (await c.chat_postMessage(channel=ch, text="case"))["ts"]
    reply = (await c.chat_postMessage(channel=ch, text="in thread", thread_ts=parent))["ts"]
    await c.chat_update(channel=ch, ts=parent, text="case (claimed)")
    assert [m.text for m in sandbox.thread(ch, parent)] == ["case (claimed)", "in thread"]
    assert sandbox.message(ch, parent).edited == 1
    assert sandbox.message(ch, reply).thread_ts == parent
    resp = await c.chat_postEphemeral(channel=ch, user=agent, text="only you")
    assert resp["message_ts"] and sandbox.ephemerals[0].user == agent
    e = await error_of(c.chat_postEphemeral(channel=ch, user=outsider, text="x"))
    assert e.response["error"] == "user_not_in_channel"
    e = await error_of(c.chat_update(channel=ch, ts="1.000000", text="x"))
    assert e.response["error"] == "message_not_found"


async def test_conversations_members_pages(sandbox):
    users = [sandbox.add_user(f"u{i}") for i in range(5)]
    ch = sandbox.add_channel("support", users)
    c = client(sandbox)
    first = await c.conversations_members(channel=ch, limit=4)
    assert len(first["members"]) == 4
    rest = await c.conversations_members(channel=ch, limit=4,
                                         cursor=first["response_metadata"]["next_cursor"])
    assert rest["response_metadata"]["next_cursor"] == ""
    assert set(first["members"] + rest["members"]) == set(users) | {sandbox.bot_user_id}


async def test_pings_and_links_are_recorded(sandbox):
    c = client(sandbox)
    ch = sandbox.add_channel("support")
    await c.chat_postMessage(channel=ch, text="<!here> see <https://evil.example|your bank>")
    await c.chat_postMessage(channel=ch, text="fallback", blocks=[section("@channel hi")])
    await c.chat_postMessage(channel=ch, text="fallback", link_names=False,
                             blocks=[section("@channel &lt;!here&gt;", verbatim=True)])
    first, second, third = sandbox.messages_in(ch)
    assert first.pings == ("!here",) and first.links == ("https://evil.example|your bank",)
    assert second.pings == ("!channel",)          # verbatim off: Slack may parse the bare word
    assert third.pings == () and third.links == ()


# ---- deliveries to the bot ----------------------------------------------------------------

class Receiver:
    """A stand-in for the bot's request URL that records what arrives."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[tuple[dict, str]] = []
        self.runner = None
        self.url = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/slack/events", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}/slack/events"
        return self.url

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((dict(request.headers), await request.text()))
        return web.Response(status=self.status, text="ok")


@pytest.fixture
async def receiver(sandbox):
    r = Receiver()
    sandbox.events_url = await r.start()
    yield r
    await r.runner.cleanup()


def signature_ok(secret: str, headers: dict, body: str) -> bool:
    ts = headers["X-Slack-Request-Timestamp"]
    expected = "v0=" + hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["X-Slack-Signature"])


async def test_dm_event_is_signed_and_shaped_like_slack(sandbox, receiver):
    user = sandbox.add_user("ann")
    delivered = await sandbox.user_sends_dm(user, "it broke")
    assert delivered.status == 200 and delivered.event_id.startswith("Ev")
    headers, body = receiver.requests[0]
    assert headers["Content-Type"] == "application/json"
    assert signature_ok(sandbox.signing_secret, headers, body)
    assert abs(int(headers["X-Slack-Request-Timestamp"]) - time.time()) < 5
    envelope = json.loads(body)
    assert envelope["type"] == "event_callback" and envelope["event_id"] == delivered.event_id
    assert envelope["team_id"] and envelope["api_app_id"] and isinstance(envelope["event_time"], int)
    event = envelope["event"]
    assert event["type"] == "message" and event["channel_type"] == "im"
    assert event["user"] == user and event["text"] == "it broke"
    assert event["channel"] == sandbox.dm_channel(user) and event["ts"] == delivered.ts


async def test_unsigned_stale_and_forged_deliveries(sandbox, receiver):
    user = sandbox.add_user("ann")
    await sandbox.user_sends_dm(user, "a", signing=Signing.UNSIGNED)
    await sandbox.user_sends_dm(user, "b", signing=Signing.STALE)
    await sandbox.user_sends_dm(user, "c", signing=Signing.BAD)
    (unsigned, _), (stale, stale_body), (bad, bad_body) = receiver.requests
    assert "X-Slack-Signature" not in unsigned
    assert time.time() - int(stale["X-Slack-Request-Timestamp"]) >= 590
    assert signature_ok(sandbox.signing_secret, stale, stale_body)
    assert not signature_ok(sandbox.signing_secret, bad, bad_body)


async def test_retries_repeat_the_event_id_with_retry_headers(sandbox, receiver):
    user = sandbox.add_user("ann")
    delivered = await sandbox.user_sends_dm(user, "hello", retries=2)
    assert delivered.statuses == (200, 200, 200)
    bodies = [json.loads(body) for _, body in receiver.requests]
    assert {b["event_id"] for b in bodies} == {delivered.event_id}
    assert "X-Slack-Retry-Num" not in receiver.requests[0][0]
    assert [h["X-Slack-Retry-Num"] for h, _ in receiver.requests[1:]] == ["1", "2"]
    assert receiver.requests[1][0]["X-Slack-Retry-Reason"] == "http_timeout"


async def test_delivery_returns_the_bots_status(sandbox, receiver):
    receiver.status = 401
    assert (await sandbox.user_sends_dm(sandbox.add_user("ann"), "x")).status == 401


async def test_thread_reply_event(sandbox, receiver):
    agent = sandbox.add_user("agent")
    ch = sandbox.add_channel("support", [agent])
    parent = (await client(sandbox).chat_postMessage(channel=ch, text="case"))["ts"]
    await sandbox.user_posts_in_thread(ch, parent, agent, "on it")
    event = json.loads(receiver.requests[0][1])["event"]
    assert event["channel_type"] == "channel" and event["thread_ts"] == parent
    assert event["parent_user_id"] == sandbox.bot_user_id and event["user"] == agent
    assert [m.text for m in sandbox.thread(ch, parent)] == ["case", "on it"]


async def test_click_is_a_form_encoded_block_actions_payload(sandbox, receiver):
    user = sandbox.add_user("ann")
    dm = sandbox.dm_channel(user)
    buttons = {"type": "actions", "block_id": "choices_0", "elements": [
        {"type": "button", "text": {"type": "plain_text", "text": "Great"},
         "action_id": "choice_0", "value": "5"}]}
    ts = (await client(sandbox).chat_postMessage(channel=dm, text="How is it?", blocks=[buttons]))["ts"]
    delivered = await sandbox.user_clicks(user, dm, ts, "choice_0", "5")
    headers, body = receiver.requests[0]
    assert delivered.status == 200
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert signature_ok(sandbox.signing_secret, headers, body)
    payload = json.loads(parse_qs(body)["payload"][0])
    assert payload["type"] == "block_actions" and payload["user"]["id"] == user
    assert payload["container"] == {"type": "message", "message_ts": ts, "channel_id": dm,
                                    "is_ephemeral": False}
    assert payload["channel"]["id"] == dm and payload["message"]["ts"] == ts
    assert payload["trigger_id"] and payload["response_url"].startswith("http://127.0.0.1:")
    assert payload["api_app_id"] and payload["team"]["id"]
    action = payload["actions"][0]
    assert action["action_id"] == "choice_0" and action["block_id"] == "choices_0"
    assert action["value"] == "5" and action["type"] == "button" and action["action_ts"]
    with pytest.raises(LookupError):
        await sandbox.user_clicks(user, dm, ts, "choice_9")


async def test_url_verification_challenge(sandbox, receiver):
    await sandbox.verify_url("abc")
    body = json.loads(receiver.requests[0][1])
    assert body == {"token": body["token"], "challenge": "abc", "type": "url_verification"}


async def test_echoed_bot_posts_come_back_as_events(clock):
    async with SlackSandbox(clock=clock, echo_bot_messages=True) as sb:
        r = Receiver()
        sb.events_url = await r.start()
        ch = sb.add_channel("support")
        await client(sb).chat_postMessage(channel=ch, text="from the bot")
        await sb.idle()
        event = json.loads(r.requests[0][1])["event"]
        assert event["bot_id"] == sb.bot_id and event["user"] == sb.bot_user_id
        await r.runner.cleanup()


async def test_chat_delete_removes_only_the_bots_own_messages(sandbox):
    c = client(sandbox)
    agent = sandbox.add_user("agent")
    ch = sandbox.add_channel("support", [agent])
    parent = (await c.chat_postMessage(channel=ch, text="case"))["ts"]
    reply = (await c.chat_postMessage(channel=ch, text="Customer: my words", thread_ts=parent))["ts"]
    resp = await c.chat_delete(channel=ch, ts=reply)
    assert resp["ts"] == reply
    assert [m.text for m in sandbox.thread(ch, parent)] == ["case"]
    assert [m.ts for m in sandbox.workspace.deleted] == [reply]
    e = await error_of(c.chat_delete(channel=ch, ts=reply))
    assert e.response["error"] == "message_not_found"
    sandbox.workspace.messages[ch].append(Message(ch, "9.000001", "by a person", user=agent))
    e = await error_of(c.chat_delete(channel=ch, ts="9.000001"))
    assert e.response["error"] == "cant_delete_message"
    e = await error_of(c.chat_delete(channel="C0NOPE", ts=parent))
    assert e.response["error"] == "channel_not_found"
