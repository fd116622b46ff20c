"""A finished bisection as a value, and its three renderings: terminal lines, versioned JSON and
a paragraph ready for an upstream issue. Pure: writing the files is the caller's stage."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from buglab import model
from buglab.bisect.candidates import SetAside
from buglab.bisect.lineage import History
from buglab.bisect.probing import Probe, Subject
from buglab.bisect.search import Answer, Found, Inconsistent, NoContrast, Phase, Verdict, WrongEnds

ARROW = "→"


@dataclass(frozen=True)
class PackageChange:
    package: str
    before: str | None  # None: not installed on that side
    after: str | None

    def __str__(self) -> str:
        return f"{self.package} {self.before or '(absent)'} {ARROW} {self.after or '(absent)'}"


@dataclass(frozen=True)
class FollowUp:
    """A release bisect that settles which of several changed packages is the culprit."""

    package: str
    argv: tuple[str, ...]
    answer: str = ""  # its final line, when it was run (--then-package)
    path: str = ""  # its results file
    culprit: bool = False  # it named a release: this package alone makes the difference


@dataclass(frozen=True)
class SeriesAnswer:
    """An older series with a release published after the boundary: what that release gave,
    and the series' own boundary when it behaves like the newer side (a backport)."""

    series: str  # "0.21"
    probed: str  # its newest release published after the boundary's
    verdict: Verdict  # what that release gave
    boundary: str = ""  # the series' first release on the newer side
    last_old: str = ""
    note: str = ""  # why no boundary could be named although the series flips


@dataclass(frozen=True)
class Contradiction:
    """An outcome the lab already holds for a cell that differs from the bisected one only in
    the bisected package (or day), which the answer says should be the other way."""

    candidate: str  # a release or a day
    outcome: model.Outcome
    source: str  # where it was measured: a results file and cell, or an earlier bisect


@dataclass(frozen=True)
class Bisected:
    subject: Subject
    argv: tuple[str, ...]  # the command that asked for it
    python: str  # the cell's interpreter version
    candidates: tuple[str, ...]  # searched, oldest first; the answer's indices point here
    set_aside: tuple[SetAside, ...]  # releases in the range that are not candidates, and why
    oldest_called: Verdict | None
    probes: tuple[Probe, ...]
    answer: Answer
    started: str
    seconds: float
    changes: tuple[PackageChange, ...] = ()
    follow_ups: tuple[FollowUp, ...] = ()
    rounds: int = 0  # batches of probes run at once; 0: not counted
    jobs: int = 1  # candidates probed at once (--jobs)
    history: History | None = None  # a commit bisect: the commits it searched
    series: tuple[SeriesAnswer, ...] = ()  # older series with a later release (release bisect)
    contradictions: tuple[Contradiction, ...] = ()

    @property
    def settled(self) -> bool:
        """One boundary (per series) that nothing the lab holds contradicts: exit status 0."""
        return (
            isinstance(self.answer, Found)
            and not self.contradictions
            and not any(s.note for s in self.series)
        )

    def label_name(self, label: str) -> str:
        """A candidate as the answer writes it: ``coverage==7.13.3``, ``2026-02-03`` or
        ``markupsafe@7856c3d945``."""
        if self.history is not None:
            return f"{self.subject.package}@{label}"
        return label if self.is_date else f"{self.subject.package}=={label}"

    @property
    def is_date(self) -> bool:
        return self.subject.package is None

    def name(self, index: int) -> str:
        """A candidate of the search, by its index, as the answer line writes it."""
        return self.label_name(self.candidates[index])

    def first_probe(self, index: int) -> Probe:
        return self.probe_of(index, confirmation=False)

    def probe_of(self, index: int, confirmation: bool) -> Probe:
        """Candidate ``index``'s first probe, or its confirmation (a second run)."""
        label = self.candidates[index]
        return next(
            p
            for p in self.probes
            if p.candidate == label and (p.phase is Phase.CONFIRM) == confirmation
        )

    @property
    def built(self) -> int:
        return sum(p.built for p in self.probes)

    @property
    def reused(self) -> int:
        return len(self.probes) - self.built


def diff(
    before: Sequence[tuple[str, str]], after: Sequence[tuple[str, str]]
) -> tuple[PackageChange, ...]:
    """Packages whose resolved version differs between two venvs, by name."""
    old, new = dict(before), dict(after)
    names = sorted(set(old) | set(new))
    return tuple(
        PackageChange(n, old.get(n), new.get(n)) for n in names if old.get(n) != new.get(n)
    )


# -- terminal --------------------------------------------------------------------------------


