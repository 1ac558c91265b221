"""The Slack adapter end to end: real slack-bolt / slack-sdk over HTTP against the loopback
Slack, for customers (DM check-ins) and agents (case cards, claims, thread replies)."""
import asyncio
import json
from datetime import datetime, timezone

import aiohttp

from bot.base.agent_events import AgentActionKind
from bot.channels.slack import SlackChannel
from bot.base.events import Button, ChoiceMade, InboundKind, OutboundMessage, SendStatus
from bot.sandbox.platforms.slack_api import SlackSandbox, Signing
from bot.sandbox.platforms.slack_delivery import event_envelope, json_body, signed_headers

EVIL = ("<!channel> <!here> <!everyone> <!subteam^S123> <@U123> "
        "<https://evil.example|Your bank> @channel @here & more")


def checkin(address: str, text: str = "How is your kettle?", buttons=None) -> OutboundMessage:
    buttons = buttons if buttons is not None else (Button("Great", "5"), Button("Bad", "1"))
    return OutboundMessage(channel="slack", address=address, text=text, buttons=tuple(buttons))


def blocks_of(message, kind: str) -> list:
    return [b for b in message.blocks if b["type"] == kind]


# ---- customers ----------------------------------------------------------------------------

async def test_checkin_is_a_dm_with_buttons(sandbox, slack):
    user = sandbox.add_user("ann")
    result = await slack.send(checkin(user))
    assert result.status is SendStatus.SENT
    [message] = sandbox.dms_to(user)
    assert result.platform_message_id == message.ts
    [text] = blocks_of(message, "section")
    assert text["text"] == {"type": "mrkdwn", "text": "How is your kettle?", "verbatim": True}
    [actions] = blocks_of(message, "actions")
    assert [(e["action_id"], e["value"], e["text"]["text"]) for e in actions["elements"]] == [
        ("choice_0", "5", "Great"), ("choice_1", "1", "Bad")]
    assert message.text == "How is your kettle?"
    await slack.send(checkin(user, "Another one"))
    assert sandbox.calls["conversations.open"] == 1         # the DM channel id is cached


async def test_click_becomes_a_button_event(sandbox, slack, recorder, settle):
    user = sandbox.add_user("ann")
    ts = (await slack.send(checkin(user))).platform_message_id
    delivered = await sandbox.user_clicks(user, sandbox.dm_channel(user), ts, "choice_0")
    await settle()
    assert delivered.status == 200
    [event] = recorder.events
    assert event.kind is InboundKind.BUTTON and event.channel == "slack"
    assert event.address == user and event.button_value == "5" and event.text == "Great"
    assert event.reply_to == ts and event.event_id.startswith(f"{ts}:")
    assert event.at.tzinfo is not None


async def test_dm_text_becomes_a_text_event(sandbox, slack, recorder, settle):
    user = sandbox.add_user("ann")
    delivered = await sandbox.user_sends_dm(user, "the lid is cracked")
    await settle()
    assert delivered.status == 200
    [event] = recorder.events
    assert event.kind is InboundKind.TEXT and event.text == "the lid is cracked"
    assert event.address == user and event.event_id == delivered.event_id
    assert event.at == datetime.fromtimestamp(float(delivered.ts), timezone.utc)


async def test_the_slack_locale_comes_with_every_event_asked_once(sandbox, slack, recorder, settle):
    user = sandbox.add_user("ana", locale="pt-BR")
    await sandbox.user_sends_dm(user, "oi")
    ts = (await slack.send(checkin(user))).platform_message_id
    await sandbox.user_clicks(user, sandbox.dm_channel(user), ts, "choice_0")
    sandbox.workspace.users[user].locale = "de-DE"      # asked once: the first answer stays
    await sandbox.user_sends_dm(user, "tchau")
    await settle()
    assert [e.language_code for e in recorder.events] == ["pt-BR", "pt-BR", "pt-BR"]
    assert sandbox.calls["users.info"] == 1
    other = sandbox.add_user("jo", locale="ja-JP")
    await sandbox.user_sends_dm(other, "こんにちは")
    await settle()
    assert recorder.events[-1].language_code == "ja-JP" and sandbox.calls["users.info"] == 2


