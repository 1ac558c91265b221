"""Shared fixtures. `rasa_parser` loads the real trained model once per test session."""
from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")  # before anything imports Rasa

ROOT = Path(__file__).resolve().parents[1]

pytest_plugins = ["tests.support.slack_sandbox"]   # `clock` and `sandbox`: the loopback Slack on a fake clock


@pytest.fixture(scope="session")
def nlu_settings():
    """The project's NLU settings (config.yml's `nlu:` section)."""
    from bot.nlu.rasa_nlu import load_nlu_settings

    return load_nlu_settings(ROOT / "config.yml")


@pytest.fixture(scope="session")
def rasa_parser(nlu_settings):
    """The cached model (`make test` trains it first; trained here only when missing)."""
    from bot.nlu.rasa_nlu import RasaParser, train

    parser = RasaParser.load(train(nlu_settings), nlu_settings.confidence_threshold)
    yield parser
    parser.close()


@pytest.fixture(scope="session")
def language_router(nlu_settings):
    """Every language's cached model behind the router the bot runs (loaded once per session)."""
    from bot.nlu.languages import LanguageRouter, load_parser, train_all

    train_all(nlu_settings)
    parser = load_parser(nlu_settings)
    assert isinstance(parser, LanguageRouter)
    yield parser
    parser.close()


@pytest.fixture(autouse=True)
def _bot_loggers_enabled():
    """A library that configures logging in-process (dictConfig's disable_existing_loggers) can
    switch our loggers off for every later test; caplog then sees nothing. Each test starts with
    bot's loggers enabled and propagating, whatever ran before it."""
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and (name == "bot" or name.startswith("bot.")):
            logger.disabled = False
            logger.propagate = True
    yield
