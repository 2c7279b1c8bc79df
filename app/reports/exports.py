"""CSV exports: UTF-8 with a byte-order mark (so Excel reads the accents), a header row, one row per
record, ISO 8601 dates. Text that a spreadsheet would run as a formula is quoted with a leading '.
"""
from __future__ import annotations

import csv
import io
from typing import Any, Iterable, Sequence

from flask import Response

from app.parents.choices import DEMOGRAPHIC_FIELDS
from app.timeutil import to_london

BOM = "\ufeff"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

ATTENDANCE_COLUMNS = ["period_start", "period_end", "level", "key", "label", "cohort_start_date", "sessions_held",
                      "places_offered", "places_filled", "expected", "attended", "apologies", "absent", "unmarked",
                      "attended_share", "apologies_share", "absent_share", "unmarked_share", "started",
                      "completion_eligible", "completed", "completion_rate"]
REACH_COLUMNS = ["period_start", "period_end", "dimension", "category_key", "category", "enrolled", "started"]
DATA_QUALITY_COLUMNS = ["period_start", "period_end", "grouping", "group", "field", "parents", "answered",
                        "prefer_not_to_say", "not_asked", "answered_share"]
OUTCOME_COLUMNS = ["period_start", "period_end", "programme", "measure", "measure_name", "min", "max", "parents",
                   "pairs", "no_pair", "mean_first", "mean_last", "mean_change"]


def _safe(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_text(header: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    """The CSV document, starting with the BOM."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.DictWriter(out, fieldnames=list(header), extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _safe(row.get(k)) for k in header})
    return out.getvalue()


def csv_response(filename: str, header: Sequence[str], rows: Iterable[dict[str, Any]]) -> Response:
    """A CSV download."""
    response = Response(csv_text(header, rows).encode("utf-8"), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _period(f) -> dict[str, str]:
    return {"period_start": f.start.isoformat(), "period_end": f.end.isoformat()}


def attendance_rows(f, tables: dict) -> Iterable[dict]:
    """Rows of the attendance CSV: the total, then programmes, centres, cohorts, weeks and months."""
    period = _period(f)
    levels = (("total", [tables["total"]]), ("programme", tables["programmes"]), ("centre", tables["centres"]),
              ("cohort", tables["cohorts"]), ("week", tables["weeks"]), ("month", tables["months"]))
    for level, rows in levels:
        for row in rows:
            yield {**period, "level": level, "cohort_start_date": row.get("start_date"), **row}


def reach_rows(f, tables: dict, titles: dict) -> Iterable[dict]:
    """Rows of the reach CSV: one per category of each dimension, then the totals."""
    period = _period(f)
    for dim, rows in tables["dimensions"].items():
        for row in rows:
            yield {**period, "dimension": dim, "category_key": row["key"], "category": row["label"],
                   "enrolled": row["enrolled"], "started": row["started"]}
    yield {**period, "dimension": "total", "category_key": "families", "category": "All families",
           "enrolled": tables["families"], "started": tables["started"]}
    yield {**period, "dimension": "total", "category_key": "referrals", "category": "All referrals",
           "enrolled": tables["referrals"], "started": tables["referrals_started"]}


def data_quality_rows(report, titles: dict) -> Iterable[dict]:
    """Rows of the data-quality CSV: one per group and demographic field."""
    period = _period(report.filter)
    groups = [("total", [report.total])] + list(report.groupings.items())
    for grouping, rows in groups:
        for row in rows:
            for name in DEMOGRAPHIC_FIELDS:
                cell = row[name]
                yield {**period, "grouping": grouping, "group": row["label"], "field": name,
                       "parents": row["parents"], **cell,
                       "answered_share": round(cell["answered"] / row["parents"], 4) if row["parents"] else None}


def outcome_rows(f, rows: list[dict]) -> Iterable[dict]:
    """Rows of the outcomes CSV: one per programme and measure."""
    period = _period(f)
    for row in rows:
        yield {**period, "measure_name": row["name"], **row}


def register_columns(grid) -> list[str]:
    return (["name", "enrolment_status"]
            + [f"week_{s.number}_{to_london(s.starts_at).date().isoformat()}" for s in grid.sessions] + ["attended"])


def register_rows(grid) -> Iterable[dict]:
    header = register_columns(grid)
    for row in grid.rows:
        out = {"name": row["name"], "enrolment_status": row["status"], "attended": row["attended"]}
        for column, mark in zip(header[2:-1], row["marks"]):
            out[column] = mark or ""
        yield out
