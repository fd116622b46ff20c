"""One candidate at a time: its probe cell, built or reused through the venv store, and run.

The probe cell is the chosen matrix cell with one thing changed: a release pinned, or every
package resolved as of a day. Days whose resolution is the same as a day already probed take
that probe's result without building or running anything; a confirmation always runs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from buglab import model
from buglab.bisect.search import Phase, Verdict
from buglab.env import Failed, Resolution, Resolver
from buglab.lab import Execution, Job
from buglab.spec import plan


def verdict_of(outcome: model.Outcome) -> Verdict:
    """The oracle: the outcome, never the exit status. Anything but a clear answer is a skip."""
    if outcome is model.Outcome.REPRODUCED:
        return Verdict.BAD
    if outcome is model.Outcome.PASSED:
        return Verdict.GOOD
    return Verdict.SKIP


@dataclass(frozen=True)
class Subject:
    """The cell a bisection varies, and what it varies: a package's release, or the day."""

    scenario: model.Scenario
    cell: model.Cell
    free: tuple[str, ...]  # axes the bisection sets itself (left out of the cell's id)
    package: str | None  # canonical name, for a release bisect
    dropped: tuple[str, ...] = ()  # the bisected version axis's requirement, replaced by a pin
    day: str | None = None  # --day: the toolchain date of a release bisect
    hold: tuple[str, ...] = ()  # NAME==VERSION pins held fixed

    @property
    def fixed_labels(self) -> tuple[tuple[str, str], ...]:
        return tuple((a, v) for a, v in self.cell.labels if a not in self.free)

    @property
    def cell_name(self) -> str:
        """The cell as a file name part: fixed axes, then the day and held pins, if any."""
        parts = [plan.cell_id(self.fixed_labels)]
        if self.day:
            parts.append(f"day={self.day}")
        parts += [f"with={pin}" for pin in self.hold]
        return ",".join(parts)

    def release_cell(self, version: str) -> model.Cell:
        assert self.package is not None
        spec = self.cell.venv
        requirements = [r for r in spec.requirements if r not in self.dropped]
        pins = [p for p in spec.pins if canonicalize_name(p.package) != self.package]
        return self._cell(
            f"{self.package}=={version}",
            replace(
                spec,
                requirements=(*requirements, *self.hold, f"{self.package}=={version}"),
                pins=(*pins, model.Version(self.package, f"=={version}")),
                date=self.day or spec.date,
            ),
        )

    def source_cell(self, candidate: str, wheel: Path) -> model.Cell:
        """The cell with the package installed from ``wheel`` (built from a commit) in place of
        any release of it; every other requirement as the cell has it."""
        assert self.package is not None
        spec = self.cell.venv
        named = {r: Requirement(r) for r in spec.requirements if r not in self.dropped}
        ours = [q for q in named.values() if canonicalize_name(q.name) == self.package]
        kept = [r for r, q in named.items() if canonicalize_name(q.name) != self.package]
        extras = sorted({extra for q in ours for extra in q.extras})
        wanted = f"{self.package}[{','.join(extras)}]" if extras else self.package
        pins = [p for p in spec.pins if canonicalize_name(p.package) != self.package]
        return self._cell(
            f"{self.package}@{candidate}",
            replace(
                spec,
                requirements=(*kept, *self.hold, f"{wanted} @ {wheel.as_uri()}"),
                pins=tuple(pins),
                date=self.day or spec.date,
            ),
        )

    def day_cell(self, day: str) -> model.Cell:
        spec = self.cell.venv
        return self._cell(
            day, replace(spec, requirements=(*spec.requirements, *self.hold), date=day)
        )

    def _cell(self, candidate: str, spec: model.VenvSpec) -> model.Cell:
        labels = (*self.fixed_labels, ("bisect", candidate))
        return replace(
            self.cell,
            id=f"{self.cell_name},bisect={candidate}",
            labels=labels,
            venv=spec,
            expected=None,
        )


@dataclass(frozen=True)
class Probe:
    """What one probe found, as printed and stored."""

    candidate: str
    phase: Phase
    outcome: model.Outcome
    seconds: float  # wall time: resolve, build or reuse, and every run
    built: bool  # a venv was built (or an attempt made) for it, rather than found
    venv: str
    resolved: tuple[tuple[str, str], ...]
    log: str
    detail: str
    runs: tuple[model.Outcome, ...] = ()
    same_as: str = ""  # the candidate whose result this reuses: the same resolution

    @property
    def verdict(self) -> Verdict:
        return verdict_of(self.outcome)


class Prober:
    """Probes candidates of one subject through the lab's store; several at once if asked."""

    def __init__(self, execution: Execution, subject: Subject, resolver: Resolver | None):
        self.execution = execution
        self.subject = subject
        self.resolver = resolver
        self.guard = threading.Lock()
        self.by_resolution: dict[Resolution, tuple[Probe, model.Cell]] = {}
        self.ran_cell: dict[str, model.Cell] = {}  # candidate -> the cell that really ran

    def prefetch(self, cells: Sequence[model.Cell]) -> None:
        if self.resolver is not None:
            self.resolver.prefetch([c.venv for c in cells])

    def cancel(self) -> None:
        """End every probe still running (their processes with them)."""
        self.execution.cancel.set()

    def probe(self, candidate: str, cell: model.Cell, phase: Phase) -> Probe:
        start = time.monotonic()
        if phase is Phase.CONFIRM:
            with self.guard:
                ran = self.ran_cell.get(candidate, cell)
            confirm = replace(ran, id=f"{cell.id},confirm", labels=cell.labels)
            return self._run(candidate, confirm, phase, start)
        key = self._resolution(cell)
        with self.guard:
            known = self.by_resolution.get(key) if key is not None else None
        if known is not None:
            earlier, ran = known
            with self.guard:
                self.ran_cell[candidate] = ran
            return replace(
                earlier,
                candidate=candidate,
                phase=phase,
                built=False,
                same_as=earlier.same_as or earlier.candidate,
                seconds=time.monotonic() - start,
            )
        found = self._run(candidate, cell, phase, start)
        with self.guard:
            self.ran_cell[candidate] = cell
            if key is not None:
                self.by_resolution.setdefault(key, (found, cell))
        return found

    def _resolution(self, cell: model.Cell) -> Resolution | None:
        if self.resolver is None:
            return None
        found = self.resolver.resolve(cell.venv)
        return None if isinstance(found, Failed) else found

    def _run(self, candidate: str, cell: model.Cell, phase: Phase, start: float) -> Probe:
        scenario = self.subject.scenario
        job = Job(scenario, cell, self.execution.fingerprint(scenario, cell))
        result, venv = self.execution.probe(job)
        return Probe(
            candidate=candidate,
            phase=phase,
            outcome=result.outcome,
            seconds=time.monotonic() - start,
            built=not venv.reused,
            venv=venv.key,
            resolved=result.resolved or venv.resolved,
            log=result.log,
            detail=result.detail,
            runs=result.runs,
        )
