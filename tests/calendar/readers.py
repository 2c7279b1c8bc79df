"""Independent readers of our iCalendar output, reduced to one comparable shape.

- `python_reader`: icalendar + recurring-ical-events, as Python calendar code reads it
  (it knows Europe/London from the system's zone database).
- `vtimezone_reader`: the same, with the TZID renamed so only our own VTIMEZONE rules can
  place the times (a wrong RRULE shows up here).
- `js_reader`: ical.js under Node, the parser web calendars use; it has no zone database,
  so it too can only use our VTIMEZONE.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import icalendar
import pytest
import recurring_ical_events

JS_DIR = Path(__file__).parent / "js"
WINDOW = (datetime(2000, 1, 1), datetime(2100, 1, 1))


def _utc_iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _from_icalendar(body: bytes) -> dict:
    cal = icalendar.Calendar.from_ical(body)
    events = []
    for event in recurring_ical_events.of(cal).between(*WINDOW):
        events.append({
            "uid": str(event["UID"]),
            "sequence": int(event.get("SEQUENCE", 0)),
            "status": str(event.get("STATUS")) if event.get("STATUS") else None,
            "summary": str(event.get("SUMMARY")),
            "start_local": event.start.strftime("%Y-%m-%dT%H:%M:%S"),
            "start_utc": _utc_iso(event.start),
            "end_utc": _utc_iso(event.end),
        })
    return {"uid": str(cal.get("UID")) if cal.get("UID") else None,
            "events": sorted(events, key=lambda e: (e["start_utc"], e["uid"]))}


def python_reader(body: bytes) -> dict:
    """Read with icalendar and recurring-ical-events."""
    return _from_icalendar(body)


def vtimezone_reader(body: bytes) -> dict:
    """Read with the TZID renamed, so the times come from our VTIMEZONE only."""
    renamed = body.replace(b"Europe/London", b"Groupwork-Only-London")
    assert b"Europe/London" not in renamed
    return _from_icalendar(renamed)


def js_available() -> bool:
    return shutil.which("node") is not None and (JS_DIR / "node_modules" / "ical.js").is_dir()


def js_reader(body: bytes) -> dict:
    """Read with ical.js (Node), in a UTC process so a misread zone cannot hide."""
    if not js_available():
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("CI needs node and tests/calendar/js/node_modules (npm ci in tests/calendar/js)")
        pytest.skip("ical.js not installed: run `npm ci --prefix tests/calendar/js`")
    result = subprocess.run(["node", str(JS_DIR / "read-ics.mjs")], input=body, capture_output=True,
                            timeout=30, env={**os.environ, "TZ": "UTC"}, check=False)
    assert result.returncode == 0, result.stderr.decode()
    data = json.loads(result.stdout)
    for event in data["events"]:
        event["start_utc"] = event["start_utc"].replace(".000Z", "Z")
        event["end_utc"] = event["end_utc"].replace(".000Z", "Z")
    data["events"].sort(key=lambda e: (e["start_utc"], e["uid"]))
    return data


def comparable(data: dict) -> list[tuple]:
    """What every reader must agree on, event by event."""
    return [(e["uid"], e["sequence"], e["status"], e["summary"], e["start_local"], e["start_utc"], e["end_utc"])
            for e in data["events"]]


def read_all(body: bytes) -> dict:
    """Read with every reader, assert they agree, and return the ical.js reading (it has the most detail)."""
    py, vtz, js = python_reader(body), vtimezone_reader(body), js_reader(body)
    assert comparable(py) == comparable(vtz), "our VTIMEZONE disagrees with the zone database"
    assert comparable(py) == comparable(js), "ical.js reads the feed differently from icalendar"
    assert py["uid"] == js["uid"]
    return js
