"""Hosting many shops, and speed against `rasa run` (issue #27), each figure beside its target
and the machine's load average (the figures are CPU-bound: on a shared machine they move).

- start-up to first reply, six languages in process (`aftercare run`; the customer writes at
  launch, so the reply comes as soon as the bot can read English);
- a shop bot using the shared NLU service (`nlu.url`): launch to first reply, peak RSS;
- 20 shops on one machine, each its own store and loopback Bot API, one NLU service:
  3 msg/s per shop for 60 s: p99 reply, lost, total RSS (bots + service, sampled);
- the NLU service killed with kill -9 mid-stream and restarted: lost, misread, and how long
  after the restart the replies resume;
- 50 customers back to back, limits off (in process): msg/s and CPU per message against the
  peer's (shared/peer-rasa: `rasa run`, 50 concurrent 4-message chats) in the same sitting:
  the bench runs the peer's run.sh first (~9 min) unless --peer-results names its results.txt.

    python -m bench.hosting_bench [--shops 20] [--seconds 60] [--peer-results FILE | --no-peer]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import yaml

from bench.reply_bench import LIMITS_OFF, TEXTS
from bot.nlu.remote import service_health
from bot.sandbox.platforms.telegram_customers import prepare_quiet_customers
from bot.sandbox.platforms.telegram_api import TelegramLimits, TelegramSandbox

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config.yml"
AFTERCARE = str(Path(sys.executable).parent / "aftercare")
# the peer lives beside the project (../shared/peer-rasa), also seen from a work tree deeper down
PEER = next((folder / "shared" / "peer-rasa" / "run.sh" for folder in ROOT.parents
             if (folder / "shared" / "peer-rasa" / "run.sh").exists()), ROOT.parent / "shared" / "peer-rasa" / "run.sh")
FIRST_CHAT = 900_000
REPLY_TIMEOUT = 60.0
# texts whose answers differ when read as meant and when not understood (the kill test)
KNOWN = ("thanks a lot!", "thank you so much", "hello")


def load_average() -> str:
    return "load %.1f %.1f %.1f" % os.getloadavg()


def _row(label: str, value: str, target: str = "", ok: Optional[bool] = None) -> str:
    verdict = "" if ok is None else ("ok" if ok else "MISSED")
    return f"  {label:<58} {value:>14}   {('target ' + target) if target else '':<18} {verdict}"


# ---- a shop: its config, store, Bot API and `aftercare run` -----------------------------

class Replies:
    """Matches each reply the server accepts to the oldest unanswered message of its chat, and
    keeps every chat's replies (to compare readings)."""

    def __init__(self) -> None:
        self.waiting: dict[int, deque] = defaultdict(deque)
        self.sent: dict[int, list[str]] = defaultdict(list)

    def on_send(self, message: dict) -> None:
        chat = message["chat"]["id"]
        self.sent[chat].append(str(message.get("text") or message.get("caption") or ""))
        queue = self.waiting.get(chat)
        if queue:
            started, future = queue.popleft()
            if not future.done():
                future.set_result(time.monotonic() - started)

    async def say(self, api: TelegramSandbox, chat: int, text: str, timeout: float = REPLY_TIMEOUT) -> Optional[float]:
        future = asyncio.get_running_loop().create_future()
        self.waiting[chat].append((time.monotonic(), future))
        await api.user_sends(chat, text)
        try:
            return await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            return None

def shop_config(url: Optional[str] = None, limits_off: bool = False) -> Path:
    """config.yml with the shared service's url and/or the platform limits off, beside it."""
    data = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    if url:
        data["nlu"]["url"] = url
    if limits_off:
        data["channels"]["telegram"].update({key: int(value) for key, value in LIMITS_OFF.items()})
    fd, name = tempfile.mkstemp(prefix=".hosting-bench-", suffix=".yml", dir=ROOT)
    os.write(fd, json.dumps(data).encode("utf-8"))      # JSON is YAML
    os.close(fd)
    return Path(name)


def prepare_store(db: Path, customers: int) -> None:
    """Customers with a delivered order each, touchpoints long done: what they write is free text."""
    prepare_quiet_customers(db, CONFIG, customers, FIRST_CHAT, "H")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TELEGRAM_"))}
    env.update(PYTHONPATH=str(ROOT), NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost",
               RASA_TELEMETRY_ENABLED="false", **extra)
    return env


def proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_mem(pid: int, key: str) -> float:
    """VmRSS / VmHWM of a process in MB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Child:
    """A child process whose stderr is read line by line (for its `ready` line)."""

    def __init__(self, args: Sequence[str], env: dict[str, str], ready_text: str) -> None:
        self.args, self.env, self.ready_text = list(args), env, ready_text
        self.proc: Optional[asyncio.subprocess.Process] = None
        self.log: list[str] = []
        self.logged_at: list[float] = []            # when each line of `log` came
        self.ready = asyncio.Event()
        self.launched = 0.0
        self.ready_at = 0.0
        self._reader: Optional[asyncio.Task] = None

    async def start(self) -> "Child":
        self.ready = asyncio.Event()
        self.launched = time.monotonic()
        self.proc = await asyncio.create_subprocess_exec(*self.args, env=self.env, cwd=str(ROOT),
                                                         stdout=asyncio.subprocess.DEVNULL,
                                                         stderr=asyncio.subprocess.PIPE)
        self._reader = asyncio.create_task(self._read(self.proc))
        return self

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        async for raw in proc.stderr:
            line = raw.decode(errors="replace").rstrip()
            self.log.append(line)
            self.logged_at.append(time.monotonic())
            if self.ready_text in line and not self.ready.is_set():
                self.ready_at = time.monotonic()
                self.ready.set()

    async def wait_ready(self, timeout: float = 300.0) -> float:
        try:
            await asyncio.wait_for(self.ready.wait(), timeout)
        except asyncio.TimeoutError:
            raise SystemExit(f"{self.args[-1]} never got ready:\n" + "\n".join(self.log[-20:])) from None
        return self.ready_at - self.launched

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 60)
            except asyncio.TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self._reader is not None:
            await self._reader


class Service:
    """`aftercare nlu serve` on a fixed port (a restart listens where the shops look)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.child = Child([AFTERCARE, "--config", str(CONFIG), "nlu", "serve", "--port", str(port)], _env(),
                           "NLU service ready")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def health(self) -> Optional[dict]:
        return service_health(self.url)

    async def start(self) -> None:
        await self.child.start()
        await self.child.wait_ready()

    async def all_loaded(self, timeout: float = 600.0) -> float:
        """Seconds from launch until every model is loaded; returns once their graphs are
        traced too (that CPU would otherwise land in the next measurement)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            health = await asyncio.to_thread(self.health)
            if health and health["ready"]:
                loaded = time.monotonic() - self.child.launched
                await _wait_log(self.child, "NLU models warmed up", max(1.0, deadline - time.monotonic()))
                return loaded
            await asyncio.sleep(0.2)
        raise SystemExit("the NLU service did not load its models:\n" + "\n".join(self.child.log[-20:]))


@dataclass
class Shop:
    """One shop: its store, its loopback Bot API, its `aftercare run`."""

    index: int
    db: Path
    api: TelegramSandbox
    replies: Replies
    config: Path
    bot: Optional[Child] = None
    next_chat: int = FIRST_CHAT
    latencies: list[float] = field(default_factory=list)
    lost: int = 0

    async def launch(self) -> Child:
        env = _env(TELEGRAM_BOT_TOKEN=self.api.token, TELEGRAM_API_URL=self.api.url, AFTERCARE_DB=str(self.db),
                   AFTERCARE_HEALTH_PORT="0")
        self.bot = await Child([AFTERCARE, "--config", str(self.config), "run"], env, " ready: ").start()
        return self.bot

    def take_chat(self) -> int:
        self.next_chat += 1
        return self.next_chat - 1

    async def say(self, chat: int, text: str, timeout: float = REPLY_TIMEOUT) -> Optional[float]:
        latency = await self.replies.say(self.api, chat, text, timeout)
        if latency is None:
            self.lost += 1
        else:
            self.latencies.append(latency)
        return latency


async def open_shop(index: int, folder: Path, customers: int, url: Optional[str] = None,
                    limits_off: bool = False, template: Optional[Path] = None) -> Shop:
    db = folder / f"shop-{index}.db"
    if template is not None:
        db.write_bytes(template.read_bytes())
    else:
        prepare_store(db, customers)
    replies = Replies()
    api = TelegramSandbox(token=f"{700000000 + index}:AAbench-shop-{index:04d}-token-000000000",
                          on_send=replies.on_send, limits=TelegramLimits.off() if limits_off else None)
    await api.start()
    for chat in range(FIRST_CHAT, FIRST_CHAT + customers):
        await api.add_user(chat)
    return Shop(index, db, api, replies, shop_config(url, limits_off))


async def close_shop(shop: Shop) -> None:
    if shop.bot is not None:
        await shop.bot.stop()
    await shop.api.stop()
    shop.config.unlink(missing_ok=True)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


# ---- the parts ---------------------------------------------------------------------------

async def startup_in_process(folder: Path, template: Path) -> dict[str, float]:
    """Launch -> first reply, the customer having written at launch (six languages in process)."""
    shop = await open_shop(90, folder, 50, template=template)
    try:
        bot, first_reply, cpu = await _launch_to_first_reply(shop)
        ready = await bot.wait_ready()
        loaded = await _wait_log(bot, "(6 of 6)", 600)
        return {"first_reply": first_reply, "cpu": cpu, "ready": ready, "all_loaded": loaded,
                "rss": proc_mem(bot.pid, "VmHWM")}
    finally:
        await close_shop(shop)


async def _launch_to_first_reply(shop: Shop) -> tuple[Child, float, float]:
    """Launch the shop's bot with a customer writing at that moment: the bot, seconds to its
    first reply, and its CPU seconds until then."""
    chat = shop.take_chat()
    started = time.monotonic()
    bot = await shop.launch()
    await shop.say(chat, "thanks a lot!", timeout=600)
    return bot, time.monotonic() - started, proc_cpu(bot.pid)


async def _wait_log(child: Child, text: str, timeout: float) -> float:
    """Seconds from launch to the child's first log line holding `text`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line, at in zip(child.log, child.logged_at):
            if text in line:
                return at - child.launched
        await asyncio.sleep(0.1)
    return float("nan")


