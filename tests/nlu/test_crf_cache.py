"""The entity CRF is fitted once and read back at later loads (bot/nlu/crf_cache.py): the
taggers read back tag exactly as a fresh fit, a cache entry that does not match the data is
never used, and a broken or unwritable cache only means fitting as before."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bot.nlu.crf_cache import CACHE_DIR, cache_key, cached_fit

pytestmark = pytest.mark.nlu


@pytest.fixture(scope="module")
def crf():
    from bot.nlu.rasa_nlu import _quietly, prepare_environment

    prepare_environment(Path(os.environ.get("TMPDIR", "/tmp")))
    with _quietly():
        from rasa.nlu.extractors.crf_entity_extractor import CRFEntityExtractor, CRFToken
    return CRFEntityExtractor, CRFToken


def sentences(token_class, words: list[list[tuple[str, str]]]) -> list:
    return [[token_class(text, "", {}, [], tag, "O", "O") for text, tag in sentence] for sentence in words]


TRAINING = [[("the", "O"), ("sole", "B-problem_type"), ("broke", "O")],
            [("it", "O"), ("arrived", "O"), ("broken", "B-problem_type")],
            [("wrong", "B-problem_type"), ("size", "L-problem_type"), ("sent", "O")],
            [("I", "O"), ("give", "O"), ("it", "O"), ("4", "B-rating")]] * 3


def tags(taggers, token_class, config, words: list[str]) -> list[str]:
    from rasa.nlu.extractors.crf_entity_extractor import CRFEntityExtractor

    sentence = sentences(token_class, [[(w, "O") for w in words]])[0]
    features = CRFEntityExtractor._crf_tokens_to_features(sentence, config)
    return taggers["entity"].predict_single(features)


def test_a_second_load_reads_the_fit_and_tags_the_same(crf, tmp_path: Path) -> None:
    extractor, token = crf
    config = extractor.get_default_config()
    dataset = sentences(token, TRAINING)
    fits: list[int] = []
    real_fit = extractor.__dict__["train_model"].__func__

    def counting_fit(cls, *args):
        fits.append(1)
        return real_fit(cls, *args)

    train = cached_fit(tmp_path, counting_fit)
    first = train(extractor, dataset, config, ["entity"])
    second = train(extractor, dataset, config, ["entity"])
    assert len(fits) == 1, "the second load fitted again"
    assert len(list((tmp_path / CACHE_DIR).glob("*.pickle"))) == 1
    for words in (["the", "sole", "broke"], ["wrong", "size"], ["give", "it", "4"], ["hello"]):
        assert tags(first, token, config, words) == tags(second, token, config, words)
    assert Path(first["entity"].modelfile.name).read_bytes() == Path(second["entity"].modelfile.name).read_bytes()


@pytest.mark.parametrize("models_mode, cache_mode", [(0o755, 0o444), (0o750, 0o440)],
                         ids=["world-readable", "group-only"])
def test_the_cache_is_readable_by_whoever_may_read_the_models(crf, tmp_path: Path, models_mode: int,
                                                              cache_mode: int) -> None:
    """Filled by the release's owner, read by the services' users (mkstemp alone makes it 0600)."""
    extractor, token = crf
    models = tmp_path / "models"
    models.mkdir(mode=models_mode)
    models.chmod(models_mode)
    cached_fit(models, extractor.__dict__["train_model"].__func__)(
        extractor, sentences(token, TRAINING), extractor.get_default_config(), ["entity"])
    [entry] = (models / CACHE_DIR).glob("*.pickle")
    assert stat.S_IMODE(entry.stat().st_mode) == cache_mode


def test_other_data_or_settings_are_another_entry(crf) -> None:
    extractor, token = crf
    config = extractor.get_default_config()
    dataset = sentences(token, TRAINING)
    key = cache_key(dataset, config, ["entity"])
    assert cache_key(sentences(token, TRAINING[:-1]), config, ["entity"]) != key
    assert cache_key(dataset, {**config, "L1_c": 0.5}, ["entity"]) != key
    assert cache_key(dataset, config, ["entity", "role"]) != key
    assert cache_key(sentences(token, TRAINING), dict(config), ["entity"]) == key


def test_a_broken_or_unwritable_cache_fits_as_before(crf, tmp_path: Path) -> None:
    extractor, token = crf
    config = extractor.get_default_config()
    dataset = sentences(token, TRAINING)
    real_fit = extractor.__dict__["train_model"].__func__
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / CACHE_DIR).mkdir()
    (folder / CACHE_DIR / f"{cache_key(dataset, config, ['entity'])}.pickle").write_bytes(b"not a pickle")
    taggers = cached_fit(folder, real_fit)(extractor, dataset, config, ["entity"])
    assert tags(taggers, token, config, ["the", "sole", "broke"])[1].endswith("problem_type")
    unwritable = tmp_path / "release"
    unwritable.mkdir()
    (unwritable / CACHE_DIR).write_text("a file where the cache folder would be")
    taggers = cached_fit(unwritable, real_fit)(extractor, dataset, config, ["entity"])
    assert tags(taggers, token, config, ["wrong", "size"])[0].endswith("problem_type")


def _archive_files(token_class, folder: Path, training) -> None:
    """What a trained model's archive holds for the CRF: its training tokens and tag order."""
    import json

    folder.mkdir(parents=True)
    dataset = [[token.to_dict() for token in sentence] for sentence in sentences(token_class, training)]
    (folder / "crf_dataset.json").write_text(json.dumps(dataset), encoding="utf-8")
    (folder / "crf_order.json").write_text(json.dumps(["entity"]), encoding="utf-8")


def test_a_later_load_takes_the_taggers_without_reading_the_tokens(crf, tmp_path: Path) -> None:
    """The second load finds the taggers by the archive files' digest: Rasa's load (which
    parses the tokens and asks for the fit) runs once, and both loads tag the same."""
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource

    from bot.nlu.crf_cache import cached_load

    extractor, token = crf
    config = extractor.get_default_config()
    _archive_files(token, tmp_path / "storage" / "crf", TRAINING)
    storage, resource = LocalModelStorage(tmp_path / "storage"), Resource("crf")
    rasa_loads: list[int] = []
    real_load = extractor.__dict__["load"].__func__

    def counting_load(cls, *args, **kwargs):
        rasa_loads.append(1)
        return real_load(cls, *args, **kwargs)

    (tmp_path / "models").mkdir()                  # the models' folder, where the cache lives
    load = cached_load(tmp_path / "models", counting_load)
    first = load(extractor, config, storage, resource, None)
    second = load(extractor, config, storage, resource, None)
    assert len(rasa_loads) == 1, "the second load read the tokens again"
    assert second.crf_order == first.crf_order == ["entity"]
    for words in (["the", "sole", "broke"], ["wrong", "size"], ["give", "it", "4"], ["hello"]):
        assert tags(first.entity_taggers, token, config, words) == tags(second.entity_taggers, token, config, words)


def test_other_archive_files_or_settings_are_another_files_entry() -> None:
    from bot.nlu.crf_cache import files_key

    config = {"features": [["low"]], "L1_c": 0.1, "L2_c": 0.1, "max_iterations": 50, "BILOU_flag": True}
    key = files_key(b"[[1]]", b'["entity"]', config)
    assert files_key(b"[[2]]", b'["entity"]', config) != key
    assert files_key(b"[[1]]", b'["entity", "role"]', config) != key
    assert files_key(b"[[1]]", b'["entity"]', {**config, "L1_c": 0.5}) != key
    assert files_key(b"[[1]]", b'["entity"]', dict(config)) == key
