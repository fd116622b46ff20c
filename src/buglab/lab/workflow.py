"""The whole lab as a short list of stages.

load scenarios -> expand to cells -> select (and shard) -> build venvs -> run -> classify ->
store -> render. Each stage takes and returns frozen values; only building, running and
storing touch the disk or start processes.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path

from filelock import FileLock

from buglab import __version__, model
from buglab.env import ReleaseCheck, index_url, user_cache
from buglab.errors import ResultsError, UsageError
from buglab.files import wait_for, write_atomic
from buglab.lab import render, store
from buglab.lab.execute import Execution, Interrupted, Job, Progress, Say
from buglab.lab.options import MatrixOptions
from buglab.spec import load_scenarios, plan, which_cell


@dataclass(frozen=True)
class Plan:
    scenario: model.Scenario
    cells: tuple[model.Cell, ...]


# -- stages 1-3: pure once the files are read ------------------------------------------------


def make_plans(
    scenarios: Sequence[model.Scenario],
    only: Sequence[str],
    shard: str | None,
    cells: Sequence[str] = (),
) -> tuple[Plan, ...]:
    selection = plan.Selection.parse(only)
    selection.validate(scenarios)
    plans = [Plan(s, plan.select(plan.expand(s), selection)) for s in scenarios]
    if cells:
        known = [c.id for p in plans for c in p.cells]
        for wanted in cells:
            if wanted not in known:
                raise UsageError(f"--cell {wanted!r}: no such cell{which_cell(wanted, known)}")
        plans = [Plan(p.scenario, tuple(c for c in p.cells if c.id in cells)) for p in plans]
    if shard is not None:
        which = plan.Shard.parse(shard)
        everything = [cell for p in plans for cell in p.cells]
        keep = {(c.scenario, c.id) for c in plan.shard(everything, which)}
        plans = [
            Plan(p.scenario, tuple(c for c in p.cells if (c.scenario, c.id) in keep)) for p in plans
        ]
    return tuple(plans)


# -- stages 7-8: results ---------------------------------------------------------------------


def assemble(
    p: Plan,
    done: Mapping[tuple[str, str], model.CellResult],
    meta: Mapping[str, str],
) -> model.MatrixResult:
    """The plan's cells as this run left them; a cell measured now carries the run's date."""
    s = p.scenario
    started = meta.get("started", "")
    cells = tuple(
        _dated(done.get((s.name, c.id)), started)
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


def _dated(cell: model.CellResult | None, started: str) -> model.CellResult | None:
    if cell is None or cell.measured:  # resumed cells keep the date they were measured
        return cell
    return replace(cell, measured=started)


def results_path(options: MatrixOptions, name: str) -> Path:
    if options.shard:
        k, n = options.shard.split("/")
        return options.results_dir / "shards" / f"{name}.{k}-of-{n}.json"
    return options.results_dir / f"{name}.json"


@dataclass(frozen=True)
class Report:
    results: tuple[model.MatrixResult, ...]
    interrupted: bool

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        return 1 if any(r.contradictions for r in self.results) else 0


def run_matrix(
    options: MatrixOptions, caller: Mapping[str, str], say: Say, progress: Progress
) -> Report:
    """The ``matrix`` command: every stage, in order."""
    if options.jobs < 1:
        raise UsageError(f"--jobs {options.jobs}: must be at least 1")
    if options.repeat < 1:
        raise UsageError(f"--repeat {options.repeat}: must be at least 1")
    scenarios = load_scenarios(options.root, options.names)
    plans = make_plans(scenarios, options.only, options.shard, options.cells)
    ReleaseCheck(user_cache(caller), index_url(caller), options.offline).check(
        [p.scenario for p in plans if p.cells]
    )
    execution = Execution(options, caller, say, progress)
    with ExitStack() as locks:
        for p in sorted(plans, key=lambda p: p.scenario.name):
            path = results_path(options, p.scenario.name)
            path.parent.mkdir(parents=True, exist_ok=True)
            lock = FileLock(str(path.with_suffix(".lock")))
            wait_for(lock, f"the results of {p.scenario.name}", say)
            locks.callback(lock.release)
        previous = _previous(plans, options, say)
        timings = {(name, c.id): c.seconds for name, r in previous.items() for c in r.cells}
        jobs = [
            Job(
                p.scenario,
                c,
                execution.fingerprint(p.scenario, c),
                timings.get((c.scenario, c.id), 0.0),
            )
            for p in plans
            for c in p.cells
        ]
        if options.resume:
            execution.done.update(resumable(jobs, previous))
        started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        interrupted = False
        try:
            execution.run([j for j in jobs if j.key not in execution.done], total=len(jobs))
        except (KeyboardInterrupt, Interrupted):
            interrupted = True
        meta = {
            "buglab": __version__,
            "started": started,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "backend": execution.backend,
            "installer": execution.installer,
            "platform": platform.platform(),
            "jobs": str(options.jobs),
        }
        if options.shard:
            meta["shard"] = options.shard
        results = []
        for p in plans:
            if not p.cells and not options.shard:  # an empty shard is still a shard
                say(f"{p.scenario.name}: no cell matches the selection; its results are unchanged")
                continue
            result = assemble(p, execution.done, meta)
            results.append(result)
            path = results_path(options, result.scenario)
            if options.shard:
                store.write(result, path)
                continue
            current = {c.id: execution.fingerprint(p.scenario, c) for c in plan.expand(p.scenario)}
            _store(p, result, previous.get(p.scenario.name), current, path, say)
    return Report(tuple(results), interrupted)


def _store(
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


def resumable(
    jobs: Sequence[Job], previous: Mapping[str, model.MatrixResult]
) -> dict[tuple[str, str], model.CellResult]:
    """Finished cells of the last run whose inputs (fingerprint) are unchanged."""
    old = {(name, c.id): c for name, result in previous.items() for c in result.cells}
    kept = {}
    for job in jobs:
        cell = old.get(job.key)
        if (
            cell
            and cell.fingerprint == job.fingerprint
            and cell.outcome is not model.Outcome.NOT_RUN
        ):
            kept[job.key] = replace(cell, expected=job.cell.expected)
    return kept


def _previous(
    plans: Sequence[Plan], options: MatrixOptions, say: Say
) -> dict[str, model.MatrixResult]:
    """The results on disk before this run; a file that cannot be read is replaced (say why)."""
    found = {}
    for p in plans:
        path = results_path(options, p.scenario.name)
        if options.shard or not path.exists():
            continue
        try:
            found[p.scenario.name] = store.read(path)
        except ResultsError as exc:
            say(f"{exc}; this run replaces it")
    return found