async def startup_with_service(folder: Path, template: Path, service: Service) -> dict[str, float]:
    shop = await open_shop(91, folder, 50, url=service.url, template=template)
    try:
        bot, first_reply, cpu = await _launch_to_first_reply(shop)
        for _ in range(20):                              # a few more, for the peak RSS in use
            await shop.say(shop.take_chat(), random.choice(TEXTS))
        return {"first_reply": first_reply, "cpu": cpu, "ready": await bot.wait_ready(),
                "rss": proc_mem(bot.pid, "VmHWM")}
    finally:
        await close_shop(shop)


async def many_shops(folder: Path, template: Path, service: Service, shops: int, rate: float,
                     seconds: float) -> dict[str, Any]:
    """`shops` shops at `rate` msg/s each (Poisson), one NLU service."""
    opened = [await open_shop(n, folder, 200, url=service.url, template=template) for n in range(shops)]
    peak_total = 0.0
    try:
        for shop in opened:
            await shop.launch()
        await asyncio.gather(*(shop.bot.wait_ready() for shop in opened if shop.bot))
        for shop in opened:                            # warm: one reply each, not counted
            await shop.replies.say(shop.api, shop.take_chat(), "hello")
        cpu0 = {pid: proc_cpu(pid) for pid in [service.child.pid, *(s.bot.pid for s in opened if s.bot)]}
        end = time.monotonic() + seconds
        pending: list[asyncio.Task] = []

        async def customers(shop: Shop) -> None:
            chats = [shop.take_chat() for _ in range(60)]
            while True:
                await asyncio.sleep(random.expovariate(rate))
                if time.monotonic() >= end:
                    return
                pending.append(asyncio.create_task(shop.say(random.choice(chats), random.choice(TEXTS))))

        async def sample() -> None:
            nonlocal peak_total
            while time.monotonic() < end + 5:
                total = proc_mem(service.child.pid, "VmRSS") + sum(proc_mem(s.bot.pid, "VmRSS") for s in opened if s.bot)
                peak_total = max(peak_total, total)
                await asyncio.sleep(1.0)

        sampler = asyncio.create_task(sample())
        await asyncio.gather(*(customers(shop) for shop in opened))
        await asyncio.gather(*pending)
        await sampler
        cpu = sum(proc_cpu(pid) - before for pid, before in cpu0.items())
        latencies = [x for shop in opened for x in shop.latencies]
        return {"messages": len(latencies), "p50": pct(latencies, 0.5), "p99": pct(latencies, 0.99),
                "lost": sum(shop.lost for shop in opened), "rss_total": peak_total,
                "rss_service": proc_mem(service.child.pid, "VmHWM"),
                "rss_bot_max": max(proc_mem(s.bot.pid, "VmHWM") for s in opened if s.bot),
                "cpu_ms": cpu * 1000 / max(1, len(latencies)), "seconds": seconds}
    finally:
        for shop in opened:
            await close_shop(shop)