def probe_line(probe: Probe) -> str:
    how = "built" if probe.built else "reused"
    if probe.same_as:
        how = f"reused: same resolution as {probe.same_as}"
    bugs = sum(run is model.Outcome.REPRODUCED for run in probe.runs)
    tally = f" {bugs}/{len(probe.runs)}" if probe.outcome is model.Outcome.FLAKY else ""
    note = f" {detail}" if (detail := _detail(probe)) else ""
    phase = "confirm" if probe.phase is Phase.CONFIRM else "probe"
    return (
        f"{phase:<8}{probe.candidate:<24} {probe.outcome.value + tally:<14} "
        f"{probe.seconds:6.1f} s  {how}{note}"
    )


def what_looked_for(b: Bisected) -> str:
    return "first bad" if _looking_for(b) is Verdict.BAD else "first good"


def _looking_for(b: Bisected) -> Verdict:
    if isinstance(b.answer, Found):
        return b.answer.looking_for
    return (b.oldest_called or Verdict.GOOD).opposite


def lines(b: Bisected) -> list[str]:
    """Everything after the probes; the last line is the answer."""
    out = []
    answer = b.answer
    if isinstance(answer, Found):
        out += _found_lines(b, answer)
        out += _change_lines(b)
        out += commit_lines(b, answer)
        out += [series_line(b, s) for s in b.series]
        out += [contradiction_line(b, c) for c in b.contradictions]
    probed = len({p.candidate for p in b.probes})
    again = len(b.probes) - sum(p.phase is not Phase.CONFIRM for p in b.probes)
    rounds = f"{b.rounds} round{'s' if b.rounds > 1 else ''}"
    at_once = f" ({rounds}, {b.jobs} at a time)" if b.jobs > 1 and b.rounds else ""
    out.append(
        f"venvs: {b.built} built, {b.reused} reused; {probed} of {searched(b)} probed "
        f"({len(b.probes)} probes, {again} of them confirmations) in {b.seconds:.1f} s{at_once}"
    )
    out += [f"then {f.package}: {f.answer}" for f in b.follow_ups if not b.is_date]
    out.append(final_line(b))
    return out


def series_line(b: Bisected, s: SeriesAnswer) -> str:
    """``in the 0.21 series, first good: pytest-asyncio==0.21.2``, or what its release gave."""
    head = f"in the {s.series} series"
    if s.boundary:
        return f"{head}, {_first(s.verdict)}: {b.label_name(s.boundary)}"
    later = f"{b.label_name(s.probed)} (published after the boundary)"
    if s.note:
        return f"{head}, {later} {_verb(s.verdict)}, but {s.note}"
    if s.verdict is Verdict.SKIP:
        return f"{head}, {later} could not be judged"
    return f"{head}, {later} {_verb(s.verdict)} too"


def contradiction_line(b: Bisected, c: Contradiction) -> str:
    said = {"passed": "passed", "reproduced": "reproduced"}.get(c.outcome.value, c.outcome.value)
    return (
        f"contradicted: {b.label_name(c.candidate)} {said} in {c.source}, which this answer "
        f"calls {'bad' if c.outcome is model.Outcome.PASSED else 'good'}"
    )


def _first(verdict: Verdict) -> str:
    return "first bad" if verdict is Verdict.BAD else "first good"


def _found_lines(b: Bisected, found: Found) -> list[str]:
    out = []
    for index in found.gap:
        probe = b.first_probe(index)
        out.append(f"skipped: {b.name(index)} {probe.outcome.value}: {tidy_detail(probe.detail)}")
    sides = [found.last_old, found.first_new]

    def again(index: int) -> str:
        return b.probe_of(index, confirmation=True).outcome.value

    if found.unconfirmed:
        shaky = ", ".join(f"{b.name(i)} gave {again(i)}" for i in found.unconfirmed)
        out.append(f"not confirmed: on a second run {shaky}")
    else:
        said = " and ".join(f"{b.name(i)} {again(i)}" for i in sides)
        out.append(f"confirmed: {said} again on a second run (both sides)")
    return out


def searched(b: Bisected) -> str:
    """``69 candidates``, or for commits ``37 commits on the first-parent line after X and 1
    inside merge Y``."""
    history = b.history
    if history is None:
        return f"{len(b.candidates)} candidates"
    text = f"{len(history.line) - 1} commits on the first-parent line after {history.line[0]}"
    if history.merge:
        text += f" and {len(history.inside) - 2} inside merge {history.merge}"
    return text


