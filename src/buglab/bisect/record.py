"""What a bisection leaves in ``results/<scenario>/``: a versioned JSON with every probe, and a
paragraph ready for the upstream issue. Pure: writing the files is the workflow's last stage."""

from __future__ import annotations

import shlex
from typing import Any

from buglab.bisect.answer import (
    Bisected,
    _said,
    contradiction_line,
    final_line,
    searched,
    series_line,
    tidy_detail,
    what_looked_for,
)
from buglab.bisect.commit_record import commit_sentences, reproduction
from buglab.bisect.search import Found, NoContrast, Phase, Verdict, WrongEnds
from buglab.lab import render

SCHEMA = 1


# -- JSON ------------------------------------------------------------------------------------


# what differs on every asking of the same question: when, how long, whether a venv was reused
_HOW_IT_WENT = frozenset({"started", "seconds", "venv", "venvs", "jobs", "rounds"})


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
    kind = "commit" if b.history else "date" if b.is_date else "release"
    data = {
        "schema": SCHEMA,
        "kind": kind,
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
        "jobs": b.jobs,
        "rounds": b.rounds,
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
        "series": [
            {
                "series": s.series,
                "probed": s.probed,
                "verdict": s.verdict.value,
                "boundary": s.boundary or None,
                "last_before": s.last_old or None,
                "note": s.note or None,
            }
            for s in b.series
        ],
        "contradictions": [
            {"candidate": c.candidate, "outcome": c.outcome.value, "measured": c.source}
            for c in b.contradictions
        ],
        "line": final_line(b),
    }
    if b.history is not None:
        data["history"] = b.history.to_json()
    return data


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
    if b.history is not None:
        what = f"the commits of `{subject.package}` ({b.history.repository})"
    fixed = ", ".join(f"{a}={v}" for a, v in subject.fixed_labels)
    cell = f"cell `{fixed}`" if fixed else "its one cell"  # every axis was the bisected one
    pinned = f"; held: {', '.join(f'`{h}`' for h in subject.hold)}" if subject.hold else ""
    day = f"; everything else as of {subject.day}" if subject.day else ""
    head = f"**{_headline(b)}**"
    setting = (
        f"Scenario `{scenario.name}` ({scenario.title}), {cell}{day}{pinned}, "
        f"Python {b.python}; command `{render.shown_command(subject.cell.argv)}`; the bug "
        f"is the output `{scenario.signature.pattern}`."
    )
    span = b.history.refs if b.history else (b.candidates[0], b.candidates[-1])
    how = (
        f"Bisected {what} over {searched(b)} ({span[0]} … {span[1]}) in {len(b.probes)} probes "
        f"({b.built} venvs built, {b.reused} reused, {b.seconds:.0f} s), judging each probe "
        "by the outcome (reproduced = bad, passed = good; anything else skipped, never "
        f"blamed): `{shlex.join(b.argv)}`."
    )
    rows = ["", "| candidate | outcome | detail |", "|---|---|---|"]
    for p in b.probes:
        if p.phase is not Phase.CONFIRM:
            name = p.candidate
            if b.history is not None:
                name += f" {_cell_text(b.history.commits[p.candidate].subject)[:60]}"
            rows.append(f"| {name} | {p.outcome.value} | {_cell_text(tidy_detail(p.detail))} |")
    aside = _aside_text(b)
    first = " ".join([head, *_evidence(b)])
    found = b.answer if isinstance(b.answer, Found) else None
    commit = commit_sentences(b, found) if found else []
    tail = reproduction(b, found) if found else []
    return "\n".join([first, *commit, "", setting, "", how + aside, *rows, *tail, ""])


def _headline(b: Bisected) -> str:
    answer = b.answer
    if isinstance(answer, Found) and not b.contradictions:
        kind = "commit" if b.history else "day" if b.is_date else "release"
        word = "bad" if answer.looking_for is Verdict.BAD else "good"
        series = "".join(f"; {series_line(b, s)}" for s in b.series if s.boundary)
        if answer.exact:
            line = final_line(b)
            return f"First {word} {kind}: {line.split(': ', 1)[1]}."
        among = ", ".join(b.name(i) for i in (*answer.gap, answer.first_new))
        return f"First {word} {kind}: one of {among}{series}."
    line = final_line(b)
    return line[:1].upper() + line[1:] + "."


def _evidence(b: Bisected) -> list[str]:
    answer = b.answer
    if not isinstance(answer, Found):
        return []
    later = [_sentence(series_line(b, s)) for s in b.series if not s.boundary]
    contradicted = [_sentence(contradiction_line(b, c)) for c in b.contradictions]
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
    return [*said, *later, *contradicted]


def _sentence(line: str) -> str:
    return line[:1].upper() + line[1:] + "."


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
