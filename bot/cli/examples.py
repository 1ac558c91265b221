"""One example per command, shown at the end of its --help ("Example: ..."). A command that
declares its own `epilog` keeps it; a command with neither fails tests/test_cli_rules.py."""
from __future__ import annotations

import click

EXAMPLES = {
    "flows": "aftercare flows check && aftercare flows diagram --flow checkin",
    "flows check": "aftercare flows check --dir dialogs",
    "flows diagram": "aftercare flows diagram --flow checkin > checkin.mmd",
    "flows vocabulary": "aftercare flows vocabulary --markdown",
    "nlu": "aftercare nlu train && echo 'the sole came off' | aftercare nlu parse",
    "nlu train": "aftercare nlu train            # cached: retrains only when data or config changed",
    "nlu parse": "echo 'meine Schuhe sind kaputt' | aftercare nlu parse --language de",
    "nlu test": "aftercare nlu test --language es",
    "nlu serve": "aftercare nlu serve --port 5055     # one set of models for every shop on the host",
    "orders": "aftercare orders import --history last-quarter.csv",
    "orders import": "aftercare orders import orders.csv   (exit 3: done, but bad rows were skipped)",
    "orders watch": "aftercare orders watch /srv/aftercare/inbox --once   # from cron",
    "due": "aftercare due --within 2d --dropped 30d --limit 50",
    "cases": "aftercare cases",
    "simulate": "aftercare simulate tests/scenarios/low_score_escalation.yml --db run.db",
    "chat": "aftercare chat --order A-1001",
    "run": "aftercare run            # no tokens in the environment: the local sandbox",
    "report": "aftercare report --since 2026-11-02 --until 2026-11-08 --compare",
    "browse": "aftercare browse --port 8001",
    "customer": "aftercare customer export alice@example.com --out alice.json",
    "customer export": "aftercare customer export order:A-1001 --out a.json",
    "customer forget": "aftercare customer forget alice@example.com --yes",
    "customer bind": "aftercare customer bind email:ana@example.com console:ana   # CHANNEL:ADDRESS, e.g. a chat id",
    "tell-fixed": "aftercare tell-fixed --sku TR2-44 --problem-type defective --message en=\"...\" --message de=\"...\" --dry-run",
}


def add_examples(group: click.Group, prefix: str = "") -> None:
    """Give every command below `group` its example (where it has no epilog of its own)."""
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if not command.epilog and path in EXAMPLES:
            command.epilog = f"Example: {EXAMPLES[path]}"
        if isinstance(command, click.Group):
            add_examples(command, path + " ")
