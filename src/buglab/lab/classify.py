"""Stage 6: turn what a process did into an outcome. Pure: no disk, no processes."""

from __future__ import annotations

import re
from collections.abc import Sequence

from buglab import model


def classify(record: model.RunRecord, signature: model.Signature) -> tuple[model.Outcome, str]:
    """The outcome and a one-line detail.

    The signature is the only evidence of the bug: a cell reproduces when its output shows
    it, whatever the exit status (a coverage report can show the bug in a passing run).
    Without it, only a clean exit is a pass.
    """
    found = signature.search(record.output)
    if found:
        return model.Outcome.REPRODUCED, _line_of(record.output, found)
    if record.timed_out:
        return model.Outcome.TIMEOUT, f"killed after {record.seconds:.0f} s"
    if record.returncode == 0:
        return model.Outcome.PASSED, "exit 0"
    if record.returncode is None:
        return model.Outcome.FAILED, reason(record.output) or "did not start"
    if record.returncode < 0:
        return model.Outcome.FAILED, f"killed by signal {-record.returncode}"
    return model.Outcome.FAILED, f"exit {record.returncode}: {reason(record.output)}"


def _line_of(text: str, found: model.Found) -> str:
    start = text.rfind("\n", 0, found.start()) + 1
    end = text.find("\n", found.end())
    return text[start : end if end >= 0 else len(text)].strip()[:200]


#: pytest's line that quotes the exception: ``E   AttributeError: ...``
PYTEST_E = re.compile(r"^E {2,}(\S.*)$", re.MULTILINE)
#: an exception as Python prints it last: ``pkg.module.SomeError: message`` (or the bare name)
EXCEPTION = re.compile(r"^(?:[a-z_]\w*\.)*[A-Z]\w*(?::\s.*)?$")
TRACEBACK = "Traceback (most recent call last):"
INTERNAL = "INTERNALERROR> "


def reason(output: str) -> str:
    """Why a run failed, in one line: the exception that caused it, not the runner's summary.

    pytest's first ``E   Name: message`` line (else its first ``E`` line), else the last line
    of the last traceback, else the last line that says something (``1 error in 0.09s``).
    """
    quoted = [m.group(1).strip() for m in PYTEST_E.finditer(output)]
    return exception(output) or (quoted[0][:200] if quoted else _last_line(output))


def exception(output: str) -> str:
    """The exception a run's output names (pytest's ``E`` line, a traceback's last line), or ""."""
    for found in PYTEST_E.finditer(output):
        if EXCEPTION.match(found.group(1).strip()):
            return found.group(1).strip()[:200]
    internal = [line[len(INTERNAL) :] for line in output.splitlines() if line.startswith(INTERNAL)]
    for line in reversed(internal):  # pytest's own crash: its traceback, line by line
        if EXCEPTION.match(line):
            return line.strip()[:200]
    at = output.rfind(TRACEBACK)
    if at >= 0:
        for line in output[at:].splitlines()[1:]:
            if EXCEPTION.match(line.strip()) and not line.startswith((" ", "\t")):
                return line.strip()[:200]
    return ""


def _last_line(text: str) -> str:
    """The last line that says something: pytest ends with rows of '=' or '!'."""
    lines = [line.strip(" =!-_*") for line in text.splitlines()]
    lines = [line for line in lines if line]
    return lines[-1][:200] if lines else ""


def combine(outcomes: Sequence[model.Outcome]) -> tuple[model.Outcome, str]:
    """Several runs of one cell: one outcome when they agree, else ``flaky`` with the tally."""
    first = outcomes[0]
    if all(o is first for o in outcomes):
        return first, ""
    bugs = sum(o is model.Outcome.REPRODUCED for o in outcomes)
    others = sorted({o.value for o in outcomes if o is not model.Outcome.REPRODUCED})
    return model.Outcome.FLAKY, f"{bugs}/{len(outcomes)} reproduced (else {', '.join(others)})"


EXCERPT_LINES = 40
EXCERPT_CHARS = 4000
LINE_CHARS = 300
#: lines that start the story of a failure: a traceback, or a pytest section
RULER = re.compile(r"([=_-])\1{8,}")  # pytest's full-width rules, cut to eight characters
STORY = re.compile(r"^(Traceback \(most recent call last\)|_{3,} .* _{3,}$|={3,} .* ={3,}$)")


def excerpt(output: str, signature: model.Signature, outcome: model.Outcome) -> str:
    """The lines a maintainer needs: the traceback around the signature, or the end of a
    failure, trimmed to at most 40 lines and 4,000 characters; a pass keeps its last lines."""
    lines = output.splitlines()
    if outcome is model.Outcome.REPRODUCED:
        found = signature.search(output)
        at = output.count("\n", 0, found.start()) if found else len(lines) - 1
        start = max(0, at - EXCERPT_LINES + 5)
        story = [i for i in range(start, at + 1) if STORY.match(lines[i].strip())]
        start = story[-1] if story else start
        chosen = lines[start : min(len(lines), max(at + 6, start + 1))]
    elif outcome is model.Outcome.PASSED:
        chosen = lines[-5:]
    else:
        chosen = lines[-EXCERPT_LINES:]
    trimmed = [
        line if len(line) <= LINE_CHARS else line[: LINE_CHARS - 1] + "…"
        for line in (RULER.sub(r"\1" * 8, line) for line in chosen[-EXCERPT_LINES:])
    ]
    text = "\n".join(trimmed)
    return text if len(text) <= EXCERPT_CHARS else "…" + text[-(EXCERPT_CHARS - 1) :]
