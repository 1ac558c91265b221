"""Rasa's server and evaluation modules wait for their first use (bot/nlu/deferred_imports.py):
loading a model no longer runs them, and whoever asks them for anything gets the real thing.
Each check runs in a fresh interpreter (this one imported Rasa long ago).

Tried: without `defer_unused_rasa()` in `_load_model`, test_loading_a_model_runs_none_of_them
fails (rasa.core.agent and the connectors are imported); with `__getattr__` not running the
module, test_asking_for_anything_else_runs_the_real_module fails."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ["rasa.core.agent", "rasa.core.processor", "rasa.core.tracker_store", "rasa.core.channels.slack",
         "rasa.core.channels.socketio", "sqlalchemy", "pymongo", "apscheduler", "matplotlib", "questionary"]


def _run(code: str) -> dict:
    """Run `code` in a fresh interpreter; what it prints last, as JSON."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.nlu
def test_loading_a_model_runs_none_of_them(nlu_settings) -> None:
    """The English model loads and reads without Rasa's agent, tracker stores, scheduler,
    plotting or chat connectors; the deferred modules' own code never ran."""
    seen = _run(f"""
        import json, sys
        from bot.nlu.deferred_imports import DEFERRALS, ran
        from bot.nlu.rasa_nlu import RasaParser, model_path, load_nlu_settings
        parser = RasaParser.load(model_path(load_nlu_settings({str(ROOT / 'config.yml')!r})), 0.5, warm=False)
        reading = parser.parse("my order never arrived").intent
        print(json.dumps({{"reading": reading, "imported": [m for m in {HEAVY!r} if m in sys.modules],
                          "ran": [d.module for d in DEFERRALS if ran(d.module)]}}))
    """)
    assert seen == {"reading": "delivery_problem", "imported": [], "ran": []}


def test_asking_for_anything_else_runs_the_real_module() -> None:
    """After the deferral, each module gives what it always gave: the connectors' table, the
    evaluation functions, the CRF's label function (its result is the real function's)."""
    seen = _run("""
        import json
        from bot.nlu.deferred_imports import defer_unused_rasa, ran
        deferred = defer_unused_rasa()
        from rasa.nlu.extractors.crf_entity_extractor import determine_token_labels
        before = {m: ran(m) for m in deferred}
        from rasa.nlu.tokenizers.tokenizer import Token
        label = determine_token_labels(Token("pan", 4), [{"start": 4, "end": 7, "entity": "product"}], None)
        import rasa.nlu.test
        real = rasa.nlu.test.determine_token_labels(Token("pan", 4), [{"start": 4, "end": 7, "entity": "product"}], None)
        import rasa.core.channels, rasa.core.channels.slack, rasa.core.test
        from rasa.nlu.test import run_evaluation
        print(json.dumps({
            "deferred": deferred, "before": before, "label": label, "real": real,
            "real_label_function": rasa.nlu.test.determine_token_labels.__module__ == "rasa.nlu.test"
                                   and "deferred_imports" not in rasa.nlu.test.determine_token_labels.__code__.co_filename,
            "slack": rasa.core.channels.BUILTIN_CHANNELS["slack"] is rasa.core.channels.slack.SlackInput,
            "user_message": rasa.core.channels.UserMessage.__module__,
            "rule_policy_helper": callable(rasa.core.test.emulate_loop_rejection),
            "evaluation": callable(run_evaluation),
            "after": {m: ran(m) for m in deferred}}))
    """)
    assert seen["deferred"] == ["rasa.core.channels", "rasa.nlu.test", "rasa.core.test"]
    assert seen["before"] == {"rasa.core.channels": False, "rasa.nlu.test": False, "rasa.core.test": False}
    assert seen["label"] == seen["real"] == "product"
    assert seen["real_label_function"] and seen["slack"] and seen["rule_policy_helper"] and seen["evaluation"]
    assert seen["user_message"] == "rasa.core.channels.channel"
    assert seen["after"] == {"rasa.core.channels": True, "rasa.nlu.test": True, "rasa.core.test": True}


def test_a_process_that_imported_them_keeps_its_own() -> None:
    """Nothing is replaced once imported: deferring then registers nothing."""
    seen = _run("""
        import json, rasa.core.channels, rasa.nlu.test, rasa.core.test
        from bot.nlu.deferred_imports import defer_unused_rasa, ran
        print(json.dumps({"deferred": defer_unused_rasa(),
                          "ran": [ran(m) for m in ("rasa.core.channels", "rasa.nlu.test", "rasa.core.test")]}))
    """)
    assert seen == {"deferred": [], "ran": [True, True, True]}


@pytest.mark.nlu
def test_the_plain_load_still_works_after_the_deferral(nlu_settings) -> None:
    """When the fast load meets a Rasa it does not know, the model loads Rasa's own way
    (`Agent.load`, importing Rasa's agent beside the deferred modules): the same reading."""
    seen = _run(f"""
        import json, logging, sys
        from bot.nlu import rasa_nlu
        warned = []
        logging.getLogger("bot.nlu.rasa_nlu").addHandler(type("H", (logging.Handler,), {{
            "emit": lambda self, record: warned.append(record.getMessage())}})())

        def unknown_rasa(path):
            raise AttributeError("Rasa's internals changed")

        rasa_nlu._load_model_fast = unknown_rasa
        parser = rasa_nlu.RasaParser.load(rasa_nlu.model_path(rasa_nlu.load_nlu_settings({str(ROOT / 'config.yml')!r})),
                                          0.5, warm=False)
        print(json.dumps({{"reading": parser.parse("my order never arrived").intent, "warned": warned,
                          "agent": "rasa.core.agent" in sys.modules}}))
    """)
    assert seen["reading"] == "delivery_problem"
    assert seen["warned"] == ["fast model load failed; loading the usual way"]
    assert seen["agent"] is True
