"""Translations: catalogs keyed by the English text, the check `aftercare flows check` runs,
run-time fallback (region -> base language -> English), and whose language wins."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.config.settings import ConfigError
from bot.config.loading import load_settings
from bot.engine.builtins import default_vocabulary
from bot.engine.templates import render
from bot.engine.vocabulary import Facts, variable_words
from bot.i18n.catalogs import language_name, normalize_tag, pick_language, translator, variables
from bot.flowfiles import check_translations, load_catalogs, source_texts
from bot.base.yamlsource import SourceError
from tests.support.harness import CONFIG, DIALOGS

SHIPPED = ["en", "es", "pt", "pt-BR", "de", "fr", "it", "ja"]
WORDS = variable_words(default_vocabulary())     # what the built-in variables say
GREETING = "Hi {customer.first_name}! Thanks again for your order."


@pytest.fixture
def dialogs(tmp_path: Path) -> Path:
    """A writable copy of the shipped dialogs/ with their catalogs."""
    copy = tmp_path / "dialogs"
    shutil.copytree(DIALOGS, copy)
    return copy


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


# ---- the shipped catalogs --------------------------------------------------------------------

def test_every_shipped_text_is_translated_into_every_shipped_language():
    assert check_translations(DIALOGS, SHIPPED, words=WORDS) == []
    texts = {t.text for t in source_texts(DIALOGS)}
    assert GREETING in texts and "Sure" in texts          # flow texts and button labels
    assert len(texts) >= 50


def test_shipped_config_enables_the_shipped_languages():
    settings = load_settings(CONFIG, environ={})
    assert settings.languages.enabled == SHIPPED
    assert settings.languages.default == "en"


# ---- what the check names --------------------------------------------------------------------

def test_a_missing_translation_names_file_line_and_language(dialogs: Path):
    de = dialogs / "i18n" / "de.yml"
    de.write_text("\n".join(line for line in de.read_text(encoding="utf-8").splitlines()
                            if not line.strip().startswith('"Thanks! What could we do better?"')) + "\n",
                  encoding="utf-8")
    problems = check_translations(dialogs, ["en", "de", "fr"], words=WORDS)
    assert len(problems) == 1
    problem = problems[0]
    assert problem.path.endswith("checkin.yml")
    assert problem.line == line_of(dialogs / "checkin.yml", '"Thanks! What could we do better?"')
    assert "[de]" in str(problem) and "'Thanks! What could we do better?'" in str(problem)


def test_a_changed_english_text_needs_every_language_again(dialogs: Path):
    edit(dialogs / "checkin.yml", GREETING, "Hello {customer.first_name}! Thanks again for your order.")
    problems = [str(p) for p in check_translations(dialogs, ["en", "es", "ja"], words=WORDS)]
    assert any("[es] no translation of 'Hello {customer.first_name}!" in p for p in problems)
    assert any("[ja] no translation of 'Hello" in p for p in problems)
    assert any("stale" in p and "es.yml" in p for p in problems)      # the old wording is now unused


def test_template_variables_must_match_the_english(dialogs: Path):
    fr = dialogs / "i18n" / "fr.yml"
    edit(fr, "Bonjour {customer.first_name} ! Merci encore", "Bonjour {customer.name} ! Merci encore")
    problems = check_translations(dialogs, ["en", "fr"], words=WORDS)
    assert len(problems) == 1
    assert problems[0].path.endswith("fr.yml")
    assert problems[0].line == line_of(fr, "Bonjour {customer.name} !")
    assert "customer.first_name" in str(problems[0]) and "customer.name" in str(problems[0])


def test_an_enabled_language_without_a_catalog_is_named(dialogs: Path):
    problems = check_translations(dialogs, ["en", "nl"], words=WORDS)
    assert len(problems) == 1 and "[nl]" in str(problems[0]) and "no catalog" in str(problems[0])


def test_a_regional_language_may_lean_on_its_base(dialogs: Path):
    assert check_translations(dialogs, ["en", "pt-BR", "es-MX"], words=WORDS) == []


def test_a_broken_catalog_names_its_line(dialogs: Path):
    edit(dialogs / "i18n" / "it.yml", '"Sure": "Certo"', '"Sure": ""')
    with pytest.raises(SourceError) as raised:
        load_catalogs(dialogs)
    assert raised.value.path.endswith("it.yml")
    assert raised.value.line == line_of(dialogs / "i18n" / "it.yml", '"Sure": ""')


def test_flows_check_fails_on_a_missing_translation(dialogs: Path, tmp_path: Path):
    (dialogs / "i18n" / "ja.yml").unlink()
    result = CliRunner().invoke(main, ["--config", str(CONFIG), "flows", "check", "--dir", str(dialogs)])
    assert result.exit_code == 1
    assert "[ja] language enabled in config but it has no catalog" in result.output


# ---- at run time --------------------------------------------------------------------------

def test_translate_falls_back_from_region_to_base_to_english():
    catalogs = load_catalogs(DIALOGS)
    assert catalogs.translate(GREETING, "pt-BR").startswith("Oi, {customer.first_name}!")   # pt-BR's own
    assert catalogs.translate("Sure", "pt-BR") == "Claro"                                 # from pt
    assert catalogs.translate("Sure", "de_AT") == "Gerne"                                 # region -> base
    assert catalogs.translate("Sure", "nl") == "Sure"                                     # no catalog
    assert catalogs.translate("a text nobody translated", "es") == "a text nobody translated"
    assert catalogs.translate("Sure", None) == "Sure"


@pytest.mark.parametrize("candidates, expected", [
    (["pt-BR", "de"], "pt-BR"),          # the order's language column wins
    ([None, "de"], "de"),                # else the platform's (Telegram language_code)
    (["", "fr-CA"], "fr-CA"),            # a region of an enabled language keeps its region
    (["nl", None], "es"),                # nothing enabled -> the shop's default
    ([], "es"),
])
def test_whose_language(candidates, expected):
    assert pick_language(candidates, ["en", "es", "pt", "pt-BR", "de", "fr"], default="es") == expected


def test_tags_and_names():
    assert normalize_tag("pt_br") == "pt-BR" and normalize_tag("DE") == "de" and normalize_tag("") is None
    assert language_name("de") == "Deutsch" and language_name("ja") == "日本語"
    assert variables("{a} and {b.c} and {a}") == {"a", "b.c"}


def test_default_language_must_be_enabled(tmp_path: Path):
    path = tmp_path / "config.yml"
    path.write_text("languages:\n  default: de\n  enabled: [en, es]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_settings(path, environ={})
    assert "not in `enabled`" in str(raised.value)
    path.write_text("languages:\n  enabled: [en, 'not a tag']\n", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_settings(path, environ={})
    assert "config.yml:2" in str(raised.value)


# ---- STOP and "a person" in every language ---------------------------------------------------

@pytest.mark.parametrize("text", ["STOP", "stop!", "pare", "parar", "Stopp.", "arrête", "  Arrête ! ", "basta",
                                  "停止", "配信停止", "unsubscribe", "darme de baja"])
def test_stop_words_of_every_language_are_honoured(text):
    assert load_catalogs(DIALOGS).says(text, "stop")


@pytest.mark.parametrize("text", ["agent", "a person, please", "agente", "atendente", "Mitarbeiter", "conseiller",
                                  "operatore", "オペレーター", "quiero hablar con una persona"])
def test_a_person_please_in_every_language(text):
    assert load_catalogs(DIALOGS).says(text, "human")


@pytest.mark.parametrize("text", ["stop the madness", "para ti", "the agent was great", "", "   ", "stopping by"])
def test_only_the_whole_message_counts(text):
    catalogs = load_catalogs(DIALOGS)
    assert not catalogs.says(text, "stop") and not catalogs.says(text, "human")


def test_an_unknown_word_kind_is_named(dialogs: Path):
    edit(dialogs / "i18n" / "it.yml", "words:\n  stop:", "words:\n  halt:")
    with pytest.raises(SourceError) as raised:
        load_catalogs(dialogs)
    assert "words.halt" in str(raised.value) and raised.value.path.endswith("it.yml")


# ---- words of template variables, dates and numbers ------------------------------------------

def test_a_carrier_status_word_without_translation_is_named_where_it_is_said(dialogs: Path):
    de = dialogs / "i18n" / "de.yml"
    de.write_text("\n".join(line for line in de.read_text(encoding="utf-8").splitlines()
                            if not line.strip().startswith('"held at customs"')) + "\n", encoding="utf-8")
    problems = [str(p) for p in check_translations(dialogs, ["en", "de", "fr"], words=WORDS)]
    assert len(problems) == 1
    assert "builtins.py:" in problems[0] and "[de] no translation of 'held at customs'" in problems[0]
    assert "{order.shipment_status}" in problems[0]


def test_a_carrier_word_in_a_catalog_is_not_stale():
    catalogs = load_catalogs(DIALOGS)
    assert catalogs.translate("in transit", "it") == "in transito"
    assert catalogs.translate("ready for pickup", "pt-BR") == "pronto para retirada"   # pt-BR's own
    assert catalogs.translate("in transit", "pt-BR") == "em trânsito"                  # from pt


@pytest.mark.parametrize("language, expected", [
    ("en", "1,234.5 by March 12"), ("es", "1.234,5 by 12 de marzo"), ("de", "1.234,5 by 12. März"),
    ("fr", "1\u202f234,5 by 12 mars"), ("pt-BR", "1.234,5 by 12 de março"), ("ja", "1,234.5 by 3月12日"),
    ("xx", "1,234.5 by March 12"),
])
def test_dates_and_numbers_are_written_the_customers_way(language, expected):
    from datetime import date, datetime, timezone

    from bot.engine.templates import render

    assert render("{n} by {d}", {"n": 1234.5, "d": date(2026, 3, 12)}, {}, language) == expected
    assert render("{d}", {"d": datetime(2026, 3, 12, 9, tzinfo=timezone.utc)}, {}, language) == expected.split(" by ")[1]
    assert render("{n} {s}", {"n": 1234.5, "s": "x"}, {}) == "1234.5 x"            # no language: as before


def test_the_readme_shows_a_translated_step_as_the_catalogs_hold_it():
    import re

    readme = (CONFIG.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### A step in every language"):]
    section = section[:section.index("\n## ")]
    catalogs, language, shown = load_catalogs(DIALOGS), None, []
    for line in section.splitlines():
        named = re.match(r"# dialogs/i18n/(\S+)\.yml", line)
        language = named.group(1) if named else language
        pair = re.match(r'\s+"(.*)": "(.*)"$', line)
        if pair and language:
            shown.append(language)
            assert catalogs.translate(pair.group(1), language) == pair.group(2), line
    assert "de" in shown and "ja" in shown
    assert 'ask: "How is {product.name} working for you? Tap 1 (not good) to 5 (great)."' in readme


# ---- what a template variable says when its fact is missing -----------------------------------

MISSING_FACT_WORDS = ["there", "your order", "our shop", "a refill of {product}"]


@pytest.mark.parametrize("word", MISSING_FACT_WORDS)
def test_a_missing_fact_word_without_translation_is_named_where_it_is_said(dialogs: Path, word: str):
    fr = dialogs / "i18n" / "fr.yml"
    fr.write_text("\n".join(line for line in fr.read_text(encoding="utf-8").splitlines()
                            if not line.strip().startswith(f'"{word}":')) + "\n", encoding="utf-8")
    problems = [str(p) for p in check_translations(dialogs, ["en", "de", "fr"], words=WORDS)]
    assert len(problems) == 1, problems
    assert "builtins.py:" in problems[0] and f"[fr] no translation of {word!r}" in problems[0]


def _facts(language: str, **facts) -> Facts:
    catalogs = load_catalogs(DIALOGS)
    base = dict(customer={}, item={}, order_id=None, sku="", category="", settings=load_settings(CONFIG))
    return Facts(**{**base, **facts}, language=language, translate=translator(catalogs, language))


@pytest.mark.parametrize("language", ["es", "pt", "pt-BR", "de", "fr", "it", "ja"])
def test_no_name_no_product_no_shop_name_are_said_in_the_customers_language(language: str):
    values = default_vocabulary().values(_facts(language))
    english = default_vocabulary().values(_facts("en"))
    assert english["customer.first_name"] == "there" and english["product.name"] == "your order"
    for name in ("customer.first_name", "product.name", "shop.name"):
        assert values[name] == load_catalogs(DIALOGS).translate(english[name], language) != english[name], name


def test_a_known_name_and_product_are_never_translated():
    values = default_vocabulary().values(_facts("de", customer={"name": "Jonas Weber"},
                                                item={"product": "Trail Runner 2"}))
    assert (values["customer.first_name"], values["product.name"]) == ("Jonas", "Trail Runner 2")


def test_a_refill_the_shop_did_not_word_is_offered_in_the_customers_language():
    serum = dict(sku="SERUM-30", item={"product": "Glow Serum"})
    assert default_vocabulary().values(_facts("en", **serum))["refill.offer"] == "a refill of Glow Serum"
    assert default_vocabulary().values(_facts("fr", **serum))["refill.offer"] == "une recharge de Glow Serum"


def test_a_customer_without_a_name_is_greeted_in_their_own_language():
    values = default_vocabulary().values(_facts("de"))
    greeting = load_catalogs(DIALOGS).translate(GREETING, "de")
    assert render(greeting, values, {}, "de").startswith("Hallo liebe Kundin, lieber Kunde!")
