"""The cache key decides when `aftercare nlu train` retrains: only when data or pipeline change."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.nlu.rasa_nlu import cache_key, load_nlu_settings, model_path, rasa_config

PIPELINE = [{"name": "WhitespaceTokenizer"}, {"name": "DIETClassifier", "epochs": 50}]


@pytest.fixture()
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "nlu.yml"
    path.write_text('version: "3.1"\nnlu:\n- intent: affirm\n  examples: |\n    - yes\n')
    return path


def test_key_is_stable(data_file: Path) -> None:
    first = cache_key(data_file, PIPELINE, "en", "3.6.21")
    again = cache_key(data_file, [dict(step) for step in PIPELINE], "en", "3.6.21")
    assert first == again
    assert len(first) == 64


def test_key_ignores_key_order_in_pipeline_steps(data_file: Path) -> None:
    reordered = [{"name": "WhitespaceTokenizer"}, {"epochs": 50, "name": "DIETClassifier"}]
    assert cache_key(data_file, PIPELINE, "en", "3.6.21") == \
        cache_key(data_file, reordered, "en", "3.6.21")


def test_key_changes_with_data(data_file: Path) -> None:
    before = cache_key(data_file, PIPELINE, "en", "3.6.21")
    data_file.write_text(data_file.read_text() + "    - yep\n")
    assert cache_key(data_file, PIPELINE, "en", "3.6.21") != before


def test_key_changes_with_pipeline_language_and_rasa(data_file: Path) -> None:
    base = cache_key(data_file, PIPELINE, "en", "3.6.21")
    changed = [PIPELINE[0], {"name": "DIETClassifier", "epochs": 60}]
    assert cache_key(data_file, changed, "en", "3.6.21") != base
    assert cache_key(data_file, PIPELINE[::-1], "en", "3.6.21") != base
    assert cache_key(data_file, PIPELINE, "de", "3.6.21") != base
    assert cache_key(data_file, PIPELINE, "en", "3.6.20") != base


def write_config(folder: Path, epochs: int = 50, threshold: float = 0.55) -> Path:
    (folder / "data").mkdir(exist_ok=True)
    (folder / "data" / "nlu.yml").write_text('version: "3.1"\nnlu: []\n')
    config = folder / "config.yml"
    config.write_text(
        "nlu:\n  model_dir: models\n  confidence_threshold: %s\n  language: en\n"
        "  pipeline:\n    - name: WhitespaceTokenizer\n"
        "    - name: DIETClassifier\n      epochs: %d\n" % (threshold, epochs))
    return config


def test_settings_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    settings = load_nlu_settings(write_config(tmp_path))
    assert settings.model_dir == tmp_path / "models"
    assert settings.training_data == tmp_path / "data" / "nlu.yml"
    assert settings.test_data == tmp_path / "data" / "nlu_test.yml"
    assert settings.pipeline[1] == {"name": "DIETClassifier", "epochs": 50}


def test_model_path_follows_the_pipeline_not_the_threshold(tmp_path: Path) -> None:
    path = model_path(load_nlu_settings(write_config(tmp_path)))
    assert path.parent == tmp_path / "models"
    assert path.name.startswith("nlu-") and path.name.endswith(".tar.gz")
    assert len(path.name) == len("nlu-") + 16 + len(".tar.gz")
    assert model_path(load_nlu_settings(write_config(tmp_path, threshold=0.7))) == path
    assert model_path(load_nlu_settings(write_config(tmp_path, epochs=60))) != path


def test_rasa_gets_a_complete_nlu_only_config(tmp_path: Path) -> None:
    settings = load_nlu_settings(write_config(tmp_path))
    config = rasa_config(settings)
    assert config["pipeline"] == settings.pipeline
    assert config["policies"] == []
    assert config["language"] == "en"


def write_overrides(folder: Path, overrides: str) -> Path:
    (folder / "data").mkdir(exist_ok=True)
    for name in ("nlu.yml", "nlu_fr.yml"):
        (folder / "data" / name).write_text('version: "3.1"\nnlu: []\n')
    config = folder / "config.yml"
    config.write_text(
        "nlu:\n  language: en\n  languages: [en, fr]\n"
        "  pipeline:\n    - name: WhitespaceTokenizer\n"
        "    - name: DIETClassifier\n      epochs: 50\n" + overrides)
    return config


def test_an_override_changes_only_its_languages_pipeline_and_model(tmp_path: Path) -> None:
    from bot.nlu.languages import for_language

    plain = load_nlu_settings(write_overrides(tmp_path, ""))
    tuned = load_nlu_settings(write_overrides(
        tmp_path, "  overrides:\n    fr: {DIETClassifier: {epochs: 80, drop_rate: 0.3}}\n"))
    french = for_language(tuned, "fr")
    assert french.pipeline[1] == {"name": "DIETClassifier", "epochs": 80, "drop_rate": 0.3}
    assert tuned.pipeline[1] == {"name": "DIETClassifier", "epochs": 50}   # the shared one is untouched
    assert for_language(tuned, "en").pipeline == for_language(plain, "en").pipeline
    assert model_path(for_language(tuned, "en")) == model_path(for_language(plain, "en"))
    assert model_path(french) != model_path(for_language(plain, "fr"))
    assert rasa_config(french)["pipeline"] == french.pipeline


@pytest.mark.parametrize(("overrides", "message"), [
    ("  overrides:\n    fr-CA: {DIETClassifier: {epochs: 80}}\n", "overrides.fr-CA: a trained language is a base tag"),
    ("  overrides:\n    fr: {DIET: {epochs: 80}}\n", "overrides.fr.DIET: no pipeline steps named 'DIET'"),
    ("  overrides:\n    fr: {DIETClassifier: {name: X}}\n", "overrides.fr.DIETClassifier.name"),
    ("  overrides:\n    fr: {DIETClassifier: 80}\n", "config.yml:9: nlu.overrides.fr.DIETClassifier: 80"),
])
def test_a_bad_override_names_the_place(tmp_path: Path, overrides: str, message: str) -> None:
    with pytest.raises(Exception) as error:
        load_nlu_settings(write_overrides(tmp_path, overrides))
    assert message in str(error.value)
