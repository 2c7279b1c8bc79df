"""Every HTML form, found by walking every page as an admin, gets hostile input.

For each POST form: every field empty, 10,000 characters, the wrong type, and a script tag.
The answer is a field error (the form again, everything typed kept) or a success (a
redirect), never a 5xx, and the script never comes back unescaped, neither in the answer
nor on the page a success redirects to.
"""
from __future__ import annotations

import html

from tests.conftest import TEST_PASSWORD
from tests.security.htmlcheck import forms
from tests.security.world import build_world, fill

SCRIPT = "<script>alert(1)</script>"
VARIANTS = {
    "empty": "",
    "oversized": "x" * 10_000,
    "wrong_type": "not a number or date ½ 😀",
    "script": SCRIPT,
}
TEXT_TYPES = {"text", "email", "search", "tel", "url", "number", "date", "time", "datetime-local"}
SKIP_ACTIONS = {"/logout"}


def _signed_in(app, user):
    client = app.test_client()
    assert client.post("/login", data={"email": user.email, "password": TEST_PASSWORD}).status_code == 302
    return client


def _collect_forms(app, client, ids) -> list[tuple[str, dict]]:
    found: dict[tuple, tuple[str, dict]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods or rule.endpoint == "static" or rule.rule.startswith("/api/"):
            continue
        path = fill(rule, ids)
        try:
            response = client.get(path)
        except Exception:  # noqa: BLE001 - a crashing page is the role matrix's finding
            continue
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        for form in forms(response.get_data(as_text=True)):
            if form["method"] != "post":
                continue
            action = form["action"] or path
            if action in SKIP_ACTIONS:
                continue
            key = (action, tuple(sorted(f["name"] for f in form["fields"])))
            found.setdefault(key, (action, form))
    return list(found.values())


def _data(form: dict, variant: str) -> dict[str, list[str]]:
    """One value per input, as a browser sends them (a date is three inputs with one name)."""
    value = VARIANTS[variant]
    data: dict[str, list[str]] = {}
    for field in form["fields"]:
        name, kind = field["name"], field["type"]
        if name == "csrf_token" or field["tag"] == "button" or kind in {"submit", "button", "file"}:
            continue
        if kind == "hidden":
            data.setdefault(name, []).append("abc" if variant == "wrong_type" else field["value"])
        elif kind in {"checkbox", "radio"}:
            if variant != "empty" and name not in data:
                data[name] = [value if variant != "oversized" else "y" * 10_000]
        elif field["tag"] == "select":
            data.setdefault(name, []).append(value if variant != "wrong_type" else "not-an-option")
        else:
            data.setdefault(name, []).append(value)
    return data


def _typed_fields(form: dict) -> list[str]:
    return [f["name"] for f in form["fields"]
            if (f["tag"] == "textarea" or (f["tag"] == "input" and f["type"] in TEXT_TYPES))
            and f["name"] != "csrf_token"]


def test_every_form_survives_hostile_input(app, db, clock):
    world = build_world(db.session)
    admin = world.users["admin"]
    browser = _signed_in(app, admin)
    collected = _collect_forms(app, browser, world.ids)
    assert any(action == "/login" for action, _ in collected) or collected, "no forms were found"
    problems: list[str] = []
    posted = 0
    for action, form in collected:
        for variant in VARIANTS:
            client = _signed_in(app, admin)
            data = _data(form, variant)
            where = f"{variant} POST {action}"
            try:
                response = client.post(action, data=data)
            except Exception as exc:  # noqa: BLE001 - TESTING propagates exceptions: that is a 500
                problems.append(f"{where}: crashed with {type(exc).__name__}: {exc}")
                continue
            posted += 1
            body = response.get_data(as_text=True)
            if response.status_code >= 500:
                problems.append(f"{where}: {response.status_code}")
                continue
            if SCRIPT in body:
                problems.append(f"{where}: the script came back unescaped")
            if response.status_code in (301, 302, 303):
                location = response.headers["Location"]
                if location.startswith("/") and not location.startswith("//"):
                    shown = client.get(location)
                    if shown.status_code >= 500:
                        problems.append(f"{where}: the page after success ({location}) answers {shown.status_code}")
                    elif SCRIPT in shown.get_data(as_text=True):
                        problems.append(f"{where}: the script is shown unescaped on {location}")
                continue
            if variant == "empty" or response.mimetype != "text/html":
                continue
            # a form shown again keeps what was typed in every text field it still has
            for name in _typed_fields(form):
                if f'name="{name}"' not in body or name not in data:
                    continue
                typed = data[name][0]
                escaped = html.escape(typed, quote=True)
                if escaped not in body and typed not in body:
                    problems.append(f"{where}: field {name!r} did not keep what was typed "
                                    f"(status {response.status_code})")
    assert posted, "no form was posted"
    assert not problems, f"{len(problems)} problems in {len(collected)} forms:\n" + "\n".join(problems)


def test_a_date_posted_in_the_wrong_number_of_parts_is_not_a_server_error(app, db, clock):
    """A GOV.UK date is three inputs with one name; a crafted request may send one, or four."""
    world = build_world(db.session)
    admin = world.users["admin"]
    collected = _collect_forms(app, _signed_in(app, admin), world.ids)
    problems = []
    for action, form in collected:
        names = [f["name"] for f in form["fields"]]
        dates = {n for n in names if names.count(n) == 3}
        if not dates:
            continue
        for parts in (["1"], ["1", "2", "2026", "9"]):
            data = {k: v for k, v in _data(form, "empty").items() if k not in dates}
            data.update({n: parts for n in dates})
            try:
                status = _signed_in(app, admin).post(action, data=data).status_code
            except Exception as exc:  # noqa: BLE001
                problems.append(f"POST {action} with {len(parts)} part(s) for {sorted(dates)}: "
                                f"{type(exc).__name__}: {exc}")
                continue
            if status >= 500:
                problems.append(f"POST {action} with {len(parts)} part(s): {status}")
    assert not problems, "\n".join(problems)
