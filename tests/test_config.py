"""config.yml -> validated settings: errors name file, line, key and reason; ${ENV} secrets that
never show up in repr, str, json or logs."""
from __future__ import annotations

import logging
import textwrap
from datetime import time, timedelta
from pathlib import Path

import pytest

from bot.channels.registry import section_models
from bot.config import loading, settings as config
from bot.config.settings import ConfigError, Settings
from tests.support.harness import CONFIG


def load_settings(*args, **kwargs) -> Settings:
    """As the CLI loads them: after the channels (plugins) are known, so their sections are checked too."""
    return loading.load_settings(*args, channels=section_models(), **kwargs)

ENV = {"TELEGRAM_BOT_TOKEN": "123456:AAAA-telegram-secret", "SLACK_BOT_TOKEN": "xoxb-slack-secret",
       "SLACK_SIGNING_SECRET": "signing-secret-value", "AFTERCARE_LINK_SECRET": "link-secret-value",
       "TELEGRAM_WEBHOOK_SECRET": "webhook-secret-value", "SLACK_APP_TOKEN": "xapp-app-token"}


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.yml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def error(tmp_path: Path, body: str, environ=None) -> ConfigError:
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ=environ or {})
    assert caught.value.path == str(path)
    assert str(caught.value).startswith(f"{path}:{caught.value.line}: ")
    return caught.value


# ---- the shipped file ---------------------------------------------------------------------

def test_shipped_config_loads_without_any_environment():
    settings = load_settings(CONFIG, environ={})
    assert settings.schedule.timezone == "Europe/Lisbon"
    checkin = settings.schedule.touchpoints["checkin"]
    assert checkin.after == timedelta(days=4) and checkin.offset("X", "home") == timedelta(days=4)
    assert checkin.offset("X", "electronics") == timedelta(days=3)
    assert checkin.offset("X", "skincare") == timedelta(days=14)
    assert list(settings.schedule.touchpoints) == ["thank_you", "checkin", "nps", "replenishment", "delay_notice",
                                                   "anniversary", "tenth_order", "serum_half_year",
                                                   "tip_day1", "tip_week1", "tip_month1"]
    delay = settings.schedule.touchpoints["delay_notice"]
    assert (delay.anchor.value, delay.after, delay.message_class.value) == ("late", timedelta(hours=12), "service")
    assert settings.delays.renotify_after == timedelta(days=3) and settings.delays.code_for("electronics") == "SORRY10"
    assert settings.delays.code_for("home") is None
    assert (settings.server.listen, settings.server.port) == ("127.0.0.1", 8080)
    assert settings.schedule.touchpoints["replenishment"].offset("SERUM-30", "skincare") == -timedelta(days=3)
    assert settings.schedule.quiet_hours.start == time(21, 0) and settings.schedule.quiet_hours.end == time(9, 0)
    assert settings.channels.telegram.token is None          # unset -> the sandbox is used
    assert settings.reviews.url_for("TR2-44") == "https://shop.example/p/trail-runner-2/review"
    assert settings.reviews.url_for("ZZ-1") == "https://shop.example/reviews/ZZ-1"
    assert settings.upsell.replenishment["SERUM-30"].usage_days == 30
    assert settings.config_path == CONFIG
    assert settings.resolve("data/x.db") == CONFIG.parent / "data" / "x.db"


def test_defaults_without_a_file_body(tmp_path):
    settings = load_settings(write(tmp_path, "# nothing\n"), environ={})
    assert settings == config.settings_model(section_models())().copy(update={"config_path": tmp_path / "config.yml"})


def test_sku_override_beats_category():
    settings = load_settings(CONFIG, environ={},
                             overrides={"schedule": {"touchpoints": {"checkin": {"skus": {"TR2-44": "10d"}}}}})
    checkin = settings.schedule.touchpoints["checkin"]
    assert checkin.offset("TR2-44", "footwear") == timedelta(days=10)
    assert checkin.offset("TR2-45", "footwear") == timedelta(days=4)


# ---- errors: file, line, key, reason -------------------------------------------------------

def test_bad_duration_names_file_line_key(tmp_path):
    exc = error(tmp_path, """\
        schedule:
          timezone: UTC
          reminder_after: 3 dayz
        """)
    assert exc.line == 3
    assert exc.reason.startswith('schedule.reminder_after: "3 dayz" is not a duration')
    assert str(exc).startswith(f"{tmp_path / 'config.yml'}:3: schedule.reminder_after: \"3 dayz\" is not a duration")


def test_bad_duration_deep_in_a_mapping(tmp_path):
    exc = error(tmp_path, """\
        schedule:
          touchpoints:
            checkin:
              from: delivery
              categories:
                footwear: 4d
                skincare: soon
        """)
    assert exc.line == 7
    assert exc.reason.startswith('schedule.touchpoints.checkin.categories.skincare: "soon" is not a duration')


def test_unknown_key(tmp_path):
    exc = error(tmp_path, """\
        schedule:
          timezone: UTC
          reminder_afterr: 3d
        """)
    assert (exc.line, exc.reason) == (3, "schedule.reminder_afterr: unknown key")