async def kill_service(folder: Path, template: Path, service: Service, shops: int = 5, rate: float = 3.0,
                       seconds: float = 40.0, kill_at: float = 10.0) -> dict[str, Any]:
    """kill -9 the service mid-stream, restart it at once (as systemd would): every customer
    message must get the answer the model gives it (a fresh chat per message)."""
    opened = [await open_shop(50 + n, folder, 400, url=service.url, template=template) for n in range(shops)]
    try:
        for shop in opened:
            await shop.launch()
        await asyncio.gather(*(shop.bot.wait_ready() for shop in opened if shop.bot))
        control: dict[str, tuple[str, ...]] = {}
        for text in KNOWN:                                     # each text's answer, service up
            shop, chat = opened[0], opened[0].take_chat()
            await shop.say(chat, text)
            control[text] = tuple(m for m in shop.replies.sent.get(chat, ()))
        sent: list[tuple[Shop, int, str]] = []
        sent_at: dict[tuple[int, int], float] = {}
        answered_at: dict[tuple[int, int], float] = {}
        start = time.monotonic()
        end = start + seconds
        killed = restarted = back = 0.0
        pending: list[asyncio.Task] = []

        async def one(shop: Shop, chat: int, text: str) -> None:
            if await shop.say(chat, text, timeout=900) is not None:
                answered_at[(shop.index, chat)] = time.monotonic()

        async def customers(shop: Shop) -> None:
            while True:
                await asyncio.sleep(random.expovariate(rate))
                if time.monotonic() >= end:
                    return
                chat, text = shop.take_chat(), random.choice(KNOWN)
                sent.append((shop, chat, text))
                sent_at[(shop.index, chat)] = time.monotonic()
                pending.append(asyncio.create_task(one(shop, chat, text)))

        async def killer() -> None:
            nonlocal killed, restarted, back
            await asyncio.sleep(kill_at)
            killed = time.monotonic()
            service.child.kill()
            await service.child.proc.wait()                  # type: ignore[union-attr]
            restarted = time.monotonic()
            await service.start()
            await service.all_loaded()                   # every model read again
            back = time.monotonic()

        await asyncio.gather(killer(), *(customers(shop) for shop in opened))
        await asyncio.gather(*pending)
        lost = sum(1 for shop, chat, _ in sent if (shop.index, chat) not in answered_at)
        misread = sum(1 for shop, chat, text in sent
                      if tuple(shop.replies.sent.get(chat, ())) not in ((), control[text]))
        after = sorted(at for at in answered_at.values() if at > restarted)
        # the messages written while the service was down or loading: each waited for it
        waited = [key for key, at in sent_at.items() if killed <= at < back]
        waited_answered = [answered_at[key] for key in waited if key in answered_at]
        return {"messages": len(sent), "lost": lost, "misread": misread,
                "resumed": (after[0] - restarted) if after else float("nan"),
                "all_answered": (max(waited_answered) - restarted) if waited_answered else float("nan"),
                "waited": len(waited)}
    finally:
        for shop in opened:
            await close_shop(shop)


async def back_to_back(folder: Path, template: Path, seconds: float, url: Optional[str] = None,
                       service: Optional[Service] = None) -> dict[str, float]:
    """50 customers back to back, platform limits off: msg/s and CPU per message (bot, plus
    the service's when it reads)."""
    shop = await open_shop(92 if url else 93, folder, 200, url=url, limits_off=True, template=template)
    try:
        bot = await shop.launch()
        await bot.wait_ready()
        if service is None:                            # every model loaded and its graph traced
            await _wait_log(bot, "NLU models warmed up", 600)
        for _ in range(5):
            await shop.say(shop.take_chat(), "hello")
        chats = [shop.take_chat() for _ in range(50)]
        pids = [bot.pid] + ([service.child.pid] if service else [])
        cpu0 = sum(proc_cpu(pid) for pid in pids)
        bot0 = proc_cpu(bot.pid)
        before = len(shop.latencies)
        started = time.monotonic()
        end = started + seconds

        async def customer(chat: int) -> None:
            while time.monotonic() < end:
                await shop.say(chat, random.choice(TEXTS))

        await asyncio.gather(*(customer(chat) for chat in chats))
        elapsed = time.monotonic() - started
        done = len(shop.latencies) - before
        return {"rate": done / elapsed, "cpu_ms": (sum(proc_cpu(pid) for pid in pids) - cpu0) * 1000 / max(1, done),
                "bot_cpu_ms": (proc_cpu(bot.pid) - bot0) * 1000 / max(1, done), "lost": shop.lost,
                "p99": pct(shop.latencies[before:], 0.99)}
    finally:
        await close_shop(shop)


