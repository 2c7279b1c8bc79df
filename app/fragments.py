"""Rendered HTML fragments kept per process, keyed by everything they show.

A tablet refreshes its register after every tap, and most rows have not changed since the
last time: the row's HTML is looked up by a key made of all the values it shows (so a change
to any of them is a different key, never a stale page), and rendered only on a miss. The
cache is a bounded LRU; a per-request value such as the CSRF token is left out of the cached
text as a placeholder and put in on the way out.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable, Hashable

from markupsafe import Markup

#: stands for the request's CSRF token in cached text; user data can never produce it, because
#: "<" is escaped in anything a template prints
CSRF_PLACEHOLDER = Markup("<csrf-token>")


class FragmentCache:
    """A bounded, thread-safe LRU of rendered fragments."""

    def __init__(self, max_entries: int = 4096):
        self.max_entries = max_entries
        self._items: OrderedDict[Hashable, str] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get_or_render(self, key: Hashable, render: Callable[[], str]) -> str:
        with self._lock:
            text = self._items.get(key)
            if text is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return text
        text = str(render())
        with self._lock:
            self.misses += 1
            self._items[key] = text
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)
        return text

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


def with_csrf(text: str, token: str) -> Markup:
    """Cached text with the request's CSRF token put in."""
    return Markup(text.replace(CSRF_PLACEHOLDER, token))
