"""Block Kit for Aftercare's Slack messages, and the escaping that keeps customer text harmless.

Pure functions over plain data (no SDK): check-in questions with buttons, the answered form of
a question, case cards for agents. Every dynamic string goes through `escape_customer_text`
and lands in `mrkdwn` text objects with `verbatim: true`, and messages are posted with
`link_names` off, so nothing a customer writes can ping anyone or pass for a link."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Optional, Sequence
from urllib.parse import urlsplit

from bot.base.kinds import CaseStatus

MAX_MESSAGE_TEXT = 40_000
MAX_SECTION_TEXT = 3_000
MAX_FIELD_TEXT = 2_000
MAX_BUTTON_LABEL = 75
MAX_BUTTONS_PER_BLOCK = 25
SECTIONS_PER_MESSAGE = 13          # 13 x 3,000 = 39,000 characters: under both message limits

CHOICE_PREFIX = "choice_"
CLAIM_ACTION = "case_claim"
RESOLVE_ACTION = "case_resolve"
RELEASE_ACTION = "case_release"
NOTE_ACTION = "case_note"              # opens the private-note form
SAVED_REPLY_ACTION = "case_saved_reply"    # opens the saved-reply form
SNOOZE_ACTION = "case_snooze"          # opens the snooze form
HISTORY_ACTION = "case_history"
GOODWILL_ACTION = "case_goodwill"
ASSIGN_ACTION = "case_assign"          # a users_select: hand the case to that person
NOTE_SHORTCUT = "case_note_shortcut"   # the message shortcut "Add a private note"

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")
_SAFE_URL = re.compile(r"^https?://[^\s<>|]+$")


def escape_customer_text(text: str) -> str:
    """Slack's own escaping (& < > as entities): `<!channel>`, `<!here>`, `<!subteam^..>`,
    `<@U..>` and `<url|label>` then show as typed instead of pinging or linking. Bare `@here`
    words stay text because we post with `link_names` off and mrkdwn `verbatim: true`."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escaped_len(ch: str) -> int:
    return 5 if ch == "&" else 4 if ch in "<>" else 1


def split_escaped(text: str, limit: int) -> list[str]:
    """Escape `text` and cut it into pieces of at most `limit` characters *after* escaping,
    never inside an entity, preferring to cut after whitespace."""
    pieces: list[str] = []
    start, n = 0, len(text)
    while start < n:
        size, i, cut = 0, start, -1
        while i < n and size + _escaped_len(text[i]) <= limit:
            size += _escaped_len(text[i])
            if text[i].isspace():
                cut = i + 1
            i += 1
        if i < n and cut > start + (i - start) // 2:
            i = cut
        pieces.append(escape_customer_text(text[start:i]))
        start = i
    return pieces


def fit(text: str, limit: int) -> str:
    """Escaped `text`, shortened with an ellipsis to at most `limit` characters."""
    pieces = split_escaped(text, limit)
    if len(pieces) <= 1:
        return pieces[0] if pieces else ""
    return split_escaped(text, limit - 1)[0] + "…"


def mrkdwn(text: str) -> dict:
    """A mrkdwn text object for already-escaped text, with Slack's auto-parsing off."""
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def plain(text: str, limit: int = MAX_BUTTON_LABEL) -> dict:
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return {"type": "plain_text", "text": text or " ", "emoji": True}


def mention_user(user_id: str) -> str:
    """A real mention for a Slack user id we hold (never for text from a customer)."""
    return f"<@{user_id}>" if _USER_ID.match(user_id) else escape_customer_text(user_id)


def mention(ref: str) -> str:
    """`<@U..>` for a user id, `<!subteam^S..>` for a user group id, `<!channel>` / `<!here>`
    for "!channel" / "!here", else escaped text."""
    if ref in ("!channel", "!here"):
        return f"<{ref}>"
    if _GROUP_ID.match(ref):
        return f"<!subteam^{ref}>"
    return mention_user(ref)


# ---- customer questions -----------------------------------------------------------------

