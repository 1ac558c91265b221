"""`aftercare run` with no credentials: the whole loop in a local sandbox.

The loopback servers of every platform channel (`bot.sandbox.platforms`), the real adapters talking HTTP to them, the real
store (kept at data/last-run.db, replaced by the next run, for `aftercare report`), scheduler,
dispatcher and NLU, on a simulated clock. The sample orders are imported, and the shop's
system pushes a few more live, through the signed orders webhook over HTTP
(`bot.sandbox.shop`), one of them delivered late; one simulated customer per order answers
through the loopback servers as its persona would (`bot.sandbox.personas`), and a simulated agent works the cases
in the support channel. The clock runs `speed` simulated seconds per real second while
something is about to happen and jumps over the quiet stretches, so weeks of check-ins take
about a minute. Ctrl-C stops it cleanly; it ends with a summary and the `aftercare report`
command that shows the same figures from the kept store.

With `personas=False` nobody is simulated but the agent: the bot runs on the wall clock until
Ctrl-C, on `data/sandbox.db`, and a person plays a customer with `aftercare chat`.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shlex
import time
from collections import defaultdict
from dataclasses import replace
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Optional
from zoneinfo import ZoneInfo

from pydantic import SecretStr
from rich.console import Console
from rich.markup import escape
from rich.logging import RichHandler

from bot.live.health import start_health
from bot.channels import registry
from bot.plugins.manager import Plugins
from bot.base.clock import SimClock, parse_iso
from bot.config.settings import Settings, StoreSettings
from bot.conversation.context import referral_code
from bot.live.core import Core, build_core
from bot.i18n.catalogs import pick_language, translator
from bot.orders.importing import import_rows
from bot.live.mainloop import MainLoop, earliest, stop_on_signals
from bot.nlu.base import Parse, Parser
from bot.orders.files import OrderFileError, OrderRow, read_orders
from bot.sandbox import personas as P
from bot.sandbox.cast import Agent, Customer, Timeline, side_for
from bot.sandbox.environment import sandbox_environment
from bot.sandbox.narrator import Feed, Narrator, render_summary
from bot.sandbox.platforms.registry import PlatformRegistry
from bot.sandbox.shop import ShopFeed
from bot.sandbox.summary import HoldLog, Summary, summarize
from bot.sandbox.world import SandboxWorld
from bot.engine.machine import WakeKind
from bot.base.clock import resolve_zone
from bot.schedule.governor import explain
from bot.schedule.scheduler import Hold
from bot.schedule.touchpoints import touchpoints_for
from bot.store.store import Store
from bot.ops.fixes import plan, queue
from bot.webhooks.http import OrderWebhooks

log = logging.getLogger("aftercare.sandbox")

SAMPLE_ORDERS = "data/sample_orders.csv"
SAMPLE_WEBHOOK_ORDERS = "data/sample_webhook_orders.json"   # pushed live by the simulated shop
SAMPLE_HISTORY = "data/sample_history.csv"  # earlier orders of the sample's customers (their milestones)
FAST_FORWARD = timedelta(minutes=20)       # a longer quiet stretch is jumped over, not played
AFTER_LAST_CHECKIN = timedelta(days=8)     # room for reminders, "not used yet" and closing
LINK_BEFORE_PURCHASE = timedelta(minutes=5)
BLOCK_BEFORE_CHECKIN = timedelta(hours=12)
WRITES_AFTER_DELIVERY = timedelta(hours=20)  # a persona that writes first (a problem) does it then
FIX_AFTER_RESOLVED = timedelta(days=2)     # the shop fixes the first problem resolved, then runs tell-fixed
# What the sandbox's shop writes to tell-fixed, once per language it answers in ({product}: the product's name)
FIXED_TEXTS = {
    "en": "You spoke, we listened: you told us about a problem with {product}, and we have fixed it in every one "
          "we send from today. Thank you for telling us!",
    "es": "Nos lo dijiste y te escuchamos: nos contaste un problema con {product} y ya lo hemos corregido en todos "
          "los que enviamos desde hoy. ¡Gracias por decírnoslo!",
    "pt": "Você falou, nós ouvimos: você nos contou um problema com {product} e já o corrigimos em todos os que "
          "enviamos a partir de hoje. Obrigado por nos avisar!",
    "de": "Sie haben es uns gesagt, wir haben zugehört: das Problem mit {product} ist behoben, bei jedem Exemplar, "
          "das wir ab heute versenden. Danke für Ihren Hinweis!",
    "fr": "Vous nous l'avez dit, nous vous avons écoutés : le problème de {product} est corrigé sur tous ceux que "
          "nous expédions dès aujourd'hui. Merci de nous l'avoir signalé !",
    "it": "Ce l'hai detto e ti abbiamo ascoltato: il problema di {product} è risolto in tutti quelli che spediamo "
          "da oggi. Grazie per avercelo segnalato!",
    "ja": "ご指摘ありがとうございました。{product}の問題は、本日以降に発送するすべての商品で修正しました。",
}
NOISY_LOGGERS = ("httpx", "aiohttp", "apscheduler", "asyncio")   # and each platform's own (`Platform.loggers`)


async def run_sandbox(settings: Settings, open_store: Callable[[Settings], Store], load_nlu: Callable[[Settings], Parser],
                      *, speed: float, orders_file: Optional[str], personas: bool,
                      keep_at: Optional[Path] = None, plugins: Optional[Plugins] = None) -> int:
    """The zero-credential `aftercare run`. Returns the exit code (0, also after Ctrl-C). The store
    is kept at `keep_at` (default data/last-run.db, or data/sandbox.db without personas).
    `plugins`: whose platforms, channels, vocabulary and effects run (the default and installed
    plugins when None)."""
    plugins = plugins if plugins is not None else Plugins.load()
    console = Console()
    _log_through(console, PlatformRegistry.of(plugins))
    console.print(f"[bold]Aftercare sandbox[/]: {_banner(PlatformRegistry.of(plugins), plugins.channels())}")
    stop = asyncio.Event()
    stop_on_signals(stop)
    parser = await ParserThread.start(load_nlu, settings)
    with contextlib.ExitStack() as cleanup:
        # kept after the run: `aftercare report` reads it (personas), `aftercare chat` joins it (no personas);
        # AFTERCARE_DB, AFTERCARE_HEALTH_PORT and AFTERCARE_WEBHOOK_SECRET are honoured (bot/sandbox/environment.py)
        env = sandbox_environment(settings, personas, keep_at)
        console.print(env.line, soft_wrap=True)
        path = env.store
        for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            stale.unlink(missing_ok=True)
        store = open_store(settings.copy(update={"store": StoreSettings(path=str(path))}))
        cleanup.callback(store.close)
        cleanup.callback(parser.close)
        demo = SandboxDemo(settings, store, parser, speed=speed, orders_file=orders_file, personas=personas,
                           narrator=Narrator(console), health_port=env.health_port, orders_secret=env.orders_secret,
                           plugins=plugins)
        try:
            summary = await demo.run(stop)
        except OrderFileError as exc:
            console.print(f"[red]error:[/] {escape(str(exc))}")
            return 1
    render_summary(console, summary, speed=demo.speed)
    if personas:
        console.print(f"This run's store is kept at {_shown(path)}; the same figures, sliced and charted:\n"
                      f"  {report_command(path)}", soft_wrap=True)
    if stop.is_set():
        console.print("[dim]Stopped by Ctrl-C.[/]")
    return 0


def to_present(rows: list[OrderRow], now: datetime) -> list[OrderRow]:
    """The sample's orders moved in time so that its latest delivery was four days ago (its
    check-in due now): a wall-clock playground (`--no-personas`) has check-ins to send, and the
    older orders' touchpoints, past their expiry, are dropped as with a shop's real history."""
    latest = max((r.delivered_at or r.shipped_at or r.purchased_at) for r in rows)
    shift = now - timedelta(days=4) - latest

    def moved(value: Optional[datetime]) -> Optional[datetime]:
        return value + shift if value is not None else None
    return [replace(r, purchased_at=r.purchased_at + shift, shipped_at=moved(r.shipped_at),
                    delivered_at=moved(r.delivered_at), expected_at=moved(r.expected_at)) for r in rows]


def _shown(path: Path) -> str:
    """`path` relative to the working folder when it is below it (what a person would type)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def report_command(path: Path) -> str:
    """The command that reports on a run's store."""
    return f"AFTERCARE_DB={shlex.quote(_shown(path))} .venv/bin/aftercare report"


