"""Which axes go down, which across, and which split the matrix into tables. Pure.

The stored table puts venv axes down and command axes across, which makes a 17-column table
for ``inmemory-sqlite-pool``: too wide for an issue comment. A report may choose any split
(``--rows``/``--cols``); by default the layout that keeps every table within about eight columns
with the fewest rows is chosen, preferring venv axes down and command axes across. Axes that
hold one value (an ``--only`` that fixes them, or a matrix that never varied them) leave the
table for its caption.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from buglab import model
from buglab.errors import UsageError
from buglab.spec import did_you_mean, plan

#: the widest table a comment should hold: label columns plus outcome columns
MAX_COLUMNS = 8
#: an exhaustive search of layouts tries 3**n splits; beyond this many axes it is greedy
SEARCH_AXES = 8

Key = tuple[tuple[str, str], ...]  # (axis, label) pairs, in axis order


@dataclass(frozen=True)
class Layout:
    rows: tuple[str, ...]
    cols: tuple[str, ...]
    tables: tuple[str, ...] = ()  # one table per combination of these axes' labels
    fixed: Key = ()  # axes with a single value: they go into the caption


@dataclass(frozen=True)
class Table:
    caption: Key  # the labels of the layout's table axes for this table
    rows: tuple[Key, ...]
    cols: tuple[Key, ...]
    grid: tuple[tuple[model.CellResult | None, ...], ...]  # one tuple per row, one per column

    @property
    def width(self) -> int:
        return len(self.rows[0]) + len(self.cols) if self.rows else len(self.cols)


def narrow(result: model.MatrixResult, only: Sequence[str]) -> model.MatrixResult:
    """The cells ``--only AXIS=VALUE`` keeps, and only those labels on each axis."""
    selection = plan.Selection.parse(only)
    selection.check(result.labels_by_axis, result.scenario)
    wanted = dict(selection.wanted)
    cells = tuple(c for c in result.cells if all(c.label_map[a] in v for a, v in wanted.items()))
    if not cells:
        raise UsageError(f"--only {' '.join(only)}: no cell of {result.scenario} matches")
    kept = tuple(
        (name, tuple(v for v in values if name not in wanted or v in wanted[name]))
        for name, values in result.axis_labels
    )
    return replace(result, cells=cells, axis_labels=kept)


def parse_axes(text: str | None, result: model.MatrixResult, option: str) -> tuple[str, ...]:
    """``--rows a,b``: known axis names, each once."""
    if text is None:
        return ()
    names = [part.strip() for part in text.split(",") if part.strip()]
    known = [name for name, _ in result.axis_labels]
    for name in names:
        if name not in known:
            raise UsageError(
                f"{option} {text}: no axis {name!r} in {result.scenario} "
                f"({', '.join(known)}){did_you_mean(name, known)}"
            )
    if len(set(names)) != len(names):
        raise UsageError(f"{option} {text}: an axis is named twice")
    return tuple(names)


def choose(
    result: model.MatrixResult,
    rows: Sequence[str] = (),
    cols: Sequence[str] = (),
    width: int = MAX_COLUMNS,
) -> Layout:
    """The layout: the one asked for, completed, or the narrowest with the fewest rows."""
    present = _present_labels(result)
    fixed = tuple((name, labels[0]) for name, labels in present if len(labels) == 1)
    free = [name for name, labels in present if len(labels) > 1]
    both = set(rows) & set(cols)
    if both:
        raise UsageError(f"--rows and --cols both name {sorted(both)[0]!r}")
    rows = [name for name in rows if name in free]
    cols = [name for name in cols if name in free]
    if rows or cols:
        rest = tuple(name for name in free if name not in rows and name not in cols)
        if rows and cols:
            return Layout(tuple(rows), tuple(cols), rest, fixed)
        if rows:
            return Layout(tuple(rows), rest, (), fixed)
        return Layout(rest, tuple(cols), (), fixed)
    venv = set(result.venv_axes)
    if len(free) > SEARCH_AXES:
        return _greedy(result, free, venv, fixed, width)
    best: tuple[tuple[int, ...], Layout] | None = None
    for places in itertools.product("rct", repeat=len(free)):
        layout = Layout(
            tuple(n for n, p in zip(free, places) if p == "r"),
            tuple(n for n, p in zip(free, places) if p == "c"),
            tuple(n for n, p in zip(free, places) if p == "t"),
            fixed,
        )
        cost = _cost(result, layout, venv, width)
        if best is None or cost < best[0]:
            best = (cost, layout)
    assert best is not None
    return best[1]


def _present_labels(result: model.MatrixResult) -> list[tuple[str, tuple[str, ...]]]:
    seen = [{c.label_map[name] for c in result.cells} for name, _ in result.axis_labels]
    return [
        (name, tuple(label for label in labels if label in found))
        for (name, labels), found in zip(result.axis_labels, seen)
    ]


def _cost(
    result: model.MatrixResult, layout: Layout, venv: set[str], width: int
) -> tuple[int, ...]:
    """Too wide is worst; then rows, a penalty per venv axis across (its versions no longer
    sit on one row) and per command axis down, and a header's worth per extra table."""
    tables = build(result, layout)
    widest = max(t.width for t in tables)
    rows = sum(len(t.rows) for t in tables)
    misplaced = 3 * sum(n in venv for n in layout.cols) + sum(n not in venv for n in layout.rows)
    return (max(0, widest - width), rows + misplaced + 3 * (len(tables) - 1))


def _greedy(
    result: model.MatrixResult, free: Sequence[str], venv: set[str], fixed: Key, width: int
) -> Layout:
    """Venv axes down, command axes across; move command axes down until it fits."""
    rows = [n for n in free if n in venv]
    cols = [n for n in free if n not in venv]
    layout = Layout(tuple(rows), tuple(cols), (), fixed)
    while cols and max(t.width for t in build(result, layout)) > width:
        rows.append(cols.pop())
        layout = Layout(tuple(n for n in free if n in rows), tuple(cols), (), fixed)
    return layout


def build(result: model.MatrixResult, layout: Layout) -> tuple[Table, ...]:
    """The tables of ``layout``; rows and columns that hold no cell are left out."""
    order = {
        name: {label: i for i, label in enumerate(labels)} for name, labels in result.axis_labels
    }

    def key(labels: Mapping[str, str], axes: Sequence[str]) -> Key:
        return tuple((name, labels[name]) for name in axes)

    def rank(k: Key) -> tuple[int, ...]:
        return tuple(order[name][label] for name, label in k)

    groups: dict[Key, list[tuple[Key, Key, model.CellResult]]] = {}
    for cell in result.cells:
        labels = cell.label_map
        entry = (key(labels, layout.rows), key(labels, layout.cols), cell)
        groups.setdefault(key(labels, layout.tables), []).append(entry)
    tables = []
    for caption in sorted(groups, key=rank):
        entries = groups[caption]
        rows = sorted({r for r, _, _ in entries}, key=rank)
        cols = sorted({c for _, c, _ in entries}, key=rank)
        at = {(r, c): cell for r, c, cell in entries}
        grid = tuple(tuple(at.get((r, c)) for c in cols) for r in rows)
        tables.append(Table(caption, tuple(rows), tuple(cols), grid))
    return tuple(tables)