# ---- the peer --------------------------------------------------------------------------

def peer_figures(results: Path) -> dict[str, float]:
    """(b-short) msg/s and server CPU ms per message from the peer's results.txt."""
    lines = results.read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(lines):
        if line.startswith("load (b-short)"):
            rate = re.search(r"([\d.]+) msg/s", line)
            cpu = re.search(r"\(([\d.]+) ms CPU/msg\)", lines[n + 1]) if n + 1 < len(lines) else None
            if rate and cpu:
                return {"rate": float(rate.group(1)), "cpu_ms": float(cpu.group(1))}
    raise SystemExit(f"{results}: no 'load (b-short)' line with msg/s and ms CPU/msg")


def run_peer() -> Optional[Path]:
    if not PEER.exists():
        print(f"  (no peer at {PEER}: the ratios are not measured)")
        return None
    work = Path(tempfile.mkdtemp(prefix="peer_rasa."))
    print(f"  ... the peer: {PEER} (about 9 minutes; {load_average()})", file=sys.stderr, flush=True)
    subprocess.run(["bash", str(PEER)], env={**os.environ, "VENV": str(Path(sys.executable).parents[1]),
                                               "WORK": str(work)},
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, timeout=3600)
    results = work / "results.txt"
    return results if results.exists() else None


# ---- main --------------------------------------------------------------------------------

async def _run(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="hosting-bench."))
    try:
        await _run_in(args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)        # 20 shops' stores: tens of MB


async def _run_in(args: argparse.Namespace, folder: Path) -> None:
    random.seed(27)
    template = folder / "template.db"
    prepare_store(template, 400)
    port = _free_port()
    compile_bytecode()
    print(f"hosting: {os.cpu_count()} cores; {load_average()} at the start")

    parts = set(args.parts.split(","))
    peer: Optional[dict[str, float]] = None
    if "ratio" in parts and not args.no_peer:
        results = Path(args.peer_results) if args.peer_results else await asyncio.to_thread(run_peer)
        if results is not None:
            peer = peer_figures(results)
            print(f"  peer `rasa run` (b-short, 50 concurrent 4-message chats): {peer['rate']:.1f} msg/s, "
                  f"{peer['cpu_ms']:.1f} ms CPU/msg  ({results}; {load_average()})")

    if "ratio" in parts:
        print(f"  ... 50 back to back, limits off, in process ({load_average()})", file=sys.stderr, flush=True)
        ours = await back_to_back(folder, template, args.closed_seconds)
        print(_row(f"50 back to back, limits off, in process ({load_average()})", f"{ours['rate']:.1f} msg/s"))
        print(_row("  its bot CPU per message", f"{ours['cpu_ms']:.1f} ms"))
        if peer:
            ratio = ours["rate"] / peer["rate"]
            print(_row("  msg/s / the peer's (b-short)", f"{ratio:.2f}x", ">= 2.0x", ratio >= 2.0))
            cpu_ratio = ours["cpu_ms"] / peer["cpu_ms"]
            print(_row("  CPU per message / the peer's", f"{cpu_ratio:.2f}x", "<= 0.5x", cpu_ratio <= 0.5))

    if "startup" in parts:
        print(f"  ... start-up, six languages in process ({load_average()})", file=sys.stderr, flush=True)
        start = await startup_in_process(folder, template)
        print(_row(f"start-up to first reply, six languages in process ({load_average()})",
                   f"{start['first_reply']:.1f} s", "<= 8 s", start["first_reply"] <= 8))
        print(_row("  its CPU until that reply (both threads)", f"{start['cpu']:.1f} s"))
        print(_row("  to the ready line / all six models loaded", f"{start['ready']:.1f} / {start['all_loaded']:.1f} s"))
    if not parts & {"service", "shops", "kill"}:
        return

    service = Service(port)
    await service.start()
    loaded = await service.all_loaded()
    print(_row(f"NLU service: launch to all six models loaded ({load_average()})", f"{loaded:.1f} s"))
    try:
        await _service_parts(args, parts, folder, template, service)
    finally:
        await service.child.stop()
    print(f"hosting: {load_average()} at the end")


