"""From the first bad release to the first bad commit: bisect a package's history.

The package's repository (``--repo``, or the one its index metadata names) gives the commits
between the two refs. They are searched along the first-parent line first - on a project that
merges pull requests, the line of merges - and, when the boundary on it is a merge, inside it:
so the answer names the pull request and the commit. A probe builds the commit with its own
PEP 517 backend and installs that wheel in place of any release in the cell; every other
package is what the cell asks for. A commit that cannot be built, installed or run is skipped
with its one-line reason and never blamed.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace

from buglab.bisect.driving import Driven, drive
from buglab.bisect.lineage import History
from buglab.bisect.options import BisectOptions
from buglab.bisect.probing import Probe, Prober, Subject
from buglab.bisect.search import Found, Observation, Phase, Search, Verdict
from buglab.env import (
    Commit,
    CommitWheels,
    Interpreter,
    Repository,
    forge_of,
    index_url,
    installer_env,
    is_local,
    named_repository,
    open_repository,
    user_cache,
)
from buglab.errors import UsageError
from buglab.lab import Execution, Say, terminate_as_interrupt
from buglab.model import Cell, Outcome


class SourceProber(Prober):
    """Probes commits: each built (or found built) as a wheel, then the cell with that wheel."""

    def __init__(
        self,
        execution: Execution,
        subject: Subject,
        wheels: CommitWheels,
        commits: Mapping[str, Commit],
        interpreter: Interpreter,
    ) -> None:
        super().__init__(execution, subject, None)
        self.wheels = wheels
        self.commits = commits
        self.interpreter = interpreter

    def probe(self, candidate: str, cell: Cell, phase: Phase) -> Probe:
        start = time.monotonic()
        commit = self.commits[candidate]
        name = f"{self.subject.cell_name},bisect={self.subject.package}@{candidate}"
        log = self.execution.logs / cell.scenario / f"{name}.build.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        date = self.subject.day or self.subject.cell.venv.date
        found = self.wheels.wheel(commit, self.interpreter, date, log, self.execution.cancel)
        if found.path is None:
            return Probe(
                candidate=candidate,
                phase=phase,
                outcome=Outcome.ENV_ERROR,
                seconds=time.monotonic() - start,
                built=found.built,
                venv="",
                resolved=(),
                log=log.relative_to(self.execution.options.results_dir).as_posix(),
                detail=found.reason,
            )
        real = self.subject.source_cell(candidate, found.path)
        if phase is Phase.CONFIRM:
            real = replace(real, id=f"{real.id},confirm")
        probe = self._run(candidate, real, phase, start)
        return replace(probe, built=probe.built or found.built)


def _repository(options: BisectOptions, package: str, caller: Mapping[str, str], say: Say) -> str:
    if options.repo:
        return options.repo
    url = index_url(caller)
    found, why = named_repository(package, url)
    if found is None:
        raise UsageError(f"--commits: {why}; give the repository with --repo PATH|URL")
    say(f"repository: {found} (named by the index's metadata for {package})")
    return found


def _find(repository: Repository, ref: str, package: str, flag: str) -> Commit:
    found = repository.find(ref, package)
    if found is None:
        tags = repository.tags()
        near = [t for t in tags if ref in t][:5] or tags[-5:]
        hint = f"; tags like it: {', '.join(near)}" if near else "; the repository has no tags"
        raise UsageError(f"{flag} {ref}: no such tag or commit in {repository.origin}{hint}")
    return found[0]


def _line(repository: Repository, good: Commit, bad: Commit) -> tuple[list[Commit], Verdict]:
    """The first-parent line from the older ref to the newer, and what the older one is."""
    if good.id == bad.id:
        raise UsageError(f"--good and --bad are the same commit ({good.short})")
    if repository.is_ancestor(good.id, bad.id):
        old, new, oldest = good, bad, Verdict.GOOD
    elif repository.is_ancestor(bad.id, good.id):
        old, new, oldest = bad, good, Verdict.BAD
    else:
        raise UsageError(
            f"--good {good.short} and --bad {bad.short}: neither is an ancestor of the "
            "other, so no line of history runs from one to the other"
        )
    return [old, *repository.first_parent(old, new)], oldest


def bisect_commits(
    options: BisectOptions,
    subject: Subject,
    execution: Execution,
    interpreter: Interpreter,
    caller: Mapping[str, str],
    say: Say,
) -> tuple[History, Driven]:
    """Search the commits; the history searched and every probe (the line's, then the
    merge's). Bad input stops before anything is built."""
    assert subject.package is not None and options.good and options.bad
    origin = _repository(options, subject.package, caller, say)
    repository = open_repository(
        origin, user_cache(caller), installer_env(caller), options.offline, say
    )
    forge = forge_of(origin) or forge_of(repository.remote_url())
    if forge is None and not options.offline:
        named, _ = named_repository(subject.package, index_url(caller))
        forge = forge_of(named) if named else None
    good = _find(repository, options.good, subject.package, "--good")
    bad = _find(repository, options.bad, subject.package, "--bad")
    line, oldest = _line(repository, good, bad)
    refs = (options.good, options.bad) if oldest is Verdict.GOOD else (options.bad, options.good)
    commits = {c.short: c for c in line}
    where = str(repository.path) if is_local(origin) else origin
    total = repository.count(line[0], line[-1])
    history = History(subject.package, where, forge, refs, commits, tuple(commits), total=total)
    wheels = CommitWheels(execution.builder.wheels, repository, index_url(caller), options.offline)
    prober = SourceProber(execution, subject, wheels, commits, interpreter)
    # a merge weighs what it brought in: it is searched inside if it is the boundary
    brought_in = {c.id: repository.inside(c) for c in line if c.is_merge}
    weights = tuple(1 + len(brought_in.get(c.id, ())) for c in line)
    say(
        f"commits: {total} after {line[0].short} up to {line[-1].short}; {len(line) - 1} on "
        f"the first-parent line, {sum(weights) - len(line)} more along its merged branches"
    )
    cells = [subject.cell] * len(line)
    start = Search(len(line), oldest, weights=weights, late_ends=True)
    with terminate_as_interrupt():  # SIGTERM ends the probe's processes, like Ctrl-C
        outer = drive(history.line, cells, oldest, prober, say, jobs=options.jobs, start=start)
        found = outer.state.answer()
        if not (isinstance(found, Found) and found.exact and line[found.first_new].is_merge):
            return history, outer
        merge = line[found.first_new]
        brought = brought_in[merge.id]
        if not brought:
            return history, outer
        inside = (line[found.last_old].short, *(c.short for c in brought), merge.short)
        commits.update({c.short: c for c in brought})
        history = replace(history, merge=merge.short, inside=inside)
        many = "commits" if len(brought) > 1 else "commit"
        say(f"inside: {history.describe(merge.short)} brought {len(brought)} {many}")
        ends = (
            Observation(0, oldest, Phase.END),
            Observation(len(inside) - 1, oldest.opposite, Phase.END),
        )
        start = Search(len(inside), oldest, ends)
        cells = [subject.cell] * len(inside)
        inner = drive(inside, cells, oldest, prober, say, jobs=options.jobs, start=start)
    probes = (*outer.probes, *inner.probes)
    return history, Driven(inner.state, probes, outer.rounds + inner.rounds)