async def test_an_unknown_locale_never_holds_a_message_back(sandbox, slack, recorder, settle):
    from bot.sandbox.platforms.slack_web import ApiError, RateLimited

    quiet = sandbox.add_user("ann", locale="")             # Slack says nothing
    await sandbox.user_sends_dm(quiet, "hello")

    async def refused(params):
        raise ApiError("missing_scope")

    async def busy(params):
        raise RateLimited(1)

    sandbox.workspace.methods["users.info"] = refused
    scopeless = sandbox.add_user("cy")
    await sandbox.user_sends_dm(scopeless, "one")
    await sandbox.user_sends_dm(scopeless, "two")           # Slack said no: not asked again
    await settle()
    assert sandbox.calls["users.info"] == 2
    sandbox.workspace.methods["users.info"] = busy
    limited = sandbox.add_user("di")
    await sandbox.user_sends_dm(limited, "three")
    await settle()
    sandbox.workspace.methods["users.info"] = sandbox.workspace.users_info
    await sandbox.user_sends_dm(limited, "four")            # a rate limit is asked again later
    await settle()
    assert [(e.text, e.language_code) for e in recorder.events] == [
        ("hello", None), ("one", None), ("two", None), ("three", None), ("four", "en-US")]
    assert sandbox.calls["users.info"] == 4


async def test_dm_photo_becomes_a_media_event(sandbox, slack, recorder, settle):
    user = sandbox.add_user("ann")
    photo = {"id": "F1", "mimetype": "image/jpeg", "url_private": "https://files.example/F1.jpg"}
    await sandbox.user_sends_dm(user, "look", files=[photo])
    await settle()
    [event] = recorder.events
    assert event.kind is InboundKind.MEDIA and event.media_type == "photo"
    assert event.photo_ids == ("https://files.example/F1.jpg",)


async def test_forged_stale_and_unsigned_requests_get_401(sandbox, slack, recorder, settle):
    user = sandbox.add_user("ann")
    for signing in (Signing.BAD, Signing.STALE, Signing.UNSIGNED):
        assert (await sandbox.user_sends_dm(user, "x", signing=signing)).status == 401
    ts = (await slack.send(checkin(user))).platform_message_id
    clicked = await sandbox.user_clicks(user, sandbox.dm_channel(user), ts, "choice_1", signing=Signing.BAD)
    assert clicked.status == 401
    await settle()
    assert recorder.events == []


async def test_retried_event_reaches_the_app_once(sandbox, slack, recorder, settle):
    user = sandbox.add_user("ann")
    delivered = await sandbox.user_sends_dm(user, "hello", retries=2)
    await settle()
    assert delivered.statuses == (200, 200, 200)
    assert [e.event_id for e in recorder.events] == [delivered.event_id]


async def test_the_ack_comes_only_after_the_app_has_the_event(sandbox, clock):
    """Slack's 200 is its delivery receipt: it goes out only once the app has committed the
    event (the app returned), so a crash before that leaves Slack to deliver it again. Two
    messages of one customer that arrive together still reach the app in order."""
    gate = asyncio.Event()
    seen = []

    async def slow_app(event):
        await gate.wait()
        seen.append(event.text)

    channel = SlackChannel(bot_token=sandbox.token, signing_secret=sandbox.signing_secret,
                           base_url=sandbox.base_url)
    await channel.start(slow_app)
    sandbox.events_url = channel.events_url
    user = sandbox.add_user("ann")
    first = asyncio.create_task(sandbox.user_sends_dm(user, "one"))
    await asyncio.sleep(0.05)
    second = asyncio.create_task(sandbox.user_sends_dm(user, "two"))
    done, _ = await asyncio.wait({first, second}, timeout=0.5)
    assert (done, seen) == (set(), [])          # no receipt while the app has not got it
    first.add_done_callback(lambda _: seen.append("<ack one>"))
    second.add_done_callback(lambda _: seen.append("<ack two>"))
    gate.set()
    assert [(await first).status, (await second).status] == [200, 200]
    assert seen.index("one") < seen.index("<ack one>") and seen.index("two") < seen.index("<ack two>")
    assert [text for text in seen if not text.startswith("<")] == ["one", "two"]
    await channel.stop()


