"""The words a flow may use: actions, guards, conditions and template variables, each one object.

Every entry carries its name, a one-line doc, its argument schema and validation, and its
behaviour. The flow loader validates flows against a `Vocabulary`, the engine and the runner
dispatch through it, and `aftercare flows vocabulary` prints it (the README's list is generated
from the same objects). The built-ins (bot/engine/builtins.py) register exactly the way a
shop's own entries would: build a vocabulary once and pass it in; there is no global one.
"""
from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Optional, Sequence, Union

from bot.base.errors import AftercareError
from bot.base.lazy import EachOnFirstRead
from bot.engine.state import ActionCall, Answer, ConversationState, Context, Outcome
from bot.engine.templates import SLOT_PREFIX
from bot.i18n.catalogs import SourceText

if TYPE_CHECKING:
    from bot.config.settings import Settings


class VocabularyError(AftercareError, ValueError):
    """Two entries share a name, or an entry is malformed."""


# ---- what each kind of entry sees -------------------------------------------------------

@dataclass
class Turn:
    """What an action's engine side sees: the outcome being built, its args, the facts, the time."""

    out: Outcome
    args: Mapping[str, Any]
    ctx: Context
    now: datetime
    answer: Optional[Answer]
    action: Optional[str] = None     # the running action's name (an effect says who emitted it)

    @property
    def state(self) -> ConversationState:
        return self.out.state

    @property
    def slots(self) -> dict[str, Any]:
        return self.out.state.slots

    def emit(self, name: str, **args: Any) -> None:
        """Return effect `name`: the runner applies it (bot/conversation/effects.py) in the same transaction.
        Declare it in the action's `effects`, so a missing applier is found when the plugins load."""
        self.out.actions.append(ActionCall(name, args, by=self.action))


@dataclass(frozen=True)
class Reading:
    """An answer as the branch conditions see it."""

    score: Optional[int]
    choice: Optional[str]
    answer: Answer
    slots: Mapping[str, Any]
    ctx: Context
    has: Callable[[str], bool]       # a guard by name, else a template variable's truthiness


@dataclass(frozen=True)
class Question:
    """The question a branch condition belongs to, for load-time checks."""

    score: Optional[str]             # csat | nps | ces, for score questions
    values: frozenset[str]           # the values of its choices
    vocabulary: "Vocabulary"


@dataclass(frozen=True)
class Facts:
    """What template variables are computed from (bot/conversation/context.py gathers it from the store)."""

    customer: Mapping[str, Any]
    item: Mapping[str, Any]
    order_id: Optional[str]
    sku: str
    category: str
    settings: "Settings"
    order: Mapping[str, Any] = field(default_factory=dict)     # the order row (shipment status, ...)
    touchpoint: str = ""             # the touchpoint kind that started the conversation, if one did
    # how many orders the customer has placed (cancelled ones aside): `orders`, counted when read
    count_orders: Callable[[], int] = field(default=lambda: 0, repr=False)
    # What the customer told us before (bot/conversation/context.py): `last_case`, `last_resolved` (case rows
    # with the `product` they were about), `last_score` (a response row); absent when none.
    # The mappings that come from the store may be lazy (bot/base/lazy.py): read when a variable looks.
    history: Mapping[str, Any] = field(default_factory=dict)
    language: str = "en"                                       # the customer's (bot/conversation/context.py)
    # English words -> the customer's language: for variables whose value is a fixed word
    # ("in transit"); each such word is declared in its Variable's `words`
    translate: Callable[[str], str] = field(default=lambda text: text)
    # Personal codes (bot/base/codes.py): the key they are made with, and the codes this customer was
    # already given ("referral", "gift:<kind>"), which stay theirs whatever the key becomes.
    code_key: bytes = b""
    issued: Mapping[str, str] = field(default_factory=dict)

    @functools.cached_property
    def orders(self) -> int:
        """How many orders the customer has placed (cancelled and returned ones aside)."""
        return self.count_orders()


Check = Callable[[Any], Optional[str]]     # a value -> None when fine, else the reason


# ---- the entries ------------------------------------------------------------------------

@dataclass(frozen=True)
class Arg:
    """One argument of an action: `args: {name: value}` in the flow."""

    name: str
    doc: str
    required: bool = False
    step: bool = False               # names a step of the same flow (checked like a `goto:`)
    check: Optional[Check] = None


@dataclass(frozen=True)
class Action:
    """Something a step does (`action: name`)."""

    name: str
    doc: str
    run: Callable[[Turn], None]                            # engine side: pure, on the outcome
    args: tuple[Arg, ...] = ()
    check: Optional[Callable[[Mapping[str, Any]], Optional[str]]] = None   # checks across args
    waits: Optional[str] = None      # the conversation waits after it (for what): no `next`/`end`
    stops: bool = False              # the flow stops running after it
    ends: bool = False               # the conversation closes after it, whatever `next:` says
    diagram: Optional[str] = None    # label of its edge to [*] in diagrams
    # The effects its engine side emits (`turn.emit`): each needs an applier (hook `aftercare_effects`);
    # one without is an error when the plugins load, in `aftercare flows check` and at start-up.
    effects: tuple[str, ...] = ()


@dataclass(frozen=True)
class Guard:
    """A yes/no test a step checks before running (`guard: name`, else go to `else:`)."""

    name: str
    doc: str
    check: Callable[[Mapping[str, Any], Context], bool]    # (slots, context) -> pass?


