"""Small-number suppression for what a commissioner sees.

The rule, in three steps:

1. **Primary**: any count from 1 to 4 is hidden and shown as ``<5`` (0 is shown: an empty
   category tells nobody about a person).
2. **Groups**: a table declares which cells add up to which total (a row's attended +
   apologies + did-not-attend + unmarked = expected; the centres' counts = the total row).
   A difference that is never shown but could be worked out (enrolled - started = "did not
   start") is declared as a *virtual* cell: never displayed, but protected like any other
   count when it is 1 to 4.
3. **Secondary**: we then work out, as a careful reader would, the range each hidden count
   could take given everything shown: the shown cells, the totals, the fact that a ``<5``
   is 1 to 4 and that a secondary-suppressed ``[c]`` is 5 or more (a ``[c]`` is never a
   zero or a small count). Ranges are narrowed group by group until nothing changes. While
   any small count could be narrowed to a single value, the smallest shown non-zero cell of
   its group (or, if there is none, the group's total) is hidden as well, shown as ``[c]``.

For a single group this range arithmetic is exact, so no hidden small count can be
worked out from its own row or column; across several groups it is the standard interval
propagation, which catches the usual "row and column together" deductions.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Hashable, Iterable

SMALL = "<5"
SECONDARY = "[c]"
#: counts from 1 to this are hidden
THRESHOLD = 4
INF = math.inf


@dataclass
class _Cell:
    value: int
    shown: bool
    #: None (shown as is), "primary", "secondary" or "virtual" (not displayed, not small)
    state: str | None = None


@dataclass
class Suppressor:
    """Collects cells and the groups they add up in, then decides what to hide."""

    cells: dict[Hashable, _Cell] = field(default_factory=dict)
    groups: list[tuple[Hashable, tuple[Hashable, ...]]] = field(default_factory=list)
    _done: bool = False

    def cell(self, key: Hashable, value: int | None, *, shown: bool = True) -> Hashable:
        """Register a count (the same key twice must carry the same value)."""
        value = int(value or 0)
        existing = self.cells.get(key)
        if existing is not None:
            if existing.value != value:
                raise ValueError(f"cell {key!r} registered with {existing.value} and {value}")
            existing.shown = existing.shown or shown
            return key
        self.cells[key] = _Cell(value, shown)
        self._done = False
        return key

    def group(self, total: Hashable, members: Iterable[Hashable]) -> None:
        """Declare that the members add up to the total (all already registered)."""
        members = tuple(members)
        for key in (total, *members):
            if key not in self.cells:
                raise KeyError(f"cell {key!r} not registered")
        if sum(self.cells[m].value for m in members) != self.cells[total].value:
            raise ValueError(f"group {total!r}: members do not add up to the total")
        self.groups.append((total, members))
        self._done = False

    # -- deciding ---------------------------------------------------------------------

    def _bounds(self) -> dict[Hashable, list[float]]:
        """What a reader can tell about each cell: [lowest, highest]."""
        b: dict[Hashable, list[float]] = {}
        for key, c in self.cells.items():
            if c.state is None:
                b[key] = [c.value, c.value]
            elif c.state == "primary":
                b[key] = [1, THRESHOLD] if c.shown else [0, INF]
            elif c.state == "secondary":
                b[key] = [THRESHOLD + 1, INF]
            else:
                b[key] = [0, INF]
        for _ in range(50):
            changed = False
            for total, members in self.groups:
                lo_sum = sum(b[m][0] for m in members)
                hi_sum = sum(b[m][1] for m in members)
                t = b[total]
                new_t = [max(t[0], lo_sum), min(t[1], hi_sum)]
                if new_t != t:
                    b[total], changed = new_t, True
                for m in members:
                    others_lo = lo_sum - b[m][0]
                    others_hi = _sum_except(b, members, m)
                    lo = max(b[m][0], b[total][0] - others_hi)
                    hi = min(b[m][1], b[total][1] - others_lo)
                    if [lo, hi] != b[m]:
                        b[m], changed = [lo, hi], True
                        lo_sum = sum(b[x][0] for x in members)
            if not changed:
                break
        return b

    def _pinned(self, bounds) -> list[Hashable]:
        return [k for k, c in self.cells.items() if c.state == "primary" and bounds[k][0] >= bounds[k][1]]

    def _hide_one_more(self, key: Hashable, bounds) -> bool:
        """Hide the best extra cell to protect `key`; False if nothing is left to hide.

        The reader pins `key` through a chain of groups whose other hidden cells are pinned too;
        hide the smallest shown non-zero count in one of those groups (the key's own groups
        first), and a total only when no count is left.
        """
        chain = {key} | {k for k, c in self.cells.items() if c.state is not None and bounds[k][0] >= bounds[k][1]}
        groups = [g for g in self.groups if g[0] in chain or any(m in chain for m in g[1])]
        groups.sort(key=lambda g: (not (g[0] == key or key in g[1]),
                                   sum(1 for k in (g[0], *g[1]) if self.cells[k].state is not None)))
        for total, members in groups:
            visible = [m for m in members if self.cells[m].state is None and self.cells[m].value > 0]
            if visible:
                self.cells[min(visible, key=lambda m: self.cells[m].value)].state = "secondary"
                return True
        for total, members in groups:
            if self.cells[total].state is None and self.cells[total].value > 0:
                self.cells[total].state = "secondary"
                return True
        return False

    def run(self) -> "Suppressor":
        """Apply primary and secondary suppression (idempotent)."""
        if self._done:
            return self
        for c in self.cells.values():
            if 1 <= c.value <= THRESHOLD:
                c.state = "primary"
            elif not c.shown:
                c.state = "virtual"
        for _ in range(len(self.cells) + 1):
            bounds = self._bounds()
            pinned = self._pinned(bounds)
            if not pinned or not self._hide_one_more(pinned[0], bounds):
                break
        self._done = True
        return self

    # -- reading ----------------------------------------------------------------------

    def display(self, key: Hashable) -> int | str:
        """The count as a commissioner sees it: the number, "<5" or "[c]"."""
        self.run()
        c = self.cells[key]
        if c.state == "primary":
            return SMALL
        if c.state == "secondary":
            return SECONDARY
        return c.value

    def is_hidden(self, key: Hashable) -> bool:
        """True when the count is not shown as a number."""
        self.run()
        return self.cells[key].state is not None


def _sum_except(b: dict, members: tuple, skip: Hashable) -> float:
    return sum(b[m][1] for m in members if m != skip)


def suppress_simple(value: int | None) -> int | str:
    """One count on its own (no total it adds up to): 1 to 4 becomes "<5"."""
    value = int(value or 0)
    return SMALL if 1 <= value <= THRESHOLD else value


# ---------------------------------------------------------------------------------------
# The reports as a commissioner sees them
# ---------------------------------------------------------------------------------------

MARK_PARTS = ("attended", "apologies", "absent", "unmarked")
PEOPLE_COUNTS = ("expected", *MARK_PARTS, "places_filled", "started", "completion_eligible", "completed")


def _share(sup: Suppressor, num, den) -> float | None:
    if sup.is_hidden(num) or sup.is_hidden(den) or not sup.cells[den].value:
        return None
    return round(sup.cells[num].value / sup.cells[den].value, 4)


def attendance_tables(report, *, suppress: bool) -> dict[str, Any]:
    """The attendance report as display rows (dicts); with suppress, small numbers are hidden.

    Commissioners get no cohort rows: a cohort is a handful of named families.
    """
    if not suppress:
        out = {name: [r.as_dict() for r in getattr(report, name)]
               for name in ("programmes", "centres", "cohorts", "weeks", "months")}
        out["total"] = report.total.as_dict()
        return out

    sup = Suppressor()
    tables = {"programmes": report.programmes, "centres": report.centres, "weeks": report.weeks,
              "months": report.months}

    def register(row, with_places: bool) -> None:
        k = row.key if row.key != "total" else "total"
        counts = PEOPLE_COUNTS if with_places else ("expected", *MARK_PARTS)
        for name in counts:
            sup.cell((k, name), getattr(row, name))
        sup.group((k, "expected"), [(k, n) for n in MARK_PARTS])
        if with_places:
            sup.cell((k, "not_started"), row.places_filled - row.started, shown=False)
            sup.cell((k, "not_completed"), row.completion_eligible - row.completed, shown=False)
            sup.group((k, "places_filled"), [(k, "started"), (k, "not_started")])
            sup.group((k, "completion_eligible"), [(k, "completed"), (k, "not_completed")])

    register(report.total, True)
    for name, rows in tables.items():
        with_places = name in ("programmes", "centres")
        for row in rows:
            register(row, with_places)
        if rows:
            columns = (*PEOPLE_COUNTS, "not_started", "not_completed") if with_places else ("expected", *MARK_PARTS)
            for col in columns:
                sup.group(("total", col), [(r.key, col) for r in rows])
    sup.run()

    def shown(row) -> dict[str, Any]:
        k = row.key
        out = {"key": row.key, "label": row.label, "sessions_held": row.sessions_held,
               "places_offered": row.places_offered}
        out.update({f: row.extra[f] for f in ("programme", "centre_id") if f in row.extra})
        for name in PEOPLE_COUNTS:
            out[name] = sup.display((k, name)) if (k, name) in sup.cells else None
        for name in MARK_PARTS:
            out[f"{name}_share"] = _share(sup, (k, name), (k, "expected"))
        out["completion_rate"] = (_share(sup, (k, "completed"), (k, "completion_eligible"))
                                  if (k, "completed") in sup.cells else None)
        return out

    out = {name: [shown(r) for r in rows] for name, rows in tables.items()}
    out["cohorts"] = []
    out["total"] = shown(report.total)
    return out


def reach_tables(report, *, suppress: bool) -> dict[str, Any]:
    """The reach report as display values; with suppress, small numbers are hidden."""
    if not suppress:
        return {"families": report.families, "started": report.started, "referrals": report.referrals,
                "referrals_started": report.referrals_started, "dimensions": report.dimensions,
                "waiting_now": report.waiting_now, "waits": report.waits,
                "median_wait_days": report.median_wait_days}
    sup = Suppressor()
    for total, enrolled, started in (("families", report.families, report.started),
                                     ("referrals", report.referrals, report.referrals_started)):
        sup.cell((total, "enrolled"), enrolled)
        sup.cell((total, "started"), started)
        sup.cell((total, "not_started"), enrolled - started, shown=False)
        sup.group((total, "enrolled"), [(total, "started"), (total, "not_started")])
    for dim, rows in report.dimensions.items():
        total = "referrals" if dim == "referral_source" else "families"
        for r in rows:
            k = (dim, r["key"])
            sup.cell((k, "enrolled"), r["enrolled"])
            sup.cell((k, "started"), r["started"])
            sup.cell((k, "not_started"), r["enrolled"] - r["started"], shown=False)
            sup.group((k, "enrolled"), [(k, "started"), (k, "not_started")])
        if rows:
            for col in ("enrolled", "started", "not_started"):
                sup.group((total, col), [((dim, r["key"]), col) for r in rows])
    sup.run()
    dims = {dim: [{"key": r["key"], "label": r["label"], "enrolled": sup.display(((dim, r["key"]), "enrolled")),
                   "started": sup.display(((dim, r["key"]), "started"))} for r in rows]
            for dim, rows in report.dimensions.items()}
    waits = suppress_simple(report.waits)
    return {"families": sup.display(("families", "enrolled")), "started": sup.display(("families", "started")),
            "referrals": sup.display(("referrals", "enrolled")),
            "referrals_started": sup.display(("referrals", "started")), "dimensions": dims,
            "waiting_now": suppress_simple(report.waiting_now), "waits": waits,
            "median_wait_days": report.median_wait_days if isinstance(waits, int) and waits > THRESHOLD else None}


def outcome_rows(report, *, suppress: bool) -> list[dict]:
    """Outcome rows for display; with suppress, small counts and the means of fewer than 5 pairs are hidden."""
    if not suppress:
        return [dict(r) for r in report.rows]
    sup = Suppressor()
    for r in report.rows:
        parents = (r["programme"], "parents")
        sup.cell(parents, r["parents"])
        sup.cell((r["programme"], r["measure"], "pairs"), r["pairs"])
        sup.cell((r["programme"], r["measure"], "no_pair"), r["no_pair"])
        sup.group(parents, [(r["programme"], r["measure"], "pairs"), (r["programme"], r["measure"], "no_pair")])
    sup.run()
    out = []
    for r in report.rows:
        row = dict(r)
        pairs_key = (r["programme"], r["measure"], "pairs")
        row["parents"] = sup.display((r["programme"], "parents"))
        row["pairs"] = sup.display(pairs_key)
        row["no_pair"] = sup.display((r["programme"], r["measure"], "no_pair"))
        if sup.is_hidden(pairs_key):
            row["mean_first"] = row["mean_last"] = row["mean_change"] = None
        out.append(row)
    return out
