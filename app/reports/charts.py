"""Charts drawn on the server as SVG: readable without colour (patterns and text labels), with a title
and description for screen readers, and no scripts or inline styles (the CSP forbids them).

Each function takes display rows (numbers, or "<5" / "[c]" where a commissioner's figure is hidden)
and returns Markup to put straight into a page.
"""
from __future__ import annotations

import itertools
from typing import Any, Sequence

from markupsafe import Markup, escape

FONT = "system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif"
TEXT = "#0b0c0c"
_ids = itertools.count(1)

#: mark -> (legend text, fill, pattern id suffix); patterns let the parts be told apart in grey print
SEGMENTS = (
    ("attended", "Attended", "#1d70b8", None),
    ("apologies", "Apologies", "#ffffff", "hatch"),
    ("absent", "Did not attend", "#ffffff", "dots"),
    ("unmarked", "Not marked", "#ffffff", "grid"),
)


def _pct(share: float | None) -> str:
    return "hidden" if share is None else f"{round(share * 100)}%"


def _defs(uid: str) -> str:
    """Fill patterns: diagonal hatching, dots and a grid, all in dark ink."""
    return (
        f'<defs>'
        f'<pattern id="{uid}-hatch" width="8" height="8" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="8" height="8" fill="#ffffff"/>'
        f'<line x1="0" y1="0" x2="0" y2="8" stroke="#1d70b8" stroke-width="4"/></pattern>'
        f'<pattern id="{uid}-dots" width="6" height="6" patternUnits="userSpaceOnUse">'
        f'<rect width="6" height="6" fill="#ffffff"/><circle cx="3" cy="3" r="1.6" fill="#d4351c"/></pattern>'
        f'<pattern id="{uid}-grid" width="6" height="6" patternUnits="userSpaceOnUse">'
        f'<rect width="6" height="6" fill="#f3f2f1"/><path d="M0 0H6M0 0V6" stroke="#505a5f" stroke-width="0.8"/>'
        f'</pattern></defs>'
    )


def _fill(uid: str, fill: str, pattern: str | None) -> str:
    return f"url(#{uid}-{pattern})" if pattern else fill


def _open(uid: str, width: int, height: int, title: str, desc: str, css_class: str) -> str:
    return (f'<svg class="app-chart {css_class}" role="img" aria-labelledby="{uid}-title {uid}-desc" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" preserveAspectRatio="xMinYMin meet" '
            f'font-family="{FONT}" xmlns="http://www.w3.org/2000/svg">'
            f'<title id="{uid}-title">{escape(title)}</title><desc id="{uid}-desc">{escape(desc)}</desc>')


