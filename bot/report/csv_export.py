"""`aftercare report --csv DIR`: every table of the report as one CSV file, for a spreadsheet.

Figures are raw (rates 0-1, means, counts; an empty cell for no data), one column per figure
(`csat.mean`, `cases.opened`, ...), so a sheet can compute with them.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Iterable, Optional

from bot.report.tables import (Sheet, agents_sheet, drivers_sheet, flat, group_label, problems_sheet, product_names,
                               reach_sheets, sliced_by)


def _cell(value: Any) -> Any:
    """None as an empty cell; text a spreadsheet would run as a formula (=, +, -, @) stays text."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _write(folder: Path, name: str, header: list[str], rows: Iterable[list[Any]]) -> Path:
    path = folder / f"{name}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow([_cell(value) for value in row])
    return path


def _sheet(folder: Path, sheet: Optional[Sheet]) -> list[Path]:
    if sheet is None:
        return []
    return [_write(folder, sheet.name, [c.header for c in sheet.columns], sheet.rows)]


def write_csv(folder: Path, report: dict) -> list[Path]:
    """One file per table; the paths written, in the order of the terminal report."""
    folder.mkdir(parents=True, exist_ok=True)
    overall, before = flat(report["overall"]), flat(report.get("previous", {}).get("overall", {}))
    header = ["figure", "value"] + (["previous"] if before else [])
    written = [_write(folder, "figures", header,
                      ([k, v] + ([before.get(k)] if before else []) for k, v in overall.items()))]
    by, names = sliced_by(report), product_names(report)
    for name, groups in (("groups", report["groups"]), ("previous_groups", report.get("previous", {}).get("groups"))):
        if by and groups is not None:
            columns = list(flat({k: v for k, v in groups[0].items() if k != "key"}) if groups else {})
            written.append(_write(folder, name, [by, "name"] + columns,
                                  ([g["key"], group_label(g["key"], by, names)]
                                   + [flat(g).get(c) for c in columns] for g in groups)))
    written += _sheet(folder, problems_sheet(report))
    written += _sheet(folder, drivers_sheet(report))
    for sheet in reach_sheets(report):
        written += _sheet(folder, sheet)
    written += _sheet(folder, agents_sheet(report))
    written.append(_write(folder, "nps_by_tenure", ["tenure", "n", "promoters", "passives", "detractors", "score"],
                          ([t[k] for k in ("tenure", "n", "promoters", "passives", "detractors", "score")]
                           for t in report["nps_by_tenure"])))
    written.append(_write(folder, "testimonials", ["at", "name", "sku", "text"],
                          ([t["at"], t["name"], t["sku"], t["text"]] for t in report.get("testimonials", []))))
    written.append(_write(folder, "tips", ["tip", "sku", "product", "sent", "helpful", "not_helpful"],
                          ([t["tip"], p["sku"], p["product"], p["sent"], p["helpful"], p["not_helpful"]]
                           for t in report.get("tips") or [] for p in t["products"])))
    written.append(_write(folder, "at_risk", ["customer", "name", "order_id", "kind", "reason", "since"],
                          ([r[k] for k in ("customer", "name", "order_id", "kind", "reason", "since")]
                           for r in report["at_risk"])))
    return written
