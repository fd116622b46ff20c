"""The ``bisect`` command as a short list of stages.

load the scenario -> choose the one cell (every axis fixed but the bisected one) -> list the
candidates (releases the cell could install, or days) -> choose the ends -> search, printing
each probe -> what changed (dates) -> follow-up release bisects -> write_answer JSON and markdown.
Bad input stops before the search, so that nothing is built.
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from filelock import FileLock
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from buglab import model
from buglab.bisect import answer, candidates
from buglab.bisect.options import BisectOptions
from buglab.bisect.probing import Probe, Prober, Subject
from buglab.bisect.search import Found, Phase, Search, Verdict
from buglab.env import (
    Failed,
    Interpreter,
    ReleaseCheck,
    Resolution,
    Resolver,
    cutoff_time,
    find_uv,
    index,
    index_url,
    user_cache,
)
from buglab.errors import UsageError
from buglab.files import held, write_atomic
from buglab.lab import Execution, Say, terminate_as_interrupt
from buglab.option import to_argv
from buglab.spec import Selection, did_you_mean, expand, load_scenarios, select


def bisect_command(options: BisectOptions) -> tuple[str, ...]:
    """The command that asks for ``options``: printed as a follow-up, stored with the answer."""
    return ("python", "-m", "buglab", "bisect", *to_argv(options))


# -- stage 1-2: the cell ---------------------------------------------------------------------


def check_options(options: BisectOptions) -> None:
    """Flags that cannot work together, or values that cannot be read, before anything else."""
    if options.repeat < 1:
        raise UsageError(f"--repeat {options.repeat}: must be at least 1")
    if options.package is None:
        for flag, given in (("--day", options.day), ("--pre", options.pre)):
            if given:
                raise UsageError(f"{flag} belongs to a release bisect (--package NAME)")
    elif options.then_package:
        raise UsageError("--then-package belongs to a date bisect (--date)")
    if options.day == "latest":
        raise UsageError("--day latest: pick the cell's toolchain with --only instead")
    if options.day:
        candidates.parse_day("--day", options.day, options.today)
    for pin in options.hold:
        try:
            held = Requirement(pin)
        except InvalidRequirement:
            held = None
        if held is None or len(held.specifier) != 1 or next(iter(held.specifier)).operator != "==":
            raise UsageError(f"--hold {pin!r}: expected NAME==VERSION, e.g. pytest==8.0.0")
        if options.package and canonicalize_name(held.name) == canonicalize_name(options.package):
            raise UsageError(f"--hold {pin}: {held.name} is the package being bisected")


def choose_subject(scenario: model.Scenario, options: BisectOptions) -> Subject:
    """The one cell to vary; every axis but the bisected one must be fixed by ``--only``."""
    package = str(canonicalize_name(options.package)) if options.package else None
    free = _free_axes(scenario, package, options)
    if package is not None and not free:
        _check_spelling(scenario, package, options.package or "")
    selection = Selection.parse(options.only)
    selection.validate([scenario])
    for name, _ in selection.wanted:
        if name in free and package is not None and options.day:
            raise UsageError(
                f"--only {name}=...: --day {options.day} takes the place of "
                f"{name}; leave one of them out"
            )
        if name in free:
            raise UsageError(
                f"--only {name}=...: {name} is what this bisect varies; leave it "
                "out and give the range with --good/--bad"
            )
    cells = select(expand(scenario), selection)
    if not cells:
        raise UsageError(f"no cell of {scenario.name} matches {' '.join(options.only)}")
    still = []
    for axis in scenario.axes:
        labels = list(dict.fromkeys(c.label_map[axis.name] for c in cells))
        if axis.name not in free and len(labels) > 1:
            still.append(f"{axis.name} ({', '.join(labels)})")
    if still:
        but = f" but {', '.join(free)}" if free else ""
        raise UsageError(
            f"a bisect varies one cell: fix every axis{but} with --only; still "
            f"free: {'; '.join(still)}"
        )
    cell = cells[0]
    dropped = tuple(
        value.payload.requirement
        for axis in scenario.axes
        if axis.name in free
        for value in axis.values
        if value.label == cell.label_map[axis.name] and isinstance(value.payload, model.Version)
    )
    return Subject(scenario, cell, free, package, dropped, options.day, options.hold)


def _check_spelling(scenario: model.Scenario, package: str, given: str) -> None:
    """A name close to, but not, one the scenario names is a typo, not a dependency to find
    in the venv (an unnamed dependency, like pluggy under pytest, is looked for later)."""
    named = [str(canonicalize_name(name)) for name in scenario.shown_packages]
    if package not in named:
        hint = did_you_mean(package, named)
        if hint:
            raise UsageError(f"--package {given!r}: the scenario names no such package{hint}")


def _free_axes(
    scenario: model.Scenario, package: str | None, options: BisectOptions
) -> tuple[str, ...]:
    """The axes the bisection sets: the package's version axis, or the date axis."""
    free = []
    for axis in scenario.axes:
        if axis.kind is model.AxisKind.DATE and (package is None or options.day):
            free.append(axis.name)
        elif axis.kind is model.AxisKind.VERSION and package is not None:
            packages = {
                canonicalize_name(v.payload.package)
                for v in axis.values
                if isinstance(v.payload, model.Version)
            }
            if packages == {package}:
                free.append(axis.name)
    return tuple(free)


