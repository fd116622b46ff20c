"""Stage 6: turn what a process did into an outcome. Pure: no disk, no processes."""

from __future__ import annotations

import re

from buglab import model


def classify(record: model.RunRecord, signature: re.Pattern[str]) -> tuple[model.Outcome, str]:
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
        return model.Outcome.FAILED, _last_line(record.output) or "did not start"
    if record.returncode < 0:
        return model.Outcome.FAILED, f"killed by signal {-record.returncode}"
    return model.Outcome.FAILED, f"exit {record.returncode}: {_last_line(record.output)}"


def _line_of(text: str, found: re.Match[str]) -> str:
    start = text.rfind("\n", 0, found.start()) + 1
    end = text.find("\n", found.end())
    return text[start : end if end >= 0 else len(text)].strip()[:200]


def _last_line(text: str) -> str:
    """The last line that says something: pytest ends with rows of '=' or '!'."""
    lines = [line.strip(" =!-_*") for line in text.splitlines()]
    lines = [line for line in lines if line]
    return lines[-1][:200] if lines else ""
