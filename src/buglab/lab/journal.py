"""The journal: every finished cell is on disk the moment it finishes, before the results are.

Results are written whole at the end of a run; a run killed before then (``kill -9``, a power
cut) would lose every cell it measured. So each finished cell is also appended, as one JSON
line flushed to disk, to ``.<scenario>.journal`` beside the results file, under the results
lock the run holds. A run that ends normally removes its journals after writing the results; the
next run that finds one recovers its cells into the results first, and says so.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from buglab import model
from buglab.files import naming
from buglab.lab.store import cell_from_json, cell_to_json


def journal_path(results: Path) -> Path:
    return results.with_name(f".{results.stem}.journal")


@dataclass(frozen=True)
class Recovered:
    """What a killed run left: when it started, how it ran, and the cells it finished."""

    meta: Mapping[str, str]
    cells: tuple[model.CellResult, ...]


class Journal:
    """Appends finished cells, one durable line each; one file per scenario of the run."""

    def __init__(self, paths: Mapping[str, Path], meta: Mapping[str, str]) -> None:
        self.paths = dict(paths)
        self.meta = dict(meta)
        self.files: dict[str, IO[str]] = {}

    def add(self, scenario: str, cell: model.CellResult) -> None:
        path = journal_path(self.paths[scenario])
        with naming(path):
            sink = self.files.get(scenario)
            if sink is None:
                path.parent.mkdir(parents=True, exist_ok=True)
                sink = self.files[scenario] = path.open("w", encoding="utf-8")
                self._line(sink, {"meta": self.meta})
            self._line(sink, {"cell": cell_to_json(cell)})

    @staticmethod
    def _line(sink: IO[str], record: object) -> None:
        sink.write(json.dumps(record) + "\n")
        sink.flush()
        os.fsync(sink.fileno())

    def close(self) -> None:
        """The run wrote its results: the journals have served."""
        for sink in self.files.values():
            sink.close()
        for path in self.paths.values():
            journal_path(path).unlink(missing_ok=True)
        self.files.clear()


def recover(results: Path) -> Recovered | None:
    """The cells a killed run journalled beside ``results``; a torn last line is skipped."""
    path = journal_path(results)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return Recovered({}, ())
    meta: dict[str, str] = {}
    cells: dict[str, model.CellResult] = {}
    for line in lines:
        try:
            record = json.loads(line)
            if "meta" in record:
                meta = {str(k): str(v) for k, v in record["meta"].items()}
            else:
                cell = cell_from_json(record["cell"])
                cells[cell.id] = cell
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # the line the kill cut short
    return Recovered(meta, tuple(cells.values()))


def forget(results: Path) -> None:
    journal_path(results).unlink(missing_ok=True)
