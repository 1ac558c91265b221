"""Seeded generators of hostile inbound deliveries: Telegram updates (polling and webhook) and
Slack requests (Events API and interactivity), well-formed or not.

Each generator returns a `Delivery`: the bytes or object to deliver, and what the platform
contract says about it (`well_formed`, and `expect_event` when a well-formed delivery must
reach the store as a processed event under that event id)."""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any, Optional

RTL = "\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627 \u202eevil\u202c \u200f"
ZWJ = "\U0001F469\u200d\U0001F469\u200d\U0001F467\u200d\U0001F466 \U0001F3F3\ufe0f\u200d\U0001F308"
COMBINING = "Z" + "\u0301\u0336\u0352" * 40
CONTROL = "a\x00b\x01\x07\x1b[31m\x7f\u2028\u2029\ufeff"
WORDS = ["broken", "the sole came off", "great", "refund please", "I want a human", "thanks", "STOP",
         "stop", "/stop", "/start", "/help", "/start bad-token", "1", "5", "10", "yes", "no", "meh",
         "never arrived", "how do I clean it", "<b>bold</b>", "*md* _x_ `c`", "DROP TABLE outbox;--",
         "{{ customer.name }}", "${HOME}", "%s%s%n"]


@dataclass
class Delivery:
    path: str                       # tg_poll | tg_webhook | slack_event | slack_action
    body: Any                       # a dict, or raw bytes for deliveries that are not JSON
    well_formed: bool
    expect_event: Optional[str] = None