async def test_a_retry_of_an_event_still_being_handled_waits_for_it(sandbox, clock):
    """Slack retries when our answer is late. A retry of an event the app is still handling is
    answered only after the first copy is committed (the app sees both copies, in turn; its
    store dedups on the event id); a retry after that is answered at the door."""
    gate = asyncio.Event()
    seen = []

    async def slow_app(event):
        seen.append(event.event_id)
        await gate.wait()

    channel = SlackChannel(bot_token=sandbox.token, signing_secret=sandbox.signing_secret,
                           base_url=sandbox.base_url)
    await channel.start(slow_app)
    user = sandbox.add_user("ann")
    event = {"type": "message", "channel": sandbox.dm_channel(user), "user": user, "text": "slow one",
             "ts": "1700000000.000100", "channel_type": "im"}
    body = json_body(event_envelope(event=event, event_id="EvSLOW", team_id=sandbox.workspace.team_id,
                                    app_id=sandbox.workspace.app_id, bot_user_id=sandbox.bot_user_id,
                                    event_time=1))

    async def post(session, retry: int) -> int:
        headers = {"Content-Type": "application/json",
                   **signed_headers(sandbox.signing_secret, body, Signing.VALID)}
        if retry:
            headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
        async with session.post(channel.events_url, data=body.encode(), headers=headers) as resp:
            return resp.status

    async with aiohttp.ClientSession(trust_env=False) as session:
        first = asyncio.create_task(post(session, 0))
        await asyncio.sleep(0.2)
        retry = asyncio.create_task(post(session, 1))
        done, _ = await asyncio.wait({first, retry}, timeout=0.5)
        assert (done, seen) == (set(), ["EvSLOW"])
        gate.set()
        assert (await first, await retry) == (200, 200)
        assert seen == ["EvSLOW", "EvSLOW"]
        assert await post(session, 2) == 200
    assert seen == ["EvSLOW", "EvSLOW"]             # the late retry never reached the app
    await channel.stop()


async def test_url_verification(sandbox, slack):
    delivered = await sandbox.verify_url("challenge-123")
    assert delivered.status == 200 and json.loads(delivered.body)["challenge"] == "challenge-123"


async def test_429_becomes_retry_with_retry_after(clock, recorder):
    async with SlackSandbox(clock=clock, rate=1.0, burst=1) as sb:
        channel = SlackChannel(bot_token=sb.token, signing_secret=sb.signing_secret, base_url=sb.base_url)
        user = sb.add_user("ann")
        assert (await channel.send(checkin(user))).status is SendStatus.SENT
        result = await channel.send(checkin(user))
        assert result.status is SendStatus.RETRY and result.retry_after == 1.0
        assert result.error == "ratelimited"
        assert sb.ratelimited == 1 and len(sb.dms_to(user)) == 1    # nothing retried inside
        clock.advance(result.retry_after)
        assert (await channel.send(checkin(user))).status is SendStatus.SENT


async def test_gone_users_are_unreachable(sandbox, slack):
    user = sandbox.add_user("bob")
    await slack.send(checkin(user))
    sandbox.deactivate(user)
    result = await slack.send(checkin(user))
    assert result.status is SendStatus.UNREACHABLE and result.error == "account_inactive"
    fresh = sandbox.add_user("cy")
    sandbox.deactivate(fresh)
    assert (await slack.send(checkin(fresh))).status is SendStatus.UNREACHABLE
    missing = await slack.send(checkin("U404"))
    assert missing.status is SendStatus.UNREACHABLE and missing.error == "user_not_found"


