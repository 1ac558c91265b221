"""Conversation flows from dialogs/*.yml, validated: the files are read by bot/flowfiles/ and
checked here (this module reads no file).

A flow is a set of named steps. Each step may, in this order: check a `guard` (else go to
`else`), run an `action`, `say` something, then either `ask` a question (and branch on the
answer with `on`) or move on with `next` / `end`. Everything is checked up front, the way
a chat library's conversation handler checks its states: unknown step or action,
unreachable step, unknown template variable, a question with no default branch -> an error
naming the file, the line and the reason. Actions, guards, conditions and template variables
are looked up in a `Vocabulary` (bot/engine/vocabulary.py), never listed here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

from bot.engine.builtins import default_vocabulary
from bot.engine.state import SCALES
from bot.i18n.placeholders import placeholders
from bot.engine.vocabulary import Action, Question, Vocabulary
from bot.base.events import Button
from bot.i18n.catalogs import Catalogs
from bot.base.yamldoc import SourceError, YamlDoc

END = "end"
AGAIN = "again"
_STEP_KEYS = {"guard", "else", "action", "args", "say", "ask", "score", "choices", "free_text",
              "on", "remind", "next", "end", "set", "listen"}


class FlowError(SourceError):
    """A flow file is invalid: names the file, the line and the reason."""


@dataclass(frozen=True)
class Branch:
    when: dict[str, Any]          # empty for the default branch
    goto: str
    say: Optional[str] = None
    is_default: bool = False
    line: Optional[int] = None


@dataclass(frozen=True)
class Step:
    name: str
    line: Optional[int]
    guard: Optional[str] = None
    otherwise: Optional[str] = None      # `else:` target when the guard fails
    action: Optional[str] = None
    args: dict[str, Any] = field(default_factory=dict)
    set_slots: dict[str, Any] = field(default_factory=dict)
    say: Optional[str] = None
    ask: Optional[str] = None            # question text; None for `listen` steps
    listen: bool = False                 # waits for input without asking anything
    score: Optional[str] = None          # csat | nps | ces
    choices: tuple[Button, ...] = ()
    free_text: bool = False
    branches: tuple[Branch, ...] = ()
    remind: Optional[str] = None
    reminds: bool = True                 # `remind: false`: no reminder; an unanswered question closes quietly
    next: Optional[str] = None
    targets: tuple[str, ...] = ()        # steps named by the action's args (reschedule's `resume`)

    @property
    def waits(self) -> bool:
        """True when the conversation stops here for the customer's answer."""
        return self.ask is not None or self.listen

    def buttons(self) -> tuple[Button, ...]:
        """Buttons shown under the question: explicit ones, or the score scale."""
        if self.choices:
            return self.choices
        if self.score:
            low, high = SCALES[self.score]
            return tuple(Button(str(n), str(n)) for n in range(low, high + 1))
        return ()


@dataclass(frozen=True)
class Flow:
    name: str
    description: str
    start: str
    steps: dict[str, Step]
    path: Path
    vocabulary: Vocabulary = field(default_factory=default_vocabulary, repr=False, compare=False)

    def step(self, name: str) -> Step:
        return self.steps[name]


@dataclass(frozen=True)
class GlobalTexts:
    """Texts of the handlers that apply at any step (opt-out, human, help, ...)."""

    texts: dict[str, str]

    def __getitem__(self, key: str) -> str:
        return self.texts[key]


GLOBAL_TEXT_KEYS = ("opt_out", "opted_in", "human", "help", "media", "case_open",
                    "already_answered", "link_invalid", "link_used", "linked", "language_menu", "language_set")


@dataclass(frozen=True)
class Tips:
    """Onboarding tips (a `tips:` file in dialogs/): SKU or category -> touchpoint kind -> English text."""

    by_product: dict[str, dict[str, str]] = field(default_factory=dict)
    path: Optional[Path] = None

    def kinds(self) -> set[str]:
        """Every touchpoint kind some product has a tip for."""
        return {kind for texts in self.by_product.values() for kind in texts}

    def for_product(self, sku: str, category: str) -> dict[str, tuple[str, str]]:
        """Kind -> (tip id, English text) for one product: its SKU's tips over its category's."""
        found = {kind: (f"{kind}:{category}", text) for kind, text in self.by_product.get(category, {}).items()}
        found.update({kind: (f"{kind}:{sku}", text) for kind, text in self.by_product.get(sku, {}).items()})
        return found


