"""The trigger: hand-made matrices with known answers, the seed's real results, and properties
checked against a brute-force oracle that tries every condition. Pure: no venv, no process."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from buglab import model
from buglab.lab import store
from buglab.report import trigger
from tests.conftest import RESULTS, SEED

Outcome = model.Outcome
NEUTRAL = (
    Outcome.FAILED,
    Outcome.TIMEOUT,
    Outcome.ENV_ERROR,
    Outcome.UNAVAILABLE,
    Outcome.FLAKY,
    Outcome.NOT_RUN,
)
SETTINGS = settings(max_examples=150, deadline=None, database=None)


def cell(outcome: model.Outcome, **labels: str) -> model.CellResult:
    pairs = tuple(labels.items())
    cid = ",".join(f"{k}={v}" for k, v in pairs)
    return model.CellResult(cid, pairs, (), outcome, None, 0, 0.0, "")


AXES = (("a", ("0", "1", "2")), ("b", ("x", "y")), ("c", ("on", "off")))


def test_the_fewest_axes_with_the_labels_seen_on_reproduced_cells() -> None:
    cells = [
        cell(Outcome.REPRODUCED, a="0", b="x", c="on"),
        cell(Outcome.REPRODUCED, a="1", b="y", c="on"),
        cell(Outcome.PASSED, a="0", b="x", c="off"),
        cell(Outcome.PASSED, a="2", b="x", c="on"),
    ]
    found = trigger.derive(cells, AXES)
    assert found.exact
    assert str(found.condition) == "a ∈ {0, 1} and c = on"
    assert found.evidence == trigger.Evidence(2, 2, 0)


def test_cells_that_are_no_evidence_do_not_shape_the_trigger() -> None:
    base = [
        cell(Outcome.REPRODUCED, a="0", b="x", c="on"),
        cell(Outcome.PASSED, a="0", b="x", c="off"),
    ]
    for outcome in NEUTRAL:
        # a neutral cell outside the trigger, and one inside it: neither changes it
        more = [cell(outcome, a="2", b="y", c="off"), cell(outcome, a="0", b="y", c="on")]
        found = trigger.derive(base + more, AXES)
        assert str(found.condition) == "c = on" and found.exact, outcome
        assert found.evidence.neutral == 2


def test_ties_are_all_reported() -> None:
    cells = [
        cell(Outcome.REPRODUCED, a="0", b="x", c="on"),
        cell(Outcome.PASSED, a="1", b="y", c="off"),
    ]
    found = trigger.derive(cells, AXES)
    assert str(found.condition) == "a = 0"
    assert [str(c) for c in found.alternatives] == ["b = x", "c = on"]


def test_no_conjunction_gives_the_fewest_exceptions() -> None:
    cells = [  # an exclusive or: no conjunction holds on both bugs and neither pass
        cell(Outcome.REPRODUCED, a="0", b="x", c="on"),
        cell(Outcome.REPRODUCED, a="1", b="y", c="on"),
        cell(Outcome.PASSED, a="0", b="y", c="on"),
        cell(Outcome.PASSED, a="1", b="x", c="on"),
        cell(Outcome.PASSED, a="1", b="x", c="off"),
    ]
    found = trigger.derive(cells, AXES)
    assert not found.exact
    assert found.exceptions == 1
    assert found.unless is None
    assert "closest" in found.sentence()


def test_a_bug_everywhere_but_one_fix_is_stated_as_its_negation() -> None:
    cells = [
        cell(Outcome.REPRODUCED, a="0", b="x", c="on"),
        cell(Outcome.REPRODUCED, a="0", b="y", c="off"),
        cell(Outcome.REPRODUCED, a="1", b="x", c="off"),
        cell(Outcome.PASSED, a="1", b="y", c="on"),
        cell(Outcome.PASSED, a="1", b="y", c="off"),
    ]
    found = trigger.derive(cells, AXES)
    assert not found.exact
    assert str(found.unless) == "a = 1 and b = y"
    assert found.sentence() == "reproduces unless a = 1 and b = y"


def test_nothing_reproduced_and_nothing_passed() -> None:
    none = trigger.derive([cell(Outcome.PASSED, a="0", b="x", c="on")], AXES)
    assert none.condition is None and none.sentence() == "nothing reproduced (1 passed)"
    every = trigger.derive([cell(Outcome.REPRODUCED, a="0", b="x", c="on")], AXES)
    assert every.sentence().startswith("every cell that ran reproduced")


def test_the_seed_per_toolchain_date() -> None:
    """The committed seed results: the table in results/warnings-coverage-editable.md shows the
    bug on 2023-12-10 only where the project is installed (editable or not), with both flags;
    on latest also not installed, but never with SQLAlchemy 2.1."""
    result = store.read(RESULTS / f"{SEED}.json")
    finding = trigger.find(result)
    assert not finding.overall.exact and finding.differs_by_date
    old, latest = finding.shown
    assert old.scope == (("toolchain", "2023-12-10"),)
    assert (
        str(old.condition)
        == "install ∈ {editable, non-editable} and warnings = on and coverage = on"
    )
    assert old.exact and old.evidence == trigger.Evidence(4, 20, 12)
    assert str(latest.condition) == "sqlalchemy ∈ {1.4, 2.0} and warnings = on and coverage = on"
    assert latest.exact and latest.evidence == trigger.Evidence(6, 30, 0)


def test_one_trigger_for_all_dates_when_it_holds_on_every_date() -> None:
    dated = (("day", ("old", "new")), *AXES)
    cells = [
        cell(Outcome.REPRODUCED, day="old", a="0", b="x", c="on"),
        cell(Outcome.PASSED, day="old", a="0", b="x", c="off"),
        cell(Outcome.REPRODUCED, day="new", a="1", b="y", c="on"),
        cell(Outcome.PASSED, day="new", a="1", b="y", c="off"),
    ]
    result = model.MatrixResult(
        "s",
        "t",
        ("x",),
        ("day",),
        ("a", "b", "c"),
        dated,
        tuple(cells),
        axis_kinds=(("day", "date"),),
    )
    finding = trigger.find(result)
    assert finding.overall.exact and not finding.differs_by_date
    assert [str(t.condition) for t in finding.shown] == ["c = on"]


# -- properties, against an oracle that tries every condition ---------------------------------


@st.composite
def matrices(draw: st.DrawFn) -> tuple[list[model.CellResult], list[tuple[str, tuple[str, ...]]]]:
    sizes = draw(st.lists(st.integers(2, 3), min_size=1, max_size=3))
    axes = [(f"x{i}", tuple(f"v{j}" for j in range(n))) for i, n in enumerate(sizes)]
    combos = list(itertools.product(*(labels for _, labels in axes)))
    kept = draw(st.lists(st.sampled_from(combos), min_size=1, max_size=len(combos), unique=True))
    outcomes = st.sampled_from(
        [Outcome.REPRODUCED, Outcome.PASSED, Outcome.REPRODUCED, Outcome.PASSED, *NEUTRAL]
    )
    cells = [cell(draw(outcomes), **dict(zip((name for name, _ in axes), combo))) for combo in kept]
    return cells, axes


def every_condition(axes: Sequence[tuple[str, Sequence[str]]]) -> list[trigger.Condition]:
    per_axis = []
    for name, labels in axes:
        subsets = [
            tuple(label for j, label in enumerate(labels) if bits >> j & 1)
            for bits in range(1, (1 << len(labels)) - 1)
        ]
        per_axis.append([None, *((name, s) for s in subsets)])
    return [
        trigger.Condition(tuple(term for term in combo if term is not None))
        for combo in itertools.product(*per_axis)
    ]


def errors(condition: trigger.Condition, cells: Sequence[model.CellResult]) -> int:
    def inside(c: model.CellResult) -> bool:
        return condition.holds(dict(c.labels))

    missed = sum(c.outcome is Outcome.REPRODUCED and not inside(c) for c in cells)
    return missed + sum(c.outcome is Outcome.PASSED and inside(c) for c in cells)


@SETTINGS
@given(matrices())
def test_a_trigger_found_is_exact_and_no_smaller_one_exists(
    case: tuple[list[model.CellResult], list[tuple[str, tuple[str, ...]]]],
) -> None:
    cells, axes = case
    found = trigger.derive(cells, axes)
    if found.reproduced == 0:
        assert found.condition is None
        return
    assert found.condition is not None
    everything = every_condition(axes)
    exact = [c for c in everything if errors(c, cells) == 0]
    if found.exact:
        for c in cells:
            inside = found.condition.holds(dict(c.labels))
            assert inside or c.outcome is not Outcome.REPRODUCED
            assert not inside or c.outcome is not Outcome.PASSED
        smallest = min(len(c.terms) for c in exact)
        assert len(found.condition.terms) == smallest
        for alternative in found.alternatives:
            assert errors(alternative, cells) == 0 and len(alternative.terms) == smallest
    else:
        assert not exact, "an exact condition exists but was not found"
        assert not found.greedy
        assert found.exceptions == errors(found.condition, cells)
        assert found.exceptions == min(errors(c, cells) for c in everything)


@SETTINGS
@given(matrices())
def test_the_negation_when_given_separates_the_cells(
    case: tuple[list[model.CellResult], list[tuple[str, tuple[str, ...]]]],
) -> None:
    cells, axes = case
    found = trigger.derive(cells, axes)
    if found.unless is None:
        return
    for c in cells:
        inside = found.unless.holds(dict(c.labels))
        assert inside or c.outcome is not Outcome.PASSED
        assert not inside or c.outcome is not Outcome.REPRODUCED


@SETTINGS
@given(matrices())
def test_cells_that_are_no_evidence_can_be_dropped(
    case: tuple[list[model.CellResult], list[tuple[str, tuple[str, ...]]]],
) -> None:
    cells, axes = case
    evidence = [c for c in cells if c.outcome in trigger.EVIDENCE]
    before, after = trigger.derive(cells, axes), trigger.derive(evidence, axes)
    assert before.condition == after.condition
    assert (before.exact, before.unless, before.alternatives) == (
        after.exact,
        after.unless,
        after.alternatives,
    )


def test_the_search_for_exceptions_turns_greedy_when_too_large(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(trigger, "SEARCH_LIMIT", 1)
    cells = [
        cell(Outcome.REPRODUCED, a="0", b="x", c="on"),
        cell(Outcome.REPRODUCED, a="1", b="y", c="on"),
        cell(Outcome.PASSED, a="0", b="y", c="on"),
        cell(Outcome.PASSED, a="1", b="x", c="on"),
    ]
    found = trigger.derive(cells, AXES)
    assert found.greedy and not found.exact
    assert found.condition is not None
    assert found.exceptions == errors(found.condition, cells)


def test_every_landed_scenario_has_a_trigger_statement() -> None:
    for path in sorted((RESULTS).glob("*.json")):
        result = store.read(Path(path))
        for found in trigger.find(result).shown:
            assert found.sentence()
