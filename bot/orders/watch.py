"""`aftercare orders watch DIR`: import order files as they land in a folder.

A shop system (or a person) drops `.csv`/`.json` files into DIR; each one goes through the same
import as `aftercare orders import` and is then moved aside, never deleted:
- DIR/done/NAME when every row was imported;
- DIR/failed/NAME plus DIR/failed/NAME.errors when the file could not be read or had bad rows
  (the good rows of such a file are imported; fix the rows and drop the whole file again, the
  import is idempotent).
A file is picked up once it has not changed for `settle` (a writer still copying it is left
alone); writers that can should write `NAME.tmp` and rename it, which is atomic. Other names
(hidden files, .tmp, .part) are never touched.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable, Optional

from bot.channels.registry import ChannelRegistry
from bot.config.settings import Settings
from bot.orders.importing import ImportReport, import_file
from bot.orders.files import SUFFIXES, OrderFileError
from bot.store.store import Store

log = logging.getLogger(__name__)
DONE = "done"
FAILED = "failed"


@dataclass(frozen=True)
class Picked:
    """One file handled: where it went, and the import's report (None: unreadable)."""

    source: Path
    moved_to: Path
    report: Optional[ImportReport]
    error: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.report is not None and not self.report.errors


def ready_files(folder: Path, now: float, settle: timedelta) -> list[Path]:
    """Order files in `folder` (not its subfolders) untouched for `settle`, oldest first."""
    found = []
    for path in folder.iterdir():
        if path.name.startswith(".") or not path.is_file() or path.suffix.lower() not in SUFFIXES:
            continue
        if now - path.stat().st_mtime >= settle.total_seconds():
            found.append(path)
    return sorted(found, key=lambda p: (p.stat().st_mtime, p.name))


def scan_once(store: Store, settings: Settings, folder: Path | str, now: Callable[[], datetime],
              settle: timedelta = timedelta(seconds=2), channels: Optional[ChannelRegistry] = None) -> list[Picked]:
    """Import and move aside every ready file of `folder`; returns what happened to each.
    `channels`: those an order may name (the plugins'; the built-ins when None)."""
    folder = Path(folder)
    picked = []
    for path in ready_files(folder, now().timestamp(), settle):
        picked.append(_one(store, settings, folder, path, now(), channels))
    return picked


def _one(store: Store, settings: Settings, folder: Path, path: Path, now: datetime,
         channels: Optional[ChannelRegistry]) -> Picked:
    try:
        report = import_file(store, settings, path, now, channels=channels)
    except OrderFileError as exc:
        target = _move(path, folder / FAILED)
        _write_errors(target, [str(exc)], None)
        log.warning("%s: %s -> %s", path, exc, target)
        return Picked(path, target, None, str(exc))
    if report.errors:
        target = _move(path, folder / FAILED)
        _write_errors(target, [f"{path.name}:{e.line}: {e.reason} (row skipped)" for e in report.errors], report)
        log.warning("%s: %d bad rows -> %s", path, len(report.errors), target)
        return Picked(path, target, report)
    target = _move(path, folder / DONE)
    log.info("%s: %d new, %d updated, %d unchanged orders -> %s", path, report.inserted, report.updated,
             report.unchanged, target)
    return Picked(path, target, report)


def _move(path: Path, into: Path) -> Path:
    """Move `path` into `into`, never over an earlier file of the same name."""
    into.mkdir(exist_ok=True)
    target = into / path.name
    number = 1
    while target.exists() or target.with_name(target.name + ".errors").exists():
        target = into / f"{path.stem}.{number}{path.suffix}"
        number += 1
    os.replace(path, target)
    return target


def _write_errors(target: Path, lines: list[str], report: Optional[ImportReport]) -> None:
    head = ("nothing was imported from this file" if report is None else
            f"{report.rows_ok} good rows were imported ({report.inserted} new, {report.updated} updated, "
            f"{report.unchanged} unchanged orders); fix the rows below and drop the whole file again")
    target.with_name(target.name + ".errors").write_text("\n".join([head, *lines]) + "\n", encoding="utf-8")
