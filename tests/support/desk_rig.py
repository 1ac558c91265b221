"""The support desk end to end: the real core (harness), its desk on the loopback Slack through
the real slack-bolt adapter, two agents in the support channel. Agents act only as people do:
signed clicks, shortcuts, modal submissions and thread replies delivered by the sandbox."""
from __future__ import annotations

from typing import Any, Optional

from bot.channels.slack import SlackChannel
from bot.sandbox.platforms.slack_api import Message, SlackSandbox, View
from tests.support.harness import Harness, make_settings


class DeskRig:
    """`h` is the harness (customer on a fake channel, the core on a simulated clock); the desk
    is `sandbox`'s #support, served by `slack` (a SlackChannel)."""

    def __init__(self, sandbox: SlackSandbox, **settings: Any) -> None:
        self.sandbox = sandbox
        self.ana = sandbox.add_user("ana-agent")
        self.bo = sandbox.add_user("bo-agent")
        self.support = sandbox.add_channel("support", [self.ana, self.bo])
        escalation = {"support_channel": self.support, **settings.pop("escalation", {})}
        self.slack = SlackChannel(bot_token=sandbox.token, signing_secret=sandbox.signing_secret,
                                  base_url=sandbox.base_url, support_channels=[self.support])
        self.h = Harness(make_settings(schedule={"weekly_cap": 5}, escalation=escalation, **settings),
                         desk=self.slack.desk)      # type: ignore[arg-type]

    async def start(self) -> "DeskRig":
        await self.slack.start(self.h.core.on_event, self.h.core.on_agent_action)
        self.sandbox.events_url = self.slack.events_url
        return self

    async def stop(self) -> None:
        await self.slack.stop()

    async def open_case(self, text: str = "the sole came off", **order: Any) -> None:
        await self.h.start_checkin(**order)
        await self.h.press("1")
        await self.h.say(text)
        assert self.h.case() is not None and self.h.case().card_ts

    # ---- acting as an agent ------------------------------------------------------------

    @property
    def card_ts(self) -> str:
        ts = self.h.case().card_ts
        assert ts
        return ts

    async def settle(self) -> None:
        await self.slack.idle()
        await self.h.pump()

    async def click(self, agent: str, action_id: str) -> None:
        await self.sandbox.user_clicks(agent, self.support, self.card_ts, action_id, str(self.h.case().id))
        await self.settle()

    async def pick_person(self, agent: str, person: str) -> None:
        await self.sandbox.user_selects_user(agent, self.support, self.card_ts, "case_assign", person)
        await self.settle()

    async def reply(self, agent: str, text: str) -> None:
        await self.sandbox.user_posts_in_thread(self.support, self.card_ts, agent, text)
        await self.settle()

    def open_view(self, agent: str) -> View:
        views = self.sandbox.views_of(agent)
        assert views, f"no modal open for {agent}"
        return views[-1]

    async def submit(self, agent: str, view: View) -> None:
        await self.sandbox.user_submits_view(agent, view.id)
        await self.settle()

    # ---- reading back ------------------------------------------------------------------

    def thread(self) -> list[Message]:
        return self.sandbox.thread(self.support, self.card_ts)[1:]

    def thread_texts(self) -> list[str]:
        return [m.text for m in self.thread()]

    def ephemerals(self, agent: str) -> list[str]:
        return [e.text for e in self.sandbox.ephemerals if e.user == agent]

    def customer_texts(self) -> list[str]:
        return self.h.texts()

    def card(self) -> Message:
        return self.sandbox.message(self.support, self.card_ts)

    def card_buttons(self) -> list[str]:
        return [e["action_id"] for b in self.card().blocks if b.get("type") == "actions"
                for e in b["elements"] if e.get("type") == "button"]

    def field(self, view: View, name: str) -> Optional[dict]:
        return next((b for b in view.body["blocks"] if b.get("type") == "input"
                     and b["element"]["action_id"] == name), None)
