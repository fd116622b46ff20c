"""``--repeat N``: runs that agree give their outcome, runs that disagree give ``flaky`` (k/N
reproduced), shown as 🎲 k/N and kept through the results file. Pure; the real runs are in
``test_bisect_real.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from buglab import model
from buglab.bisect.probing import verdict_of
from buglab.bisect.search import Verdict
from buglab.lab import classify, render, store

R, P, F = model.Outcome.REPRODUCED, model.Outcome.PASSED, model.Outcome.FAILED


@pytest.mark.parametrize(
    ("runs", "outcome", "detail"),
    [
        ([R, R, R], R, ""),
        ([P], P, ""),
        ([R, P, R], model.Outcome.FLAKY, "2/3 reproduced (else passed)"),
        ([P, F, P, P], model.Outcome.FLAKY, "0/4 reproduced (else failed, passed)"),
    ],
)
def test_runs_combine(runs: list[model.Outcome], outcome: model.Outcome, detail: str) -> None:
    assert classify.combine(runs) == (outcome, detail)


def flaky_cell(runs: tuple[model.Outcome, ...]) -> model.CellResult:
    outcome, detail = classify.combine(runs)
    return model.CellResult(
        "mode=x", (("mode", "x"),), (), outcome, None, 1, 0.5, "x.log", detail, runs=runs
    )


def test_a_flaky_cell_shows_its_tally_and_keeps_its_runs(tmp_path: Path) -> None:
    cell = flaky_cell((R, P, R))
    assert render.symbol(cell) == "🎲 2/3"
    result = model.MatrixResult(
        "probe",
        "t",
        ("python", "p.py"),
        (),
        ("mode",),
        (("mode", ("x",)),),
        (cell,),
        axis_kinds=(("mode", "env"),),
    )
    text = render.markdown(result)
    assert "🎲 2/3" in text and "flaky: repeated runs disagreed" in text
    store.write(result, tmp_path / "probe.json")
    assert store.read(tmp_path / "probe.json").cells[0].runs == (R, P, R)


def test_flaky_is_never_an_oracle() -> None:
    assert verdict_of(model.Outcome.FLAKY) is Verdict.SKIP
    assert [verdict_of(o) for o in (R, P)] == [Verdict.BAD, Verdict.GOOD]
    others = set(model.Outcome) - {R, P}
    assert {verdict_of(o) for o in others} == {Verdict.SKIP}
