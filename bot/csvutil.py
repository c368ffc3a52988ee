"""CSV in and out, with spreadsheet formula injection neutralised on export."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: one starting like a formula gets a leading quote."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def write_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(name) for name in header])
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return buffer.getvalue()


def read_csv(text: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Header names (lower-cased) and rows with their line numbers in the file."""
    text = text.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text))
    header: list[str] = []
    rows: list[tuple[int, dict[str, str]]] = []
    for values in reader:
        if not any(value.strip() for value in values):
            continue
        if not header:
            header = [value.strip().lower().replace(" ", "_") for value in values]
            continue
        padded = values + [""] * (len(header) - len(values))
        row = {name: padded[i].strip() for i, name in enumerate(header)}
        if len(values) > len(header):
            row["__extra__"] = ",".join(values[len(header) :])
        rows.append((reader.line_num, row))
    return header, rows
