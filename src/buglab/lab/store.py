"""Stage 7: results on disk - a versioned JSON that holds enough to re-render without re-running.

Every file is written whole (``buglab.files.write_atomic``), so a reader, or a run that is
interrupted, never sees half a file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from buglab import model
from buglab.errors import ResultsError
from buglab.files import write_atomic

SCHEMA = 2
#: why an older file cannot be read as it stands
OLD_SCHEMAS = {
    1: "from before install modes were split (its 'non-editable' meant what is now "
    "'not-installed'; 'non-editable' is now pip install .)",
}


def results_folder(root: Path, given: Path | None = None) -> Path:
    """Where results are read and written: ``--results``, else the repository's ``results/``."""
    return given or root / "results"


def to_json(result: model.MatrixResult) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "scenario": result.scenario,
        "title": result.title,
        "command": list(result.command),
        "venv_axes": list(result.venv_axes),
        "command_axes": list(result.command_axes),
        "axes": {name: list(labels) for name, labels in result.axis_labels},
        "axis_kinds": dict(result.axis_kinds),
        "meta": dict(result.meta),
        "cells": [cell_to_json(cell) for cell in result.cells],
    }


def cell_to_json(cell: model.CellResult) -> dict[str, Any]:
    return {
        "id": cell.id,
        "axes": dict(cell.labels),
        "resolved": dict(cell.resolved),
        "outcome": cell.outcome.value,
        "expected": cell.expected.value if cell.expected else None,
        "returncode": cell.returncode,
        "seconds": round(cell.seconds, 3),
        "log": cell.log,
        "detail": cell.detail,
        "fingerprint": cell.fingerprint,
        "venv": cell.venv,
        "measured": cell.measured,
        "runs": [run.value for run in cell.runs],
        "excerpt": cell.excerpt,
        # written only when set, so that files from before it stay byte for byte
        **({"inputs_changed": True} if cell.inputs_changed else {}),
    }