@dataclass(frozen=True)
class Condition:
    """One key of a branch's `when:` mapping."""

    name: str
    doc: str
    matches: Callable[[Any, Reading], bool]                # (wanted, reading) -> match?
    check: Optional[Callable[[Any, Question], Optional[str]]] = None   # load-time: None or reason


@dataclass(frozen=True)
class Variable:
    """A `{name}` placeholder in flow texts."""

    name: str
    doc: str
    value: Optional[Callable[[Facts], Any]] = None         # None: filled by the engine (slots.<name>)
    # the fixed English words the value may be (translated with `facts.translate`): the
    # catalogs must translate them as they do flow texts (`aftercare flows check`)
    words: tuple[str, ...] = ()


Entry = Union[Action, Guard, Condition, Variable]
_SECTIONS: tuple[tuple[type, str], ...] = ((Condition, "Conditions"), (Action, "Actions"),
                                           (Guard, "Guards"), (Variable, "Template variables"))


# ---- the registry -----------------------------------------------------------------------

@dataclass
class Vocabulary:
    """The registry: entries by kind and name, in registration order."""

    actions: dict[str, Action] = field(default_factory=dict)
    guards: dict[str, Guard] = field(default_factory=dict)
    conditions: dict[str, Condition] = field(default_factory=dict)
    variables: dict[str, Variable] = field(default_factory=dict)

    def register(self, *entries: Entry) -> "Vocabulary":
        """Add entries; a name may be registered once per kind."""
        for entry in entries:
            table = self._table(entry)
            if entry.name in table:
                raise VocabularyError(f"{type(entry).__name__.lower()} {entry.name!r} is already registered")
            if not entry.doc.strip() or "\n" in entry.doc:
                raise VocabularyError(f"{entry.name!r}: the doc is one line")
            table[entry.name] = entry
        return self

    def _table(self, entry: Entry) -> dict:
        for kind, table in ((Action, self.actions), (Guard, self.guards), (Condition, self.conditions),
                            (Variable, self.variables)):
            if isinstance(entry, kind):
                return table
        raise VocabularyError(f"{entry!r} is not an Action, Guard, Condition or Variable")

    def knows_variable(self, name: str) -> bool:
        return name in self.variables or (name.startswith(SLOT_PREFIX) and len(name) > len(SLOT_PREFIX))

    def guard(self, name: str, slots: Mapping[str, Any], ctx: Context) -> bool:
        """Run guard `name`; a name that is no guard tests the template variable of that name."""
        found = self.guards.get(name)
        return found.check(slots, ctx) if found else bool(ctx.variables.get(name))

    def values(self, facts: Facts) -> Mapping[str, Any]:
        """Every computed template variable for these facts, each computed when a step first
        reads it (a step reads a few; some need the store: bot/conversation/context.py)."""
        return EachOnFirstRead({name: functools.partial(v.value, facts)
                                for name, v in self.variables.items() if v.value is not None})

    def entries(self) -> Iterator[tuple[str, Sequence[Entry]]]:
        """(section title, entries) in the order the README lists them."""
        tables: dict[type, Mapping[str, Entry]] = {Condition: self.conditions, Action: self.actions,
                                                   Guard: self.guards, Variable: self.variables}
        for kind, title in _SECTIONS:
            yield title, list(tables[kind].values())


def describe(vocabulary: Vocabulary) -> str:
    """Plain text for the terminal: one entry a line, with its arguments."""
    lines: list[str] = []
    for title, entries in vocabulary.entries():
        lines.append(f"{title}:")
        for entry in entries:
            lines.append(f"  {_shown(entry):<24} {entry.doc}")
            for arg in _args(entry):
                lines.append(f"    {arg.name + (' (required)' if arg.required else ''):<22} {arg.doc}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def markdown(vocabulary: Vocabulary) -> str:
    """The README's lists (between its `vocabulary` markers), generated, never hand-written."""
    lines: list[str] = []
    for title, entries in vocabulary.entries():
        lines.append(f"**{title}:**")
        lines.append("")
        for entry in entries:
            args = ""
            if _args(entry):
                args = " (args: " + ", ".join(f"`{a.name}`" + ("" if a.required else " optional")
                                              for a in _args(entry)) + ")"
            lines.append(f"- `{_shown(entry)}`{args}: {entry.doc}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _args(entry: Entry) -> tuple[Arg, ...]:
    return entry.args if isinstance(entry, Action) else ()


def _shown(entry: Entry) -> str:
    return f"{{{entry.name}}}" if isinstance(entry, Variable) else entry.name


def variable_words(vocabulary: Vocabulary) -> list[SourceText]:
    """The fixed English words template variables may fill in (`Variable.words`, e.g. the
    carrier's status words), each at the code that computes it: translated like flow texts."""
    found: list[SourceText] = []
    for variable in vocabulary.variables.values():
        if not variable.words:
            continue
        try:
            if variable.value is None:
                raise TypeError("no code computes it")
            path = Path(inspect.getsourcefile(variable.value) or "?")
            line = inspect.getsourcelines(variable.value)[1]
        except (TypeError, OSError):
            path, line = Path(f"{{{variable.name}}}"), 0
        found.extend(SourceText(word, path, line, f" (a word of {{{variable.name}}})") for word in variable.words)
    return found
