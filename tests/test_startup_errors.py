"""Issue #24, finding 10: each start-up failure of `aftercare run` (the real command, in a
subprocess, against the loopback Telegram and Slack APIs) is one line naming the cause and the
fix, exit code 1, and no secret appears anywhere in what it printed. `aftercare doctor` checks
the same things and sends nothing."""
from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import pytest

from bot.sandbox.platforms.slack_api import SlackSandbox
from bot.sandbox.platforms.telegram_api import TelegramSandbox
from tests.support.harness import CONFIG, ROOT

AFTERCARE = str(Path(sys.executable).parent / "aftercare")
SLACK_SIGNING = "slack-signing-secret-value-0123456789"
WEBHOOK_SECRET = "orders-webhook-secret-value-0123456789"
CLEAN = ("TELEGRAM_BOT_TOKEN", "TELEGRAM_API_URL", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN",
         "SLACK_API_URL", "SHOPIFY_WEBHOOK_SECRET", "AFTERCARE_WEBHOOK_SECRET", "TELEGRAM_WEBHOOK_SECRET",
         "AFTERCARE_LINK_SECRET", "AFTERCARE_SECRET", "AFTERCARE_HEALTH_PORT")


async def aftercare(tmp_path: Path, *args: str, **env: str) -> tuple[int, str]:
    """Run the command; (exit code, everything it printed on stdout and stderr)."""
    environ = {k: v for k, v in os.environ.items() if k not in CLEAN}
    environ.update({"PYTHONPATH": str(ROOT), "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
                    "AFTERCARE_DB": str(tmp_path / "live.db"), "AFTERCARE_HEALTH_PORT": "0",
                    "AFTERCARE_WEBHOOK_SECRET": WEBHOOK_SECRET, **env})
    process = await asyncio.create_subprocess_exec(AFTERCARE, "--config", str(CONFIG), *args, cwd=ROOT, env=environ,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(process.communicate(), timeout=240)
    return process.returncode or 0, out.decode()


def one_error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert "Traceback" not in output and len(errors) == 1, output
    return errors[0]


def assert_no_secret(output: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in output, f"a secret was printed: {output}"
        assert secret.split(":")[-1] not in output, f"part of a secret was printed: {output}"


async def test_a_refused_telegram_token(tmp_path):
    wrong = "123456:WRONG-telegram-token-value-000000000000"
    async with TelegramSandbox() as api:
        code, output = await aftercare(tmp_path, "run", TELEGRAM_BOT_TOKEN=wrong, TELEGRAM_API_URL=api.url)
        assert api.world.messages_to(4242) == []
    assert code == 1
    assert one_error_line(output).startswith("error: Telegram refused the bot token (TELEGRAM_BOT_TOKEN): set it")
    assert_no_secret(output, wrong, WEBHOOK_SECRET)


async def test_an_unreachable_telegram_api(tmp_path):
    token = "123456:AAunreachable-token-value-0000000000000"
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]             # bound, never listening: connections are refused
        code, output = await aftercare(tmp_path, "run", TELEGRAM_BOT_TOKEN=token,
                                       TELEGRAM_API_URL=f"http://127.0.0.1:{port}")
    assert code == 1
    line = one_error_line(output)
    assert line.startswith(f"error: cannot reach the Telegram Bot API at http://127.0.0.1:{port}") and "check the network" in line
    assert_no_secret(output, token, WEBHOOK_SECRET)


async def test_a_short_slack_signing_secret(tmp_path):
    short = "sig-too-short"
    code, output = await aftercare(tmp_path, "run", SLACK_BOT_TOKEN="xoxb-slack-token-value-000000",
                                   SLACK_SIGNING_SECRET=short)
    assert code == 1
    assert "channels.slack.signing_secret: shorter than 16 characters" in one_error_line(output)
    assert_no_secret(output, short, "xoxb-slack-token-value-000000", WEBHOOK_SECRET)


async def test_no_support_channel_in_the_slack_workspace(tmp_path):
    async with SlackSandbox() as slack:
        code, output = await aftercare(tmp_path, "run", SLACK_BOT_TOKEN=slack.token, SLACK_SIGNING_SECRET=SLACK_SIGNING,
                                       SLACK_API_URL=slack.base_url)
        assert slack.calls["chat.postMessage"] == 0
    assert code == 1
    assert one_error_line(output) == ("error: the support channel #support is not in the Slack workspace "
                                      "(escalation.support_channel): create it, or name an existing channel")
    assert_no_secret(output, slack.token, SLACK_SIGNING, WEBHOOK_SECRET)


async def test_a_port_taken(tmp_path):
    async with TelegramSandbox() as api:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            code, output = await aftercare(tmp_path, "run", TELEGRAM_BOT_TOKEN=api.token, TELEGRAM_API_URL=api.url,
                                           AFTERCARE_HEALTH_PORT=str(port))
    assert code == 1
    assert one_error_line(output).startswith(f"error: cannot listen on 127.0.0.1:{port} (Address already in use): "
                                             "stop what uses that port, or set server.port")
    assert_no_secret(output, api.token, WEBHOOK_SECRET)


@pytest.mark.parametrize("variable", ["SHOPIFY_WEBHOOK_SECRET", "TELEGRAM_BOT_TOKEN"])
async def test_an_empty_secret_stops_the_start(tmp_path, variable):
    code, output = await aftercare(tmp_path, "run", **{variable: ""})
    assert code == 1 and "is set but empty" in one_error_line(output)


async def test_doctor_lists_what_to_fix_and_sends_nothing(tmp_path):
    async with TelegramSandbox() as api, SlackSandbox() as slack:
        (tmp_path / "live.db").touch(mode=0o644)
        (tmp_path / "live.db").chmod(0o644)
        code, output = await aftercare(tmp_path, "doctor", "--no-models", TELEGRAM_BOT_TOKEN=api.token,
                                       TELEGRAM_API_URL=api.url, SLACK_BOT_TOKEN=slack.token,
                                       SLACK_SIGNING_SECRET=SLACK_SIGNING, SLACK_API_URL=slack.base_url)
        assert slack.calls["chat.postMessage"] == 0 and api.method_counts["sendMessage"] == 0
    assert code == 1, output
    assert "ok    Telegram: credentials accepted (@AftercareDemoBot)" in output
    assert "FIX   Slack: the support channel #support is not in the Slack workspace" in output
    assert "FIX   store:" in output and "live.db is readable by others" in output
    assert "ok    POST /webhooks/orders: on (secret set)" in output
    assert "ok    POST /webhooks/shopify: off (set SHOPIFY_WEBHOOK_SECRET to turn it on)" in output
    assert_no_secret(output, api.token, slack.token, SLACK_SIGNING, WEBHOOK_SECRET)


def test_doctor_finds_a_readable_backup_and_a_webhook_without_https_or_secret(tmp_path):
    """The doctor's findings the subprocess test above does not reach: backups beside the store
    and a channel receiving by webhook (in-process, no network)."""
    from bot.doctor.checks import store_findings, webhook_findings
    from bot.store.store import Store
    from tests.support.harness import make_settings

    db = tmp_path / "shop.db"
    Store.open(db).close()
    settings = make_settings(store={"path": str(db)})
    assert [f.ok for f in store_findings(settings)] == [True]
    for name in ("shop-backup-2026-12-01.db", "shop.db.bak"):
        (tmp_path / name).write_bytes(b"x")
        (tmp_path / name).chmod(0o644)
    fixes = [f for f in store_findings(settings) if not f.ok]
    assert sorted(f.fix for f in fixes) == [f"chmod 600 {tmp_path / 'shop-backup-2026-12-01.db'}",
                                            f"chmod 600 {tmp_path / 'shop.db.bak'}"]
    hooked = make_settings(channels={"telegram": {"token": "123:abc", "mode": "webhook",
                                                  "webhook_url": "http://shop.example/tg"}})
    found = {f.what: f.fix for f in webhook_findings(hooked) if not f.ok}
    assert found == {"Telegram webhook URL http://shop.example/tg is not https":
                     "set channels.telegram.webhook_url to the public https:// address",
                     "Telegram webhook has no secret": "set channels.telegram.webhook_secret (16+ random characters)"}


def test_doctor_says_when_the_training_data_is_not_beside_the_config(tmp_path):
    """A config copied elsewhere (/etc/...) reads data/ relative to its own folder: a finding to
    fix, not a traceback."""
    from bot.config.loading import load_settings
    from bot.doctor.checks import model_findings
    from tests.support.harness import write_config

    settings = load_settings(write_config(tmp_path, tmp_path / "shop.db"), environ={})
    finding, = model_findings(settings)
    assert not finding.ok and finding.what.startswith(f"NLU: cannot read {tmp_path / 'data'}")


def test_run_says_in_one_line_when_the_training_data_is_not_beside_the_config(tmp_path):
    """What `aftercare run` loads its NLU with (bot.cli.common.load_nlu): one line, not a traceback."""
    import click

    from bot.cli.common import load_nlu
    from bot.config.loading import load_settings
    from tests.support.harness import write_config

    settings = load_settings(write_config(tmp_path, tmp_path / "shop.db"), environ={})
    with pytest.raises(click.ClickException, match="cannot read the NLU training data .*keep config.yml in the install"):
        load_nlu(settings)