class SandboxDemo:
    """One sandbox run: world, core, cast and the clock that drives them."""

    def __init__(self, settings: Settings, store: Store, parser, *, speed: float = 600.0,
                 orders_file: Optional[str] = None, personas: bool = True,
                 narrator: Optional[Narrator] = None, health_port: int = 0,
                 orders_secret: Optional[bytes] = None, plugins: Optional[Plugins] = None) -> None:
        self.settings = settings
        self.plugins = plugins if plugins is not None else Plugins.load()
        self.channel_specs = self.plugins.channels()
        self.store = store
        self.parser = parser
        self.personas = personas
        self.speed = speed if personas else 1.0
        self.orders_file = Path(orders_file) if orders_file else settings.resolve(SAMPLE_ORDERS)
        self.sample = not orders_file          # the shipped sample: its dates may be moved to the present
        # the shop's live orders belong to the story of the sample, with simulated customers
        self.shop_file = settings.resolve(SAMPLE_WEBHOOK_ORDERS) if personas and not orders_file else None
        # and so do its customers' earlier orders, imported as history (a first order's anniversary)
        self.history_file = settings.resolve(SAMPLE_HISTORY) if personas and not orders_file else None
        self.shop: Optional[ShopFeed] = None
        self.narrator = narrator or Narrator()
        self.health_port = health_port
        self.orders_secret = orders_secret or secrets.token_hex(32).encode()   # what the order webhook checks
        self.holds = HoldLog()
        self.timeline = Timeline()
        self.customers: list[Customer] = []
        self.world: Optional[SandboxWorld] = None
        self.core: Optional[Core] = None
        self.agent: Optional[Agent] = None
        self.health_url = ""
        self.end: Optional[datetime] = None
        self.fix_planned = False

    # ---- the run -----------------------------------------------------------------------

    async def run(self, stop: Optional[asyncio.Event] = None) -> Summary:
        stop = stop or asyncio.Event()
        rows, errors = read_orders(self.orders_file, self.channel_specs)
        if not rows:
            raise OrderFileError(self.orders_file, "no orders to import")
        shop_rows = self._shop_rows()
        start = (min(r.purchased_at for r in rows + shop_rows) - LINK_BEFORE_PURCHASE * 2 if self.personas
                 else datetime.now(timezone.utc))
        if not self.personas and self.sample:
            rows = to_present(rows, start)
        self.start = start.replace(microsecond=0)
        self.clock = SimClock(self.start)
        started = time.monotonic()
        self.world = world = await SandboxWorld.of(self.plugins, self.settings,
                                                  seconds=lambda: self.clock.now().timestamp()).start()
        health = None
        try:
            settings = world.settings_for_sandbox()
            settings = settings.copy(update={"webhooks": settings.webhooks.copy(
                update={"orders_secret": SecretStr(self.orders_secret.decode())})})
            link_secret = registry.link_secret(settings, self.channel_specs) or secrets.token_bytes(32)
            channels = world.channels
            # With a person at `aftercare chat` next to the sandbox (no personas), that process
            # sends its console messages and the support posts of its cases (to its in-memory desk).
            self.core = core = build_core(settings, self.store, self.parser, self.clock, channels, desk=world.desk,
                                          link_secret=link_secret, sends_on=None if self.personas else channels,
                                          plugins=self.plugins)
            self._import_history(settings)
            shop_rows = self._referred(shop_rows, settings)
            report = import_rows(self.store, settings, rows, self.clock.now())
            for error in errors:
                self.narrator.note(f"[yellow]{escape(str(self.orders_file))}:{error.line}: {escape(error.reason)} (row skipped)[/]")
            await self._cast(rows + shop_rows, link_secret)
            await world.connect(core.on_event, core.on_agent_action)
            health = await start_health(core, port=self.health_port,
                                        webhooks=OrderWebhooks(self.store, settings, self.clock, self.channel_specs))
            base_url = f"http://127.0.0.1:{health.addresses[0][1]}"
            self.health_url = f"{base_url}/healthz"
            if shop_rows:
                self.shop = ShopFeed(base_url, self.orders_secret, self.clock, self._narrate_person,
                                     describe=self._schedule_of)
                self.shop.plan(shop_rows, self.timeline)
            self.end = self._end() if self.personas else None
            self._ready(report.inserted + report.updated + report.unchanged, rows[0].order_id)
            self.narrator.start()
            await self._loop(stop)
        finally:
            self.narrator.stop()
            await world.stop()
            if health is not None:
                await health.cleanup()
        milestones = {name for name, kind in self.settings.schedule.touchpoints.items() if kind.needs_history}
        summary = summarize(self.store, self.holds, milestones)
        summary.sim_start, summary.sim_end = self.start, self.clock.now()
        summary.real_seconds = time.monotonic() - started
        return summary

    async def _loop(self, stop: asyncio.Event) -> None:
        clock = self.clock
        feed = Feed(self.store, self.narrator, self.settings.schedule.timezone)
        assert self.core is not None and self.agent is not None, "run() builds them first"
        main = MainLoop(self.core)
        while not stop.is_set():
            now = clock.now()
            self._plan_fix(now)
            turn = await main.step(now)
            self._narrate_holds(now, turn.holds)
            feed.poll()
            for customer in self.customers:
                customer.look(now)
            self.agent.look(now)
            if await self.timeline.run_due(now):
                continue                            # answers at this instant: handle them now
            self._progress(now, feed)
            nxt = earliest(turn.at, self.timeline.next_at())
            if self.personas:
                if nxt is None or self.end is None or nxt > self.end:
                    break
                await self._pace(now, max(nxt, now + timedelta(milliseconds=1)), stop)
            else:
                soon = earliest(now + timedelta(seconds=1), nxt) or now
                await _sleep(stop, max(0.05, (soon - now).total_seconds()))
                clock.set(datetime.now(timezone.utc))
        feed.poll()

    async def _pace(self, now: datetime, nxt: datetime, stop: asyncio.Event) -> None:
        """Play short gaps at `speed`, jump over long ones."""
        gap = nxt - now
        if self.speed > 0 and gap <= FAST_FORWARD:
            await _sleep(stop, gap.total_seconds() / self.speed)
        else:
            await asyncio.sleep(0)
        self.clock.set(nxt)

    # ---- set-up ------------------------------------------------------------------------

    async def _cast(self, rows: list[OrderRow], link_secret: bytes) -> None:
        """Every customer of the file on their channel's loopback server; with personas, each
        one acting as its first order's persona; and the agent."""
        world, store = self.world, self.store
        assert world is not None, "run() starts the world first"
        if self.personas:
            self.agent = Agent(world, self.timeline, self._narrate_person)
        else:       # a person at `aftercare chat`: a quick agent, working the store's cases
            self.agent = Agent(world, self.timeline, self._narrate_person, minute=timedelta(seconds=2), core=self.core)
        named = P.personas_in_file(self.orders_file)
        if self.shop_file is not None:
            named.update(P.personas_in_file(self.shop_file))
        by_customer: dict[str, list[OrderRow]] = defaultdict(list)
        for row in rows:
            by_customer[row.customer_ref].append(row)
        for number, (ref, orders) in enumerate(by_customer.items()):
            head = orders[0]
            name = head.customer_name or ref
            side = side_for(world, store, head, number)
            if side is None:
                continue                            # nobody to reach: stays unreachable
            await side.setup()
            if not self.personas:
                continue
            persona = P.persona_for(head.order_id, named.get(head.order_id))
            order_ids = list(dict.fromkeys(o.order_id for o in orders))
            language = pick_language([head.language, side.language], self.settings.languages.enabled,
                                     self.settings.languages.default)
            customer = Customer(name, persona, side, order_ids, self.timeline, self._narrate_person,
                                translator(self.core.flows.catalogs, language) if self.core else (lambda t: t))
            self.customers.append(customer)
            if side.unlinked:
                customer_id = store.customers.id_of_ref(ref)
                assert customer_id is not None, f"customer {ref} was imported"
                customer.plan_link(min(o.purchased_at for o in orders) - LINK_BEFORE_PURCHASE, customer_id, link_secret)
            checkins = [at for o in order_ids for t in store.orders.touchpoints(o)
                        if t.kind == "checkin" and (at := parse_iso(t.due_at)) is not None]
            if persona.blocks_before_checkin and checkins:
                customer.plan_block(max(self.clock.now(), min(checkins) - BLOCK_BEFORE_CHECKIN))
            delivered = [at for o in order_ids if (order := store.orders.get(o)) is not None
                         and (at := parse_iso(order.delivered_at)) is not None]
            if persona.writes_first and delivered:
                customer.plan_say(min(delivered) + WRITES_AFTER_DELIVERY, persona.writes_first)

    def _schedule_of(self, order_id: str) -> str:
        """What the order's next messages are now, e.g. "check-in due Nov 19 11:00Z"."""
        points = [t for t in self.store.orders.touchpoints(order_id)
                  if t.status in ("pending", "held") and t.kind in ("delay_notice", "checkin")]
        return ", ".join(f"{t.kind.replace('_', ' ')} due {parse_iso(t.due_at):%b %d %H:%M}Z" for t in points)

    def _import_history(self, settings: Settings) -> None:
        """The customers' earlier orders, as a shop imports its history: what was due for them
        before the run is over (skipped); what falls due later, like the anniversary of a first
        order, is not."""
        if self.history_file is None or not self.history_file.is_file():
            return
        rows, errors = read_orders(self.history_file, self.channel_specs)
        if errors:
            raise OrderFileError(self.history_file, f"line {errors[0].line}: {errors[0].reason}")
        import_rows(self.store, settings, rows, self.clock.now())
        for order_id in dict.fromkeys(row.order_id for row in rows):
            self.store.orders.skip_touchpoints_before(order_id, self.clock.now())

    def _shop_rows(self) -> list[OrderRow]:
        if self.shop_file is None:
            return []
        rows, errors = read_orders(self.shop_file, self.channel_specs)
        if errors:
            raise OrderFileError(self.shop_file, f"line {errors[0].line}: {errors[0].reason}")
        return rows

    def _referred(self, rows: list[OrderRow], settings: Settings) -> list[OrderRow]:
        """The shop's orders placed through a promoter's personal link (`referred_by`: the
        promoter's customer ref) carry the code of that link, as a storefront keeps it."""
        if self.shop_file is None:
            return rows
        promoters = P.column_in_file(self.shop_file, "referred_by")
        return [replace(row, referral_code=referral_code(self.store, settings, promoters[row.order_id]))
                if row.order_id in promoters else row for row in rows]

    def _end(self) -> datetime:
        """The simulated end: some days after the last check-in falls due (the shop's live
        orders: after their delivery and check-in delay)."""
        dues = self.store.run_log.touchpoint_dues("checkin")
        dues += [t.due_at for row in self._shop_rows()
                 for t in touchpoints_for(row.facts(), self.settings.schedule, self.settings.upsell.replenishment)
                 if t.kind == "checkin"]
        return max(dues, default=self.clock.now()) + AFTER_LAST_CHECKIN

    def _ready(self, orders: int, example_order: str) -> None:
        world = self.world
        assert world is not None, "run() starts the world first"
        log.info("ready: sandbox %s (loopback), %d orders, store %s, healthz %s",
                 world.describe(), orders, self.store_path(), self.health_url)
        cast = ", ".join(f"{c.order_ids[0]} {c.persona.name}" for c in self.customers)
        if self.personas:
            self.narrator.note(f"simulated {self.clock.now():%Y-%m-%d} → {self.end:%Y-%m-%d}, ×{self.speed:g} "
                               f"while something is due, jumping over quiet stretches; Ctrl-C stops")
            self.narrator.note(f"[dim]customers: {escape(cast)}[/]")
        else:
            self.narrator.note("No simulated customers. Play one in another terminal, e.g. "
                               f"[bold]AFTERCARE_DB={self.store_path()} aftercare chat --order {example_order}[/]; "
                               "the simulated agent answers cases here. Ctrl-C stops.")

    def store_path(self) -> str:
        return self.store.path

    # ---- "you spoke, we listened" -------------------------------------------------------

    def _plan_fix(self, now: datetime) -> None:
        """Once the first case naming a problem type is resolved, the shop fixes that problem
        on that SKU a couple of days later and runs `aftercare tell-fixed` (confirmed)."""
        if not self.personas or self.fix_planned:
            return
        found = self.store.run_log.first_resolved_problem()
        if found is None:
            return
        sku, problem_type, product, resolved_at = found
        self.fix_planned = True
        at = max(now, resolved_at + FIX_AFTER_RESOLVED)

        async def tell_fixed() -> None:
            chosen = plan(self.store, sku, problem_type, languages=self.settings.languages)
            texts = {tag: text.replace("{product}", product) for tag, text in FIXED_TEXTS.items()}
            queued = queue(self.store, chosen, texts, at, skip_untranslated=True)
            skipped = "; ".join([f"{c.label}: {c.skip}" for c in chosen.skipped] +
                                [f"{c.label}: no text in {c.language}" for c in chosen.untranslated(texts)])
            self.narrator.line(at, "🛠 shop", f"fixed {problem_type} on {sku}: aftercare tell-fixed queued {queued} "
                                            f"notice(s)" + (f", skipped {skipped}" if skipped else ""), "support")
        self.timeline.add(at, f"the shop runs tell-fixed for {problem_type} on {sku}", tell_fixed)

    # ---- what the governor held back ---------------------------------------------------

    def _narrate_holds(self, now: datetime, holds: tuple[Hold, ...]) -> None:
        """Tell what the scheduler held back at this step (each hold once), as it decided it."""
        for hold in holds:
            if hold.gone:              # dropped for good (happens once): the scheduler's own sentence
                self.narrator.line(hold.due_at, f"✕ {hold.kind} {hold.order_id}",
                                   hold.reason.removeprefix("dropped: "), "hold")
                continue
            if not self.holds.add(hold.key, hold.reason):
                continue
            if hold.key[0] == "wake":
                what = "reminder" if hold.kind == WakeKind.REMIND else "check-back"
                told = explain(hold.decision) if hold.decision else hold.reason
                self.narrator.line(now, f"⏸ {what} {hold.order_id}", told
                                   + ("; no reminder then, the conversation closes quietly" if hold.dropped else ""),
                                   "hold")
            else:
                zone = self._zone_of(hold.order_id) if hold.order_id else self.settings.schedule.timezone
                self.narrator.line(hold.due_at, f"⏸ {hold.kind} {hold.order_id}",
                                   f"held: {hold.reason.replace('_', ' ')}, next try "
                                   f"{hold.until.astimezone(ZoneInfo(zone)):%a %H:%M} {zone}", "hold")

    def _zone_of(self, order_id: str) -> str:
        order = self.store.orders.get(order_id)
        customer = self.store.customers.get(order.customer_id) if order else None
        return resolve_zone(customer.timezone if customer else None, self.settings.schedule.timezone)

    # ---- terminal ----------------------------------------------------------------------

    def _narrate_person(self, at: datetime, who: str, what: str) -> None:
        self.narrator.line(at, who, what, "agent" if "(agent)" in who else "info")

    def _progress(self, now: datetime, feed: Feed) -> None:
        if self.end is not None:
            total = (self.end - self.start).total_seconds() or 1
            done = min(1.0, max(0.0, (now - self.start).total_seconds() / total))
            bar = "█" * int(done * 24) + "░" * (24 - int(done * 24))
            where = f"{bar} {done:4.0%}"
        else:
            where = "live"
        agent = self.agent
        resolved = sum(1 for c in agent.cases.values() if c.resolved) if agent else 0
        self.narrator.progress(f"⏱ {now:%a %Y-%m-%d %H:%M} UTC  {where}  delivered {feed.delivered} · "
                               f"answers {feed.answers} · cases {feed.cards} opened, {resolved} resolved · "
                               f"×{self.speed:g}")


