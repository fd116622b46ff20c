"""Stages 4-6: build venvs, run cells, classify them - in parallel, interruptible.

A venv build is submitted per venv group to the builders' pool, and each group's cells are
submitted to the cells' pool (``--jobs`` workers) the moment its venv is ready, so the cores run
cells while builds wait for the index. Sequential is the same code with one cell worker.
"""

from __future__ import annotations

import hashlib
import json
import signal
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType
from typing import Any

from buglab import model
from buglab.env import (
    Builder,
    BuildSettings,
    Interpreters,
    VenvStore,
    choose_backend,
    describe_installer,
    index_url,
    proc,
)
from buglab.errors import UsageError
from buglab.files import bounded_name, naming, no_link_at
from buglab.lab import classify, runner
from buglab.lab.options import RunOptions
from buglab.spec import plan

Say = Callable[[str], None]
Progress = Callable[[int, int], None]  # (done, total)
CellKey = tuple[str, str]  # (scenario, cell id)


class Interrupted(Exception):
    """SIGTERM, raised in the main thread like Ctrl-C so both take the same path."""


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise Interrupted(signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def longest_first(groups: list[list[Job]]) -> list[list[Job]]:
    """Venv groups, and cells within each, longest first by the last run's timings: the run
    then ends with short cells on every core instead of one long cell on one (ties, and cells
    never timed, keep the plan's order)."""
    ordered = [sorted(group, key=lambda job: -job.expected_seconds) for group in groups]
    return sorted(ordered, key=lambda group: -sum(job.expected_seconds for job in group))


def builders(jobs: int) -> int:
    """Venvs built at once, beside the ``jobs`` cells: a build mostly waits for the index (a
    warm uv install is ~0.05 s of work behind ~0.4 s of network), so builds overlap with runs
    instead of taking turns with them."""
    return max(2, 2 * jobs)


@dataclass(frozen=True)
class Job:
    scenario: model.Scenario
    cell: model.Cell
    fingerprint: str
    expected_seconds: float = 0.0  # from the last run, to start the longest work first

    @property
    def key(self) -> CellKey:
        return (self.cell.scenario, self.cell.id)


class Execution:
    """Holds the finished cells, so that an interrupted run still has them."""

    def __init__(
        self, options: RunOptions, caller: Mapping[str, str], say: Say, progress: Progress
    ) -> None:
        self.options = options
        self.caller = caller
        self.say = say
        self.progress = progress
        self.cancel = threading.Event()
        for given, folder in (("--results", options.results_dir), ("--store", options.store_dir)):
            if folder.exists() and not folder.is_dir():
                raise UsageError(f"{given} {folder}: a file, not a folder")
        self.done: dict[CellKey, model.CellResult] = {}
        #: told of each finished cell at once (the matrix journals it)
        self.on_finish: Callable[[CellKey, model.CellResult], None] | None = None
        self.logs = options.results_dir / "logs"
        self.builder = Builder(
            BuildSettings(
                store=VenvStore(options.store_dir),
                backend=choose_backend(options.backend),
                caller=caller,
                index_url=index_url(caller),
                offline=options.offline,
                rebuild=options.rebuild,
            ),
            Interpreters(caller),
            say,
        )
        self._installer: Future[str] | None = None
        proc.warm_up()  # the keeper server gets ready while the run loads, checks and plans

    @property
    def backend(self) -> str:
        return self.builder.settings.backend.name

    @property
    def installer(self) -> str:
        """The installer and its version, as an upstream issue asks for them."""
        return self._ask_installer().result()

    def _ask_installer(self) -> Future[str]:
        """Asked once, in the background, from the start of a matrix run (a bisection that never
        reports it never asks)."""
        if self._installer is None:
            asker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="installer")
            self._installer = asker.submit(
                describe_installer, self.builder.settings.backend, self.builder.env
            )
            asker.shutdown(wait=False)  # its one question still runs; read when needed
        return self._installer

    def fingerprint(self, scenario: model.Scenario, cell: model.Cell) -> str:
        """Everything a cell's outcome depends on; ``--resume`` keeps a cell only if it matches."""
        identity = self.builder.identify(cell.venv)
        venv = identity if isinstance(identity, str) else identity.key
        files = self.builder.digest(scenario.project)
        blob = [
            venv,
            cell.argv,
            cell.env,
            scenario.signature.pattern,
            scenario.timeout,
            scenario.passenv,
            files,
        ]
        return hashlib.sha256(json.dumps(blob).encode()).hexdigest()[:16]

    def run(self, jobs: Sequence[Job], total: int) -> None:
        self._ask_installer()
        by_key = {job.key: job for job in jobs}
        groups = longest_first(
            [
                [by_key[(c.scenario, c.id)] for c in group]
                for group in plan.venv_groups([job.cell for job in jobs])
            ]
        )
        self.progress(len(self.done), total)
        workspace = runner.Workspace(self.options.keep)
        pending: dict[Future[Any], Callable[[Any], None]] = {}

        def record(job: Job) -> Callable[[model.CellResult], None]:
            def finish(result: model.CellResult) -> None:
                if result.outcome is not model.Outcome.NOT_RUN:
                    self.done[job.key] = result
                    if self.on_finish is not None:
                        self.on_finish(job.key, result)
                self.progress(len(self.done), total)

            return finish

        def start_cells(members: list[Job]) -> Callable[[model.BuiltVenv], None]:
            def started(built: model.BuiltVenv) -> None:
                for job in members:
                    if built.path is None:
                        record(job)(self._unbuilt(job, built))
                    else:
                        future = cells.submit(self._run, job, built, workspace)
                        pending[future] = record(job)

            return started

        try:
            cells = ThreadPoolExecutor(max_workers=max(1, self.options.jobs))
            builds = ThreadPoolExecutor(max_workers=builders(self.options.jobs))
            with cells, builds:
                for members in groups:
                    spec = members[0].cell.venv
                    log = self._build_log(spec)
                    future = builds.submit(self.builder.ensure, spec, log, self.cancel)
                    pending[future] = start_cells(members)
                try:
                    with terminate_as_interrupt():
                        while pending:
                            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                            for future in finished:
                                pending.pop(future)(future.result())
                except (KeyboardInterrupt, Interrupted):
                    self.cancel.set()
                    for future in pending:
                        future.cancel()
                    for future, then in list(pending.items()):
                        if not future.cancelled():
                            then(future.result())
                    raise
        finally:
            workspace.close()

    def probe(self, job: Job) -> tuple[model.CellResult, model.BuiltVenv]:
        """One cell on its own: its venv built or reused through the store, then run
        ``repeat`` times. What a bisection asks of the lab, one candidate at a time."""
        built = self.builder.ensure(job.cell.venv, self._build_log(job.cell.venv), self.cancel)
        if built.path is None:
            return self._unbuilt(job, built), built
        workspace = runner.Workspace(self.options.keep)
        try:
            return self._run(job, built, workspace), built
        finally:
            workspace.close()

    def _run(
        self, job: Job, built: model.BuiltVenv, workspace: runner.Workspace
    ) -> model.CellResult:
        """The cell in its venv, which is checked after the run: a venv that changed meanwhile
        is taken out of the store and the cell runs once more in a new one (the change may have
        come from a cell beside it); if it changes that one too, the cell itself does, and its
        result says so."""
        problem = ""
        for attempt in range(2):
            if self.builder.discarded(built):
                built = self.builder.ensure(
                    job.cell.venv, self._build_log(job.cell.venv), self.cancel
                )
                if built.path is None:
                    return self._unbuilt(job, built)
            result = self._measure(job, built, workspace)
            if not result.ran:
                return result
            change = self.builder.damage(built)
            problem = str(change)
            if not change:
                return result
            self.builder.discard(built, change)
            again = "; the cell runs again in a new one" if attempt == 0 else ""
            self.say(
                f"{job.cell.scenario} {job.cell.id}: its venv changed while it ran ({problem}); "
                f"the venv is not used again{again}"
            )
        return replace(result, detail=f"{result.detail} (the cell changed its venv: {problem})")

    def _measure(
        self, job: Job, built: model.BuiltVenv, workspace: runner.Workspace
    ) -> model.CellResult:
        assert built.path is not None
        log = self._log(job.cell)
        runs: list[tuple[model.RunRecord, model.Outcome, str]] = []
        for number in range(self.options.repeat):
            record = runner.run_cell(
                job.cell,
                job.scenario,
                built.path,
                log,
                workspace,
                self.caller,
                self.cancel,
                append=number > 0,
            )
            if record.cancelled:
                return replace(self._unfinished(job), log=self._relative(log))
            runs.append((record, *classify.classify(record, job.scenario.signature)))
        outcome, detail = classify.combine([o for _, o, _ in runs])
        record, first, first_detail = next(
            (run for run in runs if run[1] is model.Outcome.REPRODUCED), runs[-1]
        )
        return model.CellResult(
            id=job.cell.id,
            labels=job.cell.labels,
            resolved=built.resolved,
            outcome=outcome,
            expected=job.cell.expected,
            returncode=record.returncode,
            seconds=sum(r.seconds for r, _, _ in runs) / len(runs),
            log=self._relative(log),
            detail=detail or first_detail,
            fingerprint=job.fingerprint,
            venv=built.key,
            excerpt=classify.excerpt(record.output, job.scenario.signature, first),
            runs=tuple(o for _, o, _ in runs) if len(runs) > 1 else (),
        )

    def _unfinished(self, job: Job) -> model.CellResult:
        return model.CellResult(
            job.cell.id,
            job.cell.labels,
            (),
            model.Outcome.NOT_RUN,
            job.cell.expected,
            None,
            0.0,
            "",
            "interrupted",
        )

    def _unbuilt(self, job: Job, built: model.BuiltVenv) -> model.CellResult:
        """A cell whose venv could not be built carries the installer's message in its log."""
        assert built.failure is not None
        log = self._log(job.cell)
        source = self._build_log(job.cell.venv)
        text = source.read_text(encoding="utf-8", errors="replace") if source.exists() else ""
        header = f"# buglab cell {job.cell.scenario} {job.cell.id}\n# {built.failure}: "
        with naming(log):
            log.write_text(f"{header}{built.message}\n\n{text}", encoding="utf-8")
        tail = runner.anonymise(
            "\n".join(text.splitlines()[-20:]), {self.options.store_dir: "<store>"}
        )
        return model.CellResult(
            id=job.cell.id,
            labels=job.cell.labels,
            resolved=(),
            outcome=built.failure,
            expected=job.cell.expected,
            returncode=None,
            seconds=built.seconds,
            log=self._relative(log),
            detail=built.message,
            fingerprint=job.fingerprint,
            excerpt=tail,
        )

    def _build_log(self, spec: model.VenvSpec) -> Path:
        path = self.logs / "venvs" / f"{hashlib.sha256(repr(spec).encode()).hexdigest()[:16]}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        return no_link_at(path)

    def _log(self, cell: model.Cell) -> Path:
        path = self.logs / cell.scenario / f"{bounded_name(cell.id)}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        return no_link_at(path)

    def _relative(self, path: Path) -> str:
        return path.relative_to(self.options.results_dir).as_posix()