@dataclass(frozen=True)
class FlowSet:
    flows: dict[str, Flow]
    texts: GlobalTexts
    vocabulary: Vocabulary = field(default_factory=default_vocabulary, repr=False, compare=False)
    catalogs: Catalogs = field(default_factory=Catalogs, repr=False, compare=False)   # dialogs/i18n/
    tips: Tips = field(default_factory=Tips, repr=False, compare=False)

    def __getitem__(self, name: str) -> Flow:
        return self.flows[name]


REQUIRED_FLOWS = ("checkin", "ces", "inbox")


def parse_flows(docs: Iterable[YamlDoc], folder: Path, vocabulary: Optional[Vocabulary] = None) -> FlowSet:
    """The flows, global texts and tips of a dialogs folder, from its files as read (in file
    order; bot/flowfiles reads them), checked against `vocabulary` (default: the built-ins);
    raise FlowError on the first problem found. The catalogs are the reader's to add."""
    vocabulary = vocabulary if vocabulary is not None else default_vocabulary()
    flows: dict[str, Flow] = {}
    texts: Optional[GlobalTexts] = None
    tips = Tips()
    for doc in docs:
        path = doc.path
        if not isinstance(doc.data, dict):
            raise FlowError(path, 1, "a flow file must be a mapping with `flow:` and `steps:` (or `global:`)")
        if "global" in doc.data:
            texts = _parse_global(doc, vocabulary)
            continue
        if "tips" in doc.data:
            if tips.path is not None:
                raise FlowError(path, doc.line_of(["tips"]), f"tips are also in {tips.path.name}; keep them in one file")
            tips = _parse_tips(doc, vocabulary)
            continue
        flow = _parse_flow(doc, vocabulary)
        if flow.name in flows:
            raise FlowError(path, doc.line_of(["flow"]), f"flow {flow.name!r} is defined twice (also in {flows[flow.name].path.name})")
        flows[flow.name] = flow
    if texts is None:
        raise FlowError(folder, None, "no global texts file (a YAML file with a `global:` mapping)")
    for name in REQUIRED_FLOWS:
        if name not in flows:
            raise FlowError(folder, None, f"required flow {name!r} is missing")
    return FlowSet(flows, texts, vocabulary, tips=tips)


def _parse_global(doc: YamlDoc, vocabulary: Vocabulary) -> GlobalTexts:
    raw = doc.data["global"]
    if not isinstance(raw, dict):
        raise FlowError(doc.path, doc.line_of(["global"]), "`global:` must map handler names to texts")
    for key in raw:
        if key not in GLOBAL_TEXT_KEYS:
            raise FlowError(doc.path, doc.line_of(["global", key]), f"unknown global text {key!r} (known: {', '.join(GLOBAL_TEXT_KEYS)})")
    for key in GLOBAL_TEXT_KEYS:
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise FlowError(doc.path, doc.line_of(["global"]), f"global text {key!r} is missing")
        _check_template(doc, ["global", key], raw[key], vocabulary)
    return GlobalTexts(dict(raw))


def _parse_tips(doc: YamlDoc, vocabulary: Vocabulary) -> Tips:
    """`tips: {<sku or category>: {<touchpoint kind>: <text>}}`, each text a checked template."""
    extra = set(doc.data) - {"tips"}
    if extra:
        raise FlowError(doc.path, doc.line_of([sorted(extra)[0]]), f"unknown key {sorted(extra)[0]!r} beside `tips:`")
    raw = doc.data["tips"]
    if not isinstance(raw, dict):
        raise FlowError(doc.path, doc.line_of(["tips"]), "`tips:` maps a SKU or category to {touchpoint kind: text}")
    found: dict[str, dict[str, str]] = {}
    for product, texts in raw.items():
        if not isinstance(texts, dict) or not texts:
            raise FlowError(doc.path, doc.line_of(["tips", product]),
                            f"tips.{product}: map touchpoint kinds to texts, e.g. tip_day1: \"...\"")
        for kind, text in texts.items():
            if not isinstance(text, str) or not text.strip():
                raise FlowError(doc.path, doc.line_of(["tips", product, kind]), f"tips.{product}.{kind}: empty tip")
            _check_template(doc, ["tips", product, kind], text, vocabulary)
        found[str(product)] = {str(kind): text for kind, text in texts.items()}
    return Tips(found, doc.path)