def question_messages(text: str, buttons: Sequence[tuple[str, str]]) -> list[tuple[str, list]]:
    """(fallback text, blocks) for each Slack message one question needs: the text in section
    blocks of <= 3,000 characters, 13 sections per message, the buttons under the last one.
    `buttons` are (label, value) pairs; button n gets action_id `choice_<n>`."""
    sections = split_escaped(text, MAX_SECTION_TEXT) or [escape_customer_text(" ")]
    groups = [sections[i:i + SECTIONS_PER_MESSAGE] for i in range(0, len(sections), SECTIONS_PER_MESSAGE)]
    messages: list[tuple[str, list]] = []
    for g, group in enumerate(groups):
        blocks: list[dict] = [{"type": "section", "block_id": f"q{g}_{i}", "text": mrkdwn(piece)}
                              for i, piece in enumerate(group)]
        if g == len(groups) - 1:
            blocks.extend(choice_blocks(buttons))
        messages.append(("".join(group), blocks))
    return messages


def choice_blocks(buttons: Sequence[tuple[str, str]]) -> list[dict]:
    elements = [{"type": "button", "text": plain(label), "action_id": f"{CHOICE_PREFIX}{n}",
                 "value": value} for n, (label, value) in enumerate(buttons)]
    return [{"type": "actions", "block_id": f"choices_{i // MAX_BUTTONS_PER_BLOCK}",
             "elements": elements[i:i + MAX_BUTTONS_PER_BLOCK]}
            for i in range(0, len(elements), MAX_BUTTONS_PER_BLOCK)]


def answered_question(text: str, chosen_label: str) -> tuple[str, list]:
    """The question with its buttons replaced by "✔ <label>", so it cannot be answered twice."""
    sections = split_escaped(text, MAX_SECTION_TEXT)[-(SECTIONS_PER_MESSAGE - 1):]
    chosen = "✔ " + fit(chosen_label, MAX_SECTION_TEXT - 2)
    blocks: list[dict] = [{"type": "section", "block_id": f"q0_{i}", "text": mrkdwn(piece)}
                          for i, piece in enumerate(sections)]
    blocks.append({"type": "context", "block_id": "chosen", "elements": [mrkdwn(chosen)]})
    return ("".join(sections) + "\n" + chosen)[:MAX_MESSAGE_TEXT], blocks


def text_message(text: str) -> list[str]:
    """Escaped text cut into postable messages (threads, ephemerals)."""
    return split_escaped(text, MAX_MESSAGE_TEXT - 1_000)


# ---- case cards for agents --------------------------------------------------------------

def case_card(case: Mapping[str, Any]) -> tuple[str, list]:
    """(fallback text, blocks) of a case card.

    Keys read (all optional but `id`): customer, channel, language, order, product, sku, scores,
    reason, problem_type, request, customer_words, last_turns (strings or {"from", "text"}), photos
    (URLs), sla_due, sla_state, status ("open" | "claimed" | "resolved"), owner (agent's
    Slack user id), claimed_at, resolved_by, resolved_at."""
    case_id = str(case["id"])
    status = str(case.get("status") or CaseStatus.OPEN.value)
    reason = _value(case.get("reason"))
    title = f"Case {case_id}: {reason}"
    blocks: list[dict] = [{"type": "header", "block_id": "case_header", "text": plain(title, 150)}]
    fields = [
        ("Customer", case.get("customer")), ("Channel", case.get("channel")),
        ("Language", case.get("language")),
        ("Order", case.get("order")), ("Product", _product(case)),
        ("Scores", case.get("scores")), ("Reason", case.get("reason")),
        ("Problem", case.get("problem_type")), ("Request", case.get("request")),
        ("SLA due", _sla(case)),
    ]
    blocks.append({"type": "section", "block_id": "case_fields",
                   "fields": [mrkdwn(f"*{name}*\n" + fit(_value(v), MAX_FIELD_TEXT - len(name) - 4))
                              for name, v in fields]})
    words = str(case.get("customer_words") or "")
    if words:
        blocks.append(_titled_section("case_words", "Customer's words", words))
    turns = _turns(case.get("last_turns") or ())
    if turns:
        blocks.append(_titled_section("case_turns", "Last turns", turns))
    photos = _photos(case.get("photos") or ())
    if photos:
        blocks.append({"type": "section", "block_id": "case_photos",
                       "text": mrkdwn("*Photos*\n" + photos)})
    blocks.append({"type": "context", "block_id": "case_status", "elements": [mrkdwn(_status_line(case))]})
    facts = [fit(str(case[k]), 500) for k in ("repeat", "customer_state") if case.get(k)]
    if case.get("snoozed"):
        facts.append("Snoozed " + fit(str(case["snoozed"]), 200) + ": the SLA clock is paused")
    if facts:
        blocks.append({"type": "context", "block_id": "case_facts", "elements": [mrkdwn(" · ".join(facts))]})
    buttons = []
    if status == CaseStatus.OPEN:
        buttons.append({"type": "button", "text": plain("Claim"), "action_id": CLAIM_ACTION,
                        "value": case_id, "style": "primary"})
    if status == CaseStatus.CLAIMED:
        buttons.append({"type": "button", "text": plain("Release"), "action_id": RELEASE_ACTION, "value": case_id})
    if status in (CaseStatus.OPEN, CaseStatus.CLAIMED):
        for label, action in (("Saved reply", SAVED_REPLY_ACTION), ("Note", NOTE_ACTION), ("Snooze", SNOOZE_ACTION),
                              ("History", HISTORY_ACTION), ("Goodwill code", GOODWILL_ACTION)):
            buttons.append({"type": "button", "text": plain(label), "action_id": action, "value": case_id})
        buttons.append({"type": "button", "text": plain("Resolve"), "action_id": RESOLVE_ACTION,
                        "value": case_id})
    if buttons:
        blocks.append({"type": "actions", "block_id": "case_actions", "elements": buttons})
    if status in (CaseStatus.OPEN, CaseStatus.CLAIMED):
        blocks.append({"type": "actions", "block_id": "case_assign", "elements": [
            {"type": "users_select", "action_id": ASSIGN_ACTION, "placeholder": plain("Hand to…")}]})
    fallback = f"{escape_customer_text(title)} ({escape_customer_text(status)})"
    return fallback, blocks


