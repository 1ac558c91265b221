"""Slack's message limits and what a posted text would do to readers, as the loopback server
checks them: Block Kit size limits (`invalid_blocks`) and the pings/links a text carries.

The ping scan is deliberately conservative: a bare `@channel` counts as a ping unless the
poster turned off Slack's mention parsing (`link_names` off, `verbatim: true` in mrkdwn), so a
test fails when an adapter relies on Slack's defaults to keep customer text harmless."""
from __future__ import annotations

import re
from typing import Any, Iterable

MAX_TEXT = 40_000          # chat.postMessage truncates longer text
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3_000
MAX_FIELD_TEXT = 2_000
MAX_FIELDS = 10
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2_000
MAX_ACTION_ID = 255
MAX_ACTIONS_ELEMENTS = 25

_SPECIAL = re.compile(r"<(!(?:channel|here|everyone)|!subteam\^[A-Za-z0-9]+|@[UW][A-Za-z0-9]+)(?:\|[^>]*)?>")
_LABELLED_LINK = re.compile(r"<((?:https?|mailto|tel):[^|>]+)\|([^>]*)>")
_BARE_BROADCAST = re.compile(r"(?<![\w@])@(channel|here|everyone)\b")


def block_errors(blocks: Any) -> list[str]:
    """Every limit the blocks break, as Slack words them in `errors`; [] when they are valid."""
    if not isinstance(blocks, list):
        return ["blocks must be an array"]
    errors: list[str] = []
    if len(blocks) > MAX_BLOCKS:
        errors.append(f"must provide no more than {MAX_BLOCKS} items [json-pointer:/blocks]")
    for i, block in enumerate(blocks):
        errors.extend(f"{msg} [json-pointer:/blocks/{i}{path}]" for path, msg in _one_block(block))
    return errors


MAX_VIEW_TITLE = 24
MAX_VIEW_BLOCKS = 100
MAX_METADATA = 3_000


def view_errors(view: dict) -> list[str]:
    """The limits a modal breaks (views.open / views.update answer `invalid_arguments`)."""
    errors: list[str] = []
    for key in ("title", "submit", "close"):
        obj = view.get(key)
        if obj is None and key != "title":
            continue
        for path, msg in _text_object(obj, MAX_VIEW_TITLE, f"/{key}", plain_only=True):
            errors.append(f"{msg} [json-pointer:/view{path}]")
    blocks = view.get("blocks")
    if not isinstance(blocks, list) or len(blocks) > MAX_VIEW_BLOCKS:
        errors.append(f"must provide 0 to {MAX_VIEW_BLOCKS} blocks [json-pointer:/view/blocks]")
        return errors
    ids = [b.get("block_id") for b in blocks if isinstance(b, dict) and b.get("block_id")]
    if len(ids) != len(set(ids)):
        errors.append("block_id must be unique [json-pointer:/view/blocks]")
    for i, block in enumerate(blocks):
        errors.extend(f"{msg} [json-pointer:/view/blocks/{i}{path}]" for path, msg in _one_block(block))
        if isinstance(block, dict) and block.get("type") == "input":
            errors.extend(f"{msg} [json-pointer:/view/blocks/{i}{path}]" for path, msg in _input(block))
    if len(str(view.get("private_metadata") or "")) > MAX_METADATA:
        errors.append(f"must be less than {MAX_METADATA + 1} characters [json-pointer:/view/private_metadata]")
    return errors


def _input(block: dict) -> Iterable[tuple[str, str]]:
    yield from _text_object(block.get("label"), 2_000, "/label", plain_only=True)
    element = block.get("element")
    if not isinstance(element, dict) or element.get("type") not in (
            "plain_text_input", "static_select", "users_select", "datepicker", "timepicker"):
        yield "/element", "must be an input element"
        return
    if element.get("type") == "static_select":
        options = element.get("options") or []
        if not 1 <= len(options) <= 100:
            yield "/element/options", "must provide 1 to 100 items"
        if "initial_option" in element and element["initial_option"] not in options:
            yield "/element/initial_option", "must be one of the options"
    if element.get("type") == "plain_text_input":
        initial = element.get("initial_value")
        if initial is not None and len(str(initial)) > int(element.get("max_length") or 3000):
            yield "/element/initial_value", "must be no longer than max_length"


