"""What a results file says beside the outcomes: versions, environment, representative cells.

Pure: the report, the HTML page and the export all read these off a :class:`MatrixResult`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from packaging.utils import canonicalize_name

from buglab import model
from buglab.env import cutoff

#: outcome classes in the order a reader wants them: the bug first, then the contrast
CLASS_ORDER = (
    model.Outcome.REPRODUCED,
    model.Outcome.PASSED,
    model.Outcome.FAILED,
    model.Outcome.TIMEOUT,
    model.Outcome.FLAKY,
    model.Outcome.ENV_ERROR,
    model.Outcome.UNAVAILABLE,
    model.Outcome.NOT_RUN,
)
#: axes whose later labels are the newer ones: a representative cell prefers those
NEWER_LAST = {model.AxisKind.DATE.value, model.AxisKind.VERSION.value, model.AxisKind.PYTHON.value}
#: installed by ``python -m venv`` itself; never pinned
SEEDED = {"pip"}


@dataclass(frozen=True)
class VersionRow:
    key: tuple[tuple[str, str], ...]  # the venv axes that decide the versions
    versions: tuple[tuple[str, str], ...]  # (package, version) of the packages that vary
    note: str = ""  # why there are none: the venv could not be built


@dataclass(frozen=True)
class Versions:
    """Shown packages split into those every venv agrees on and those that vary."""

    same: tuple[tuple[str, str], ...]
    varying: tuple[str, ...]
    key: tuple[str, ...]
    rows: tuple[VersionRow, ...]


def shown_packages(result: model.MatrixResult) -> list[str]:
    names = result.meta_map.get("shown_packages", "")
    return ["python", *(n for n in names.split(",") if n)]


def versions(result: model.MatrixResult) -> Versions:
    """Which versions differ between venvs, and the fewest venv axes that decide them.

    A package missing from some venvs (the project, where it is not installed) counts as the
    same when every venv that has it agrees.
    """
    built = [c for c in result.cells if c.resolved]
    packages = shown_packages(result)
    seen = {name: {c.versions[name] for c in built if name in c.versions} for name in packages}
    everywhere = {n for n in packages if all(n in c.versions for c in built)}
    same = tuple(
        (n, next(iter(v)) + ("" if n in everywhere else " (only in the venvs that have it)"))
        for n, v in seen.items()
        if len(v) == 1
    )
    varying = tuple(n for n, v in seen.items() if len(v) > 1)

    def facts(cell: model.CellResult) -> tuple[str, ...]:
        found = cell.versions
        return tuple(found.get(name, "") for name in varying) if cell.resolved else (cell.detail,)

    key = _deciding_axes(result, facts)
    rows: dict[tuple[tuple[str, str], ...], VersionRow] = {}
    for cell in result.cells:
        labels = cell.label_map
        k = tuple((name, labels[name]) for name in key)
        if k in rows and (rows[k].versions or not cell.resolved):
            continue
        found = cell.versions
        pairs = tuple((n, found[n]) for n in varying if n in found)
        rows[k] = VersionRow(k, pairs, "" if cell.resolved else _not_built(cell))
    return Versions(same, varying, key, tuple(rows.values()))


def _not_built(cell: model.CellResult) -> str:
    return f"not built ({cell.outcome.value}): {cell.detail}" if cell.detail else "not built"


def _deciding_axes(
    result: model.MatrixResult, facts: Callable[[model.CellResult], tuple[str, ...]]
) -> tuple[str, ...]:
    """The venv axes whose labels decide ``facts(cell)``: drop each axis that is not needed."""
    key = list(result.venv_axes)
    for name in list(key):
        trial = [k for k in key if k != name]
        decided: dict[tuple[str, ...], tuple[str, ...]] = {}
        if all(
            decided.setdefault(tuple(c.label_map[k] for k in trial), facts(c)) == facts(c)
            for c in result.cells
            if c.ran
        ):
            key = trial
    return tuple(key)


def pythons(result: model.MatrixResult) -> list[str]:
    found = {c.versions.get("python", "") for c in result.cells}
    return sorted((v for v in found if v), key=version_key)


def version_key(text: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else -1 for p in text.split("."))


def date_pins(result: model.MatrixResult) -> list[str]:
    """What each toolchain date meant, in words."""
    lines = []
    labels = result.labels_by_axis
    started = result.started[:10]
    for axis in result.axes_of_kind(model.AxisKind.DATE):
        for label in labels[axis]:
            if label == "latest":
                when = f" (on {started} at the latest)" if started else ""
                lines.append(
                    f"{axis} = latest: no pin, the newest releases when its venv was built{when}"
                )
            else:
                lines.append(
                    f"{axis} = {label}: every package as uploaded by the end of that day "
                    f"(UTC; uv --exclude-newer {cutoff(label)})"
                )
    return lines


def rank(result: model.MatrixResult) -> dict[str, tuple[int, ...]]:
    """A sort key per cell id: the newest toolchain first (as docs/report.md promises), then
    cells that met their expectation, then newest versions and Pythons, else the first label of
    each axis (the scenario's own order)."""
    kinds = result.kind_by_axis
    order = {name: list(labels) for name, labels in result.axis_labels}
    dates = set(result.axes_of_kind(model.AxisKind.DATE))
    keys = {}
    for cell in result.cells:
        first: list[int] = []
        parts = [0 if cell.as_expected else 1]
        for name, label in cell.labels:
            index = order[name].index(label) if label in order[name] else 0
            (first if name in dates else parts).append(
                -index if kinds.get(name) in NEWER_LAST else index
            )
        keys[cell.id] = (*first, *parts)
    return keys


def representative(
    result: model.MatrixResult, outcome: model.Outcome, allowed: Iterable[str] | None = None
) -> model.CellResult | None:
    """The cell a reader should see for ``outcome``: the newest toolchain that shows it."""
    ids = set(allowed) if allowed is not None else None
    cells = [c for c in result.cells if c.outcome is outcome and (ids is None or c.id in ids)]
    if not cells:
        return None
    keys = rank(result)
    return min(cells, key=lambda c: keys[c.id])


def counterpart(
    result: model.MatrixResult, cell: model.CellResult, allowed: Iterable[str] | None = None
) -> model.CellResult | None:
    """The passed cell nearest to ``cell``: fewest axes changed, a shared venv preferred."""
    ids = set(allowed) if allowed is not None else None
    mine = cell.label_map
    command = set(result.command_axes)
    keys = rank(result)

    def distance(other: model.CellResult) -> tuple[int, int, tuple[int, ...]]:
        changed = [name for name, label in other.labels if mine.get(name) != label]
        return len(changed), sum(name not in command for name in changed), keys[other.id]

    passed = [
        c
        for c in result.cells
        if c.outcome is model.Outcome.PASSED and (ids is None or c.id in ids)
    ]
    return min(passed, key=distance) if passed else None


def changed_axes(a: model.CellResult, b: model.CellResult) -> list[tuple[str, str, str]]:
    """(axis, label in a, label in b) for every axis on which the two cells differ."""
    other = b.label_map
    return [(name, label, other[name]) for name, label in a.labels if other.get(name) != label]


def pins(cell: model.CellResult, project: str = "") -> list[str]:
    """``name==version`` for everything the cell's venv held, but Python, pip and the project."""
    skip = {*SEEDED, "python", str(canonicalize_name(project)) if project else ""}
    return [
        f"{name}=={version}"
        for name, version in sorted(cell.resolved)
        if str(canonicalize_name(name)) not in skip
    ]


def by_class(result: model.MatrixResult) -> list[tuple[model.Outcome, int]]:
    counts = {o: sum(c.outcome is o for c in result.cells) for o in CLASS_ORDER}
    return [(o, n) for o, n in counts.items() if n]


def label_text(pairs: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"{name} = {label}" for name, label in pairs)


def product_size(result: model.MatrixResult) -> int:
    size = 1
    for _, labels in result.axis_labels:
        size *= len(labels)
    return size


def axis_names(result: model.MatrixResult) -> str:
    names = [name for name, _ in result.axis_labels]
    return " × ".join(names) if names else "no axes"