def _parse_flow(doc: YamlDoc, vocabulary: Vocabulary) -> Flow:
    data, path = doc.data, doc.path
    for key in data:
        if key not in ("flow", "description", "start", "steps"):
            raise FlowError(path, doc.line_of([key]), f"unknown key {key!r} (expected flow, description, start, steps)")
    name = data.get("flow")
    if not isinstance(name, str) or not name:
        raise FlowError(path, 1, "missing `flow:` name")
    steps_raw = data.get("steps")
    if not isinstance(steps_raw, dict) or not steps_raw:
        raise FlowError(path, doc.line_of(["steps"]), "missing or empty `steps:`")
    steps = {step_name: _parse_step(doc, step_name, raw, vocabulary) for step_name, raw in steps_raw.items()}
    start = data.get("start") or next(iter(steps))
    if start not in steps:
        raise FlowError(path, doc.line_of(["start"]), f"start step {start!r} does not exist")
    flow = Flow(name, str(data.get("description", "")), start, steps, path, vocabulary)
    _check_targets(doc, flow)
    _check_reachable(doc, flow)
    _check_no_silent_loop(doc, flow)
    return flow


def _parse_step(doc: YamlDoc, name: str, raw: Any, vocabulary: Vocabulary) -> Step:
    where = ["steps", name]
    line = doc.line_of(where)
    if name in (END, AGAIN):
        raise FlowError(doc.path, line, f"{name!r} is reserved and cannot name a step")
    if not isinstance(raw, dict):
        raise FlowError(doc.path, line, f"step {name!r} must be a mapping")
    for key in raw:
        if key not in _STEP_KEYS:
            raise FlowError(doc.path, doc.line_of(where + [key]), f"step {name!r}: unknown key {key!r}")

    def fail(key: str, reason: str) -> FlowError:
        return FlowError(doc.path, doc.line_of(where + [key]), f"step {name!r}: {reason}")

    guard = raw.get("guard")
    if guard is not None and guard not in vocabulary.guards:
        raise fail("guard", f"unknown guard {guard!r} (known: {', '.join(vocabulary.guards)})")
    if guard and "else" not in raw:
        raise fail("guard", "a guard needs an `else:` step")
    action = raw.get("action")
    spec = vocabulary.actions.get(action) if action is not None else None
    if action is not None and spec is None:
        raise fail("action", f"unknown action {action!r} (known: {', '.join(vocabulary.actions)})")
    args = raw.get("args") or {}
    if not isinstance(args, dict):
        raise fail("args", "`args` must be a mapping")
    if spec is not None:
        problem = _args_problem(spec, args)
        if problem:
            raise fail("args", problem)
    if not isinstance(raw.get("set") or {}, dict):
        raise fail("set", "`set` must map slot names to values")
    if not isinstance(raw.get("choices") or [], list):
        raise fail("choices", "`choices` must be a list of texts or `{label: ..., value: ...}`")
    score = raw.get("score")
    if score is not None and score not in SCALES:
        raise fail("score", f"unknown score {score!r} (csat, nps or ces)")
    choices = tuple(_parse_choice(doc, where + ["choices", i], c) for i, c in enumerate(raw.get("choices") or []))
    for key in ("say", "ask", "remind"):
        if key == "remind" and raw.get(key) is False:
            continue
        if key in raw:
            if not isinstance(raw[key], str) or not raw[key].strip():
                raise fail(key, f"`{key}` must be a non-empty text")
            _check_template(doc, where + [key], raw[key], vocabulary)
    ask = raw.get("ask")
    listen = bool(raw.get("listen", False))
    waits = ask is not None or listen
    if (score or choices or raw.get("free_text") or "on" in raw) and not waits:
        raise fail("on" if "on" in raw else "ask", "answers can only be handled by a step with `ask:` or `listen: true`")
    if ask is not None and not (score or choices or raw.get("free_text")):
        raise fail("ask", "a question needs `score:`, `choices:` or `free_text: true`")
    if score and choices:
        raise fail("choices", "a score question gets its buttons from the scale; drop `choices`")
    branches: tuple[Branch, ...] = ()
    if waits:
        if "next" in raw or "end" in raw:
            raise fail("next", "a question continues through its `on:` branches, not `next`/`end`")
        branches = _parse_branches(doc, where, raw.get("on"), Question(score, frozenset(c.value for c in choices),
                                                                       vocabulary))
        again = next((b for b in branches if b.goto == AGAIN), None)
        if ask is None and again is not None:
            raise FlowError(doc.path, again.line, f"step {name!r}: `goto: again` repeats the question, but a `listen` "
                                                  "step asks none")
    elif spec is not None and spec.waits:
        if "next" in raw or "end" in raw:
            raise fail("next", f"after `{action}` the conversation waits ({spec.waits}); remove `next`/`end`")
    elif ("next" in raw) == bool(raw.get("end")):
        raise fail("next", "needs exactly one of `next: <step>` or `end: true`")
    return Step(
        name=name, line=line, guard=guard, otherwise=raw.get("else"), action=action, args=dict(args),
        set_slots=dict(raw.get("set") or {}), say=raw.get("say"), ask=ask, listen=listen, score=score,
        choices=choices, free_text=bool(raw.get("free_text", False)), branches=branches,
        remind=raw.get("remind") or None, reminds=raw.get("remind") is not False, next=END if raw.get("end") else raw.get("next"),
        targets=tuple(str(args[a.name]) for a in (spec.args if spec else ()) if a.step and args.get(a.name)),
    )


