"""`aftercare chat`: a person plays the customer of one order in the terminal."""
from __future__ import annotations

import asyncio
import itertools
import uuid
from datetime import datetime, timezone
from typing import Optional

from rich.console import Console
from rich.markup import escape
from rich.prompt import Prompt

from bot.channels.console import ConsoleChannel, ConsoleMessage, MemoryDesk
from bot.base.clock import SystemClock
from bot.config.settings import Settings
from bot.live.core import build_core
from bot.plugins.manager import Plugins
from bot.engine.machine import Begin
from bot.base.events import InboundEvent, InboundKind
from bot.store.store import Store

def session_address() -> str:
    """Each `aftercare chat` session is its own customer address: two sessions (two customers)
    never share one, so the second one's text can never land in the first one's case."""
    return f"console-{uuid.uuid4().hex[:12]}"


async def run_chat(settings: Settings, store: Store, parser, order_id: str, plugins: Optional[Plugins] = None) -> None:
    """`plugins`: whose vocabulary, effects and channels the conversation runs on (the default and
    installed plugins when None)."""
    console = Console()
    last: list[ConsoleMessage] = []

    def show(message: ConsoleMessage) -> None:
        console.print(f"[bold cyan]bot:[/] {escape(message.text)}")
        for n, (label, _) in enumerate(message.buttons, 1):
            console.print(f"   [yellow]{n}[/]) {escape(label)}")
        last[:] = [message] if message.buttons else last

    desk = MemoryDesk(on_post=lambda post: console.print(f"[magenta]#support:[/] {escape(post.text)}"))
    channel = ConsoleChannel(on_sent=show)
    core = build_core(settings, store, parser, SystemClock(), {"console": channel}, desk=desk, limits={},
                      plugins=plugins if plugins is not None else Plugins.load())
    order = store.orders.get(order_id)
    if order is None:
        raise LookupError(f"order {order_id!r} not found; import it first")
    items = store.orders.items(order_id)
    now = datetime.now(timezone.utc)
    address = session_address()
    identity_id = store.customers.ensure_identity(order.customer_id, "console", None, True, now, "console-chat")
    store.customers.bind_address(identity_id, address, now, source="console-chat")   # you, at this terminal
    identity = store.customers.identity(identity_id)
    core.runner.start(identity, order_id, items[0].sku if items else None, Begin("checkin", proactive=False), now)
    ids = itertools.count(1)
    console.print("[dim]You are the customer. Type a reply, a button number, or /quit.[/]")
    while True:
        await core.dispatcher.run_once()
        text = await asyncio.to_thread(Prompt.ask, "[bold green]you[/]")
        if text.strip() in ("/quit", "/exit"):
            break
        event_id = f"chat-{datetime.now().timestamp()}-{next(ids)}"
        at = datetime.now(timezone.utc)
        if text.strip().isdigit() and last and 1 <= int(text) <= len(last[0].buttons):
            label, value = last[0].buttons[int(text) - 1]
            event = InboundEvent("console", event_id, address, InboundKind.BUTTON, at, button_value=value,
                                 reply_to=last[0].message_id)
        elif text.strip() in ("/stop", "/help", "/start"):
            kind = {"/stop": InboundKind.STOP, "/help": InboundKind.HELP, "/start": InboundKind.START}[text.strip()]
            event = InboundEvent("console", event_id, address, kind, at, text=text)
        else:
            event = InboundEvent("console", event_id, address, InboundKind.TEXT, at, text=text)
        await core.on_event(event)
