"""The live reply path, end to end: `aftercare run` in its own process with a bot token and
`TELEGRAM_API_URL` pointing at the loopback Bot API, the real Rasa model, imported customers
writing free text that gets one reply each. Latency is from the customer's message entering
the server to the bot's reply arriving at it.

Loads, each on fresh chats:
- one customer at a time, a new chat each (sequential: msg/s is the single-message round trip);
- one customer writing 20 messages in one chat, a second apart after each reply (Telegram's
  per-chat pace: faster than that, Telegram itself holds the replies back);
- 200 customers at human pace (random gaps, about 20 msg/s in all);
- 50 customers back to back (each writes again as soon as the reply arrives): the 30/s
  per-bot limit binds;
- the same 50 with the platform limits off, server and bot (the code's own headroom);
- one chat of 300 back-to-back messages, limits off: message 300 against message 1.
Also: the bot's CPU ms per message, peak RSS and start-up to ready (cached model).

    python -m bench.reply_bench [--human-seconds 30] [--closed-seconds 20]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

from bot.sandbox.platforms.telegram_customers import prepare_quiet_customers
from bot.sandbox.platforms.telegram_api import TelegramLimits, TelegramSandbox

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config.yml"
# Texts the shipped flows answer with exactly one message and no escalation.
TEXTS = ("hello", "what is this about?", "the weather is nice today", "hello again", "good morning",
         "just saying hi", "thanks", "thank you so much", "how are you?", "nice shop", "ok",
         "see you later", "have a nice day", "cool", "hi there", "who are you?", "lovely", "great stuff",
         "what time is it", "all good here", "nothing to report", "just testing", "sounds good", "sure thing")
FIRST_CHAT = 700_000
CUSTOMERS = 700
REPLY_TIMEOUT = 30.0
MAX_LOST = 5
LIMITS_OFF = {"per_chat_per_second": "1000", "per_bot_per_second": "1000", "reply_burst": "1000"}


@dataclass
class Load:
    name: str
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    lost: int = 0
    cpu_seconds: float = 0.0
    cpu_each: list[float] = field(default_factory=list)     # bot CPU seconds per message, in order
    written: list[float] = field(default_factory=list)      # when each customer message was written

    def busiest_second(self) -> int:
        """The most customer messages written within any one second: the load's peak, to set
        beside the 30/s the bot may send (above it, replies must wait)."""
        times, most, first = sorted(self.written), 0, 0
        for last, at in enumerate(times):
            while at - times[first] > 1.0:
                first += 1
            most = max(most, last - first + 1)
        return most

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


class Replies:
    """Matches each reply the server accepts to the oldest unanswered message of its chat."""

    def __init__(self) -> None:
        self.waiting: dict[int, deque] = defaultdict(deque)
        self.unexpected = 0

    def on_send(self, message: dict) -> None:
        queue = self.waiting.get(message["chat"]["id"])
        if not queue:
            self.unexpected += 1
            return
        started, future = queue.popleft()
        if not future.done():
            future.set_result(time.monotonic() - started)

    async def say(self, api: TelegramSandbox, chat: int, text: str) -> Optional[float]:
        future = asyncio.get_running_loop().create_future()
        self.waiting[chat].append((time.monotonic(), future))
        await api.user_sends(chat, text)
        try:
            return await asyncio.wait_for(future, REPLY_TIMEOUT)
        except asyncio.TimeoutError:
            return None


class Bot:
    """`aftercare run` in a subprocess, against one loopback Bot API."""

    def __init__(self, db: Path, api: TelegramSandbox, limits_off: bool) -> None:
        self.db, self.api, self.limits_off = db, api, limits_off
        self.proc: Optional[asyncio.subprocess.Process] = None
        self.ready_seconds = 0.0
        self.log: list[str] = []
        self._config: Optional[Path] = None
        self._reader: Optional[asyncio.Task] = None
        self._warmed = asyncio.Event()

    async def start(self) -> None:
        self._config = _config(self.limits_off)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TELEGRAM_"))}
        env.update(TELEGRAM_BOT_TOKEN=self.api.token, TELEGRAM_API_URL=self.api.url, AFTERCARE_DB=str(self.db),
                   AFTERCARE_HEALTH_PORT="0", PYTHONPATH=str(ROOT), NO_PROXY="127.0.0.1,localhost",
                   RASA_TELEMETRY_ENABLED="false")
        started = time.monotonic()
        self.proc = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "aftercare"), "--config", str(self._config), "run",
            env=env, cwd=str(ROOT), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        ready = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read(ready))
        try:
            await asyncio.wait_for(ready, 180)
        except asyncio.TimeoutError:
            raise SystemExit("the bot never got ready:\n" + "\n".join(self.log[-20:])) from None
        self.ready_seconds = time.monotonic() - started
        # the models load behind the ready line: measure the steady state, not the loading
        # (the start-up to a first reply is bench/hosting_bench.py's)
        try:
            await asyncio.wait_for(self._warmed.wait(), 600)
        except asyncio.TimeoutError:
            raise SystemExit("the bot's models never finished loading:\n" + "\n".join(self.log[-20:])) from None

    async def _read(self, ready: asyncio.Future) -> None:
        assert self.proc and self.proc.stderr
        async for raw in self.proc.stderr:
            line = raw.decode(errors="replace").rstrip()
            self.log.append(line)
            if " ready: " in line and not ready.done():
                ready.set_result(True)
            if "NLU models warmed up" in line:
                self._warmed.set()
        if not ready.done():
            ready.set_exception(SystemExit("the bot exited:\n" + "\n".join(self.log[-20:])))

    def cpu_seconds(self) -> float:
        assert self.proc
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mb(self) -> float:
        assert self.proc
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    async def stop(self) -> None:
        if self.proc and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except asyncio.TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self._reader:
            await self._reader
        if self._config:
            self._config.unlink(missing_ok=True)


def _config(limits_off: bool) -> Path:
    """The shipped config; with limits off, the bot's own Telegram limits lifted too. Written
    next to config.yml so its relative paths (dialogs, model cache) resolve the same."""
    text = CONFIG.read_text(encoding="utf-8")
    if limits_off:
        lines = []
        for line in text.splitlines():
            key = line.strip().split(":", 1)[0]
            if key in LIMITS_OFF and line.startswith("    "):
                line = f"    {key}: {LIMITS_OFF[key]}"
            lines.append(line)
        text = "\n".join(lines) + "\n"
    fd, name = tempfile.mkstemp(prefix=".reply-bench-", suffix=".yml", dir=ROOT)
    os.write(fd, text.encode())
    os.close(fd)
    return Path(name)


class Chats:
    def __init__(self) -> None:
        self.next = FIRST_CHAT

    def take(self, count: int) -> list[int]:
        taken = list(range(self.next, self.next + count))
        self.next += count
        assert self.next <= FIRST_CHAT + CUSTOMERS, "more chats than imported customers"
        return taken


async def _measure(name: str, bot: Bot, body) -> Load:
    load = Load(name)
    print(f"  ... {name}", file=sys.stderr, flush=True)
    cpu = bot.cpu_seconds()
    started = time.monotonic()
    await body(load)
    load.seconds = time.monotonic() - started
    load.cpu_seconds = bot.cpu_seconds() - cpu
    return load


async def _one_at_a_time(api, replies, chats: list[int], load: Load) -> None:
    for chat in chats:
        latency = await replies.say(api, chat, random.choice(TEXTS))
        _record(load, latency)


async def _one_chat(api, replies, chat: int, messages: int, gap: float, load: Load,
                    bot: Optional["Bot"] = None) -> None:
    for _ in range(messages):
        cpu = bot.cpu_seconds() if bot else 0.0
        _record(load, await replies.say(api, chat, random.choice(TEXTS)))
        if bot:
            load.cpu_each.append(bot.cpu_seconds() - cpu)
        if gap:
            await asyncio.sleep(gap)


async def _human_pace(api, replies, chats: list[int], seconds: float, mean_gap: float, load: Load) -> None:
    end = time.monotonic() + seconds

    async def customer(chat: int) -> None:
        # Exponential from the start too: the load is then ~200 / mean_gap msg/s throughout. (A
        # first gap uniform in [0, mean_gap] halves its mean, and the first customers' second
        # messages overlap the others' first: ~29 msg/s for the first 10 s, at the 30/s limit.)
        gap = random.expovariate(1 / mean_gap)
        while time.monotonic() + gap < end:
            await asyncio.sleep(gap)
            load.written.append(time.monotonic())
            _record(load, await replies.say(api, chat, random.choice(TEXTS)))
            gap = random.expovariate(1 / mean_gap)

    await asyncio.gather(*(customer(chat) for chat in chats))


async def _closed_loop(api, replies, chats: list[int], seconds: float, load: Load) -> None:
    end = time.monotonic() + seconds

    async def customer(chat: int) -> None:
        while time.monotonic() < end:
            _record(load, await replies.say(api, chat, random.choice(TEXTS)))

    await asyncio.gather(*(customer(chat) for chat in chats))


def _record(load: Load, latency: Optional[float]) -> None:
    if latency is None:
        load.lost += 1
        if load.lost > MAX_LOST:
            raise RuntimeError(f"{load.name}: more than {MAX_LOST} replies never arrived; stopping")
    else:
        load.latencies.append(latency)


async def _run(args: argparse.Namespace) -> tuple[list[Load], dict]:
    random.seed(11)
    chats = Chats()
    loads: list[Load] = []
    extra: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        db, db_2 = Path(tmp) / "reply.db", Path(tmp) / "reply-2.db"
        prepare_quiet_customers(db, CONFIG, CUSTOMERS, FIRST_CHAT, "B")
        shutil.copyfile(db, db_2)       # the second server numbers its updates from 1 again
        replies = Replies()
        # ---- limits as shipped: the server's Telegram limits and the bot's own ----
        async with TelegramSandbox(on_send=replies.on_send) as api:
            for chat in range(FIRST_CHAT, FIRST_CHAT + CUSTOMERS):
                await api.add_user(chat)
            bot = Bot(db, api, limits_off=False)
            try:
                await bot.start()
                extra["ready"] = bot.ready_seconds
                await _one_chat(api, replies, chats.take(1)[0], 3, 0.0, Load("warm-up"))
                new_chats = chats.take(args.sequential)
                loads.append(await _measure("one customer at a time, a new chat each", bot,
                                            lambda load: _one_at_a_time(api, replies, new_chats, load)))
                one = chats.take(1)[0]
                loads.append(await _measure("one customer, 20 messages in one chat (1 s apart)", bot,
                                            lambda load: _one_chat(api, replies, one, 20, 1.0, load)))
                human = chats.take(200)
                loads.append(await _measure("200 customers at human pace", bot,
                                            lambda load: _human_pace(api, replies, human, args.human_seconds,
                                                                     10.0, load)))
                closed = chats.take(50)
                loads.append(await _measure("50 customers back to back", bot,
                                            lambda load: _closed_loop(api, replies, closed, args.closed_seconds,
                                                                      load)))
                extra["too_many"] = api.stats.too_many_requests
                extra["rss_limits_on"] = bot.peak_rss_mb()
            finally:
                await bot.stop()
        # ---- limits off: server and bot ----
        async with TelegramSandbox(on_send=replies.on_send, limits=TelegramLimits.off()) as api:
            for chat in range(FIRST_CHAT, FIRST_CHAT + CUSTOMERS):
                await api.add_user(chat)
            bot = Bot(db_2, api, limits_off=True)
            try:
                await bot.start()
                extra["ready_2"] = bot.ready_seconds
                await _one_chat(api, replies, chats.take(1)[0], 3, 0.0, Load("warm-up"))
                closed = chats.take(50)
                loads.append(await _measure("50 customers back to back, limits off", bot,
                                            lambda load: _closed_loop(api, replies, closed, args.closed_seconds,
                                                                      load)))
                long_chat = chats.take(1)[0]
                loads.append(await _measure("one chat, 300 messages back to back, limits off", bot,
                                            lambda load: _one_chat(api, replies, long_chat, 300, 0.0, load,
                                                                   bot)))
                extra["rss"] = max(extra["rss_limits_on"], bot.peak_rss_mb())
            finally:
                await bot.stop()
        extra["unexpected"] = replies.unexpected
    return loads, extra


def _row(label: str, value: str, target: str = "", ok: Optional[bool] = None) -> str:
    verdict = "" if ok is None else ("ok" if ok else "MISSED")
    return f"  {label:<52} {value:>12}   {('target ' + target) if target else '':<16} {verdict}"


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Print the live reply figures beside their targets."""
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    parser = argparse.ArgumentParser(prog="reply_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--sequential", type=int, default=60, help="customers one at a time (a new chat each)")
    parser.add_argument("--human-seconds", type=float, default=30.0, help="length of the human-pace load")
    parser.add_argument("--closed-seconds", type=float, default=20.0, help="length of each back-to-back load")
    args = parser.parse_args(argv)
    loads, extra = asyncio.run(_run(args))
    print("reply: `aftercare run` (real PTB, real Rasa) <-> loopback Bot API; customer message -> reply at the server")
    targets = {0: 100.0, 1: 100.0, 2: 150.0}
    for n, load in enumerate(loads):
        print(f"  {load.name}: {len(load.latencies)} replies in {load.seconds:.1f} s, {load.rate:.1f} msg/s, "
              f"p50 {load.pct(0.5):.0f} ms, p90 {load.pct(0.9):.0f} ms, p99 {load.pct(0.99):.0f} ms, "
              f"lost {load.lost}, bot CPU {load.cpu_seconds * 1000 / max(1, len(load.latencies)):.1f} ms/msg")
        if load.written:
            print(f"    customers wrote {len(load.written) / load.seconds:.1f} msg/s, "
                  f"{load.busiest_second()} in the busiest second")
        if n in targets:
            print(_row("    p99", f"{load.pct(0.99):.0f} ms", f"<= {targets[n]:.0f} ms", load.pct(0.99) <= targets[n]))
    binding = loads[3]
    print(_row("50 back to back: msg/s / 30", f"{binding.rate / 30:.3f}", ">= 0.95", binding.rate / 30 >= 0.95))
    print(_row("50 back to back, limits off: msg/s", f"{loads[4].rate:.1f}", ">= 100", loads[4].rate >= 100))
    long_chat = loads[5]
    if len(long_chat.cpu_each) >= 100:
        # CPU is what a longer conversation could cost more; the clock's tick is 10 ms, so
        # compare the first and the last 50 messages' sums.
        first, last = sum(long_chat.cpu_each[:50]), sum(long_chat.cpu_each[-50:])
        ratio = last / first if first else float("inf")
        print(_row("messages 251-300 / 1-50 of one chat: bot CPU", f"{ratio:.2f}", "<= 1.2", ratio <= 1.2))
        first, last = statistics.median(long_chat.latencies[:50]), statistics.median(long_chat.latencies[-50:])
        print(_row("messages 251-300 / 1-50 of one chat: p50 latency", f"{last / first:.2f}"))
    cpu = sum(load.cpu_seconds for load in loads) * 1000 / max(1, sum(len(load.latencies) for load in loads))
    print(_row("bot CPU per message (all loads)", f"{cpu:.1f} ms"))
    print(_row("peak RSS of the bot", f"{extra['rss']:.0f} MB", "<= 900 MB", extra["rss"] <= 900))
    ready = max(extra["ready"], extra["ready_2"])
    print(_row("start-up to ready (cached model), slower of 2", f"{ready:.1f} s", "<= 15 s", ready <= 15))
    lost = sum(load.lost for load in loads)
    print(_row("replies lost / unexpected / 429s", f"{lost} / {extra['unexpected']} / {extra['too_many']}",
               "0 / 0 / 0", lost == 0 and extra["unexpected"] == 0 and extra["too_many"] == 0))


if __name__ == "__main__":
    main()
