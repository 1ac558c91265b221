"""10,000 seeded hostile deliveries through the real adapters into the real core: Telegram by
polling and by webhook, Slack events and interactions. Any Unicode (RTL, ZWJ, combining marks,
NUL, lone surrogates), empty and over-long texts, malformed JSON, unknown update types, wrong
field types, oversized callback data; and about one delivery in twelve is an earlier
well-formed one again, same event id (a lost confirmation, a platform retry).

Passes when: no delivery gets a 5xx and nothing escapes as an unhandled exception; every
well-formed delivery is answered (200, or confirmed by the next getUpdates) and either
reaches the store as a processed event or is deliberately ignored; and the whole-database
invariant check finds nothing; and all AFTERCARE_FUZZ_COUNT deliveries (10,000) were made:
AFTERCARE_FUZZ_SECONDS (600) only stops a run that hangs, and then the test fails rather than
passing on part of the stream. About 45 s on 2 shared cores (the dispatcher reads one due row
per address, not the whole backlog: bot/live/outbox.py); AFTERCARE_FUZZ_SEED picks the stream."""
from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections import Counter
from urllib.parse import urlencode

import aiohttp

from bot.sandbox.platforms.slack_delivery import Signing, signed_headers
from bot.sandbox.world import wait_processed
from bot.store.check import problems
from tests.support.fuzz_inputs import Delivery, Fuzzer
from tests.support.harness import shipped_flows
from tests.support.live_stack import CHATS, SECRET, Stack

SEED = int(os.environ.get("AFTERCARE_FUZZ_SEED", "20261130"))
COUNT = int(os.environ.get("AFTERCARE_FUZZ_COUNT", "10000"))
SECONDS = float(os.environ.get("AFTERCARE_FUZZ_SECONDS", "600"))
MIX = (("tg_poll", 0.3), ("tg_webhook", 0.3), ("slack_event", 0.25), ("slack_action", 0.15))
REPEAT = 0.08          # of deliveries that repeat an earlier well-formed one, same event id


async def deliver(stack: Stack, session: aiohttp.ClientSession, item: Delivery) -> tuple[int, str]:
    """Deliver one item the way its platform does; returns (HTTP status or 200, event id)."""
    if item.path == "tg_poll":
        body = item.body if isinstance(item.body, dict) else {"junk": item.body}
        update = stack.world.server("telegram").queue.add(body)
        return 200, str(update["update_id"])
    if item.path == "tg_webhook":
        data = item.body if isinstance(item.body, bytes) else json.dumps(item.body).encode()
        async with session.post(stack.hook_api.webhook_url, data=data,
                                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET,
                                         "Content-Type": "application/json"}) as resp:
            return resp.status, item.expect_event or ""
    if item.path == "slack_event":
        body = item.body.decode("latin-1") if isinstance(item.body, bytes) else json.dumps(item.body)
        content_type = "application/json"
    else:
        body = item.body.decode("latin-1") if isinstance(item.body, bytes) else \
            urlencode({"payload": json.dumps(item.body)})
        content_type = "application/x-www-form-urlencoded"
    headers = {"Content-Type": content_type,
               **signed_headers(stack.world.server("slack").signing_secret, body, Signing.VALID)}
    async with session.post(stack.world.adapter("slack").events_url, data=body.encode("utf-8", "surrogatepass"),
                            headers=headers) as resp:
        return resp.status, item.expect_event or ""


def refresh_cast(stack: Stack, fuzzer: Fuzzer) -> None:
    """Let the fuzzer aim at the cases and case threads that exist now."""
    rows = list(stack.store.db.query("select id, card_ts from escalations"))
    fuzzer.case_refs = [str(r["id"]) for r in rows] + ["1", "999"]
    fuzzer.card_ts = [r["card_ts"] for r in rows if r["card_ts"]] + ["1700000000.000100"]


class Tally:
    """What the fuzz delivered and what came back."""

    def __init__(self) -> None:
        self.sent: Counter = Counter()
        self.statuses: Counter = Counter()
        self.expected: list[tuple[str, str, str]] = []
        self.bad_answers: list[str] = []
        self.seconds: dict[str, float] = {}


