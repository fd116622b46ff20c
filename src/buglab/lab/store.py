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
        "cells": [
            {
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
            }
            for cell in result.cells
        ],
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
        cells = tuple(
            model.CellResult(
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
            )
            for c in data["cells"]
        )
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
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ResultsError(f"{source}: not a buglab results file ({exc!r})") from None


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

    A cell this run measured replaces the old one. A cell it planned but did not run (an
    interrupted run) keeps its old outcome when its inputs (fingerprint) are unchanged; the old
    ``measured`` date marks it. A cell it did not plan (a narrowed run) keeps its old outcome
    while it is still a cell of the scenario: ``cells`` maps every cell of the full expansion to
    its current expectation, which kept cells take. Results of another matrix (other axes or
    command) are not used.
    """
    if old is None or old.axis_labels != new.axis_labels or old.command != new.command:
        return new
    previous = {c.id: c for c in old.cells if c.ran}
    merged: dict[str, model.CellResult] = {}
    for cell in new.cells:
        before = previous.get(cell.id)
        keep = (
            not cell.ran and before is not None and before.fingerprint == fingerprints.get(cell.id)
        )
        merged[cell.id] = before if keep and before is not None else cell
    for cell_id, before in previous.items():
        if cell_id not in merged and cell_id in cells:
            merged[cell_id] = before
    refreshed = [replace(c, expected=cells[c.id]) if c.id in cells else c for c in merged.values()]
    order = cell_order(new.axis_labels)
    return replace(new, cells=tuple(sorted(refreshed, key=lambda c: order(c.labels))))


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