async def test_network_failure_is_retry(sandbox):
    channel = SlackChannel(bot_token=sandbox.token, signing_secret="s",
                           base_url="http://127.0.0.1:9/api/")      # nothing listens there
    result = await channel.send(checkin("U1"))
    assert result.status is SendStatus.RETRY and result.error.startswith("network")


async def test_other_api_errors_fail(sandbox, slack):
    result = await slack.send(checkin(sandbox.add_user("ann"), buttons=[Button("x" * 10, "v" * 2_001)]))
    assert result.status is SendStatus.FAILED and result.error == "invalid_blocks"


async def test_long_texts_are_split_within_slack_limits(sandbox, slack):
    user = sandbox.add_user("ann")
    text = ("word " * 20_000).strip()                       # 99,999 characters
    result = await slack.send(checkin(user, text))
    assert result.status is SendStatus.SENT
    messages = sandbox.dms_to(user)
    assert len(messages) == 3 and result.platform_message_id == messages[-1].ts
    assert "".join(m.text for m in messages).replace(" ", "") == text.replace(" ", "")
    for message in messages:
        assert len(message.text) <= 40_000 and len(message.blocks) <= 50
        assert all(len(b["text"]["text"]) <= 3_000 for b in blocks_of(message, "section"))
    assert blocks_of(messages[-1], "actions") and not blocks_of(messages[0], "actions")


async def test_mark_chosen_replaces_the_buttons(sandbox, slack):
    user = sandbox.add_user("ann")
    ts = (await slack.send(checkin(user))).platform_message_id
    await slack.mark_chosen(ChoiceMade("slack", user, ts, "How is your kettle?", "Great"))
    message = sandbox.message(sandbox.dm_channel(user), ts)
    assert message.edited == 1 and not blocks_of(message, "actions")
    assert "✔ Great" in message.text
    assert blocks_of(message, "context")[0]["elements"][0]["text"] == "✔ Great"


# ---- agents -------------------------------------------------------------------------------

def a_case(**extra) -> dict:
    case = {
        "id": "42", "customer": "Ann Example", "channel": "telegram", "order": "A-1001",
        "product": "Kettle", "sku": "KT-1", "scores": {"csat": 1}, "reason": "product_problem",
        "problem_type": "damaged", "customer_words": "the lid is cracked",
        "last_turns": [{"from": "bot", "text": "How is your kettle?"},
                       {"from": "customer", "text": "the lid is cracked"}],
        "photos": ["https://files.example/p1.jpg"],
        "sla_due": datetime(2026, 1, 2, 15, 30, tzinfo=timezone.utc), "sla_state": "ok",
        "status": "open",
    }
    case.update(extra)
    return case


def card_text(message) -> str:
    return json.dumps(message.blocks, ensure_ascii=False)


async def test_case_card_and_its_updates(sandbox, slack):
    agent = sandbox.add_user("agent")
    ch = sandbox.add_channel("support", [agent])
    result = await slack.desk.post_case(ch, a_case())
    assert result.status is SendStatus.SENT
    card = sandbox.message(ch, result.platform_message_id)
    text = card_text(card)
    for shown in ("Ann Example", "telegram", "A-1001", "Kettle (KT-1)", "csat 1", "product_problem",
                  "damaged", "the lid is cracked", "How is your kettle?", "2026-01-02 15:30 UTC",
                  "https://files.example/p1.jpg|photo 1 (files.example)"):
        assert shown in text, shown
    actions, assign = blocks_of(card, "actions")
    assert [(e["action_id"], e["value"]) for e in actions["elements"]] == [
        ("case_claim", "42"), ("case_saved_reply", "42"), ("case_note", "42"), ("case_snooze", "42"),
        ("case_history", "42"), ("case_goodwill", "42"), ("case_resolve", "42")]
    assert [e["type"] for e in assign["elements"]] == ["users_select"]
    claimed_at = datetime(2026, 1, 2, 15, 0, tzinfo=timezone.utc)
    update = await slack.desk.update_case(ch, card.ts, a_case(status="claimed", owner=agent, claimed_at=claimed_at))
    assert update.status is SendStatus.SENT
    card = sandbox.message(ch, card.ts)
    assert f"Claimed by <@{agent}> at 2026-01-02 15:00 UTC" in card_text(card)
    assert [e["action_id"] for e in blocks_of(card, "actions")[0]["elements"]] == [
        "case_release", "case_saved_reply", "case_note", "case_snooze", "case_history", "case_goodwill",
        "case_resolve"]
    await slack.desk.update_case(ch, card.ts, a_case(status="resolved", owner=agent))
    card = sandbox.message(ch, card.ts)
    assert not blocks_of(card, "actions") and "Resolved by" in card_text(card)