def _titled_section(block_id: str, title: str, body: str) -> dict:
    head = f"*{title}*\n"
    return {"type": "section", "block_id": block_id,
            "text": mrkdwn(head + fit(body, MAX_SECTION_TEXT - len(head)))}


def _value(v: Any) -> str:
    if v is None or v == "" or v == () or v == []:
        return "—"
    if isinstance(v, datetime):
        return _when(v)
    if isinstance(v, Mapping):
        return ", ".join(f"{k} {_value(x)}" for k, x in v.items()) or "—"
    if isinstance(v, (list, tuple)):
        return ", ".join(_value(x) for x in v) or "—"
    return str(v)


def _when(v: datetime) -> str:
    if v.tzinfo is not None:
        v = v.astimezone(timezone.utc)
    return v.strftime("%Y-%m-%d %H:%M UTC")


def _product(case: Mapping[str, Any]) -> str:
    product, sku = case.get("product"), case.get("sku")
    if product and sku:
        return f"{product} ({sku})"
    return _value(product or sku)


def _sla(case: Mapping[str, Any]) -> str:
    due = _value(case.get("sla_due"))
    state = case.get("sla_state")
    return f"{due} ({state})" if state else due


def _turns(turns: Iterable[Any]) -> str:
    lines = []
    for turn in turns:
        if isinstance(turn, Mapping):
            lines.append(f"{turn.get('from', '?')}: {turn.get('text', '')}")
        else:
            lines.append(str(turn))
    return "\n".join(lines)


def _photos(photos: Iterable[Any]) -> str:
    """Links with an honest label (number and host) for http(s) URLs; anything else as text."""
    out = []
    for n, ref in enumerate(photos, 1):
        ref = str(ref)
        if _SAFE_URL.match(ref):
            host = escape_customer_text(urlsplit(ref).hostname or "")
            out.append(f"<{escape_customer_text(ref)}|photo {n} ({host})>")
        else:
            out.append(f"photo {n}: {fit(ref, 200)}")
    return "\n".join(out)[:MAX_SECTION_TEXT - 10]


def _status_line(case: Mapping[str, Any]) -> str:
    status = str(case.get("status") or CaseStatus.OPEN.value)
    owner: Optional[str] = case.get("owner")
    if status == CaseStatus.RESOLVED:
        by = case.get("resolved_by") or owner
        who = f" by {mention_user(str(by))}" if by else ""
        at = f" at {_when(case['resolved_at'])}" if isinstance(case.get("resolved_at"), datetime) else ""
        return f"✔ Resolved{who}{at}"
    if status == CaseStatus.CLAIMED and owner:
        at = f" at {_when(case['claimed_at'])}" if isinstance(case.get("claimed_at"), datetime) else ""
        return f"Claimed by {mention_user(str(owner))}{at}"
    return "Open: waiting for an agent"
