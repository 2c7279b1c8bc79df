"""HTML checks against the Content-Security-Policy: no inline script, no event-handler attributes."""
from __future__ import annotations

from html.parser import HTMLParser


class _Scanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.forms: list[dict] = []
        self._in_script = False
        self._script_has_src = False
        self._script_text = ""
        self._form: dict | None = None
        self._textarea: dict | None = None
        self._select: dict | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, value in attrs:
            if name.lower().startswith("on"):
                self.problems.append(f"<{tag} {name}=...> event-handler attribute")
            if name.lower() in {"href", "src", "action", "formaction"} and (value or "").strip().lower().startswith(
                    "javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:...>")
        if tag == "script":
            self._in_script = True
            self._script_has_src = bool(attributes.get("src"))
            self._script_text = ""
            kind = (attributes.get("type") or "").lower()
            if not self._script_has_src and kind not in {"application/json", "application/ld+json"}:
                self.problems.append("inline <script> without src")
        elif tag == "form":
            self._form = {"method": (attributes.get("method") or "get").lower(), "action": attributes.get("action"),
                          "fields": []}
            self.forms.append(self._form)
        elif self._form is not None and tag in {"input", "textarea", "select", "button"}:
            name = attributes.get("name")
            if name:
                field = {"tag": tag, "name": name, "type": (attributes.get("type") or "text").lower(),
                         "value": attributes.get("value") or "", "options": []}
                if tag == "input" and field["type"] in {"checkbox", "radio"} and "checked" not in attributes:
                    field["unchecked"] = True
                self._form["fields"].append(field)
                if tag == "textarea":
                    self._textarea = field
                if tag == "select":
                    self._select = field
        elif tag == "option" and self._select is not None:
            self._select["options"].append(attributes.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False
        elif tag == "form":
            self._form = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea["value"] += data


def scan(html: str) -> _Scanner:
    scanner = _Scanner()
    scanner.feed(html)
    scanner.close()
    return scanner


def csp_problems(html: str) -> list[str]:
    """What in this page the Content-Security-Policy would block (inline script, on*= handlers)."""
    return scan(html).problems


def forms(html: str) -> list[dict]:
    """The forms of a page: method, action and named fields (tag, type, value, options)."""
    return scan(html).forms