async def test_thread_posts_and_mentions(sandbox, slack):
    ch = sandbox.add_channel("support")
    card = (await slack.desk.post_case(ch, a_case())).platform_message_id
    result = await slack.desk.post_in_thread(ch, card, "Not claimed for 30 minutes", mentions=["S0SUPPORT"])
    assert result.status is SendStatus.SENT
    [_, reminder] = sandbox.thread(ch, card)
    assert reminder.text == "<!subteam^S0SUPPORT> Not claimed for 30 minutes"
    assert reminder.pings == ("!subteam^S0SUPPORT",)


async def test_notice_and_delete_post(sandbox, slack):
    ch = sandbox.add_channel("support")
    card = (await slack.desk.post_case(ch, a_case())).platform_message_id
    words = (await slack.desk.post_in_thread(ch, card, "Customer: <!channel> it broke")).platform_message_id
    assert (await slack.desk.delete_post(ch, words)).status is SendStatus.SENT
    assert [m.ts for m in sandbox.thread(ch, card)] == [card]
    again = await slack.desk.delete_post(ch, words)          # already gone: done, not an error
    assert again.status is SendStatus.SENT
    notice = await slack.desk.post_notice(ch, "Weekly digest: CSAT 4.2 <@U1> *bold*")
    assert notice.status is SendStatus.SENT
    posted = sandbox.message(ch, notice.platform_message_id)
    assert posted.thread_ts is None and posted.pings == ()
    assert "&lt;@U1&gt;" in posted.text
    assert (await slack.desk.delete_post("C0NOPE", card)).status is SendStatus.FAILED


async def test_ephemeral(sandbox, slack):
    agent = sandbox.add_user("agent")
    ch = sandbox.add_channel("support", [agent])
    assert (await slack.desk.post_ephemeral(ch, agent, "Only members can <claim>")).status is SendStatus.SENT
    [note] = sandbox.ephemerals
    assert note.user == agent and note.text == "Only members can &lt;claim&gt;"


async def test_claim_and_resolve_clicks_become_agent_actions(sandbox, slack, recorder, settle):
    agent = sandbox.add_user("agent")
    ch = sandbox.add_channel("support", [agent])
    card = (await slack.desk.post_case(ch, a_case())).platform_message_id
    assert (await sandbox.user_clicks(agent, ch, card, "case_claim")).status == 200
    await sandbox.user_clicks(agent, ch, card, "case_resolve")
    await settle()
    claim, resolve = recorder.actions
    assert claim.kind is AgentActionKind.CLAIM and resolve.kind is AgentActionKind.RESOLVE
    assert claim.case_ref == "42" and claim.agent_id == agent
    assert claim.channel_id == ch and claim.message_ts == card
    assert claim.event_id.startswith(f"{card}:") and claim.event_id != resolve.event_id
    assert recorder.events == []


