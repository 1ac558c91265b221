"""Rasa modules a prediction never runs, executed on first use instead of at import.

Loading an NLU model imports Rasa's components, and they import at module level three
modules that only a Rasa server, a training or an evaluation runs: `rasa.core.channels`
(every chat connector Rasa ships, and the console's prompt toolkit),
`rasa.nlu.test` and `rasa.core.test` (Rasa's evaluation: its agent, tracker stores on
SQLAlchemy and MongoDB, a job scheduler, matplotlib). Together ~1.5 s of a bot's ~9 s start
on 2 cores (`python -X importtime`), for code a parse never calls.

`defer_unused_rasa()` registers each as a module whose own code runs the first time anything
asks it for a name it does not hold yet; until then it holds only what the prediction path
takes from it at import time:
- `rasa.core.channels`: the four classes its `__init__` takes from `rasa.core.channels.channel`
  (the module itself, imported as usual: `UserMessage` is what a parse reads);
- `rasa.nlu.test`: `determine_token_labels`, imported by the CRF entity extractor for its
  training; here a function that runs the module's code on its first call, then calls the real one;
- `rasa.core.test`: nothing (the rule policy calls it by attribute, in a training only).
Anything else asked of them (`rasa.core.channels.BUILTIN_CHANNELS`, `rasa.nlu.test.run_evaluation`)
runs the real module first, so every caller gets what it would have got; a process that
imported them already keeps them (tests/nlu/test_deferred_imports.py).
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Deferral:
    """One module to run on first use: the names it holds before that."""

    module: str
    taken_from: str = ""               # a module whose names the deferred one re-exports as is
    taken: tuple[str, ...] = ()
    calls: tuple[str, ...] = ()        # functions imported by name, called only by a training


DEFERRALS = (
    Deferral("rasa.core.channels", taken_from="rasa.core.channels.channel",
             taken=("InputChannel", "OutputChannel", "UserMessage", "CollectingOutputChannel")),
    Deferral("rasa.nlu.test", calls=("determine_token_labels",)),
    Deferral("rasa.core.test"),
)


class DeferredModule(types.ModuleType):
    """A module registered before its code ran; the first name it lacks runs that code."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name != "__all__":
            # the import system's own probes (`__path__` of a plain module, ...): not a use
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        spec = self.__dict__["__spec__"]
        if spec.submodule_search_locations is not None \
                and importlib.util.find_spec(f"{self.__name__}.{name}") is not None:
            return importlib.import_module(f"{self.__name__}.{name}")      # a submodule, as usual
        self.__dict__["__deferred__"].run(self)
        try:
            return self.__dict__[name]
        except KeyError:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}") from None


class _State:
    """Whether the module's own code ran; runs it once, whichever thread asks first."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.ran = False
        self._running = False

    def run(self, module: types.ModuleType) -> None:
        with self._lock:
            if self.ran or self._running:       # running: a name asked while its code runs
                return                          # is missing, as in any partial import
            self._running = True
            try:
                module.__spec__.loader.exec_module(module)      # type: ignore[union-attr]
                self.ran = True
            finally:
                self._running = False


def defer_unused_rasa() -> list[str]:
    """Register each of DEFERRALS not imported yet; the ones registered now."""
    return [deferral.module for deferral in DEFERRALS if _defer(deferral)]


def ran(module: str) -> bool:
    """True when `module` is imported and its own code has run (a deferred one, once used)."""
    found = sys.modules.get(module)
    if found is None:
        return False
    state = found.__dict__.get("__deferred__")
    return state is None or state.ran


def _defer(deferral: Deferral) -> bool:
    if deferral.module in sys.modules:
        return False
    parent_name, _, child = deferral.module.rpartition(".")
    parent = importlib.import_module(parent_name)
    spec = importlib.util.find_spec(deferral.module)
    if spec is None or spec.loader is None:
        return False
    module = DeferredModule(deferral.module)
    module.__dict__.update(__spec__=spec, __loader__=spec.loader, __file__=spec.origin,
                           __package__=deferral.module if spec.submodule_search_locations is not None
                           else parent_name, __deferred__=_State())
    if spec.submodule_search_locations is not None:
        module.__path__ = list(spec.submodule_search_locations)
    sys.modules[deferral.module] = module
    setattr(parent, child, module)          # as an import does: `import rasa.core.test; rasa.core.test.x`
    try:
        if deferral.taken_from:
            source = importlib.import_module(deferral.taken_from)
            module.__dict__.update({name: getattr(source, name) for name in deferral.taken})
        module.__dict__.update({name: _calling_real(module, name) for name in deferral.calls})
    except BaseException:
        del sys.modules[deferral.module]     # nothing half-registered: the usual import then
        delattr(parent, child)
        raise
    return True


def _calling_real(module: DeferredModule, name: str) -> Callable[..., Any]:
    """`name` of the deferred module: runs its code on the first call, then calls the real one."""
    def call(*args: Any, **kwargs: Any) -> Any:
        state: _State = module.__dict__["__deferred__"]
        state.run(module)
        return module.__dict__[name](*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__module__ = module.__name__
    return call
