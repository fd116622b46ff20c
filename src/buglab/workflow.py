"""The whole lab as a short list of stages.

load scenarios -> expand to cells -> select (and shard) -> build venvs -> run -> classify ->
store -> render. Each stage takes and returns frozen values; only building, running and
storing touch the disk or start processes.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import Callable, Union

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from buglab import __version__, backends, classify, model, plan, render, runner, scenario, store
from buglab.errors import UsageError
from buglab.venv import Builder, BuildSettings, Interpreters, Store, wait_for

Say = Callable[[str], None]
Progress = Callable[[int, int], None]  # (done, total)


@dataclass(frozen=True)
class Options:
    root: Path
    names: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    cells: tuple[str, ...] = ()
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    backend: str | None = None
    shard: str | None = None
    resume: bool = False
    rebuild: bool = False
    offline: bool = False
    keep: bool = False
    results: Path | None = None
    store: Path | None = None

    @property
    def results_dir(self) -> Path:
        return self.results or self.root / "results"

    @property
    def store_dir(self) -> Path:
        return self.store or self.root / ".buglab"


@dataclass(frozen=True)
class Plan:
    scenario: model.Scenario
    cells: tuple[model.Cell, ...]


# -- stages 1-3: pure once the files are read ------------------------------------------------


def load_scenarios(root: Path, names: Sequence[str]) -> tuple[model.Scenario, ...]:
    folder = root / "scenarios"
    found = {path.name: path for path in scenario.discover(folder)}
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise UsageError(f"scenario {twice[0]!r} is named twice")
    for name in names:
        if name not in found:
            raise UsageError(
                f"no scenario {name!r} in {folder}{scenario.did_you_mean(name, list(found))}"
            )
    chosen = names or tuple(found)
    if not chosen:
        raise UsageError(f"no scenarios in {folder}")
    return tuple(scenario.load(found[name] / scenario.SCENARIO_FILE, root) for name in chosen)


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
                raise UsageError(
                    f"--cell {wanted!r}: no such cell{scenario.did_you_mean(wanted, known)}"
                )
        plans = [Plan(p.scenario, tuple(c for c in p.cells if c.id in cells)) for p in plans]
    if shard is not None:
        which = plan.Shard.parse(shard)
        everything = [cell for p in plans for cell in p.cells]
        keep = {(c.scenario, c.id) for c in plan.shard(everything, which)}
        plans = [
            Plan(p.scenario, tuple(c for c in p.cells if (c.scenario, c.id) in keep)) for p in plans
        ]
    return tuple(plans)


# -- stages 4-6: venvs, runs, classification -------------------------------------------------


Task = Union[model.VenvSpec, tuple[model.Scenario, model.Cell]]


class Interrupted(Exception):
    """SIGTERM, turned into an exception in the main thread like Ctrl-C."""


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
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


@dataclass
class Execution:
    """Runs every planned cell; venvs are built as needed, cells run as soon as theirs is."""

    options: Options
    caller: Mapping[str, str]
    say: Say
    progress: Progress
    cancel: threading.Event = field(default_factory=threading.Event)
    #: finished cells; kept on the object so that an interrupted run still has them
    done: dict[tuple[str, str], model.CellResult] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.store = Store(self.options.store_dir)
        self.builder = Builder(
            BuildSettings(
                store=self.store,
                backend=backends.choose(self.options.backend),
                caller=self.caller,
                index_url=backends.index_url(self.caller),
                offline=self.options.offline,
                rebuild=self.options.rebuild,
            ),
            Interpreters(self.caller),
            self.say,
        )
        self.logs = self.options.results_dir / "logs"

    def run(
        self, plans: Sequence[Plan], previous: Mapping[str, model.MatrixResult]
    ) -> dict[tuple[str, str], model.CellResult]:
        done = self.done
        groups: dict[model.VenvSpec, list[tuple[model.Scenario, model.Cell]]] = {}
        fingerprints: dict[tuple[str, str], str] = {}
        for p in plans:
            old = (
                {c.id: c for c in previous[p.scenario.name].cells}
                if p.scenario.name in previous
                else {}
            )
            for cell in p.cells:
                print_ = self.fingerprint(p.scenario, cell)
                fingerprints[(cell.scenario, cell.id)] = print_
                kept = old.get(cell.id)
                if (
                    kept
                    and kept.fingerprint == print_
                    and kept.outcome is not model.Outcome.NOT_RUN
                ):
                    done[(cell.scenario, cell.id)] = replace(kept, expected=cell.expected)
                else:
                    groups.setdefault(cell.venv, []).append((p.scenario, cell))
        total = sum(len(p.cells) for p in plans)
        self.progress(len(done), total)
        workspace = runner.Workspace(self.options.keep)
        try:
            self._pump(groups, done, fingerprints, total, workspace)
        finally:
            workspace.close()
        return done

    def _pump(
        self,
        groups: Mapping[model.VenvSpec, list[tuple[model.Scenario, model.Cell]]],
        done: dict[tuple[str, str], model.CellResult],
        fingerprints: Mapping[tuple[str, str], str],
        total: int,
        workspace: runner.Workspace,
    ) -> None:
        with ThreadPoolExecutor(max_workers=max(1, self.options.jobs)) as pool:
            pending: dict[Future[object], Task] = {}
            for spec, members in groups.items():
                log = self.logs / "venvs" / f"{_spec_name(spec)}.log"
                log.parent.mkdir(parents=True, exist_ok=True)
                pending[pool.submit(self.builder.ensure, spec, log, self.cancel)] = spec
                del members
            try:
                with _terminate_as_interrupt():
                    while pending:
                        finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                        for future in finished:
                            task = pending.pop(future)
                            if isinstance(task, model.VenvSpec):
                                built = future.result()
                                assert isinstance(built, model.BuiltVenv)
                                self._built(
                                    built,
                                    groups[task],
                                    pool,
                                    pending,
                                    done,
                                    fingerprints,
                                    workspace,
                                )
                            else:
                                result = future.result()
                                assert isinstance(result, model.CellResult)
                                done[(task[1].scenario, task[1].id)] = result
                            self.progress(len(done), total)
            except (KeyboardInterrupt, Interrupted):
                self.cancel.set()
                for future in pending:
                    future.cancel()
                self.say("interrupted: stopping the running cells; finished cells are kept")
                for future, task in pending.items():
                    if isinstance(task, tuple) and not future.cancelled():
                        result = future.result()
                        assert isinstance(result, model.CellResult)
                        if result.outcome is not model.Outcome.NOT_RUN:
                            done[(task[1].scenario, task[1].id)] = result
                raise

    def _built(
        self,
        built: model.BuiltVenv,
        members: Sequence[tuple[model.Scenario, model.Cell]],
        pool: ThreadPoolExecutor,
        pending: dict[Future[object], Task],
        done: dict[tuple[str, str], model.CellResult],
        fingerprints: Mapping[tuple[str, str], str],
        workspace: runner.Workspace,
    ) -> None:
        for s, cell in members:
            key = (cell.scenario, cell.id)
            if built.failure is not None or built.path is None:
                if built.failure is not model.Outcome.NOT_RUN:
                    done[key] = self._unbuilt(cell, built, fingerprints[key])
                continue
            pending[pool.submit(self._run, s, cell, built, fingerprints[key], workspace)] = (
                s,
                cell,
            )

    def _unbuilt(
        self, cell: model.Cell, built: model.BuiltVenv, fingerprint: str
    ) -> model.CellResult:
        log = self._log(cell)
        source = self.logs / "venvs" / f"{_spec_name(cell.venv)}.log"
        text = source.read_text(encoding="utf-8", errors="replace") if source.exists() else ""
        log.write_text(
            f"# buglab cell {cell.scenario} {cell.id}\n# {built.failure}: "
            f"{built.message}\n\n{text}",
            encoding="utf-8",
        )
        assert built.failure is not None
        return model.CellResult(
            cell.id,
            cell.labels,
            (),
            built.failure,
            cell.expected,
            None,
            built.seconds,
            self._relative(log),
            built.message,
            fingerprint,
        )

    def _run(
        self,
        s: model.Scenario,
        cell: model.Cell,
        built: model.BuiltVenv,
        fingerprint: str,
        workspace: runner.Workspace,
    ) -> model.CellResult:
        assert built.path is not None
        log = self._log(cell)
        record = runner.run_cell(cell, s, built.path, log, workspace, self.caller, self.cancel)
        if record.cancelled:
            outcome, detail = model.Outcome.NOT_RUN, "interrupted"
        else:
            outcome, detail = classify.classify(record, s.signature)
        return model.CellResult(
            cell.id,
            cell.labels,
            built.resolved,
            outcome,
            cell.expected,
            record.returncode,
            record.seconds,
            self._relative(log),
            detail,
            fingerprint,
            built.key,
        )

    def _log(self, cell: model.Cell) -> Path:
        path = self.logs / cell.scenario / f"{cell.id}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def _relative(self, path: Path) -> str:
        return path.relative_to(self.options.results_dir).as_posix()

    def fingerprint(self, s: model.Scenario, cell: model.Cell) -> str:
        """Everything a cell's outcome depends on; --resume keeps a cell only if it matches."""
        identity = self.builder.identify(cell.venv)
        key = identity if isinstance(identity, str) else identity.key
        blob = json.dumps(
            [
                key,
                cell.argv,
                cell.env,
                s.signature.pattern,
                s.timeout,
                s.passenv,
                self.builder._digest(s.project),
            ]
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _spec_name(spec: model.VenvSpec) -> str:
    return hashlib.sha256(repr(spec).encode()).hexdigest()[:16]


# -- stages 7-8: results ---------------------------------------------------------------------


def assemble(
    p: Plan, done: Mapping[tuple[str, str], model.CellResult], meta: Mapping[str, str]
) -> model.MatrixResult:
    s = p.scenario
    cells = tuple(
        done.get((s.name, c.id))
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
        meta=(*meta.items(), ("shown_packages", ",".join(shown_packages(s)))),
    )


def shown_packages(s: model.Scenario) -> list[str]:
    """The packages a reader wants versions of: those the scenario names."""
    names = [*s.requirements, *s.show]
    for axis in s.axes:
        for value in axis.values:
            if isinstance(value.payload, model.Version):
                names.append(value.payload.package)
            elif isinstance(value.payload, model.Requirements):
                names.extend(value.payload.requirements)
    seen: dict[str, None] = {}
    for text in names:
        seen[str(canonicalize_name(Requirement(text).name))] = None
    return list(seen)


def results_path(options: Options, name: str) -> Path:
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


def run_matrix(options: Options, caller: Mapping[str, str], say: Say, progress: Progress) -> Report:
    """The ``matrix`` command: every stage, in order."""
    scenarios = load_scenarios(options.root, options.names)
    plans = make_plans(scenarios, options.only, options.shard, options.cells)
    if options.jobs < 1:
        raise UsageError(f"--jobs {options.jobs}: must be at least 1")
    store_ = Store(options.store_dir)
    with ExitStack() as locks:
        for p in sorted(plans, key=lambda p: p.scenario.name):
            lock = store_.lock(f"results-{p.scenario.name}")
            wait_for(lock, f"results of {p.scenario.name}", say)
            locks.callback(lock.release)
        previous = _previous(plans, options) if options.resume else {}
        execution = Execution(options, caller, say, progress)
        started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        interrupted = False
        try:
            execution.run(plans, previous)
        except (KeyboardInterrupt, Interrupted):
            interrupted = True
        done = execution.done
        meta = {
            "buglab": __version__,
            "started": started,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "backend": execution.builder.settings.backend.name,
            "jobs": str(options.jobs),
        }
        if options.shard:
            meta["shard"] = options.shard
        results = tuple(assemble(p, done, meta) for p in plans)
        for result in results:
            path = results_path(options, result.scenario)
            store.write(result, path, None if options.shard else render.markdown(result))
    return Report(results, interrupted)


def _previous(plans: Sequence[Plan], options: Options) -> dict[str, model.MatrixResult]:
    found = {}
    for p in plans:
        path = results_path(options, p.scenario.name)
        if path.exists():
            found[p.scenario.name] = store.read(path)
    return found
