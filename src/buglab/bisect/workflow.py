"""The ``bisect`` command as a short list of stages.

load the scenario -> choose the one cell (every axis fixed but the bisected one) -> list the
candidates (releases the cell could install, or days) -> choose the ends -> search, printing
each probe -> what changed (dates) -> follow-up release bisects -> write_answer JSON and markdown.
Bad input stops before the search, so that nothing is built.
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from filelock import FileLock
from packaging.utils import canonicalize_name
from packaging.version import Version

from buglab.bisect import answer, installable, record
from buglab.bisect.cell import (
    Range,
    check_options,
    choose_subject,
    day_range,
    ensure_in_cell,
    free_axes,
    release_range,
)
from buglab.bisect.commits import bisect_commits
from buglab.bisect.crosscheck import second_flips
from buglab.bisect.driving import drive
from buglab.bisect.options import BisectOptions
from buglab.bisect.probing import Prober, Subject
from buglab.bisect.search import Found, Verdict
from buglab.env import (
    Interpreter,
    ReleaseCheck,
    Resolver,
    find_uv,
    index_url,
    user_cache,
)
from buglab.errors import UsageError
from buglab.files import bounded_name, held, write_atomic
from buglab.lab import Execution, Say, terminate_as_interrupt
from buglab.option import command_line, to_argv
from buglab.spec import load_scenarios


def bisect_command(options: BisectOptions, caller: Mapping[str, str]) -> tuple[str, ...]:
    """The command that asks for ``options``, in the form the user ran (nox or ``buglab``):
    printed as a follow-up, stored with the answer."""
    return command_line("bisect", to_argv(options), caller)


# -- the whole command -----------------------------------------------------------------------


def run_bisect(options: BisectOptions, caller: Mapping[str, str], say: Say) -> answer.Bisected:
    started, clock = time.monotonic(), time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    check_options(options)
    url = index_url(caller)
    source = {canonicalize_name(options.package)} if options.commits and options.package else set()
    releases = ReleaseCheck(user_cache(caller), url, options.offline, frozenset(source))
    scenario = load_scenarios(options.root, (options.scenario,), lambda s: releases.check([s]))[0]
    subject = choose_subject(scenario, options)
    execution = Execution(replace(options, jobs=1), caller, say, lambda done, total: None)
    interpreter = execution.builder.interpreters.find(subject.cell.venv.python)
    if not isinstance(interpreter, Interpreter):
        raise UsageError(interpreter)
    resolver = _resolver(execution, interpreter, url, options)
    history = None
    prober: Prober | None = None  # a commit bisect probes through its own
    try:
        if subject.package is not None:
            if options.commits:
                found = Range((), (), None)
            else:
                found = release_range(subject, options, Version(interpreter.version), url)
            ensure_in_cell(subject, resolver.resolve if resolver else None)
            if not options.commits and options.good is None and options.bad is None and resolver:
                found = installable.within(found, subject, resolver.resolve, say)
            cells = tuple(subject.release_cell(label) for label in found.labels)
        else:
            found = day_range(subject, options)
            cells = tuple(subject.day_cell(day) for day in found.labels)
        releases.check([scenario])
        if options.commits:
            history, driven = bisect_commits(options, subject, execution, interpreter, caller, say)
            found = Range(history.searched, (), driven.state.oldest)
        else:
            memo = resolver if subject.package is None and execution.backend == "uv" else None
            prober = Prober(execution, subject, memo)
            with terminate_as_interrupt():  # SIGTERM ends the probe's processes, like Ctrl-C
                driven = drive(found.labels, cells, found.oldest, prober, say, jobs=options.jobs)
    finally:
        if resolver is not None:
            resolver.close()
    result = answer.Bisected(
        subject=subject,
        argv=bisect_command(options, caller),
        python=interpreter.version,
        candidates=found.labels,
        set_aside=found.set_aside,
        oldest_called=found.oldest,
        probes=driven.probes,
        answer=driven.state.answer(),
        rounds=driven.rounds,
        jobs=options.jobs,
        started=clock,
        seconds=time.monotonic() - started,
        history=history,
    )
    if options.then_commits and isinstance(result.answer, Found) and result.answer.exact:
        result = then_commits(result, options, caller, say)
    if subject.package is None:
        result = settle(result, options, caller, say)
    if prober is not None:
        with terminate_as_interrupt():
            result = second_flips(result, options, prober.probe, url, say)
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
        free = free_axes(result.subject.scenario, change.package, sub)
        sub = replace(
            sub, only=tuple(f"{a}={v}" for a, v in result.subject.fixed_labels if a not in free)
        )
        follow_ups.append(answer.FollowUp(change.package, bisect_command(sub, caller)))
        if not options.then_package:
            continue
        say(f"then: {shlex.join(bisect_command(sub, caller))}")
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


def then_commits(
    result: answer.Bisected, options: BisectOptions, caller: Mapping[str, str], say: Say
) -> answer.Bisected:
    """After a release bisect, the commits between the last release on one side and the first
    on the other, in the same cell and direction."""
    found = result.answer
    assert isinstance(found, Found)
    old, new = result.candidates[found.last_old], result.candidates[found.first_new]
    good, bad = (old, new) if found.looking_for is Verdict.BAD else (new, old)
    sub = replace(options, commits=True, then_commits=False, pre=False, good=good, bad=bad)
    say(f"then: {shlex.join(bisect_command(sub, caller))}")
    done = run_bisect(sub, caller, say)
    follow = answer.FollowUp(
        f"{result.subject.package} commits",
        bisect_command(sub, caller),
        answer=answer.final_line(done),
        path=str(answer_path(sub, done.subject)),
        culprit=isinstance(done.answer, Found) and done.answer.exact,
    )
    return replace(result, follow_ups=(*result.follow_ups, follow))


def answer_path(options: BisectOptions, subject: Subject) -> Path:
    what = (subject.package or "date") + ("-pre" if options.pre else "")
    if options.commits:
        what = f"{what}-commits"
    name = bounded_name(f"bisect-{what}-{subject.cell_name}")
    return options.results_dir / subject.scenario.name / f"{name}.json"


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
        data = record.answer_json(result)
        stored = _stored(path)
        if stored is not None and record.same_answer(stored, data):
            return
        write_atomic(path, json.dumps(data, indent=2) + "\n")
        write_atomic(path.with_suffix(".md"), record.paragraph(result))
