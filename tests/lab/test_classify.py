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


PYTEST_ERROR = """\
==================================== ERRORS ====================================
___________________________ ERROR at setup of test_it __________________________

    @functools.wraps(fixture)
    def _asyncgen_fixture_wrapper(
>       fixture, request.instance, fixturedef.unittest
    )
E       AttributeError: 'FixtureDef' object has no attribute 'unittest'
E       assert 1 == 2

<venv>/lib/python3.11/site-packages/pytest_asyncio/plugin.py:275: AttributeError
=========================== short test summary info ============================
ERROR test_it.py::test_it - AttributeError: 'FixtureDef' object has no attribute...
=============================== 1 error in 0.09s ===============================
"""

PLAIN_TRACEBACK = """\
Traceback (most recent call last):
  File "check.py", line 1, in <module>
    import pandas
  File "<venv>/lib/python3.11/site-packages/pandas/__init__.py", line 22, in <module>
    from pandas._libs import hashtable as _hashtable
ValueError: numpy.dtype size changed, may indicate binary incompatibility. Expected 96
"""


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (PYTEST_ERROR, "AttributeError: 'FixtureDef' object has no attribute 'unittest'"),
        (
            PLAIN_TRACEBACK + "exiting\n",
            "ValueError: numpy.dtype size changed, may indicate binary incompatibility. "
            "Expected 96",
        ),
        ("E       assert 1 == 2\n== 1 failed in 0.1s ==\n", "assert 1 == 2"),
        (
            "INTERNALERROR>   File 'plugin.py', line 626\nINTERNALERROR>     pyobject = c.obj\n"
            "INTERNALERROR> AttributeError: 'Package' object has no attribute 'obj'\n"
            "=== no tests ran in 0.00s ===\n",
            "AttributeError: 'Package' object has no attribute 'obj'",
        ),
        ("something went wrong\n=== 1 error in 0.09s ===\n", "1 error in 0.09s"),
    ],
)
def test_the_reason_of_a_failure_is_its_exception(output: str, expected: str) -> None:
    outcome, detail = classify.classify(record(1, output), SIGNATURE)
    assert outcome is model.Outcome.FAILED
    assert detail == f"exit 1: {expected}"