async def _service_parts(args: argparse.Namespace, parts: set[str], folder: Path, template: Path,
                         service: Service) -> None:
    if "service" in parts:
        shop_start = await startup_with_service(folder, template, service)
        print(_row(f"shop bot using the service: launch to first reply ({load_average()})",
                   f"{shop_start['first_reply']:.1f} s", "<= 3 s", shop_start["first_reply"] <= 3))
        print(_row("  its CPU until that reply / to the ready line", f"{shop_start['cpu']:.1f} / {shop_start['ready']:.1f} s"))
        print(_row("  its peak RSS", f"{shop_start['rss']:.0f} MB", "<= 150 MB", shop_start["rss"] <= 150))

        remote = await back_to_back(folder, template, args.closed_seconds, url=service.url, service=service)
        print(_row(f"50 back to back, limits off, through the service ({load_average()})",
                   f"{remote['rate']:.1f} msg/s"))
        print(_row("  CPU per message, bot + service (bot alone)",
                   f"{remote['cpu_ms']:.1f} ({remote['bot_cpu_ms']:.1f}) ms"))

    if "shops" in parts:
        print(f"  ... {args.shops} shops ({load_average()})", file=sys.stderr, flush=True)
        many = await many_shops(folder, template, service, args.shops, args.rate, args.seconds)
        print(_row(f"{args.shops} shops x {args.rate:g} msg/s for {args.seconds:.0f} s, one NLU service "
                   f"({load_average()})", f"{many['messages']} msgs"))
        print(_row("  reply p50 / p99", f"{many['p50']:.0f} / {many['p99']:.0f} ms", "p99 <= 150 ms",
                   many["p99"] <= 150))
        print(_row("  lost", str(many["lost"]), "0", many["lost"] == 0))
        print(_row("  total RSS, bots + service (peak of 1 s samples)", f"{many['rss_total']:.0f} MB", "<= 4,096 MB",
                   many["rss_total"] <= 4096))
        print(_row("  service / largest bot peak RSS", f"{many['rss_service']:.0f} / {many['rss_bot_max']:.0f} MB"))
        print(_row("  CPU per message, all processes", f"{many['cpu_ms']:.1f} ms"))

    if "kill" in parts:
        print(f"  ... kill -9 of the service ({load_average()})", file=sys.stderr, flush=True)
        killed = await kill_service(folder, template, service)
        print(_row(f"NLU service kill -9 mid-stream, restarted at once ({load_average()})",
                   f"{killed['messages']} msgs"))
        print(_row("  lost / misread", f"{killed['lost']} / {killed['misread']}", "0 / 0",
                   killed["lost"] == 0 and killed["misread"] == 0))
        print(_row("  restart -> first reply again", f"{killed['resumed']:.1f} s", "<= 10 s", killed["resumed"] <= 10))
        print(_row(f"  restart -> all {killed['waited']} written while down or loading answered",
                   f"{killed['all_answered']:.1f} s"))


def compile_bytecode() -> None:
    """Start-up is measured as a release runs: with its modules' bytecode compiled (pip does
    it on install; a checkout under PYTHONDONTWRITEBYTECODE would compile ~150 modules from
    source at every launch, ~0.25 s of CPU that no installed bot pays)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "bot")], check=True)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Print the hosting figures beside their targets."""
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    parser = argparse.ArgumentParser(prog="hosting_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--shops", type=int, default=20)
    parser.add_argument("--rate", type=float, default=3.0, help="messages per second per shop")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the many-shops load")
    parser.add_argument("--closed-seconds", type=float, default=20.0, help="length of each back-to-back load")
    parser.add_argument("--peer-results", help="the peer's results.txt (shared/peer-rasa/run.sh) instead of running it")
    parser.add_argument("--no-peer", action="store_true", help="skip the peer (no ratios)")
    parser.add_argument("--parts", default="ratio,startup,service,shops,kill",
                        help="comma-separated: ratio (with the peer), startup, service, shops, kill")
    asyncio.run(_run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
