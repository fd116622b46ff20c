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
from buglab.env import ReleaseCheck, index, index_url, user_cache
from buglab.errors import UsageError
from buglab.files import wait_for
from buglab.lab import persist, store
from buglab.lab.execute import Execution, Interrupted, Job, Progress, Say
from buglab.lab.journal import Journal
from buglab.lab.options import MatrixOptions
from buglab.lab.persist import Plan, assemble
from buglab.spec import load_scenarios, plan, which_cell

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


def results_path(options: MatrixOptions, name: str) -> Path:
    if options.shard:
        k, n = options.shard.split("/")
        return options.results_dir / "shards" / f"{name}.{k}-of-{n}.json"
    return options.results_dir / f"{name}.json"


#: the order of the keys of ``meta`` in the results file, as it always was
META_ORDER = ("buglab", "started", "finished", "backend", "installer", "platform", "jobs", "shard")


@dataclass(frozen=True)
class Report:
    results: tuple[model.MatrixResult, ...]
    interrupted: bool

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        return 1 if any(r.contradictions for r in self.results) else 0


def _check_versions(
    releases: ReleaseCheck, plans: Sequence[Plan], caller: Mapping[str, str], say: Say
) -> None:
    """Every project and version the scenarios name exists (asked of the index once, then
    remembered); an index that does not answer is said once, by name, rather than waited on in
    silence."""
    releases.check([p.scenario for p in plans if p.cells])
    silent = index.not_answering(index_url(caller))
    if silent:
        say(
            f"the index {index_url(caller) or index.PYPI_SIMPLE} {silent}: the versions the "
            "scenarios name are not checked, and venvs it must serve will be env-error"
        )


def run_matrix(
    options: MatrixOptions, caller: Mapping[str, str], say: Say, progress: Progress
) -> Report:
    """The ``matrix`` command: every stage, in order."""
    if options.jobs < 1:
        raise UsageError(f"--jobs {options.jobs}: must be at least 1")
    if options.repeat < 1:
        raise UsageError(f"--repeat {options.repeat}: must be at least 1")
    releases = ReleaseCheck(user_cache(caller), index_url(caller), options.offline)
    scenarios = load_scenarios(options.root, options.names, lambda s: releases.check([s]))
    plans = make_plans(scenarios, options.only, options.shard, options.cells)
    _check_versions(releases, plans, caller, say)
    execution = Execution(options, caller, say, progress)
    with ExitStack() as locks:
        for p in sorted(plans, key=lambda p: p.scenario.name):
            path = results_path(options, p.scenario.name)
            path.parent.mkdir(parents=True, exist_ok=True)
            lock = FileLock(str(path.with_suffix(".lock")))
            wait_for(lock, f"the results of {p.scenario.name}", say)
            locks.callback(lock.release)
        paths = {p.scenario.name: results_path(options, p.scenario.name) for p in plans}
        for p in plans:
            persist.recover(p, paths[p.scenario.name], execution, say)
        previous = {} if options.shard else persist.previous(paths, say)
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
        meta = {
            "buglab": __version__,
            "started": started,
            "backend": execution.backend,
            "platform": platform.platform(),
            "jobs": str(options.jobs),
        }
        if options.shard:
            meta["shard"] = options.shard
        journal = Journal(paths, meta)
        execution.on_finish = lambda key, cell: journal.add(
            key[0], replace(cell, measured=cell.measured or started)
        )
        interrupted = False
        try:
            execution.run([j for j in jobs if j.key not in execution.done], total=len(jobs))
        except (KeyboardInterrupt, Interrupted):
            interrupted = True
        meta["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        meta["installer"] = execution.installer
        meta = {key: meta[key] for key in META_ORDER if key in meta}
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
            persist.store_results(p, result, previous.get(p.scenario.name), current, path, say)
        journal.close()  # every cell it holds is in the results now
    return Report(tuple(results), interrupted)


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
