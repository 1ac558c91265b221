"""Models loading behind: the router reads which model a message needs from the archives'
vocabularies (the same the loaded models hold), and a message for a model still loading waits
for it, never read by another."""
from __future__ import annotations

import time

import pytest

from bot.nlu.archive import read_vocabulary
from bot.nlu.languages import LanguageRouter, for_language
from bot.nlu.rasa_nlu import model_path, trained_words


def test_the_archive_vocabulary_is_the_loaded_models(nlu_settings, rasa_parser):
    vocabulary = read_vocabulary(model_path(nlu_settings))
    assert vocabulary.words == trained_words(rasa_parser) and vocabulary.words
    assert vocabulary.trigrams == rasa_parser.vocabulary and vocabulary.trigrams


def test_a_broken_archive_is_named(tmp_path):
    broken = tmp_path / "nlu-broken.tar.gz"
    broken.write_bytes(b"not a model")
    with pytest.raises(ValueError, match=f"{broken}: not a readable model archive"):
        read_vocabulary(broken)


def test_a_message_for_a_model_still_loading_waits_for_it(nlu_settings, rasa_parser):
    paths = {lang: model_path(for_language(nlu_settings, lang)) for lang in ("en", "es")}
    router = LanguageRouter.loading(paths, nlu_settings.confidence_threshold, first=["en"])
    try:
        spanish = "la pantalla llegó rota"
        assert router.reading_language(spanish, "en") == "es"      # routed before anything loaded
        with pytest.raises(TimeoutError, match="es NLU model is still loading"):
            router.parse_waiting(spanish, "es", timeout=0.0)
        english = router.parse("the screen arrived cracked", "en")   # waits for en only
        # read eagerly (its graph is traced once all have loaded): the same reading
        _same_reading(english, rasa_parser.parse("the screen arrived cracked"))
        assert router.wait_loaded(timeout=600)
        assert router.loaded == ["en", "es"]
        assert router.parsers["en"].traced and router.parsers["es"].traced
        assert router.parse(spanish, "es") == router.parsers["es"].parse(spanish)
        assert router.parse(spanish, "es").intent == "product_problem"
    finally:
        router.wait_loaded(timeout=600)
        router.close()


def _same_reading(a, b) -> None:
    """The same intent, entities and ranking; scores equal to 1e-5 (an eager run and a traced
    graph may differ in the last bits of a float)."""
    assert (a.text, a.intent, a.entities) == (b.text, b.intent, b.entities)
    assert a.confidence == pytest.approx(b.confidence, abs=1e-5)
    assert [name for name, _ in a.ranking] == [name for name, _ in b.ranking]
    assert [c for _, c in a.ranking] == pytest.approx([c for _, c in b.ranking], abs=1e-5)


class _Loaded:
    """A stand-in for a loaded model (a unit test of the loading order only): records when
    its graph's trace starts."""

    def __init__(self) -> None:
        self.traced_at = None

    def warm_up(self) -> None:
        self.traced_at = time.monotonic()

    def close(self) -> None:
        pass


@pytest.mark.parametrize("reader_waits", [True, False])
def test_a_trace_waits_for_the_replies_to_messages_that_waited(monkeypatch, tmp_path, reader_waits):
    """The model's trace (and the next model's load) starts REPLIES_FIRST after the model came
    when a message was waiting for it (its reply gets the core first), at once when none was.
    Tried: without the wait the first case fails."""
    import threading

    from bot.nlu import languages
    from bot.nlu.archive import Vocabulary

    release = threading.Event()
    loaded: dict[str, tuple[_Loaded, float]] = {}

    def load(path, threshold, warm=True):
        release.wait(10)
        parser = _Loaded()
        loaded[path.name] = (parser, time.monotonic())
        return parser

    monkeypatch.setattr(languages.RasaParser, "load", staticmethod(load))
    monkeypatch.setattr(languages, "read_vocabulary", lambda path: Vocabulary(frozenset({"hello"}), frozenset()))
    router = LanguageRouter.loading({"en": tmp_path / "en"}, 0.5, first=["en"])
    reader = threading.Thread(target=router.parser_for, args=("en",))
    if reader_waits:
        reader.start()
        time.sleep(0.2)             # it is waiting in parser_for
    release.set()
    assert router.wait_loaded(timeout=10)
    if reader_waits:
        reader.join(5)
    parser, came = loaded["en"]
    waited = parser.traced_at - came
    if reader_waits:
        assert waited >= languages.REPLIES_FIRST
    else:
        assert waited < languages.REPLIES_FIRST