# -- stage 3-4: candidates and ends ----------------------------------------------------------


@dataclass(frozen=True)
class Range:
    labels: tuple[str, ...]  # the searched candidates, oldest first
    set_aside: tuple[candidates.SetAside, ...]
    oldest: Verdict | None


def release_range(
    subject: Subject, options: BisectOptions, python: Version, index_url: str | None
) -> Range:
    assert subject.package is not None
    found = index.releases(subject.package, index_url)
    if found is None:
        where = index_url or index.PYPI_SIMPLE
        raise UsageError(f"the index cannot be asked about {subject.package} ({where})")
    if not found:
        raise UsageError(f"the index has no release of {subject.package}")
    day = subject.day or subject.cell.venv.date
    cutoff = cutoff_time(day) if day else None
    target = candidates.Target(python, candidates.target_tags(python), cutoff)
    listed = candidates.release_candidates(found, target, options.pre)
    labels = tuple(str(v) for v in listed.versions)
    why = {s.version: s.reason for s in listed.set_aside}
    ends = candidates.choose_ends(labels, options.good, options.bad, why)
    low, high = listed.versions[ends.first], listed.versions[ends.last]
    aside = tuple(s for s in listed.set_aside if low < Version(s.version) < high)
    return Range(labels[ends.first : ends.last + 1], aside, _called(ends.oldest))


def day_range(subject: Subject, options: BisectOptions) -> Range:
    today = options.today
    good = candidates.parse_day("--good", options.good, today) if options.good else None
    bad = candidates.parse_day("--bad", options.bad, today) if options.bad else None
    if good is not None and good == bad:
        raise UsageError(f"--good and --bad are the same day ({good}): give two different days")
    if good is None and bad is None:
        axis_days = sorted(
            p.day
            for a in subject.scenario.axes
            for v in a.values
            if isinstance(p := v.payload, model.Date) and p.day
        )
        if not axis_days:
            raise UsageError("--date: give --good DAY (the scenario has no dated axis to start at)")
        return Range(candidates.days(dt.date.fromisoformat(axis_days[0]), today), (), None)
    given = [d for d in (good, bad) if d is not None]
    if len(given) == 1 and given[0] == today:
        raise UsageError(f"{given[0]} is today, the newest day; give the other end too")
    first, last = min(given), (max(given) if len(given) == 2 else today)
    oldest = "good" if first == good else "bad"
    return Range(candidates.days(first, last), (), _called(oldest))


def _called(word: str | None) -> Verdict | None:
    return Verdict(word) if word else None


def ensure_in_cell(
    subject: Subject, resolve: Callable[[model.VenvSpec], Resolution | Failed] | None
) -> None:
    """A package the cell does not install cannot be bisected: adding it would be another bug."""
    assert subject.package is not None
    spec = subject.cell.venv
    named = {canonicalize_name(Requirement(r).name) for r in spec.requirements}
    if subject.package in named or subject.dropped:
        return
    if resolve is None:
        raise UsageError(f"--package {subject.package}: not among the cell's requirements")
    base = replace(
        spec, date=subject.day or spec.date, requirements=(*spec.requirements, *subject.hold)
    )
    found = resolve(base)
    if isinstance(found, Failed):
        raise UsageError(
            f"cannot tell whether the cell installs {subject.package}: {found.message}"
        )
    if subject.package not in found.names():
        shown = ", ".join(sorted(found.names()))
        raise UsageError(f"--package {subject.package}: the cell does not install it ({shown})")


# -- the whole command -----------------------------------------------------------------------


def run_bisect(options: BisectOptions, caller: Mapping[str, str], say: Say) -> answer.Bisected:
    started, clock = time.monotonic(), time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    check_options(options)
    scenario = load_scenarios(options.root, (options.scenario,))[0]
    subject = choose_subject(scenario, options)
    url = index_url(caller)
    execution = Execution(replace(options, jobs=1), caller, say, lambda done, total: None)
    interpreter = execution.builder.interpreters.find(subject.cell.venv.python)
    if not isinstance(interpreter, Interpreter):
        raise UsageError(interpreter)
    resolver = _resolver(execution, interpreter, url, options)
    try:
        if subject.package is not None:
            found = release_range(subject, options, Version(interpreter.version), url)
            ensure_in_cell(subject, resolver.resolve if resolver else None)
            cells = tuple(subject.release_cell(label) for label in found.labels)
        else:
            found = day_range(subject, options)
            cells = tuple(subject.day_cell(day) for day in found.labels)
        ReleaseCheck(user_cache(caller), url, options.offline).check([scenario])
        memo = resolver if subject.package is None and execution.backend == "uv" else None
        prober = Prober(execution, subject, memo)
        with terminate_as_interrupt():  # SIGTERM ends the probe's processes, like Ctrl-C
            state = drive(found.labels, cells, found.oldest, prober, say)
    finally:
        if resolver is not None:
            resolver.close()
    result = answer.Bisected(
        subject=subject,
        argv=bisect_command(options),
        python=interpreter.version,
        candidates=found.labels,
        set_aside=found.set_aside,
        oldest_called=found.oldest,
        probes=tuple(prober.probes),
        answer=state.answer(),
        started=clock,
        seconds=time.monotonic() - started,
    )
    if subject.package is None:
        result = settle(result, options, caller, say)
    result = replace(result, seconds=time.monotonic() - started)
    write_answer(result, answer_path(options, subject))
    return result


