"""Desk forms as Slack modals, and modal payloads back to plain values. Pure functions over
the JSON Slack sends and takes (no SDK), like slack_blocks.py and slack_inbound.py.

A form's `kind` is in the view's `callback_id` (`aftercare_form_<kind>`) and its case in
`private_metadata`; each field is an input block whose block_id is the field's name (plus its
`version`, so a redraw can replace what was typed) and whose element's action_id is the name."""
from __future__ import annotations

from typing import Any, Optional

from bot.base.agent_events import Form, FormField
from bot.channels.slack_blocks import MAX_SECTION_TEXT, fit, mrkdwn, plain

CALLBACK_PREFIX = "aftercare_form_"
MAX_TITLE = 24              # modal title and button texts
MAX_OPTIONS = 100           # static_select
MAX_INPUT = 3000            # plain_text_input initial_value / max_length


def modal(form: Form, channel: str = "") -> dict:
    """The `view` for views.open / views.update; `channel` (where the agent acted) rides along
    in `private_metadata` with the case, as the submission carries no channel."""
    blocks: list[dict] = []
    if form.intro:
        blocks.append({"type": "section", "block_id": "intro", "text": mrkdwn(fit(form.intro, MAX_SECTION_TEXT))})
    blocks.extend(_field(f) for f in form.fields)
    return {
        "type": "modal", "callback_id": CALLBACK_PREFIX + form.kind, "private_metadata": f"{form.case_ref}|{channel}",
        "title": plain(form.title, MAX_TITLE), "submit": plain(form.submit, MAX_TITLE),
        "close": plain("Cancel", MAX_TITLE), "blocks": blocks,
    }


def _field(f: FormField) -> dict:
    element: dict[str, Any]
    if f.kind == "select":
        options = [{"text": plain(label), "value": value} for label, value in f.options[:MAX_OPTIONS]]
        element = {"type": "static_select", "action_id": f.name, "options": options,
                   "placeholder": plain("Choose…")}
        chosen = next((o for o in options if o["value"] == f.initial), None)
        if chosen is not None:
            element["initial_option"] = chosen
    elif f.kind == "user":
        element = {"type": "users_select", "action_id": f.name, "placeholder": plain("Choose a person…")}
    else:
        element = {"type": "plain_text_input", "action_id": f.name, "multiline": f.multiline,
                   "max_length": MAX_INPUT}
        if f.initial:
            element["initial_value"] = f.initial[:MAX_INPUT]
    block: dict[str, Any] = {"type": "input", "block_id": f.name + (f"__{f.version}" if f.version else ""),
                             "label": plain(f.label, 2000), "element": element, "optional": f.optional}
    if f.dispatch:
        block["dispatch_action"] = True
    return block


def metadata(view: dict) -> tuple[str, str]:
    """(case ref, channel) a modal was opened for."""
    case_ref, _, channel = str(view.get("private_metadata") or "").partition("|")
    return case_ref, channel


def form_kind(view: dict) -> Optional[str]:
    callback = str(view.get("callback_id") or "")
    return callback[len(CALLBACK_PREFIX):] if callback.startswith(CALLBACK_PREFIX) else None


def values(view: dict) -> dict[str, str]:
    """What the agent entered, by field name: text, the chosen option's value, the chosen user."""
    out: dict[str, str] = {}
    state = ((view.get("state") or {}).get("values") or {})
    for block in state.values():
        if not isinstance(block, dict):
            continue
        for name, element in block.items():
            if isinstance(element, dict):
                out[str(name)] = _value(element)
    return out


def _value(element: dict) -> str:
    kind = element.get("type")
    if kind == "static_select":
        return str((element.get("selected_option") or {}).get("value") or "")
    if kind == "users_select":
        return str(element.get("selected_user") or "")
    return str(element.get("value") or "")