async def stream(stack: Stack, session: aiohttp.ClientSession, path: str, seed: int, count: int,
                 deadline: float, tally: Tally) -> None:
    """One path's deliveries, one at a time (as one platform connection would)."""
    fuzzer = Fuzzer(seed, telegram_chats=CHATS, slack_users=stack.slack_users,
                    support_channel=stack.world.support_channel_id, agent=stack.world.agent_id,
                    update_id_base=10_000_000 if path == "tg_webhook" else 0)
    delivered: list[tuple[Delivery, str]] = []        # well-formed deliveries so far, with their event ids
    for index in range(count):
        if time.monotonic() > deadline:
            return
        if index % 100 == 0:
            refresh_cast(stack, fuzzer)
            while path == "tg_poll" and stack.world.server("telegram").queue.pending_count > 100:
                await asyncio.sleep(0.01)
        if delivered and fuzzer.rng.random() < REPEAT:
            # the platform delivers an event again (a lost confirmation, a retry): same id, handled once
            item, event_id = fuzzer.rng.choice(delivered)
            if path == "tg_poll":
                stack.world.server("telegram").queue.redeliver(int(event_id))
                status = 200
            else:
                status, _ = await deliver(stack, session, item)
            tally.sent[(path, "repeat")] += 1
            tally.statuses[(path, status)] += 1
            if status != 200:
                tally.bad_answers.append(f"{path} repeat {status}: {str(item.body)[:300]}")
            continue
        item = fuzzer.telegram(path) if path.startswith("tg") else \
            fuzzer.slack_event() if path == "slack_event" else fuzzer.slack_action()
        status, event_id = await deliver(stack, session, item)
        if item.well_formed and status == 200:
            delivered.append((item, event_id))
        tally.sent[(path, item.well_formed)] += 1
        tally.statuses[(path, status)] += 1
        if status >= 500 or (item.well_formed and status != 200):
            tally.bad_answers.append(f"{path} {status} well_formed={item.well_formed}: {str(item.body)[:300]}")
        if item.well_formed and item.expect_event:
            channel = "slack" if path.startswith("slack") else "telegram"
            tally.expected.append((channel, event_id if path == "tg_poll" else item.expect_event, path))
    tally.seconds[path] = time.monotonic() - (deadline - SECONDS)


async def test_fuzzed_deliveries_never_crash_or_corrupt(caplog):
    caplog.set_level(logging.WARNING)
    stack = await Stack().start()
    tally = Tally()
    started = time.monotonic()
    try:
        async with aiohttp.ClientSession(trust_env=False) as session:
            await asyncio.gather(*(
                stream(stack, session, path, SEED + n, round(COUNT * share), started + SECONDS, tally)
                for n, (path, share) in enumerate(MIX)))
            # everything delivered: let the adapters finish, then one ordinary message per path
            await until_quiet(stack)
            live = await stack.world.server("telegram").user_sends(CHATS[0], "still alive?")
            await wait_processed(stack.store, "telegram", str(live.update_id))
            await stack.world.server("slack").user_sends_dm(stack.slack_users[0], "still alive?")
            await stack.world.adapter("slack").idle()
            await stack.hook_api.add_user(CHATS[1], "Hook", "en")
            hooked = await stack.hook_api.user_sends(CHATS[1], "still alive?")
            await wait_processed(stack.store, "telegram", str(hooked.update_id))
    finally:
        poll_stats, hook_stats = stack.world.adapter("telegram").inbound_stats, stack.hook.inbound_stats
        await stack.stop()
    total = sum(tally.sent.values())
    print(f"\nfuzz: {total} deliveries in {time.monotonic() - started:.0f} s (seed {SEED}): {dict(tally.sent)}\n"
          f" answers: {dict(tally.statuses)}\n polling: {poll_stats}\n webhook: {hook_stats}\n seconds per path: {tally.seconds}")
    assert total == COUNT, f"AFTERCARE_FUZZ_SECONDS={SECONDS:.0f} cut the run at {total} of {COUNT} deliveries"
    assert sum(n for (_, kind), n in tally.sent.items() if kind == "repeat") > total // 50      # ids do repeat
    assert not tally.bad_answers, tally.bad_answers[:10]
    store = stack.store
    missing = [e for e in tally.expected if not store.events.seen(e[0], e[1])]
    assert not missing, f"{len(missing)} well-formed deliveries never reached the store: {missing[:10]}"
    assert poll_stats.get("failed", 0) == 0 and hook_stats.get("failed", 0) == 0
    assert poll_stats["handled"] + poll_stats["ignored"] >= tally.sent[("tg_poll", True)]
    assert hook_stats["handled"] + hook_stats["ignored"] >= tally.sent[("tg_webhook", True)]
    unhandled = [r for r in caplog.records if r.exc_info]
    assert not unhandled, [f"{r.name}: {r.getMessage()} {r.exc_info[1]!r}" for r in unhandled[:10]]
    steps = {name: flow.steps for name, flow in shipped_flows().flows.items()}
    assert problems(store, steps) == []             # includes: no event handled twice
    store.close()


async def until_quiet(stack: Stack, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while stack.world.server("telegram").queue.pending_count:
        assert time.monotonic() < deadline, "polled updates were never all confirmed"
        await asyncio.sleep(0.02)
    await stack.world.adapter("slack").idle()