def from_json(data: Mapping[str, Any], source: Path) -> model.MatrixResult:
    try:
        schema = data.get("schema")
        if schema in OLD_SCHEMAS:
            raise ResultsError(
                f"{source}: results schema {schema}, {OLD_SCHEMAS[schema]}; "
                "run the matrix to measure it again"
            )
        if schema != SCHEMA:
            raise ResultsError(f"{source}: schema {schema!r}, expected {SCHEMA}")
        _check_shape(data)
        cells = tuple(cell_from_json(c) for c in data["cells"])
        return model.MatrixResult(
            scenario=data["scenario"],
            title=data["title"],
            command=tuple(data["command"]),
            venv_axes=tuple(data["venv_axes"]),
            command_axes=tuple(data["command_axes"]),
            axis_labels=tuple((k, tuple(v)) for k, v in data["axes"].items()),
            cells=cells,
            meta=tuple((str(k), str(v)) for k, v in data.get("meta", {}).items()),
            axis_kinds=tuple((str(k), str(v)) for k, v in data["axis_kinds"].items()),
        )
    except Malformed as exc:
        raise ResultsError(f"{source}: not a buglab results file: {exc}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ResultsError(f"{source}: not a buglab results file ({exc!r})") from None


class Malformed(ValueError):
    """A results file of the right schema but the wrong shape, naming the key."""


def _is(value: object, kind: type | tuple[type, ...]) -> bool:
    return isinstance(value, kind) and not isinstance(value, bool)


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _check_shape(data: Mapping[str, Any]) -> None:
    """Every key a reader relies on, of the type it relies on: a file edited by hand or by
    another tool is refused here, in one line, not halfway through a table."""
    for key in ("scenario", "title"):
        if not _is(data.get(key), str):
            raise Malformed(f"{key!r} must be a string")
    for key in ("command", "venv_axes", "command_axes"):
        if not _strings(data.get(key)):
            raise Malformed(f"{key!r} must be a list of strings")
    axes = data.get("axes")
    if not isinstance(axes, dict) or not all(_strings(v) for v in axes.values()):
        raise Malformed("'axes' must map each axis to a list of labels")
    for key in ("axis_kinds", "meta"):
        value = data.get(key, {})
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise Malformed(f"{key!r} must map names to strings")
    cells = data.get("cells")
    shard = "shard" in data.get("meta", {})  # only a shard may hold no cell
    if not isinstance(cells, list) or (not cells and not shard):
        raise Malformed("'cells' must be a non-empty list")
    for i, cell in enumerate(cells):
        _check_cell(cell, axes, f"cells[{i}]")


def _check_cell(cell: object, axes: Mapping[str, list[str]], where: str) -> None:
    if not isinstance(cell, dict):
        raise Malformed(f"{where} must be a table")
    for key in ("id", "outcome", "log"):
        if not _is(cell.get(key), str):
            raise Malformed(f"{where}.{key} must be a string")
    for key in ("detail", "fingerprint", "venv", "measured", "excerpt"):
        if not _is(cell.get(key, ""), str):
            raise Malformed(f"{where}.{key} must be a string")
    labels = cell.get("axes")
    if not isinstance(labels, dict) or set(labels) != set(axes):
        raise Malformed(f"{where}.axes must give a label for every axis ({', '.join(axes)})")
    for name, label in labels.items():
        if label not in axes[name]:
            raise Malformed(f"{where}.axes.{name}: {label!r} is not a label of that axis")
    resolved = cell.get("resolved")
    if not isinstance(resolved, dict) or not all(isinstance(v, str) for v in resolved.values()):
        raise Malformed(f"{where}.resolved must map packages to versions")
    if cell.get("returncode") is not None and not _is(cell.get("returncode"), int):
        raise Malformed(f"{where}.returncode must be a number or null")
    if not _is(cell.get("seconds"), (int, float)):
        raise Malformed(f"{where}.seconds must be a number")
    if not _strings(cell.get("runs", [])):
        raise Malformed(f"{where}.runs must be a list of outcomes")


def cell_from_json(c: Mapping[str, Any]) -> model.CellResult:
    """One cell; raises KeyError, TypeError, ValueError or AttributeError when malformed."""
    return model.CellResult(
        id=c["id"],
        labels=tuple((str(k), str(v)) for k, v in c["axes"].items()),
        resolved=tuple((str(k), str(v)) for k, v in c["resolved"].items()),
        outcome=model.Outcome(c["outcome"]),
        expected=model.Outcome(c["expected"]) if c["expected"] else None,
        returncode=c["returncode"],
        seconds=float(c["seconds"]),
        log=c["log"],
        detail=c.get("detail", ""),
        fingerprint=c.get("fingerprint", ""),
        venv=c.get("venv", ""),
        measured=c.get("measured", ""),
        runs=tuple(model.Outcome(r) for r in c.get("runs", [])),
        excerpt=c.get("excerpt", ""),
        inputs_changed=c.get("inputs_changed", False) is True,
    )


def read(path: Path) -> model.MatrixResult:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such results file") from None
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{path}: cannot be read ({exc})") from None
    if not isinstance(data, dict):
        raise ResultsError(f"{path}: not a buglab results file")
    return from_json(data, path)


def write(result: model.MatrixResult, json_path: Path, markdown: str | None = None) -> None:
    write_atomic(json_path, json.dumps(to_json(result), indent=2) + "\n")
    if markdown is not None:
        write_atomic(json_path.with_suffix(".md"), markdown)


def merge(parts: Iterable[model.MatrixResult]) -> list[model.MatrixResult]:
    """Join shard results: one result per scenario, cells in the scenario's axis order."""
    by_scenario: dict[str, list[model.MatrixResult]] = {}
    for part in parts:
        by_scenario.setdefault(part.scenario, []).append(part)
    merged = []
    for name, pieces in sorted(by_scenario.items()):
        first = pieces[0]
        cells: dict[str, model.CellResult] = {}
        for piece in pieces:
            if piece.axis_labels != first.axis_labels or piece.command != first.command:
                raise ResultsError(f"shards of {name!r} come from different scenario files")
            for cell in piece.cells:
                kept = cells.get(cell.id)
                if kept is not None and kept.outcome is not model.Outcome.NOT_RUN:
                    if cell.outcome is not model.Outcome.NOT_RUN and cell != kept:
                        raise ResultsError(f"cell {cell.id!r} of {name!r} is in two shards")
                    continue
                cells[cell.id] = cell
        order = cell_order(first.axis_labels)
        merged.append(
            replace(
                first,
                cells=tuple(sorted(cells.values(), key=lambda c: order(c.labels))),
                meta=tuple((k, v) for k, v in first.meta if k != "shard"),
            )
        )
    return merged


def carry_over(
    old: model.MatrixResult | None,
    new: model.MatrixResult,
    cells: Mapping[str, model.Outcome | None],
    fingerprints: Mapping[str, str],
) -> model.MatrixResult:
    """This run's cells laid over the last results, so that nothing measured is lost.

    ``cells`` maps every cell of the scenario's full expansion to its current expectation, and
    ``fingerprints`` to its current inputs. A cell this run measured replaces the old one. Any
    other cell of the old results that is still a cell of the scenario keeps its old outcome
    (its ``measured`` date marks it): one this run did not plan (a narrowed run), or planned but
    did not reach (an interrupted run), even after the scenario was edited; when its inputs
    differ from today's, it is marked ``inputs_changed``. Old cells that are no longer cells of
    the scenario are left out (see :func:`dropped`, which the caller reports).
    """
    if old is None:
        return new

    def kept(before: model.CellResult) -> model.CellResult:
        now = fingerprints.get(before.id)
        changed = now is not None and before.fingerprint != now
        return replace(before, inputs_changed=changed)

    previous = {c.id: c for c in old.cells if c.ran and c.id in cells}
    merged: dict[str, model.CellResult] = {}
    for cell in new.cells:
        before = previous.get(cell.id)
        merged[cell.id] = kept(before) if before is not None and not cell.ran else cell
    for cell_id, before in previous.items():
        if cell_id not in merged:
            merged[cell_id] = kept(before)
    refreshed = [replace(c, expected=cells[c.id]) if c.id in cells else c for c in merged.values()]
    order = cell_order(new.axis_labels)
    return replace(new, cells=tuple(sorted(refreshed, key=lambda c: order(c.labels))))


def dropped(old: model.MatrixResult | None, cells: Mapping[str, object]) -> tuple[str, ...]:
    """Measured cells of ``old`` that are no longer cells of the scenario (an axis value or
    axis removed, an exclusion added): the results keep no row for them."""
    if old is None:
        return ()
    return tuple(c.id for c in old.cells if c.ran and c.id not in cells)


def same_measurements(old: model.MatrixResult, new: model.MatrixResult) -> bool:
    """Whether ``new`` says nothing ``old`` does not: same cells, outcomes, versions and inputs.

    Timings, logs and run dates differ on every run; a file is not rewritten for them alone, so
    that an unchanged clone stays unchanged.
    """

    def facts(result: model.MatrixResult) -> object:
        cells = [
            (
                c.id,
                c.labels,
                c.resolved,
                c.outcome,
                c.expected,
                c.returncode,
                c.fingerprint,
                c.venv,
                c.runs,
                c.inputs_changed,
            )
            for c in result.cells
        ]
        shown = result.meta_map.get("shown_packages")
        return (result.title, result.command, result.axis_labels, result.axis_kinds, shown, cells)

    return facts(old) == facts(new)


def cell_order(
    axis_labels: tuple[tuple[str, tuple[str, ...]], ...],
) -> Callable[[tuple[tuple[str, str], ...]], tuple[int, ...]]:
    positions = {name: {label: i for i, label in enumerate(labels)} for name, labels in axis_labels}

    def key(labels: tuple[tuple[str, str], ...]) -> tuple[int, ...]:
        found = dict(labels)
        return tuple(positions[name].get(found.get(name, ""), -1) for name, _ in axis_labels)

    return key
