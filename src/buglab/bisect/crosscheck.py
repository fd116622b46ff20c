"""A bisection's answer against what the lab already measured. A binary search sees only the
candidates it probes: a range whose outcomes flip twice (a fix, then a backport published later
in an older series) gives a boundary that other measurements contradict. So every outcome the
lab holds for a cell that differs from the bisected one only in the bisected package (or day) -
the scenario's results file, earlier bisects of the same cell - is checked against the answer,
and what disagrees is said; the answer is then not a single boundary.

Before that, for releases, the older series published after the boundary are probed
(:mod:`buglab.bisect.series`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from buglab import model
from buglab.bisect.answer import Bisected, Contradiction, SeriesAnswer
from buglab.bisect.options import BisectOptions
from buglab.bisect.probing import Probe, verdict_of
from buglab.bisect.search import Found, Phase, Verdict
from buglab.bisect.series import Probing, series_of, settle_series, upload_times
from buglab.errors import ResultsError
from buglab.lab import Say, store

Observation = tuple[str, model.Outcome, str]  # (candidate, outcome, where it was measured)


def second_flips(
    result: Bisected, options: BisectOptions, probe: Probing, index_url: str | None, say: Say
) -> Bisected:
    """The answer with its older series settled (releases) and the lab's other measurements
    of this cell that contradict it."""
    found = result.answer
    if not isinstance(found, Found):
        return result
    series: tuple[SeriesAnswer, ...] = ()
    made: list[Probe] = []
    if result.subject.package is not None:

        def kept(label: str, cell: model.Cell, phase: Phase) -> Probe:
            made.append(probe(label, cell, phase))
            return made[-1]

        uploaded = upload_times(result.subject.package, index_url)
        series = settle_series(
            result.subject, result.candidates, found, uploaded, result.probes, kept, say
        )
    done = replace(result, series=series, probes=(*result.probes, *made))
    seen = list(observations(done, options))
    return replace(done, contradictions=tuple(contradicting(done, seen)))


# -- what the lab holds ----------------------------------------------------------------------


def observations(b: Bisected, options: BisectOptions) -> Iterator[Observation]:
    """Outcomes of cells that differ from the bisected cell only in the bisected package (or
    day): the matrix's cells with the same labels elsewhere, and earlier bisects of this cell."""
    yield from _from_matrix(b, options.results_dir)
    yield from _from_bisects(b, options)


def _shown(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _from_matrix(b: Bisected, results: Path) -> Iterator[Observation]:
    subject = b.subject
    if subject.hold or subject.day:
        return  # the matrix's cells differ from these probes in more than one package
    path = results / f"{subject.scenario.name}.json"
    try:
        matrix = store.read(path) if path.is_file() else None
    except ResultsError:
        matrix = None
    if matrix is None:
        return
    fixed = dict(subject.fixed_labels)
    where = _shown(path, subject.scenario.project.root)
    for cell in matrix.cells:
        labels = cell.label_map
        if any(labels.get(axis) != label for axis, label in fixed.items()):
            continue
        if subject.package is not None:
            versions = {str(canonicalize_name(k)): v for k, v in cell.versions.items()}
            candidate = versions.get(subject.package)
        else:
            candidate = _day(matrix, cell, subject.free)
        if candidate:
            yield candidate, cell.outcome, f"{where}, cell {cell.id}"


def _day(matrix: model.MatrixResult, cell: model.CellResult, free: Sequence[str]) -> str | None:
    """The day a matrix cell's venv was resolved at: its date label, or for ``latest`` the day
    it was measured."""
    label = next((cell.label_map[a] for a in free if a in cell.label_map), None)
    if label is None:
        return None
    if label == "latest":
        return (cell.measured or matrix.started)[:10] or None
    return label


def _from_bisects(b: Bisected, options: BisectOptions) -> Iterator[Observation]:
    subject = b.subject
    folder = options.results_dir / subject.scenario.name
    if not folder.is_dir():
        return
    fixed = dict(subject.fixed_labels)
    for path in sorted(folder.glob("bisect-*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict) or not _same_question(data, b, fixed):
            continue
        where = _shown(path, subject.scenario.project.root)
        for probe in data.get("probes", []):
            try:
                outcome = model.Outcome(probe["outcome"])
                yield str(probe["candidate"]), outcome, where
            except (KeyError, TypeError, ValueError):
                continue


def _same_question(data: Mapping[str, object], b: Bisected, fixed: Mapping[str, str]) -> bool:
    subject = b.subject
    kind = "date" if subject.package is None else "release"
    return (
        data.get("kind") == kind
        and data.get("package") == subject.package
        and data.get("axes") == dict(fixed)
        and data.get("day") == subject.day
        and list(data.get("hold") or []) == list(subject.hold)  # type: ignore[call-overload]
    )


# -- against the answer ----------------------------------------------------------------------


def expected(b: Bisected, candidate: str) -> Verdict | None:
    """What the answer says ``candidate`` gives, or None where it says nothing (outside the
    range searched, or between the sides of a range answer)."""
    found = b.answer
    assert isinstance(found, Found)
    key = _key(b, candidate)
    first, last = _key(b, b.candidates[0]), _key(b, b.candidates[-1])
    if key is None or first is None or last is None or not first <= key <= last:
        return None
    new, old = found.looking_for, found.looking_for.opposite
    mine = series_of(candidate) if not b.is_date else ()
    for s in b.series:
        if mine and s.series == ".".join(map(str, mine)):
            probed = _key(b, s.probed)
            if probed is not None and key > probed:
                return None  # releases of that series after the one probed: not asked
            if s.boundary:
                boundary = _key(b, s.boundary)
                return new if boundary is not None and key >= boundary else old
            return s.verdict if s.verdict is not Verdict.SKIP else None
    before, boundary = _key(b, b.candidates[found.last_old]), _key(b, b.candidates[found.first_new])
    assert before is not None and boundary is not None
    if key >= boundary:
        return new
    return old if key <= before else None


def _key(b: Bisected, label: str) -> tuple[object, ...] | None:
    if b.is_date:
        return (label,)
    try:
        return (Version(label),)
    except InvalidVersion:
        return None


def contradicting(b: Bisected, seen: Sequence[Observation]) -> Iterator[Contradiction]:
    done = set()
    for candidate, outcome, where in seen:
        verdict = verdict_of(outcome)
        want = expected(b, candidate) if verdict is not Verdict.SKIP else None
        if want is None or want is verdict or (candidate, outcome, where) in done:
            continue
        done.add((candidate, outcome, where))
        yield Contradiction(candidate, outcome, where)