def _one_block(block: Any) -> Iterable[tuple[str, str]]:
    if not isinstance(block, dict) or "type" not in block:
        yield "", "missing required field: type"
        return
    kind = block["type"]
    if kind == "section":
        text = block.get("text")
        fields = block.get("fields")
        if text is None and not fields:
            yield "", "must provide either text or fields"
        if text is not None:
            yield from _text_object(text, MAX_SECTION_TEXT, "/text")
        for j, f in enumerate(fields or []):
            yield from _text_object(f, MAX_FIELD_TEXT, f"/fields/{j}")
        if fields and len(fields) > MAX_FIELDS:
            yield "/fields", f"must provide no more than {MAX_FIELDS} items"
    elif kind == "header":
        yield from _text_object(block.get("text"), MAX_HEADER_TEXT, "/text", plain_only=True)
    elif kind == "actions":
        elements = block.get("elements") or []
        if not elements or len(elements) > MAX_ACTIONS_ELEMENTS:
            yield "/elements", f"must provide 1 to {MAX_ACTIONS_ELEMENTS} items"
        for j, el in enumerate(elements):
            yield from _button(el, f"/elements/{j}")
    elif kind == "context":
        for j, el in enumerate(block.get("elements") or []):
            if isinstance(el, dict) and el.get("type") in ("plain_text", "mrkdwn"):
                yield from _text_object(el, MAX_SECTION_TEXT, f"/elements/{j}")
    elif kind not in ("divider", "image", "rich_text", "input", "file", "video", "markdown"):
        yield "/type", f"unsupported block type: {kind}"


def _text_object(obj: Any, limit: int, path: str, plain_only: bool = False) -> Iterable[tuple[str, str]]:
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        yield path, "must be a text object"
        return
    if plain_only and obj["type"] != "plain_text":
        yield path + "/type", "must be plain_text"
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        yield path + "/text", "must be more than 0 characters"
    elif len(text) > limit:
        yield path + "/text", f"must be less than {limit + 1} characters"


def _button(el: Any, path: str) -> Iterable[tuple[str, str]]:
    if not isinstance(el, dict):
        yield path, "must be an element"
        return
    if el.get("type") != "button":
        return
    yield from _text_object(el.get("text"), MAX_BUTTON_TEXT, path + "/text", plain_only=True)
    if len(str(el.get("value", ""))) > MAX_BUTTON_VALUE:
        yield path + "/value", f"must be less than {MAX_BUTTON_VALUE + 1} characters"
    if len(str(el.get("action_id", ""))) > MAX_ACTION_ID:
        yield path + "/action_id", f"must be less than {MAX_ACTION_ID + 1} characters"


def scan(text: str, blocks: list, link_names: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The pings (e.g. "!here", "!subteam^S1", "@U123") and labelled links a message carries,
    looking at the top-level text and every text object in its blocks."""
    pings: list[str] = []
    links: list[str] = []
    for body, parses_bare in _texts(text, blocks, link_names):
        pings.extend(m.group(1) for m in _SPECIAL.finditer(body))
        links.extend(f"{m.group(1)}|{m.group(2)}" for m in _LABELLED_LINK.finditer(body))
        if parses_bare:
            pings.extend("!" + m.group(1) for m in _BARE_BROADCAST.finditer(body))
    return tuple(pings), tuple(links)


def _texts(text: str, blocks: list, link_names: bool) -> Iterable[tuple[str, bool]]:
    if text:
        yield text, link_names
    for obj in _text_objects(blocks):
        if obj.get("type") == "mrkdwn":
            yield str(obj.get("text", "")), link_names or not obj.get("verbatim", False)


def _text_objects(node: Any) -> Iterable[dict]:
    """Every mrkdwn text object nested anywhere in the blocks (plain_text never pings)."""
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn" and "text" in node:
            yield node
        for value in node.values():
            if isinstance(value, (dict, list)):
                yield from _text_objects(value)
    elif isinstance(node, list):
        for item in node:
            yield from _text_objects(item)