def _resolver(
    execution: Execution, interpreter: Interpreter, index_url: str | None, options: BisectOptions
) -> Resolver | None:
    uv = find_uv()
    if uv is None:
        return None
    return Resolver(
        uv,
        interpreter.executable,
        execution.builder.env,
        options.store_dir,
        index_url,
        options.offline,
    )


class Probes(Protocol):
    """What the search asks of the lab (a :class:`Prober`, or a fake one in tests)."""

    def prefetch(self, cells: Sequence[model.Cell]) -> None: ...

    def probe(self, candidate: str, cell: model.Cell, phase: Phase) -> Probe: ...


def drive(
    labels: Sequence[str],
    cells: Sequence[model.Cell],
    oldest: Verdict | None,
    prober: Probes,
    say: Say,
) -> Search:
    """The search against real probes; while one runs, the next candidates are resolved."""
    state = Search(len(labels), oldest)
    while (at := state.next()) is not None:
        ahead = {state.record(at, v).next() for v in Verdict} - {None, at}
        prober.prefetch([cells[i] for i in sorted(i for i in ahead if i is not None)])
        probe = prober.probe(labels[at], cells[at], state.phase())
        say(answer.probe_line(probe))
        state = state.record(at, probe.verdict)
    return state


def settle(
    result: answer.Bisected, options: BisectOptions, caller: Mapping[str, str], say: Say
) -> answer.Bisected:
    """What changed between the two days; with several packages, the release bisects that tell
    which one it was (each with the others held at their last-good versions), run when asked."""
    found = result.answer
    if not isinstance(found, Found):
        return result
    before = result.first_probe(found.last_old)
    after = result.first_probe(found.first_new)
    changes = answer.diff(before.resolved, after.resolved)
    result = replace(result, changes=changes)
    both = [c for c in changes if c.before and c.after and c.package != "python"]
    if len(changes) < 2 or not both:
        return result
    follow_ups = []
    for change in both:
        assert change.before is not None and change.after is not None
        old, new = (change.before, change.after)
        good, bad = (old, new) if found.looking_for is Verdict.BAD else (new, old)
        others = tuple(f"{c.package}=={c.before}" for c in both if c is not change)
        sub = replace(
            options,
            package=change.package,
            date=False,
            good=good,
            bad=bad,
            hold=others,
            day=result.candidates[found.first_new],
            then_package=False,
        )
        free = _free_axes(result.subject.scenario, change.package, sub)
        sub = replace(
            sub, only=tuple(f"{a}={v}" for a, v in result.subject.fixed_labels if a not in free)
        )
        follow_ups.append(answer.FollowUp(change.package, bisect_command(sub)))
        if not options.then_package:
            continue
        say(f"then: {shlex.join(bisect_command(sub))}")
        done = run_bisect(sub, caller, say)
        culprit = isinstance(done.answer, Found) and done.answer.exact
        follow_ups[-1] = replace(
            follow_ups[-1],
            answer=answer.final_line(done),
            culprit=culprit,
            path=str(answer_path(sub, done.subject)),
        )
        if culprit:
            break  # this package alone makes the difference
    return replace(result, follow_ups=tuple(follow_ups))


# -- stage: results --------------------------------------------------------------------------


def answer_path(options: BisectOptions, subject: Subject) -> Path:
    what = subject.package or "date"
    return options.results_dir / subject.scenario.name / f"bisect-{what}-{subject.cell_name}.json"


def _stored(path: Path) -> object:
    """The bisection stored at ``path`` with its paragraph beside it, or None."""
    try:
        if path.with_suffix(".md").is_file():
            return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    return None


def write_answer(result: answer.Bisected, path: Path) -> None:
    """Both files, unless they already say the same (timings aside)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path.with_suffix(".lock")))
    with held(lock, f"the results of {path.name}", lambda text: None):
        data = answer.answer_json(result)
        stored = _stored(path)
        if stored is not None and answer.same_answer(stored, data):
            return
        write_atomic(path, json.dumps(data, indent=2) + "\n")
        write_atomic(path.with_suffix(".md"), answer.paragraph(result))