class ParserThread:
    """The NLU on a thread of its own. Rasa's parser drives a private event loop, which cannot
    run on a thread whose loop is already running (the app's); the inbound handler's call still
    waits for the answer, as a direct call would."""

    def __init__(self, pool: ThreadPoolExecutor, parser) -> None:
        self._pool, self._parser = pool, parser

    @classmethod
    async def start(cls, load: Callable[[Settings], Parser], settings: Settings) -> "ParserThread":
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nlu")
        parser = await asyncio.get_running_loop().run_in_executor(pool, load, settings)
        return cls(pool, parser)

    def parse(self, text: str, language: Optional[str] = None) -> Parse:
        return self._pool.submit(self._parser.parse, text, language).result()

    async def aparse(self, text: str, language: Optional[str] = None) -> Parse:
        return await asyncio.wrap_future(self._pool.submit(self._parser.parse, text, language))

    def close(self) -> None:
        self._pool.shutdown(wait=False)


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    if seconds <= 0:
        await asyncio.sleep(0)
        return
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except asyncio.TimeoutError:
        pass


def _log_through(console: Console, platforms: PlatformRegistry) -> None:
    """Log lines print above the progress line instead of tearing it; libraries only warn."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if type(handler) is logging.StreamHandler:      # basicConfig's plain stderr handler
            root.removeHandler(handler)
    root.addHandler(RichHandler(console=console, show_path=False, markup=False, rich_tracebacks=False))
    root.setLevel(logging.INFO)
    for name in NOISY_LOGGERS + tuple(n for platform in platforms for n in platform.loggers):
        logging.getLogger(name).setLevel(logging.WARNING)


def _banner(platforms: PlatformRegistry, channels: registry.ChannelRegistry) -> str:
    """Why this is the sandbox: no platform's token in the environment, so every platform is a
    loopback server (the tokens and names from the platforms' and channels' declarations)."""
    tokens = " / ".join(p.token_env for p in platforms if p.token_env)
    titles = [spec.title if (spec := channels.get(p.name)) else p.name for p in platforms]
    names = " and ".join([", ".join(titles[:-1]), titles[-1]] if len(titles) > 1 else titles)
    return (f"no {tokens} in the environment, so {names} are loopback servers on 127.0.0.1 "
            "(docs/going-live.md goes live).")