def attendance_by_week(rows: Sequence[dict[str, Any]], *, title: str = "Attendance by week of the programme") -> Markup:
    """One 100% bar per week: attended, apologies, did not attend and not marked, each labelled."""
    uid = f"chart{next(_ids)}"
    label_w, bar_w, row_h, top = 90, 520, 58, 70
    width, height = label_w + bar_w + 20, top + row_h * max(len(rows), 1) + 10
    parts = [_open(uid, width, height, title, _week_desc(rows), "app-chart--weeks"), _defs(uid)]
    parts.append(_legend(uid, 0, 18))
    if not rows:
        parts.append(f'<text x="0" y="{top + 20}" font-size="16" fill="{TEXT}">No sessions held in this period</text>')
    for i, row in enumerate(rows):
        y = top + i * row_h
        parts.append(f'<text x="0" y="{y + 20}" font-size="16" fill="{TEXT}">{escape(row["label"])}</text>')
        x = label_w
        shares = [row.get(f"{key}_share") for key, *_ in SEGMENTS]
        if all(s is None for s in shares):
            parts.append(f'<rect x="{x}" y="{y + 4}" width="{bar_w}" height="24" fill="#ffffff" stroke="#505a5f"/>'
                         f'<text x="{x + 8}" y="{y + 21}" font-size="14" fill="{TEXT}">Hidden: small numbers</text>')
            continue
        for (key, text, fill, pattern), share in zip(SEGMENTS, shares):
            w = round(bar_w * (share or 0), 1)
            if w <= 0:
                continue
            parts.append(f'<rect x="{x}" y="{y + 4}" width="{w}" height="24" fill="{_fill(uid, fill, pattern)}" '
                         f'stroke="#0b0c0c" stroke-width="0.5"><title>{escape(text)} {_pct(share)}</title></rect>')
            if key == "attended" and w >= 44:
                parts.append(f'<text x="{x + 6}" y="{y + 21}" font-size="14" font-weight="bold" '
                             f'fill="#ffffff">{_pct(share)}</text>')
            x += w
        detail = " · ".join(f"{text} {_pct(share)}" for (key, text, *_), share in zip(SEGMENTS, shares)
                            if share is not None and (key == "attended" or share > 0))
        parts.append(f'<text x="{label_w}" y="{y + 46}" font-size="13" fill="{TEXT}">{escape(detail)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _week_desc(rows) -> str:
    if not rows:
        return "No sessions were held in this period."
    return "; ".join(f"{r['label']}: attended {_pct(r.get('attended_share'))}, apologies "
                     f"{_pct(r.get('apologies_share'))}, did not attend {_pct(r.get('absent_share'))}"
                     for r in rows) + "."


def _legend(uid: str, x: int, y: int) -> str:
    out = []
    for key, text, fill, pattern in SEGMENTS:
        out.append(f'<rect x="{x}" y="{y}" width="18" height="18" fill="{_fill(uid, fill, pattern)}" '
                   f'stroke="#0b0c0c"/><text x="{x + 24}" y="{y + 14}" font-size="14" fill="{TEXT}">{text}</text>')
        x += 34 + len(text) * 8
    return "".join(out)


def families_by_ward(rows: Sequence[dict[str, Any]], *, title: str = "Families reached by ward") -> Markup:
    """Horizontal bars of families per ward, each with its number written at the end."""
    uid = f"chart{next(_ids)}"
    label_w, bar_w, row_h, top = 200, 360, 34, 10
    width, height = label_w + bar_w + 70, top + row_h * max(len(rows), 1) + 10
    values = [r["enrolled"] for r in rows if isinstance(r["enrolled"], int)]
    biggest = max(values, default=0) or 1
    desc = ("; ".join(f"{r['label']}: {r['enrolled']}" for r in rows) + ".") if rows else "No families in this period."
    parts = [_open(uid, width, height, title, desc, "app-chart--wards"), _defs(uid)]
    if not rows:
        parts.append(f'<text x="0" y="{top + 20}" font-size="16" fill="{TEXT}">No families in this period</text>')
    for i, row in enumerate(rows):
        y = top + i * row_h
        parts.append(f'<text x="{label_w - 8}" y="{y + 19}" font-size="15" text-anchor="end" '
                     f'fill="{TEXT}">{escape(_clip(row["label"], 26))}</text>')
        value = row["enrolled"]
        if isinstance(value, int):
            w = round(bar_w * value / biggest, 1)
            if w > 0:
                parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{w}" height="22" fill="#1d70b8"/>')
            parts.append(f'<text x="{label_w + w + 6}" y="{y + 20}" font-size="15" font-weight="bold" '
                         f'fill="{TEXT}">{value}</text>')
        else:
            parts.append(f'<rect x="{label_w}" y="{y + 4}" width="16" height="22" fill="url(#{uid}-hatch)" '
                         f'stroke="#0b0c0c" stroke-width="0.5"/><text x="{label_w + 22}" y="{y + 20}" font-size="15" '
                         f'font-weight="bold" fill="{TEXT}">{escape(value)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def trend_by_month(rows: Sequence[dict[str, Any]], *, title: str = "Share of expected attendances attended, by month",
                   limit: int = 24) -> Markup:
    """Vertical bars of the attended share per month (the last `limit` months), each labelled."""
    uid = f"chart{next(_ids)}"
    shown = list(rows)[-limit:]
    col_w, plot_h, top, left = 48, 200, 24, 40
    # With no months, room for the "No sessions held" line instead of one empty column.
    width, height = left + col_w * (len(shown) or 4) + 10, top + plot_h + 50
    desc = ("; ".join(f"{r['label']}: {_pct(r.get('attended_share'))} attended" for r in shown) + "."
            if shown else "No sessions were held in this period.")
    if len(rows) > limit:
        desc = f"The last {limit} of {len(rows)} months. " + desc
    parts = [_open(uid, width, height, title, desc, "app-chart--months")]
    base = top + plot_h
    for pct in (0, 50, 100):
        y = base - plot_h * pct / 100
        parts.append(f'<line x1="{left}" y1="{y}" x2="{width - 10}" y2="{y}" stroke="#b1b4b6" stroke-width="1"/>'
                     f'<text x="{left - 6}" y="{y + 5}" font-size="12" text-anchor="end" fill="{TEXT}">{pct}%</text>')
    if not shown:
        parts.append(f'<text x="{left + 8}" y="{base - 20}" font-size="16" fill="{TEXT}">No sessions held</text>')
    for i, row in enumerate(shown):
        x = left + i * col_w + 6
        share = row.get("attended_share")
        if share is not None:
            h = round(plot_h * share, 1)
            parts.append(f'<rect x="{x}" y="{base - h}" width="{col_w - 12}" height="{h}" fill="#1d70b8"/>')
        label_y = base - (plot_h * share if share is not None else 0) - 6
        parts.append(f'<text x="{x + (col_w - 12) / 2}" y="{label_y}" font-size="12" text-anchor="middle" '
                     f'font-weight="bold" fill="{TEXT}">{_pct(share) if share is not None else "[c]"}</text>')
        month, year = (row["label"].split(" ") + [""])[:2]
        parts.append(f'<text x="{x + (col_w - 12) / 2}" y="{base + 18}" font-size="12" text-anchor="middle" '
                     f'fill="{TEXT}">{escape(month)}</text><text x="{x + (col_w - 12) / 2}" y="{base + 34}" '
                     f'font-size="11" text-anchor="middle" fill="{TEXT}">{escape(year)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
