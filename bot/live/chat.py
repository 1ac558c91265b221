"""`aftercare chat`: a person plays the customer of one order in the terminal."""
from __future__ import annotations

import asyncio
import itertools
import uuid
from datetime import datetime
from typing import Optional

from rich.console import Console
from rich.markup import escape
from rich.prompt import Prompt

from bot.channels.console import ConsoleChannel, ConsoleMessage, MemoryDesk
from bot.base.clock import Clock, SystemClock
from bot.config.settings import Settings
from bot.conversation.cases import SUPPORT
from bot.live.core import build_core
from bot.live.mainloop import MainLoop
from bot.plugins.manager import Plugins
from bot.engine.machine import Begin
from bot.base.events import InboundEvent, InboundKind
from bot.store.store import Store

SEND_POLL_CHAT = 1.0     # seconds: what the sandbox beside this chat queues for its customer shows this soon


def session_address() -> str:
    """Each `aftercare chat` session is its own customer address: two sessions (two customers)
    never share one, so the second one's text can never land in the first one's case."""
    return f"console-{uuid.uuid4().hex[:12]}"


async def run_chat(settings: Settings, store: Store, parser, order_id: str, plugins: Optional[Plugins] = None,
                   clock: Optional[Clock] = None, send_poll: float = SEND_POLL_CHAT) -> None:
    """The person at the terminal is the customer of `order_id`. The bot runs on the MainLoop,
    sends only (`calendar=False`: the schedule is the running bot's, `aftercare run`, often the
    sandbox beside this chat); what another process queues for this customer (an agent's reply,
    a reminder) shows within `send_poll` seconds, also while the person is at the prompt.
    `plugins`: whose vocabulary, effects and channels the conversation runs on (the default and
    installed plugins when None)."""
    console = Console()
    last: list[ConsoleMessage] = []

    def show(message: ConsoleMessage) -> None:
        console.print(f"[bold cyan]bot:[/] {escape(message.text)}")
        for n, (label, _) in enumerate(message.buttons, 1):
            console.print(f"   [yellow]{n}[/]) {escape(label)}")
        last[:] = [message] if message.buttons else last

    clock = clock if clock is not None else SystemClock()
    desk = MemoryDesk(on_post=lambda post: console.print(f"[magenta]#support:[/] {escape(post.text)}"))
    channel = ConsoleChannel(on_sent=show)
    # this process sends the console's messages and the support posts of its cases, nothing else
    core = build_core(settings, store, parser, clock, {"console": channel}, desk=desk, limits={},
                      sends_on=("console", SUPPORT), plugins=plugins if plugins is not None else Plugins.load())
    order = store.orders.get(order_id)
    if order is None:
        raise LookupError(f"order {order_id!r} not found; import it first")
    items = store.orders.items(order_id)
    now = clock.now()
    address = session_address()
    identity_id = store.customers.ensure_identity(order.customer_id, "console", None, True, now, "console-chat")
    store.customers.bind_address(identity_id, address, now, source="console-chat")   # you, at this terminal
    identity = store.customers.identity(identity_id)
    loop = MainLoop(core, calendar=False, send_poll=send_poll)
    stop = asyncio.Event()
    running = asyncio.create_task(loop.run(stop))
    try:
        core.runner.start(identity, order_id, items[0].sku if items else None, Begin("checkin", proactive=False), now)
        ids = itertools.count(1)
        console.print("[dim]You are the customer. Type a reply, a button number, or /quit.[/]")
        while not running.done():
            await loop.settle()             # the bot's answer shows before the next prompt
            text = await asyncio.to_thread(Prompt.ask, "[bold green]you[/]")
            if text.strip() in ("/quit", "/exit"):
                break
            await core.on_event(_event(text, f"chat-{datetime.now().timestamp()}-{next(ids)}", address,
                                       clock.now(), last[0] if last else None))
    finally:
        stop.set()
        await running                       # in-flight sends finish (or the loop's crash surfaces)


def _event(text: str, event_id: str, address: str, at: datetime, asked: Optional[ConsoleMessage]) -> InboundEvent:
    """What the person typed, as the console channel delivers it: a button number, a command, text."""
    typed = text.strip()
    if typed.isdigit() and asked is not None and 1 <= int(typed) <= len(asked.buttons):
        _, value = asked.buttons[int(typed) - 1]
        return InboundEvent("console", event_id, address, InboundKind.BUTTON, at, button_value=value,
                            reply_to=asked.message_id)
    if typed in ("/stop", "/help", "/start"):
        kind = {"/stop": InboundKind.STOP, "/help": InboundKind.HELP, "/start": InboundKind.START}[typed]
        return InboundEvent("console", event_id, address, kind, at, text=text)
    return InboundEvent("console", event_id, address, InboundKind.TEXT, at, text=text)
