"""`aftercare doctor`: what to fix before (or while) the bot runs. Sends nothing to anyone."""
from __future__ import annotations

import asyncio

import click

from bot.cli.common import plugins_of, settings_from


@click.command(epilog="Example: aftercare --config /etc/aftercare/shop/config.yml doctor --no-models")
@click.option("--no-models", is_flag=True, help="Skip the NLU model check (it reads the training data).")
@click.pass_context
def doctor(ctx: click.Context, no_models: bool) -> None:
    """Check the tokens (getMe, auth.test), the support channel, the webhooks' secrets and URLs,
    the store's permissions and backups and the trained models; print what to fix (exit 1 when
    something needs fixing). Nothing is sent to customers or posted anywhere."""
    from bot.doctor.checks import (channel_findings, model_findings, port_finding, store_findings,
                                   webhook_findings)

    settings = settings_from(ctx)          # a config error (empty or short secret...) stops here, one line
    channels = plugins_of(ctx).channels()
    findings = asyncio.run(channel_findings(settings, channels))
    if not findings:
        findings.append(_none())
    findings.append(port_finding(settings.server.listen, settings.server.port))
    findings += webhook_findings(settings, channels)
    findings += store_findings(settings)
    if not no_models:
        findings += model_findings(settings)
    for finding in findings:
        if finding.ok:
            click.echo(f"ok    {finding.what}" + (f" ({finding.detail})" if finding.detail else ""))
        else:
            click.echo(f"FIX   {finding.what}\n      -> {finding.fix}")
    problems = sum(1 for f in findings if not f.ok)
    click.echo(f"{problems} thing{'s' if problems != 1 else ''} to fix" if problems else "nothing to fix")
    ctx.exit(1 if problems else 0)


def _none():
    from bot.doctor.checks import Finding
    return Finding("channels: no credentials in the environment", detail="`aftercare run` would start the sandbox")