def _args_problem(spec: Action, args: dict) -> Optional[str]:
    """Why `args` do not fit the action's argument schema, or None."""
    known = {arg.name: arg for arg in spec.args}
    for key in args:
        if key not in known:
            return f"`{spec.name}` takes no argument {key!r} (known: {', '.join(known) or 'none'})"
    for arg in spec.args:
        if arg.required and not args.get(arg.name):
            return f"`{spec.name}` needs `args: {{{arg.name}: <{'step' if arg.step else 'value'}>}}`: {arg.doc}"
        if arg.check is not None and arg.name in args:
            problem = arg.check(args[arg.name])
            if problem:
                return problem
    return spec.check(args) if spec.check is not None else None


def _parse_choice(doc: YamlDoc, where: list, raw: Any) -> Button:
    if isinstance(raw, str):
        return Button(raw, raw)
    if isinstance(raw, dict) and "label" in raw:
        value = str(raw.get("value", raw["label"]))
        if len(value.encode()) > 64:
            raise FlowError(doc.path, doc.line_of(where), f"choice value {value!r} is over 64 bytes (the button data limit of chat platforms)")
        return Button(str(raw["label"]), value)
    raise FlowError(doc.path, doc.line_of(where), "a choice is a text or `{label: ..., value: ...}`")


def _parse_branches(doc: YamlDoc, where: list, raw: Any, question: Question) -> tuple[Branch, ...]:
    line = doc.line_of(where + ["on"])
    if not isinstance(raw, list) or not raw:
        raise FlowError(doc.path, line, f"step {where[-1]!r}: a question needs `on:` branches, ending with a `default`")
    branches = []
    for index, item in enumerate(raw):
        at = where + ["on", index]
        bline = doc.line_of(at)
        if not isinstance(item, dict) or "goto" not in item:
            raise FlowError(doc.path, bline, f"step {where[-1]!r}: every branch needs `goto:`")
        extra = set(item) - {"when", "goto", "say", "default"}
        if extra:
            raise FlowError(doc.path, bline, f"step {where[-1]!r}: unknown branch key {sorted(extra)[0]!r}")
        if "say" in item:
            if not isinstance(item["say"], str) or not item["say"].strip():
                raise FlowError(doc.path, doc.line_of(at + ["say"]), f"step {where[-1]!r}: a branch's `say` must be a non-empty text")
            _check_template(doc, at + ["say"], item["say"], question.vocabulary)
        if item.get("default"):
            branches.append(Branch({}, str(item["goto"]), item.get("say"), True, bline))
            continue
        when = item.get("when")
        if not isinstance(when, dict) or not when:
            raise FlowError(doc.path, bline, f"step {where[-1]!r}: a branch needs `when:` conditions or `default: true`")
        _check_condition(doc, at + ["when"], when, question)
        branches.append(Branch(dict(when), str(item["goto"]), item.get("say"), False, bline))
    defaults = [b for b in branches if b.is_default]
    if not defaults:
        raise FlowError(doc.path, line, f"step {where[-1]!r}: branch with no default (add `- default: true` with a `goto:`)")
    if not branches[-1].is_default:
        raise FlowError(doc.path, defaults[0].line, f"step {where[-1]!r}: the default branch must come last")
    return tuple(branches)