def test_unknown_section(tmp_path):
    exc = error(tmp_path, "store: {path: x.db}\nwhatsapp:\n  token: x\n")
    assert (exc.line, exc.reason) == (2, "whatsapp: unknown key")


def test_bad_timezone(tmp_path):
    exc = error(tmp_path, "schedule:\n  timezone: Mars/Olympus\n")
    assert exc.line == 2
    assert exc.reason == 'schedule.timezone: "Mars/Olympus" is not a known time zone (e.g. Europe/Lisbon)'


@pytest.mark.parametrize("body,line,reason", [
    ("schedule:\n  quiet_hours:\n    start: '25:00'\n", 3, 'schedule.quiet_hours.start: "25:00" is not a time of day'),
    ("escalation:\n  sla_minutes: 0\n", 2, "escalation.sla_minutes: 0: ensure this value is greater than 0"),
    ("schedule:\n  weekly_cap: -1\n", 2, "schedule.weekly_cap: -1:"),
    ("channels:\n  telegram:\n    mode: pigeon\n", 3, 'channels.telegram.mode: "pigeon" is not a mode'),
    ("nlu:\n  confidence_threshold: 2\n", 2, "nlu.confidence_threshold: 2:"),
    ("upsell:\n  replenishment:\n    X: {usage_days: 0, url: u}\n", 3, "upsell.replenishment.X.usage_days: 0:"),
    ("upsell:\n  skus:\n    X: {url: u}\n", 3, "upsell.skus.X.offer: field required"),
    ("channels:\n  telegram:\n    link_ttl: forever\n", 3, 'channels.telegram.link_ttl: "forever" is not a duration'),
    ("channels:\n  slack:\n    port: lots\n", 3, "channels.slack.port: 'lots': value is not a valid integer"),
])
def test_other_validation_errors(tmp_path, body, line, reason):
    exc = error(tmp_path, body)
    assert exc.line == line
    assert exc.reason.startswith(reason), exc.reason


def test_bad_yaml(tmp_path):
    exc = error(tmp_path, "store:\n  path: [unclosed\n")
    assert exc.line is not None and "invalid YAML" in exc.reason


def test_top_level_must_be_a_mapping(tmp_path):
    exc = error(tmp_path, "- store\n- schedule\n")
    assert exc.line == 1 and "mapping" in exc.reason


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path / "nope.yml", environ={})
    assert "cannot read" in caught.value.reason


# ---- ${ENV} substitution ------------------------------------------------------------------

def test_env_substitution(tmp_path):
    path = write(tmp_path, """\
        store:
          path: ${DATA_DIR}/aftercare.db
        channels:
          telegram:
            token: ${TELEGRAM_BOT_TOKEN}
            webhook_url: ${HOOK_URL}
          slack:
            bot_token: ${SLACK_BOT_TOKEN:-xoxb-fallback}
            port: ${SLACK_PORT:-3001}
        """)
    settings = load_settings(path, environ={"DATA_DIR": "/var/lib/aftercare", "TELEGRAM_BOT_TOKEN": "123:abc"})
    assert settings.store.path == "/var/lib/aftercare/aftercare.db"
    assert settings.channels.telegram.token.get_secret_value() == "123:abc"
    assert settings.channels.telegram.webhook_url is None          # unset, no default -> None
    assert settings.channels.slack.bot_token.get_secret_value() == "xoxb-fallback"
    assert settings.channels.slack.port == 3001


def test_env_defaults_to_the_process_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("AFTERCARE_TEST_TOKEN", "from-os-environ")
    path = write(tmp_path, "channels:\n  telegram:\n    token: ${AFTERCARE_TEST_TOKEN}\n")
    assert load_settings(path).channels.telegram.token.get_secret_value() == "from-os-environ"


def test_bad_value_from_env_still_names_the_line(tmp_path):
    exc = error(tmp_path, "schedule:\n  close_after: ${CLOSE}\n", environ={"CLOSE": "3 dayz"})
    assert exc.line == 2 and exc.reason.startswith('schedule.close_after: "3 dayz" is not a duration')


def test_secret_written_in_the_file_is_refused(tmp_path):
    exc = error(tmp_path, "channels:\n  telegram:\n    token: 123456:AAAA-literal-token\n")
    assert exc.line == 3
    assert exc.reason.startswith("channels.telegram.token: ")
    assert "${" in exc.reason
    assert "AAAA-literal-token" not in str(exc)


# ---- secrets never print --------------------------------------------------------------------

def test_secrets_never_appear_in_repr_str_or_json(caplog):
    settings = load_settings(CONFIG, environ=ENV)
    assert settings.channels.telegram.token.get_secret_value() == ENV["TELEGRAM_BOT_TOKEN"]
    assert settings.channels.slack.signing_secret.get_secret_value() == ENV["SLACK_SIGNING_SECRET"]
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("test").info("settings: %s / %r", settings, settings)
    shown = [repr(settings), str(settings), settings.json(), f"{settings}", str(settings.dict()),
             repr(settings.channels), str(settings.channels.telegram), caplog.text]
    for secret in ENV.values():
        for text in shown:
            assert secret not in text
    assert "**********" in repr(settings)


