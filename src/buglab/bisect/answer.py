"""A finished bisection as a value, and its three renderings: terminal lines, versioned JSON and
a paragraph ready for an upstream issue. Pure: writing the files is the caller's stage."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from buglab import model
from buglab.bisect.candidates import SetAside
from buglab.bisect.probing import Probe, Subject
from buglab.bisect.search import Answer, Found, Inconsistent, NoContrast, Phase, Verdict, WrongEnds
from buglab.lab import render

SCHEMA = 1
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

    @property
    def is_date(self) -> bool:
        return self.subject.package is None

    def name(self, index: int) -> str:
        """A candidate as the answer line writes it: ``coverage==7.13.3`` or ``2026-02-03``."""
        label = self.candidates[index]
        return label if self.is_date else f"{self.subject.package}=={label}"

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
    out.append(
        f"venvs: {b.built} built, {b.reused} reused; {len(b.probes)} probes of "
        f"{len(b.candidates)} candidates in {b.seconds:.1f} s"
    )
    out.append(final_line(b))
    return out


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
            return f"{what_looked_for(b)}: {b.name(answer.first_new)}"
        among = [*answer.gap, answer.first_new]
        return (
            f"{what_looked_for(b)}: one of {', '.join(b.name(i) for i in among)} "
            f"({len(answer.gap)} skipped between {b.name(answer.last_old)} and "
            f"{b.name(answer.first_new)})"
        )
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


# -- JSON ------------------------------------------------------------------------------------


# what differs on every asking of the same question: when, how long, whether a venv was reused
_HOW_IT_WENT = frozenset({"started", "seconds", "venv", "venvs"})


def same_answer(old: Any, new: Any) -> bool:
    """Whether two stored bisections (``answer_json``) say the same: same probes, outcomes, versions
    and answer. A file is not rewritten for timings alone, so that a clone stays clean."""
    return _facts(old) == _facts(new)


def _facts(value: object) -> object:
    if isinstance(value, dict):
        return {k: _facts(v) for k, v in value.items() if k not in _HOW_IT_WENT}
    if isinstance(value, list):
        return [_facts(v) for v in value]
    return value


def answer_json(b: Bisected) -> dict[str, Any]:
    """Every probe, the candidates and what was set aside, and the answer: enough to re-read."""
    subject = b.subject
    return {
        "schema": SCHEMA,
        "kind": "date" if b.is_date else "release",
        "scenario": subject.scenario.name,
        "cell": subject.cell_name,
        "axes": dict(subject.fixed_labels),
        "package": subject.package,
        "day": subject.day,
        "hold": list(subject.hold),
        "python": b.python,
        "command": list(b.argv),
        "started": b.started,
        "seconds": round(b.seconds, 1),
        "looking_for": what_looked_for(b),
        "oldest_called": b.oldest_called.value if b.oldest_called else None,
        "candidates": list(b.candidates),
        "set_aside": [{"candidate": s.version, "reason": s.reason} for s in b.set_aside],
        "venvs": {"built": b.built, "reused": b.reused},
        "probes": [
            {
                "candidate": p.candidate,
                "phase": p.phase.value,
                "outcome": p.outcome.value,
                "verdict": p.verdict.value,
                "seconds": round(p.seconds, 2),
                "venv": "built" if p.built else "reused",
                "same_resolution_as": p.same_as or None,
                "venv_key": p.venv,
                "resolved": dict(p.resolved),
                "log": p.log,
                "detail": p.detail,
                "runs": [r.value for r in p.runs],
            }
            for p in b.probes
        ],
        "answer": _answer_json(b),
        "changes": [
            {"package": c.package, "before": c.before, "after": c.after} for c in b.changes
        ],
        "follow_ups": [
            {
                "package": f.package,
                "command": shlex.join(f.argv),
                "answer": f.answer or None,
                "results": f.path or None,
                "culprit": f.culprit,
            }
            for f in b.follow_ups
        ],
        "line": final_line(b),
    }


def _answer_json(b: Bisected) -> dict[str, Any]:
    answer = b.answer
    if isinstance(answer, Found):
        return {
            "kind": "boundary" if answer.exact else "range",
            "last_before": b.candidates[answer.last_old],
            "boundary": b.candidates[answer.first_new],
            "skipped": [
                {
                    "candidate": b.candidates[i],
                    "outcome": b.first_probe(i).outcome.value,
                    "detail": b.first_probe(i).detail,
                }
                for i in answer.gap
            ],
            "confirmed": not answer.unconfirmed,
        }
    if isinstance(answer, WrongEnds):
        return {
            "kind": "wrong-end",
            "ends": [
                {
                    "candidate": b.candidates[w.index],
                    "called": w.called.value,
                    "outcome": b.first_probe(w.index).outcome.value,
                    "detail": b.first_probe(w.index).detail,
                }
                for w in answer.ends
            ],
        }
    if isinstance(answer, NoContrast):
        return {"kind": "no-contrast", "oldest": answer.oldest.value, "newest": answer.newest.value}
    return {
        "kind": "inconsistent",
        "flips": [
            {
                "from": b.candidates[f.before.index],
                "from_verdict": f.before.verdict.value,
                "to": b.candidates[f.after.index],
                "to_verdict": f.after.verdict.value,
            }
            for f in answer.flips
        ],
    }


# -- paragraph --------------------------------------------------------------------------------


def paragraph(b: Bisected) -> str:
    """A paragraph for an upstream issue: the answer first, then how it was found."""
    subject = b.subject
    scenario = subject.scenario
    what = f"`{subject.package}`" if subject.package else "the toolchain date"
    cell = ", ".join(f"{a}={v}" for a, v in subject.fixed_labels)
    pinned = f"; held: {', '.join(f'`{h}`' for h in subject.hold)}" if subject.hold else ""
    day = f"; everything else as of {subject.day}" if subject.day else ""
    head = f"**{_headline(b)}**"
    setting = (
        f"Scenario `{scenario.name}` ({scenario.title}), cell `{cell}`{day}{pinned}, "
        f"Python {b.python}; command `{render.shown_command(subject.cell.argv)}`; the bug "
        f"is the output `{scenario.signature.pattern}`."
    )
    how = (
        f"Bisected {what} over {len(b.candidates)} candidates "
        f"({b.candidates[0]} … {b.candidates[-1]}) in {len(b.probes)} probes "
        f"({b.built} venvs built, {b.reused} reused, {b.seconds:.0f} s), judging each probe "
        "by the outcome (reproduced = bad, passed = good; anything else skipped, never "
        f"blamed): `{shlex.join(b.argv)}`."
    )
    rows = ["", "| candidate | outcome | detail |", "|---|---|---|"]
    for p in b.probes:
        if p.phase is not Phase.CONFIRM:
            rows.append(
                f"| {p.candidate} | {p.outcome.value} | {_cell_text(tidy_detail(p.detail))} |"
            )
    aside = _aside_text(b)
    first = " ".join([head, *_evidence(b)])
    return "\n".join([first, "", setting, "", how + aside, *rows, ""])


def _headline(b: Bisected) -> str:
    answer = b.answer
    if isinstance(answer, Found):
        kind = "day" if b.is_date else "release"
        word = "bad" if answer.looking_for is Verdict.BAD else "good"
        if answer.exact:
            return f"First {word} {kind}: {b.name(answer.first_new)}."
        among = ", ".join(b.name(i) for i in (*answer.gap, answer.first_new))
        return f"First {word} {kind}: one of {among}."
    line = final_line(b)
    return line[:1].upper() + line[1:] + "."


def _evidence(b: Bisected) -> list[str]:
    answer = b.answer
    if not isinstance(answer, Found):
        return []
    before, after = b.first_probe(answer.last_old), b.first_probe(answer.first_new)
    said = [
        f"{b.name(answer.last_old)} {_said(before)} and {b.name(answer.first_new)} "
        f"{_said(after)}" + ("" if answer.unconfirmed else ", both confirmed by a second run.")
    ]
    if answer.unconfirmed:
        said[0] += "; a second run could not confirm both sides."
    if b.is_date:
        if len(b.changes) == 1:
            said.append(f"Only one package changed between those days: {b.changes[0]}.")
        elif b.changes:
            said.append(f"Changed between those days: {', '.join(str(c) for c in b.changes)}.")
        settled = [f for f in b.follow_ups if f.answer]
        said += [f"Bisecting {f.package} with the others held: {f.answer}." for f in settled]
    return said


def _aside_text(b: Bisected) -> str:
    if not b.set_aside:
        return ""
    yanked = [s for s in b.set_aside if s.reason.startswith("yanked")]
    text = f" Not probed: {len(b.set_aside)} releases in the range"
    if yanked:
        text += f", among them yanked {', '.join(s.version for s in yanked)}"
    return text + " (listed in the JSON)."


def _cell_text(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")[:160]