async def test_thread_reply_becomes_agent_reply(sandbox, slack, recorder, settle):
    agent = sandbox.add_user("agent")
    ch = sandbox.add_channel("support", [agent])
    card = (await slack.desk.post_case(ch, a_case())).platform_message_id
    delivered = await sandbox.user_posts_in_thread(ch, card, agent, "Sorry! A new lid is on its way.")
    await sandbox.user_posts(ch, agent, "top-level chatter is not a reply")
    await settle()
    [reply] = recorder.actions
    assert reply.kind is AgentActionKind.REPLY and reply.case_ref == card
    assert reply.agent_id == agent and reply.text == "Sorry! A new lid is on its way."
    assert reply.event_id == delivered.event_id and reply.message_ts == delivered.ts
    assert recorder.events == []


async def test_bot_messages_are_ignored(clock, recorder):
    async with SlackSandbox(clock=clock, echo_bot_messages=True, rate=0) as sb:
        channel = SlackChannel(bot_token=sb.token, signing_secret=sb.signing_secret, base_url=sb.base_url)
        await channel.start(recorder.on_event, recorder.on_agent_action)
        sb.events_url = channel.events_url
        user = sb.add_user("ann")
        ch = sb.add_channel("support")
        card = (await channel.desk.post_case(ch, a_case())).platform_message_id
        await channel.desk.post_in_thread(ch, card, "customer said: hello")     # echoed back to us
        await channel.send(checkin(user))                                  # echoed in the DM
        await sb.other_bot_posts(ch, "another integration", thread_ts=card)
        await sb.deliver_event({"type": "message", "subtype": "message_changed", "channel": ch,
                                "channel_type": "channel", "ts": "1.000002",
                                "message": {"text": "edited", "user": user, "thread_ts": card}})
        await sb.idle()
        await channel.idle()
        assert recorder.events == [] and recorder.actions == []
        await channel.stop()


async def test_is_member_uses_a_short_cache(sandbox, slack, clock):
    agent = sandbox.add_user("agent")
    stranger = sandbox.add_user("stranger")
    ch = sandbox.add_channel("support", [agent])
    assert await slack.desk.is_member(ch, agent) is True
    assert await slack.desk.is_member(ch, stranger) is False
    assert sandbox.calls["conversations.members"] == 1
    sandbox.join(ch, stranger)
    clock.advance(61)
    assert await slack.desk.is_member(ch, stranger) is True
    assert sandbox.calls["conversations.members"] == 2
    assert await slack.desk.is_member("C404", agent) is False


async def test_lookup_user_by_email(sandbox, slack):
    user = sandbox.add_user("dee", "dee@shop.example")
    assert await slack.lookup_user_by_email("dee@shop.example") == user
    assert await slack.lookup_user_by_email("nobody@shop.example") is None


# ---- escaping -----------------------------------------------------------------------------

async def test_customer_text_cannot_ping_or_disguise_links(sandbox, slack):
    ch = sandbox.add_channel("support")
    photos = ["https://evil.example/x.jpg|Your bank", "https://files.example/p1.jpg"]
    card = await slack.desk.post_case(ch, a_case(customer=EVIL, customer_words=EVIL, order=EVIL,
                                            last_turns=[{"from": "customer", "text": EVIL}],
                                            photos=photos))
    await slack.desk.post_in_thread(ch, card.platform_message_id, f"Customer: {EVIL}")
    user = sandbox.add_user("ann")
    await slack.send(checkin(user, f"You said: {EVIL}"))
    posted = sandbox.messages_in(ch) + sandbox.dms_to(user)
    assert len(posted) == 3
    # the only link is the card's own photo link, labelled with its number and host
    assert posted[0].links == ("https://files.example/p1.jpg|photo 2 (files.example)",)
    for message in posted:
        assert message.pings == ()
        assert message is posted[0] or message.links == ()
        assert "&lt;!channel&gt;" in card_text(message) + message.text
    thread_post = sandbox.messages_in(ch)[1]
    assert thread_post.text == (
        "Customer: &lt;!channel&gt; &lt;!here&gt; &lt;!everyone&gt; &lt;!subteam^S123&gt; "
        "&lt;@U123&gt; &lt;https://evil.example|Your bank&gt; @channel @here &amp; more")


