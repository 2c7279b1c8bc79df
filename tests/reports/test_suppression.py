"""Small-number suppression: primary (<5), secondary ([c]) and a brute-force check that no hidden
small number can be worked out from what is shown."""
import itertools
import random

import pytest

from app.reports.suppression import SECONDARY, SMALL, Suppressor, suppress_simple


def row(values, total=None):
    """One group: cells a, b, c... adding up to a total."""
    sup = Suppressor()
    keys = [sup.cell(f"c{i}", v) for i, v in enumerate(values)]
    sup.cell("total", sum(values) if total is None else total)
    sup.group("total", keys)
    return sup, keys


def test_counts_from_1_to_4_are_shown_as_under_5_and_zero_is_shown():
    assert [suppress_simple(v) for v in (0, 1, 2, 3, 4, 5, 17)] == [0, SMALL, SMALL, SMALL, SMALL, 5, 17]


def test_nothing_is_hidden_when_no_count_is_small():
    sup, keys = row([20, 0, 6, 9])
    assert [sup.display(k) for k in keys] + [sup.display("total")] == [20, 0, 6, 9, 35]


def test_one_small_count_in_a_row_hides_the_next_smallest_too():
    # attended 20, apologies 3, did not attend 6, unmarked 0; total 29
    sup, keys = row([20, 3, 6, 0])
    assert [sup.display(k) for k in keys] == [20, SMALL, SECONDARY, 0]
    assert sup.display("total") == 29


def test_a_secondary_that_would_still_pin_the_small_count_is_not_enough():
    # 1 + 5 = 6 hidden: a [c] is at least 5, so the <5 could only be 1; a third cell must go
    sup, keys = row([6, 1, 5])
    assert [sup.display(k) for k in keys] == [SECONDARY, SMALL, SECONDARY]


def test_two_small_counts_that_add_up_to_a_telling_sum_hide_a_third():
    # two hidden <5 adding up to 2 can only be 1 and 1
    sup, keys = row([9, 1, 1])
    assert [sup.display(k) for k in keys] == [SECONDARY, SMALL, SMALL]
    sup, keys = row([9, 2, 3])  # 5 could be 1+4, 2+3, ...: enough
    assert [sup.display(k) for k in keys] == [9, SMALL, SMALL]


def test_a_difference_that_is_never_shown_is_protected_too():
    # places filled 10, started 7: "3 did not start" could be worked out
    sup = Suppressor()
    sup.cell("filled", 10)
    sup.cell("started", 7)
    sup.cell("not_started", 3, shown=False)
    sup.group("filled", ["started", "not_started"])
    assert (sup.display("filled"), sup.display("started")) == (10, SECONDARY)


def test_inconsistent_groups_are_refused():
    sup = Suppressor()
    sup.cell("a", 2)
    sup.cell("t", 5)
    with pytest.raises(ValueError):
        sup.group("t", ["a"])


def _known(sup):
    """What a reader sees: {key: value} for shown numbers, and the kind of each hidden cell."""
    shown, hidden = {}, {}
    for key, cell in sup.cells.items():
        if not cell.shown:
            hidden[key] = "virtual"
        elif sup.is_hidden(key):
            hidden[key] = sup.display(key)
        else:
            shown[key] = sup.display(key)
    return shown, hidden


def _pinned_by_brute_force(sup, limit):
    """Every small count a reader could work out exactly, trying every consistent value of the hidden cells."""
    shown, hidden = _known(sup)
    keys = list(hidden)
    ranges = []
    for k in keys:
        if hidden[k] == SMALL:
            ranges.append(range(1, 5))
        elif hidden[k] == SECONDARY:
            ranges.append(range(5, limit + 1))
        else:
            ranges.append(range(0, limit + 1))
    possible = {k: set() for k in keys}
    for combo in itertools.product(*ranges):
        values = {**shown, **dict(zip(keys, combo))}
        if all(sum(values[m] for m in members) == values[total] for total, members in sup.groups):
            for k, v in zip(keys, combo):
                possible[k].add(v)
    return [k for k in keys if 1 <= sup.cells[k].value <= 4 and len(possible[k]) < 2]


@pytest.mark.parametrize("seed", range(60))
def test_no_small_count_can_be_worked_out_from_one_row(seed):
    rnd = random.Random(seed)
    values = [rnd.choice([0, 1, 2, 3, 4, 5, 6, 7, 9, 12]) for _ in range(rnd.randint(2, 4))]
    sup, _ = row(values)
    sup.run()
    assert _pinned_by_brute_force(sup, sum(values) + 4) == [], values


def _grid_pinned_by_brute_force(sup, grid):
    """The same check for a 2x2 table with totals: try every value of the hidden inner cells."""
    shown, hidden = _known(sup)
    limit = sum(map(sum, grid)) + 4  # a reader does not know the total when it is hidden
    inner = [(r, c) for r in range(2) for c in range(2)]

    def allowed(key, value):
        if key in shown:
            return shown[key] == value
        return 1 <= value <= 4 if hidden[key] == SMALL else value >= 5

    choices = [[shown[k]] if k in shown else [v for v in range(limit + 1) if allowed(k, v)] for k in inner]
    possible = {k: set() for k in inner}
    for combo in itertools.product(*choices):
        v = dict(zip(inner, combo))
        totals = {(0, "t"): v[0, 0] + v[0, 1], (1, "t"): v[1, 0] + v[1, 1],
                  ("t", 0): v[0, 0] + v[1, 0], ("t", 1): v[0, 1] + v[1, 1]}
        totals[("t", "t")] = sum(combo)
        if all(allowed(k, t) for k, t in totals.items()):
            for k in inner:
                possible[k].add(v[k])
    return [k for k in inner if 1 <= sup.cells[k].value <= 4 and len(possible[k]) < 2]


@pytest.mark.parametrize("seed", range(40))
def test_no_small_count_can_be_worked_out_from_a_table_with_row_and_column_totals(seed):
    rnd = random.Random(1000 + seed)
    grid = [[rnd.choice([0, 1, 2, 3, 5, 6, 8]) for _ in range(2)] for _ in range(2)]
    sup = Suppressor()
    for r, cells in enumerate(grid):
        for c, v in enumerate(cells):
            sup.cell((r, c), v)
        sup.cell((r, "t"), sum(cells))
        sup.group((r, "t"), [(r, c) for c in range(2)])
    for c in range(2):
        sup.cell(("t", c), sum(grid[r][c] for r in range(2)))
        sup.group(("t", c), [(r, c) for r in range(2)])
    sup.cell(("t", "t"), sum(map(sum, grid)))
    sup.group(("t", "t"), [(r, "t") for r in range(2)])
    sup.group(("t", "t"), [("t", c) for c in range(2)])
    sup.run()
    assert _grid_pinned_by_brute_force(sup, grid) == [], grid