def test_error_messages_do_not_leak_secrets(tmp_path):
    path = write(tmp_path, "channels:\n  telegram:\n    token: ${TELEGRAM_BOT_TOKEN}\n    tokn: 1\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ=ENV)
    assert ENV["TELEGRAM_BOT_TOKEN"] not in str(caught.value)


def test_settings_are_immutable():
    settings = load_settings(CONFIG, environ={})
    with pytest.raises(TypeError):
        settings.schedule.weekly_cap = 5


# ---- the Bot API server ---------------------------------------------------------------------

def test_telegram_api_url_defaults_to_telegrams_own_and_reads_the_environment():
    assert load_settings(CONFIG, environ={}).channels.telegram.api_url == "https://api.telegram.org"
    assert load_settings(CONFIG, environ={"TELEGRAM_API_URL": ""}).channels.telegram.api_url == \
        "https://api.telegram.org"
    own = load_settings(CONFIG, environ={"TELEGRAM_API_URL": "http://127.0.0.1:8081/"})
    assert own.channels.telegram.api_url == "http://127.0.0.1:8081"


@pytest.mark.parametrize("url, reason", [
    ("api.telegram.org", "is not an http(s) URL with a host"),
    ("ftp://bots.example", "is not an http(s) URL with a host"),
    ("https://bots.example/bot123:AA", "root URL only"),
    ("https://bots.example?x=1", "no query or fragment"),
    ("https://bots.example:99999", "invalid port"),
])
def test_a_bad_telegram_api_url_is_named_with_its_line(tmp_path, url, reason):
    exc = error(tmp_path, "channels:\n  telegram:\n    api_url: ${TELEGRAM_API_URL}\n",
                environ={"TELEGRAM_API_URL": url})
    assert exc.line == 3
    assert "channels.telegram.api_url" in str(exc) and reason in str(exc)


def test_reply_burst_must_be_at_least_one(tmp_path):
    exc = error(tmp_path, "channels:\n  telegram:\n    reply_burst: 0\n")
    assert exc.line == 3 and "channels.telegram.reply_burst" in str(exc)


# ---- touchpoint kinds ----------------------------------------------------------------------

@pytest.mark.parametrize("body,line,reason", [
    ("schedule:\n  touchpoints:\n    tips:\n      from: arrival\n", 4,
     "schedule.touchpoints.tips.from: 'arrival': not a touchpoint anchor (known: purchase, shipment, delivery"),
    ("schedule:\n  touchpoints:\n    tips:\n      after: 2d\n", 3, "schedule.touchpoints.tips.from: field required"),
    ("schedule:\n  touchpoints:\n    tips:\n      from: delivery\n      after: 2 dayz\n", 5,
     'schedule.touchpoints.tips.after: "2 dayz" is not a duration'),
    ("schedule:\n  touchpoints:\n    tips:\n      from: delivery\n      after: 2d\n      before: 1d\n", 6,
     "schedule.touchpoints.tips.before: '1d': give `after` or `before`, not both"),
    ("schedule:\n  touchpoints:\n    tips:\n      from: delivery\n      class: loud\n", 5,
     "schedule.touchpoints.tips.class: 'loud': value is not a valid enumeration member"),
    ("schedule:\n  touchpoints:\n    tips:\n      from: delivery\n      expires: 2d\n      colour: red\n", 6,
     "schedule.touchpoints.tips.colour: unknown key"),
    ("schedule:\n  touchpoints:\n    tips:\n      from: delivery\n      expires: 2d\n      not_before: checkin\n", 2,
     'schedule.touchpoints: "checkin" is not a touchpoint kind (tips.not_before; known: tips)'),
    ("schedule:\n  touchpoints:\n    tips:\n      from: delivery\n      after: 2d\n", 3,
     "schedule.touchpoints.tips.expires: missing: every touchpoint kind needs one"),
    ("schedule:\n  touchpoints:\n    tips:\n      from: delivery\n      expires: 0d\n", 5,
     "schedule.touchpoints.tips.expires: '0d': must be longer than 0"),
    ("schedule:\n  touchpoints:\n    tips:\n      from: delivery\n      expires: soon\n", 5,
     'schedule.touchpoints.tips.expires: "soon" is not a duration'),
])
def test_touchpoint_kind_errors_name_file_line_key(tmp_path, body, line, reason):
    exc = error(tmp_path, body)
    assert exc.reason.startswith(reason), exc.reason
    assert exc.line == line


def test_a_new_touchpoint_kind_is_data(tmp_path):
    settings = load_settings(CONFIG, environ={}, overrides={"schedule": {"touchpoints": {
        "care_tips": {"flow": "checkin", "from": "shipment", "after": "1d", "items": "each", "expires": "3d"}}}})
    tips = settings.schedule.touchpoints["care_tips"]
    assert (tips.flow, tips.anchor.value, tips.after, tips.items.value) == ("checkin", "shipment", timedelta(days=1),
                                                                            "each")
    assert tips.message_class.value == "proactive"
    assert settings.schedule.flow_of("care_tips") == "checkin" and settings.schedule.flow_of("nps") == "nps"
