"""Stage 7: results on disk - a versioned JSON that holds enough to re-render without re-running.

Every file is written to a temporary name and renamed into place, so a reader (or a run that
is interrupted) never sees half a file.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from buglab import model
from buglab.errors import ResultsError

SCHEMA = 1


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with temporary.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()


def to_json(result: model.MatrixResult) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "scenario": result.scenario,
        "title": result.title,
        "command": list(result.command),
        "venv_axes": list(result.venv_axes),
        "command_axes": list(result.command_axes),
        "axes": {name: list(labels) for name, labels in result.axis_labels},
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
            }
            for cell in result.cells
        ],
    }


def from_json(data: Mapping[str, Any], source: Path) -> model.MatrixResult:
    try:
        if data.get("schema") != SCHEMA:
            raise ResultsError(f"{source}: schema {data.get('schema')!r}, expected {SCHEMA}")
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
            model.MatrixResult(
                scenario=name,
                title=first.title,
                command=first.command,
                venv_axes=first.venv_axes,
                command_axes=first.command_axes,
                axis_labels=first.axis_labels,
                cells=tuple(sorted(cells.values(), key=lambda c: order(c.labels))),
                meta=tuple((k, v) for k, v in first.meta if k not in ("shard",)),
            )
        )
    return merged


def overlay(old: model.MatrixResult, new: model.MatrixResult) -> model.MatrixResult:
    """A partial run (``--only``, ``--cell``) updates its cells in the last full table.

    Cells it did not run are kept from ``old`` only while the scenario's axes and command are
    the same; otherwise the old table describes another matrix and is dropped.
    """
    if old.axis_labels != new.axis_labels or old.command != new.command:
        return new
    cells = {c.id: c for c in old.cells}
    cells.update((c.id, c) for c in new.cells)
    order = cell_order(new.axis_labels)
    return replace(new, cells=tuple(sorted(cells.values(), key=lambda c: order(c.labels))))


def cell_order(
    axis_labels: tuple[tuple[str, tuple[str, ...]], ...],
) -> Callable[[tuple[tuple[str, str], ...]], tuple[int, ...]]:
    positions = {name: {label: i for i, label in enumerate(labels)} for name, labels in axis_labels}

    def key(labels: tuple[tuple[str, str], ...]) -> tuple[int, ...]:
        found = dict(labels)
        return tuple(positions[name].get(found.get(name, ""), -1) for name, _ in axis_labels)

    return key