async def test_429_burst_on_the_support_channel_delivers_each_post_once(sandbox, slack, clock):
    """What the dispatcher will do with RETRY: wait Retry-After, send again; nothing is lost
    or doubled."""
    ch = sandbox.add_channel("support")
    card = (await slack.desk.post_case(ch, a_case())).platform_message_id
    for n in range(10):
        while True:
            result = await slack.desk.post_in_thread(ch, card, f"customer message {n}")
            if result.status is SendStatus.SENT:
                break
            assert result.status is SendStatus.RETRY and result.retry_after >= 1
            clock.advance(result.retry_after)
    replies = [m.text for m in sandbox.thread(ch, card)[1:]]
    assert replies == [f"customer message {n}" for n in range(10)]
    assert sandbox.ratelimited > 0


async def test_malformed_events_are_logged_by_id_and_type_never_their_words(sandbox, slack, settle, caplog):
    """#24 finding 9: logs carry ids, never customer text, also for bodies Bolt cannot read.
    (Bolt's own "Unhandled request" warning shows a body's type and ids only: Slack sets those.)"""
    import logging

    user = sandbox.add_user("ann")
    words = "my private diagnosis, Zed"
    caplog.set_level(logging.DEBUG)
    shapes = [{"type": "message", "channel_type": "im", "user": user, "channel": sandbox.dm_channel(user),
               "text": {"x": words}, "ts": ["1"]},
              {"type": "message", "channel_type": "im", "user": [words], "channel": 5, "text": words, "ts": "1.1"},
              {"type": ["message"], "text": words}]
    for event in shapes:
        assert (await sandbox.deliver_event(event)).status < 500
    from urllib.parse import urlencode
    raw = [('{"event": "' + words + '", ', "application/json")]                            # not JSON
    raw += [(urlencode({"payload": json.dumps(p)}), "application/x-www-form-urlencoded")
            for p in ({"type": "block_actions", "actions": [words], "user": words, "team": words},
                      {"type": "block_actions", "actions": {"value": words}, "user": {"id": [words]}},
                      {"type": "block_actions", "user": {"id": user}, "actions": [{"action_id": [words]}]})]
    raw += [("payload=" + words + "%ZZ", "application/x-www-form-urlencoded")]
    async with aiohttp.ClientSession() as session:
        for body, kind in raw:
            headers = {"Content-Type": kind, **signed_headers(sandbox.signing_secret, body, Signing.VALID)}
            async with session.post(slack.events_url, data=body, headers=headers) as resp:
                assert resp.status < 500
    await settle()
    logged = "\n".join(r.getMessage() + (repr(r.exc_info[1]) if r.exc_info else "") for r in caplog.records)
    assert words not in logged and "Zed" not in logged


async def test_signature_headers_of_any_bytes_get_a_4xx_not_500(sandbox, slack):
    """#24 finding 5, on the Slack route: non-ASCII or non-UTF-8 signature headers are refused."""
    import time
    from urllib.parse import urlsplit

    parts = urlsplit(slack.events_url)
    body = b'{"type": "event_callback", "event": {"type": "message"}}'
    stamp = str(int(time.time())).encode()
    for signature, timestamp in ((b"v0=\xff\xfe", stamp), ("v0=é²".encode(), stamp), (b"v0=00", b"\xff"),
                                 (b"v0=00", "²".encode()), (b"v0=00", "\u0661\u0667".encode())):
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        writer.write(b"POST " + parts.path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/json\r\nX-Slack-Signature: " + signature +
                     b"\r\nX-Slack-Request-Timestamp: " + timestamp +
                     b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
        await writer.drain()
        status = int((await reader.readline()).split()[1])
        writer.close()
        assert 400 <= status < 500, (signature, timestamp, status)
