"""`aftercare nlu parse` is a fixed interface: one JSON object per input line, nothing else."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main

ROOT = Path(__file__).resolve().parents[2]
LINES = ["stop", "", "the sole came off after a week", "I'd give it a 4", "😀", "yes"]


def check_output(stdout: str, lines: list[str]) -> list[dict]:
    objects = [json.loads(line) for line in stdout.splitlines()]
    assert len(objects) == len(lines)
    for obj, text in zip(objects, lines):
        assert set(obj) == {"text", "intent", "confidence", "entities"}
        assert obj["text"] == text
        assert isinstance(obj["confidence"], float)
        assert all(set(e) == {"entity", "value"} for e in obj["entities"])
    return objects


@pytest.mark.nlu
def test_parse_prints_one_json_object_per_line(rasa_parser, monkeypatch) -> None:
    monkeypatch.setattr(sys.modules["bot.cli.nlu"], "load_parser", lambda settings: rasa_parser)
    result = CliRunner().invoke(main, ["--config", str(ROOT / "config.yml"), "nlu", "parse"],
                                input="\n".join(LINES) + "\n")
    assert result.exit_code == 0, result.stderr
    objects = check_output(result.stdout, LINES)
    assert objects[0]["intent"] == "opt_out"
    assert objects[1] == {"text": "", "intent": "nlu_fallback", "confidence": 0.0,
                          "entities": []}
    assert {"entity": "problem_type", "value": "defective"} in objects[2]["entities"]
    assert {"entity": "rating", "value": "4"} in objects[3]["entities"]


@pytest.mark.nlu
def test_parse_stdout_is_clean_in_a_real_process(rasa_parser) -> None:
    """Rasa, TensorFlow and structlog must not print to stdout in a fresh process."""
    aftercare = Path(sys.executable).parent / "aftercare"
    if not aftercare.exists():
        pytest.skip("the aftercare entry point is not installed in this environment")
    env = {**os.environ, "PYTHONWARNINGS": "default"}
    done = subprocess.run(
        [str(aftercare), "--config", str(ROOT / "config.yml"), "nlu", "parse"],
        input="\n".join(LINES) + "\n", capture_output=True, text=True, env=env, cwd=ROOT,
        timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    check_output(done.stdout, LINES)


def write_untrained_project(folder: Path) -> Path:
    (folder / "data").mkdir()
    (folder / "data" / "nlu.yml").write_text('version: "3.1"\nnlu: []\n')
    (folder / "data" / "nlu_test.yml").write_text('version: "3.1"\nnlu: []\n')
    config = folder / "config.yml"
    config.write_text("nlu:\n  model_dir: models\n  pipeline:\n"
                      "    - name: WhitespaceTokenizer\n")
    return config


@pytest.mark.parametrize("command", ["parse", "test"])
def test_parse_and_test_never_train(tmp_path: Path, command: str) -> None:
    config = write_untrained_project(tmp_path)
    result = CliRunner().invoke(main, ["--config", str(config), "nlu", command], input="hi\n")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "aftercare nlu train" in result.stderr
    assert not (tmp_path / "models").exists()


def test_every_nlu_command_has_help() -> None:
    from bot.cli.nlu import nlu

    for name, command in nlu.commands.items():
        assert command.help, name
        result = CliRunner().invoke(main, ["nlu", name, "--help"])
        assert result.exit_code == 0
