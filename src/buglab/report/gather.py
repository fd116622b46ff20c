"""Everything a report needs, read from a results file and the scenario's own folder: the
stage between the stored JSON and the comment, the page and the templates. Reads; runs nothing."""

from __future__ import annotations

import shlex
from pathlib import Path

from buglab import model
from buglab.lab import store
from buglab.report import comment, export, facts, pivot, repro
from buglab.spec import load_scenarios, plan


def gather(
    root: Path,
    name: str,
    results: Path,
    only: tuple[str, ...] = (),
    rows: str | None = None,
    cols: str | None = None,
) -> comment.Source:
    """Everything a report needs, read from the results file and the scenario's folder."""
    (scenario,) = load_scenarios(root, (name,))
    path = results / f"{name}.json"
    full = store.read(path)
    result = pivot.narrow(full, only) if only else full
    layout = pivot.choose(
        result, pivot.parse_axes(rows, result, "--rows"), pivot.parse_axes(cols, result, "--cols")
    )
    cells = {c.id: c for c in plan.expand(scenario)}
    runnable = [c.id for c in result.cells if c.id in cells and c.resolved]
    shown = facts.representative(result, model.Outcome.REPRODUCED, runnable)
    reproduction = contrast = None
    if shown is not None:
        files = export.read_files(scenario.project)
        reproduction = repro.make(scenario, cells[shown.id], shown, files)
        near = facts.counterpart(result, shown, cells.keys())
        if near is not None:
            contrast = comment.Contrast(
                near,
                tuple(facts.changed_axes(shown, near)),
                _command(cells[near.id], cells[shown.id]),
                cells[near.id].venv == cells[shown.id].venv,
            )
    return comment.Source(
        result=result,
        axes=scenario.axes,
        description=scenario.description,
        links=scenario.links,
        signature=scenario.signature.pattern,
        layout=layout,
        only=only,
        reproduction=reproduction,
        contrast=contrast,
        results_file=_shown_path(path, root),
        project=scenario.project.name,
    )


def _command(cell: model.Cell, beside: model.Cell) -> str:
    """The cell's command line, led by the variables it sets differently from ``beside``'s."""
    theirs = dict(beside.env)
    mine = dict(cell.env)
    changed = [f"{k}={shlex.quote(v)}" for k, v in cell.env if theirs.get(k) != v]
    changed += [f"-u {k}" for k in theirs if k not in mine]
    prefix = ("env " if any(c.startswith("-u") for c in changed) else "") + " ".join(changed)
    return f"{prefix} {shlex.join(cell.argv)}".strip()


def _shown_path(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return str(path)