class Fuzzer:
    """One seeded stream of deliveries over a fixed cast of chats, users and cases."""

    def __init__(self, seed: int, *, telegram_chats: list[int], slack_users: list[str],
                 support_channel: str, agent: str, update_id_base: int = 10_000_000) -> None:
        self.rng = random.Random(seed)
        self.chats = telegram_chats
        self.slack_users = slack_users
        self.support_channel = support_channel
        self.agent = agent
        self.case_refs: list[str] = ["1", "2", "3"]
        self.card_ts: list[str] = ["1700000000.000100"]
        self._update_id = update_id_base
        self._n = 0

    # ---- text --------------------------------------------------------------------------
    def text(self) -> str:
        r = self.rng
        pick = r.random()
        if pick < 0.25:
            return r.choice(WORDS)
        if pick < 0.35:
            return ""
        if pick < 0.40:
            return r.choice([" ", "\n\n", "\t"])
        if pick < 0.50:
            return r.choice([RTL, ZWJ, COMBINING, CONTROL])
        if pick < 0.55:
            return "x" * r.choice([4095, 4096, 4097, 5000, 20_000])
        if pick < 0.60:
            return "\ud800 lone surrogate \udfff"
        if pick < 0.85:
            return "".join(chr(self._codepoint()) for _ in range(r.randint(1, 60)))
        return " ".join(r.choice(WORDS) for _ in range(r.randint(2, 6)))

    def _codepoint(self) -> int:
        r = self.rng
        block = r.choice([(0x20, 0x7E), (0x00, 0x1F), (0xA0, 0x2FF), (0x300, 0x36F), (0x590, 0x6FF),
                          (0x200B, 0x202E), (0x1F300, 0x1FAFF), (0xE000, 0xF8FF), (0x10000, 0x10FFFF)])
        return r.randint(*block)

    def _id(self) -> str:
        self._n += 1
        return f"{self._n}"

    def _wrong(self) -> Any:
        return self.rng.choice([None, 0, -1, 1.5, True, "", "x", [], {}, [1, "a"], {"a": 1}, 2 ** 70])

    def _break(self, obj: dict) -> dict:
        """Replace, drop or retype one field somewhere in `obj` (a copy)."""
        obj = json.loads(json.dumps(obj))
        node = obj
        while True:
            keys = [k for k in node if isinstance(node, dict)]
            if not keys:
                break
            key = self.rng.choice(keys)
            child = node[key]
            if isinstance(child, dict) and child and self.rng.random() < 0.6:
                node = child
                continue
            if self.rng.random() < 0.3:
                del node[key]
            else:
                node[key] = self._wrong()
            break
        return obj

    # ---- Telegram ----------------------------------------------------------------------
    def telegram(self, path: str) -> Delivery:
        r = self.rng
        self._update_id += 1
        update_id = self._update_id
        chat = r.choice(self.chats + [r.randint(1, 2 ** 40), -1001234567890])
        user = {"id": abs(chat), "is_bot": r.random() < 0.05, "first_name": self.text()[:64] or "A",
                "language_code": r.choice(["en", "de", "pt", "xx", "", None])}
        user = {k: v for k, v in user.items() if v is not None}
        chat_obj = {"id": chat, "type": "private" if chat > 0 else r.choice(["group", "supergroup", "channel"])}
        message = {"message_id": r.randint(1, 10 ** 6), "date": 1_700_000_000 + r.randint(0, 10 ** 6),
                   "chat": chat_obj, "from": user}
        kind = r.random()
        expect = None
        if kind < 0.45:
            text = self.text()
            if text:
                message["text"] = text
                expect = str(update_id) if chat_obj["type"] == "private" and not user["is_bot"] else None
            body = {"message": message}
        elif kind < 0.6:
            data = r.choice(["csat:1", "csat:5", "nps:10", "x" * r.choice([1, 64, 65, 300]), self.text() or "d"])
            body = {"callback_query": {"id": self._id(), "from": user, "chat_instance": "ci",
                                       "data": data, "message": {**message, "from": {
                                           "id": 123456789, "is_bot": True, "first_name": "Aftercare"},
                                           "text": "How was it?"}}}
            expect = str(update_id)
        elif kind < 0.7:
            media = r.choice(["sticker", "voice", "photo", "document", "location"])
            content: Any = [{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}] \
                if media == "photo" else {"file_id": "f", "file_unique_id": "u", "latitude": 1.0,
                                          "longitude": 2.0, "width": 1, "height": 1, "duration": 1,
                                          "is_animated": False, "is_video": False, "type": "regular"}
            body = {"message": {**message, media: content, "caption": self.text() or None}}
            body["message"] = {k: v for k, v in body["message"].items() if v is not None}
        elif kind < 0.8:
            # kinds the product does not handle: edits, channel posts, and kinds no library knows yet
            body = r.choice([{"edited_message": {**message, "text": self.text() or "e", "edit_date": 1}},
                             {"channel_post": {**message, "chat": {"id": -100, "type": "channel"},
                                               "text": self.text() or "c"}},
                             {"brand_new_update": {"whatever": self.text(), "n": r.randint(0, 9)}},
                             {"future_kind": [self.text()]}])
        else:
            broken = self._break({"message": {**message, "text": self.text() or "t"}})
            shape = r.random()
            if path == "tg_webhook" and shape < 0.25:
                raw = r.choice([b"", b"{", b"not json", b"\xff\xfe\x00", b"[1,2", b"{\"update_id\": }"])
                return Delivery(path, raw, well_formed=False)
            if shape < 0.45:
                return Delivery(path, r.choice([[], 5, "update", None, {"update_id": "7"},
                                                {"update_id": None, "message": {}}]), well_formed=False)
            return Delivery(path, {"update_id": update_id, **broken}, well_formed=False)
        return Delivery(path, {"update_id": update_id, **body}, well_formed=True, expect_event=expect)

    # ---- Slack -------------------------------------------------------------------------
    def slack_event(self) -> Delivery:
        r = self.rng
        event_id = f"EvFUZZ{self._id()}"
        user = r.choice(self.slack_users + [self.agent, "U0NOBODY", "UBOTSELF"])
        ts = f"{1_700_000_000 + r.randint(0, 10 ** 6)}.{r.randint(0, 999999):06d}"
        kind = r.random()
        expect = None
        if kind < 0.5:
            text = self.text()
            event = {"type": "message", "channel": f"D{user}", "user": user, "text": text, "ts": ts,
                     "event_ts": ts, "channel_type": "im"}
            if r.random() < 0.1:
                event.update(subtype="file_share", files=r.choice([
                    [{"id": "F1", "mimetype": "image/png", "url_private": "https://files/x.png"}],
                    [{"id": "F2", "mimetype": "application/pdf"}], ["not a dict"], []]))
            expect = event_id
        elif kind < 0.7:
            event = {"type": "message", "channel": self.support_channel, "user": r.choice([self.agent, user]),
                     "text": self.text(), "ts": ts, "channel_type": "channel",
                     "thread_ts": r.choice(self.card_ts + [ts, "1.2"])}
        elif kind < 0.8:
            event = {"type": r.choice(["app_mention", "reaction_added", "member_joined_channel", "brand_new"]),
                     "user": user, "ts": ts, "text": self.text()}
            if r.random() < 0.5:
                event = {"type": "message", "subtype": r.choice(["message_changed", "bot_message", "channel_join",
                                                                 "message_deleted"]),
                         "channel": f"D{user}", "channel_type": "im", "ts": ts,
                         "message": {"text": self.text()}, "bot_id": "B1"}
        else:
            event = self._break({"type": "message", "channel": f"D{user}", "user": user, "text": self.text() or "t",
                                 "ts": ts, "channel_type": "im"})
            body = {"type": "event_callback", "event_id": event_id, "event": event, "team_id": "T1",
                    "api_app_id": "A1", "event_time": 1}
            if r.random() < 0.3:
                raw = r.choice([b"{", b"", b"[]", b"null", b"\"str\"", b"{\"type\": \"event_callback\"}",
                                json.dumps({"type": "event_callback", "event": "x", "event_id": 5}).encode()])
                return Delivery("slack_event", raw, well_formed=False)
            return Delivery("slack_event", body, well_formed=False)
        body = {"type": "event_callback", "event_id": event_id, "event": event, "team_id": "T1",
                "api_app_id": "A1", "event_time": 1_700_000_000}
        return Delivery("slack_event", body, well_formed=True, expect_event=expect)

    def slack_action(self) -> Delivery:
        r = self.rng
        user = r.choice([self.agent, *self.slack_users, "U0NOBODY"])
        action_ts = f"{1_700_000_000 + r.randint(0, 10 ** 6)}.{r.randint(0, 999999):06d}"
        message_ts = r.choice(self.card_ts + ["1700000001.000001"])
        kind = r.random()
        if kind < 0.5:
            action = {"action_id": r.choice(["case_claim", "case_resolve"]),
                      "value": r.choice(self.case_refs + ["999", "x", "", "1" * 300])}
            channel = self.support_channel
        else:
            value = r.choice(["csat:1", "csat:5", "nps:7", "x" * r.choice([64, 65, 2001]), self.text()])
            action = {"action_id": f"choice_{r.randint(0, 12)}", "value": value}
            channel = f"D{user}"
        action.update(type="button", block_id="b", action_ts=action_ts, text={"type": "plain_text", "text": "b"})
        payload = {"type": "block_actions", "user": {"id": user, "name": "n"}, "api_app_id": "A1",
                   "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
                   "trigger_id": self._id(), "team": {"id": "T1"}, "channel": {"id": channel},
                   "message": {"ts": message_ts, "text": "q"}, "actions": [action]}
        if kind < 0.85:
            return Delivery("slack_action", payload, well_formed=True)
        if r.random() < 0.4:
            return Delivery("slack_action", r.choice([b"payload={", b"payload=", b"nothing=1", b"payload=%FF%FE",
                                                      b"payload=null", b"payload=[1]"]), well_formed=False)
        return Delivery("slack_action", self._break(payload), well_formed=False)
