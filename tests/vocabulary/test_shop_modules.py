"""A shop's own words live in its own module, named under `vocabulary:` in config.yml: the bot,
`flows check` and `flows vocabulary` all load it; a broken entry is a config error naming its line."""
from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.config.settings import ConfigError
from bot.config.loading import load_settings
from bot.plugins.shop_vocabulary import load_shop_flows, load_vocabulary
from tests.support.harness import CONFIG, DIALOGS

PLUGIN = '''\
from bot.engine.vocabulary import Guard, Variable


def register(vocabulary):
    vocabulary.register(
        Guard("weekend_shopper", "bought on a Saturday or Sunday", lambda slots, ctx: False),
        Variable("shop.phone", "the shop's phone number", lambda facts: "+351 210 000 000"),
    )
'''


def shop(tmp_path: Path, entries: str, plugin: str = PLUGIN) -> Path:
    """A config beside a `shop_words.py` module and a copy of dialogs/ whose thank-you uses its words."""
    (tmp_path / "shop_words.py").write_text(plugin, encoding="utf-8")
    dialogs = tmp_path / "dialogs"
    shutil.copytree(DIALOGS, dialogs, ignore=shutil.ignore_patterns("i18n"))   # an English-only shop
    (dialogs / "thank_you.yml").write_text(textwrap.dedent("""\
        flow: thank_you
        steps:
          thanks:
            guard: weekend_shopper
            else: plain
            say: "Enjoy your weekend!"
            end: true
          plain:
            say: "Thank you! Questions? Call {shop.phone}."
            end: true
        """), encoding="utf-8")
    config = tmp_path / "config.yml"
    shipped = CONFIG.read_text(encoding="utf-8")
    english_only = "\n".join("  enabled: [en]" if line.startswith("  enabled: [en,") else line
                             for line in shipped.splitlines())      # this shop's texts are English only
    config.write_text(english_only + f"\ndialogs_dir: {dialogs}\nvocabulary:\n{entries}", encoding="utf-8")
    return config


def test_configured_module_extends_the_vocabulary(tmp_path):
    settings = load_settings(shop(tmp_path, "  - shop_words.py\n"), environ={})
    vocabulary = load_vocabulary(settings)
    assert "weekend_shopper" in vocabulary.guards and "shop.phone" in vocabulary.variables
    assert "escalate" in vocabulary.actions                    # the built-ins stay
    flows = load_shop_flows(settings)
    assert flows["thank_you"].vocabulary is flows.vocabulary


def test_cli_commands_use_the_configured_vocabulary(tmp_path):
    config = shop(tmp_path, "  - shop_words.py\n")
    checked = CliRunner().invoke(main, ["--config", str(config), "flows", "check"])
    assert checked.exit_code == 0, checked.stderr
    listed = CliRunner().invoke(main, ["--config", str(config), "flows", "vocabulary"])
    assert "weekend_shopper" in listed.output and "shop.phone" in listed.output
    plain = CliRunner().invoke(main, ["--config", str(CONFIG), "flows", "check", "--dir", str(tmp_path / "dialogs")])
    assert plain.exit_code == 1 and "unknown guard 'weekend_shopper'" in plain.stderr


@pytest.mark.parametrize("entries,plugin,reason", [
    ("  - shop_words.py\n  - no_such_module_here\n", PLUGIN, "vocabulary.1: 'no_such_module_here': No module named"),
    ("  - shop_words.py\n", "X = 1\n", "vocabulary.0: 'shop_words.py': has no `register(vocabulary)` function"),
    ("  - shop_words.py\n  - shop_words.py\n", PLUGIN, "vocabulary.1: 'shop_words.py': guard 'weekend_shopper' is "
                                                       "already registered"),
])
def test_a_bad_entry_names_the_config_line(tmp_path, entries, plugin, reason):
    config = shop(tmp_path, entries, plugin)
    settings = load_settings(config, environ={})
    with pytest.raises(ConfigError) as caught:
        load_vocabulary(settings)
    assert caught.value.reason.startswith(reason), caught.value.reason
    bad = int(reason.split(".")[1].split(":")[0])               # vocabulary.<index>: ...
    lines = config.read_text(encoding="utf-8").splitlines()
    assert lines[caught.value.line - 1] == entries.splitlines()[bad]
