"""Classification is the table's truth: only the signature means reproduced."""

from __future__ import annotations

import re

import pytest

from buglab import model
from buglab.lab import classify

SIGNATURE = re.compile(r"AssertionError: Type <class 'object'> is already registered")


def record(returncode: int | None, output: str = "", timed_out: bool = False) -> model.RunRecord:
    return model.RunRecord(returncode, timed_out, output, 1.0, "log")


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        (record(0), model.Outcome.PASSED),
        (
            record(1, "E   AssertionError: Type <class 'object'> is already registered"),
            model.Outcome.REPRODUCED,
        ),
        (
            record(0, "AssertionError: Type <class 'object'> is already registered"),
            model.Outcome.REPRODUCED,
        ),
        (record(1, "ImportError: no module named sqlalchemy"), model.Outcome.FAILED),
        (
            record(2, "AssertionError: Type <class 'int'> is already registered"),
            model.Outcome.FAILED,
        ),
        (record(None, "partial output", timed_out=True), model.Outcome.TIMEOUT),
        (record(-9), model.Outcome.FAILED),
        (record(None), model.Outcome.FAILED),
    ],
)
def test_outcomes(run: model.RunRecord, expected: model.Outcome) -> None:
    assert classify.classify(run, SIGNATURE)[0] is expected


def test_detail_quotes_the_line_with_the_signature() -> None:
    out = "a\nE   AssertionError: Type <class 'object'> is already registered\nb"
    _, detail = classify.classify(record(1, out), SIGNATURE)
    assert detail == "E   AssertionError: Type <class 'object'> is already registered"


def test_signal_is_named() -> None:
    assert classify.classify(record(-11), SIGNATURE)[1] == "killed by signal 11"
