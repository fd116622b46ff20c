"""What a run leaves on disk: the results it found (an unreadable file kept as a backup before
it is replaced), the journal of a killed run recovered, and the results it writes, never losing
a measured outcome and never rewriting a file for timings alone.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from buglab import model
from buglab.errors import ResultsError
from buglab.files import write_atomic
from buglab.lab import journal, render, store
from buglab.lab.execute import Execution, Say
from buglab.spec import plan


@dataclass(frozen=True)
class Plan:
    scenario: model.Scenario
    cells: tuple[model.Cell, ...]


def assemble(
    p: Plan,
    done: Mapping[tuple[str, str], model.CellResult],
    meta: Mapping[str, str],
) -> model.MatrixResult:
    """The plan's cells as this run left them; a cell measured now carries the run's date."""
    s = p.scenario
    started = meta.get("started", "")
    cells = tuple(
        dated(done.get((s.name, c.id)), started)
        or model.CellResult(
            c.id, c.labels, (), model.Outcome.NOT_RUN, c.expected, None, 0.0, "", "not run"
        )
        for c in p.cells
    )
    return model.MatrixResult(
        scenario=s.name,
        title=s.title,
        command=s.command,
        venv_axes=tuple(a.name for a in s.axes if a.kind.shapes_venv),
        command_axes=tuple(a.name for a in s.axes if not a.kind.shapes_venv),
        axis_labels=tuple((a.name, a.labels) for a in s.axes),
        cells=cells,
        meta=(*meta.items(), ("shown_packages", ",".join(s.shown_packages))),
        axis_kinds=tuple((a.name, a.kind.value) for a in s.axes),
    )


def dated(cell: model.CellResult | None, started: str) -> model.CellResult | None:
    if cell is None or cell.measured:  # resumed cells keep the date they were measured
        return cell
    return replace(cell, measured=started)


def store_results(
    p: Plan,
    result: model.MatrixResult,
    old: model.MatrixResult | None,
    fingerprints: Mapping[str, str],
    path: Path,
    say: Say,
) -> None:
    """Write a scenario's results, never replacing a measured outcome with ``not-run``, never
    dropping one without saying so, and never rewriting a file for timings alone.
    ``fingerprints``: every cell of the scenario's full expansion, by id."""
    everything = {c.id: c.expected for c in plan.expand(p.scenario)}
    merged = store.carry_over(old, result, everything, fingerprints)
    if not any(c.ran and c.measured == result.started for c in merged.cells):
        if old is None:
            say(f"{p.scenario.name}: no cell ran; no results written")
        return  # nothing measured: the files keep what they had
    gone = store.dropped(old, everything)
    if gone:
        say(
            f"{p.scenario.name}: {len(gone)} measured cell(s) of {path} are no longer cells of "
            f"the scenario (an axis, a value or an exclusion changed), dropped: "
            f"{', '.join(gone[:3])}{', ...' if len(gone) > 3 else ''}"
        )
    changed = sum(c.inputs_changed for c in merged.cells)
    if changed:
        say(
            f"{p.scenario.name}: {changed} cell(s) kept from earlier runs were measured with "
            "inputs that have changed since (marked ‡); run them to measure them again"
        )
    if old is not None and store.same_measurements(old, merged):
        merged = old  # the same facts: keep the file (and its dates) as it is
    else:
        store.write(merged, path)
    markdown = render.markdown(merged)
    md = path.with_suffix(".md")
    if not md.exists() or md.read_text(encoding="utf-8") != markdown:
        write_atomic(md, markdown)


def previous(paths: Mapping[str, Path], say: Say) -> dict[str, model.MatrixResult]:
    """The results on disk before this run, by scenario (see :func:`read_previous`)."""
    found = {}
    for name, path in paths.items():
        result = read_previous(path, say)
        if result is not None:
            found[name] = result
    return found


def read_previous(path: Path, say: Say) -> model.MatrixResult | None:
    """The results at ``path`` before this run, if any. A file that cannot be read is copied to
    a backup beside it first (the run says where), since this run replaces it."""
    if not path.exists() and not path.is_symlink():
        return None
    try:
        return store.read(path)
    except ResultsError as exc:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        backup = path.with_name(f"{path.name}.unreadable-{stamp}")
        try:
            shutil.copyfile(path, backup)
        except OSError as err:
            raise ResultsError(
                f"{exc}, and it cannot be kept as a backup before this run replaces it "
                f"({err.strerror or err}); move it away"
            ) from None
        say(f"{exc}; kept as {backup.name}, this run replaces it")
        return None


def recover(p: Plan, path: Path, execution: Execution, say: Say) -> None:
    """Cells a killed run finished (its journal) go into the results before anything else."""
    found = journal.recover(path)
    if found is None:
        return
    everything = {c.id: c for c in plan.expand(p.scenario)}
    done = {(p.scenario.name, c.id): c for c in found.cells if c.id in everything}
    if done:
        started = found.meta.get("started", "an earlier run")
        mine = Plan(p.scenario, tuple(c for c in everything.values() if (c.scenario, c.id) in done))
        current = {
            cell_id: execution.fingerprint(p.scenario, c) for cell_id, c in everything.items()
        }
        result = assemble(mine, done, found.meta)
        store_results(p, result, read_previous(path, say), current, path, say)
        say(
            f"{p.scenario.name}: recovered {len(done)} cell(s) finished by the run of {started}, "
            "which was stopped before it wrote its results"
        )
    journal.forget(path)