def _check_condition(doc: YamlDoc, where: list, when: dict, question: Question) -> None:
    conditions = question.vocabulary.conditions
    for key, value in when.items():
        line = doc.line_of(where + [key])
        if key not in conditions:
            raise FlowError(doc.path, line, f"unknown condition {key!r} (known: {', '.join(sorted(conditions))})")
        check = conditions[key].check
        problem = check(value, question) if check is not None else None
        if problem:
            raise FlowError(doc.path, line, problem)


def _check_template(doc: YamlDoc, where: list, text: str, vocabulary: Vocabulary) -> None:
    for name in placeholders(str(text)):
        if not vocabulary.knows_variable(name):
            raise FlowError(doc.path, doc.line_of(where), f"unknown template variable {{{name}}} (known: "
                                                          f"{', '.join(sorted(vocabulary.variables))})")


def _targets(step: Step) -> list[tuple[str, Optional[int]]]:
    found = []
    if step.next and step.next != END:
        found.append((step.next, step.line))
    if step.otherwise:
        found.append((step.otherwise, step.line))
    found.extend((target, step.line) for target in step.targets)
    for branch in step.branches:
        if branch.goto not in (END, AGAIN):
            found.append((branch.goto, branch.line))
    return found


def _check_targets(doc: YamlDoc, flow: Flow) -> None:
    for step in flow.steps.values():
        for target, line in _targets(step):
            if target not in flow.steps:
                raise FlowError(doc.path, line, f"step {step.name!r} goes to unknown step {target!r}")


def _check_reachable(doc: YamlDoc, flow: Flow) -> None:
    seen, todo = set(), [flow.start]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(target for target, _ in _targets(flow.steps[name]))
    for name, step in flow.steps.items():
        if name not in seen:
            raise FlowError(doc.path, step.line, f"step {name!r} is unreachable from start step {flow.start!r}")


def _check_no_silent_loop(doc: YamlDoc, flow: Flow) -> None:
    """A cycle through steps that never wait (via `next:` or a guard's `else:`) would spin forever."""

    def onward(step: Step) -> list[str]:
        """Where the engine goes on without waiting (a question whose guard fails doesn't wait)."""
        found = [step.otherwise] if step.guard and step.otherwise else []
        spec = flow.vocabulary.actions.get(step.action) if step.action else None
        if not step.waits and not (spec and spec.waits) and step.next and step.next != END:
            found.append(step.next)
        return found

    done: set[str] = set()                   # steps from which no silent loop is reachable
    for start in flow.steps:
        path: list[str] = []                 # depth-first, with the steps on the current path
        on_path: set[str] = set()
        todo = [iter([start])]
        while todo:
            name = next(todo[-1], None)
            if name is None:
                todo.pop()
                if path:
                    done.add(path[-1])
                    on_path.discard(path.pop())
                continue
            if name in on_path:
                raise FlowError(doc.path, flow.steps[name].line,
                                f"steps loop without ever waiting for the customer (through {name!r})")
            if name in done or (flow.steps[name].waits and not flow.steps[name].guard):
                continue
            path.append(name)
            on_path.add(name)
            todo.append(iter(onward(flow.steps[name])))


def mermaid(flow: Flow) -> str:
    """A Mermaid state diagram of `flow`, generated from the YAML (never drawn by hand)."""
    lines = ["stateDiagram-v2", f"    [*] --> {flow.start}"]
    for step in flow.steps.values():
        if step.guard:
            lines.append(f"    {step.name} --> {step.otherwise}: not {step.guard}")
        spec = flow.vocabulary.actions.get(step.action) if step.action else None
        if spec is not None and spec.diagram:
            for target in step.targets or ("[*]",):
                lines.append(f"    {step.name} --> {target}: {spec.diagram}")
        if step.next == END:
            lines.append(f"    {step.name} --> [*]")
        elif step.next:
            lines.append(f"    {step.name} --> {step.next}")
        for branch in step.branches:
            label = "default" if branch.is_default else _describe(branch.when)
            target = step.name if branch.goto == AGAIN else ("[*]" if branch.goto == END else branch.goto)
            lines.append(f"    {step.name} --> {target}: {label}")
    return "\n".join(lines)


def _describe(when: dict) -> str:
    parts = []
    for key, value in when.items():
        shown = ",".join(map(str, value)) if isinstance(value, list) else value
        parts.append(f"{key} {shown}")
    return "; ".join(parts).replace(":", " ")