def commit_lines(b: Bisected, found: Found) -> list[str]:
    """The commit (or the commits a range leaves), how it came in, links, and the other side."""
    history = b.history
    if history is None:
        return []
    among = [b.candidates[i] for i in (*found.gap, found.first_new)]
    word = "commit" if found.exact else "candidate"
    out = []
    for label in among:
        commit = history.commits[label]
        out.append(f'{word}: {commit.id} {commit.date} "{commit.subject}" ({commit.author})')
        out.append(f"  came in by {history.came_in(label)}")
        out += [f"  {link}" for link in history.links(label)]
    side = "last good" if found.looking_for is Verdict.BAD else "last bad"
    out.append(f"{side}: {history.describe(b.candidates[found.last_old])}")
    return out


def _change_lines(b: Bisected) -> list[str]:
    if not b.is_date or not isinstance(b.answer, Found):
        return []
    found = b.answer
    span = f"{b.name(found.last_old)} and {b.name(found.first_new)}"
    if not b.changes:
        return [f"changed between {span}: nothing (the same versions)"]
    out = [f"changed between {span}: {', '.join(str(c) for c in b.changes)}"]
    if len(b.changes) == 1:
        out.append(f"culprit: {b.changes[0]} (the only package that changed)")
    for follow in b.follow_ups:
        if follow.answer:
            out.append(f"then {follow.package}: {follow.answer}")
        else:
            out.append(f"to settle {follow.package}: {shlex.join(follow.argv)}")
    for follow in (f for f in b.follow_ups if f.culprit):
        change = next(c for c in b.changes if c.package == follow.package)
        out.append(f"culprit: {change} (its own releases bisected, the others held)")
    return out


def final_line(b: Bisected) -> str:
    answer = b.answer
    if isinstance(answer, Found):
        if answer.exact:
            pull = b.history.pull(b.candidates[answer.first_new]) if b.history else None
            by = f" (pull request #{pull})" if pull is not None else ""
            text = f"{what_looked_for(b)}: {b.name(answer.first_new)}{by}"
        else:
            among = [*answer.gap, answer.first_new]
            text = (
                f"{what_looked_for(b)}: one of {', '.join(b.name(i) for i in among)} "
                f"({len(answer.gap)} skipped between {b.name(answer.last_old)} and "
                f"{b.name(answer.first_new)})"
            )
        text += "".join(f"; {series_line(b, s)}" for s in b.series if s.boundary)
        if b.contradictions:
            shown = ", ".join(
                f"{b.label_name(c.candidate)} {c.outcome.value} ({c.source})"
                for c in b.contradictions[:3]
            )
            more = len(b.contradictions) - 3
            text = (
                f"not a single boundary: {text} by bisection, but the lab holds outcomes that "
                f"say otherwise: {shown}" + (f" and {more} more" if more > 0 else "")
            )
        return text
    if isinstance(answer, WrongEnds):
        wrong = sorted(answer.ends, key=lambda w: w.called is not Verdict.GOOD)[0]
        probe = b.first_probe(wrong.index)
        passed = probe.outcome is model.Outcome.PASSED
        detail = f": {tidy_detail(probe.detail)}" if probe.detail and not passed else ""
        return (
            f"no boundary: the end called {wrong.called}, {b.name(wrong.index)}, is not "
            f"{wrong.called}: it {_said(probe)}{detail}"
        )
    if isinstance(answer, NoContrast):
        first, last = b.first_probe(0), b.first_probe(len(b.candidates) - 1)
        if len(b.candidates) == 1:
            return f"no boundary: the only candidate, {b.name(0)}, {_said(first)}"
        hint = "" if b.oldest_called else "; name the ends with --good/--bad"
        return (
            f"no boundary: the oldest candidate, {b.name(0)}, {_said(first)}"
            f"{_detail(first)}; the newest, {b.name(len(b.candidates) - 1)}, "
            f"{_said(last)}{_detail(last)}{hint}"
        )
    assert isinstance(answer, Inconsistent)
    flips = "; ".join(
        f"{b.name(f.before.index)} {_verb(f.before.verdict)} "
        f"{ARROW} {b.name(f.after.index)} {_verb(f.after.verdict)}"
        for f in answer.flips
    )
    return f"no single culprit: the outcomes do not split into one good and one bad block: {flips}"


def _said(probe: Probe) -> str:
    return {"passed": "passed", "reproduced": "reproduced"}.get(
        probe.outcome.value, f"gave {probe.outcome.value}"
    )


def _detail(probe: Probe) -> str:
    return (
        f" ({tidy_detail(probe.detail)})" if probe.verdict is Verdict.SKIP and probe.detail else ""
    )


def tidy_detail(detail: str) -> str:
    """An installer's last lines without its caret rulers and generic hints."""
    parts = [part.strip() for part in detail.split(" | ")]
    kept = [p for p in parts if any(c.isalnum() for c in p) and not p.startswith("hint:")]
    return " | ".join(kept) or detail


def _verb(verdict: Verdict) -> str:
    return "reproduced" if verdict is Verdict.BAD else "passed"
