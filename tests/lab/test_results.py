"""Results: JSON round trip, markdown table, merge of shards. Pure apart from tmp files."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from buglab import model
from buglab.errors import ResultsError
from buglab.lab import persist, render, store
from buglab.spec import plan


def fake_result(
    seed: model.Scenario,
    outcome_of: dict[str, model.Outcome] | None = None,
    cells: tuple[model.Cell, ...] | None = None,
    started: str = "2026-11-22T10:00:00Z",
) -> model.MatrixResult:
    """A result as if every cell had met its expectation (or the outcome given)."""
    done = {}
    for cell in cells if cells is not None else plan.expand(seed):
        outcome = (outcome_of or {}).get(cell.id, cell.expected or model.Outcome.PASSED)
        resolved = (
            ()
            if outcome is model.Outcome.UNAVAILABLE
            else (("python", "3.11.7"), ("pytest", "8.0.0"), ("sqlalchemy", "2.0.1"))
        )
        done[(cell.scenario, cell.id)] = model.CellResult(
            cell.id,
            cell.labels,
            resolved,
            outcome,
            cell.expected,
            0,
            1.0,
            f"logs/{cell.id}",
            fingerprint=f"fp-{cell.id}",
        )
    meta = {"buglab": "test", "started": started}
    return persist.assemble(persist.Plan(seed, plan.expand(seed)), done, meta)


def test_json_round_trip(seed: model.Scenario, tmp_path: Path) -> None:
    result = fake_result(seed)
    store.write(result, tmp_path / "r.json", render.markdown(result))
    assert store.read(tmp_path / "r.json") == result
    data = json.loads((tmp_path / "r.json").read_text())
    cell = data["cells"][0]
    assert set(cell) >= {
        "id",
        "axes",
        "resolved",
        "outcome",
        "expected",
        "returncode",
        "seconds",
        "log",
    }
    assert (tmp_path / "r.md").read_text().startswith("### ")


def test_markdown_rows_are_venv_axes_and_columns_command_axes(seed: model.Scenario) -> None:
    text = render.markdown(fake_result(seed))
    lines = [ln for ln in text.splitlines() if ln.startswith("|")]
    assert lines[0] == (
        "| install | sqlalchemy | toolchain | resolved | warnings=on coverage=on "
        "| warnings=on coverage=off | warnings=off coverage=on "
        "| warnings=off coverage=off |"
    )
    assert len(lines) == 2 + 18
    assert lines[2].startswith("| editable | 1.4 | 2023-12-10 | py 3.11.7, pytest 8.0.0, ")
    assert "| 🐛 | ✅ | ✅ | ✅ |" in lines[2]
    assert "Legend: ✅ passed" in text
    assert "`pytest {flags} test.py`" in text


def test_contradiction_is_marked_and_counted(seed: model.Scenario) -> None:
    first = plan.expand(seed)[0]
    result = fake_result(seed, {first.id: model.Outcome.PASSED})
    assert result.contradictions[0].id == first.id
    assert "✅ ❗ expected 🐛" in render.markdown(result)
    assert "1 contradicts expectations" in render.summary(result)


def test_merged_shards_equal_the_whole(seed: model.Scenario) -> None:
    cells = plan.expand(seed)
    whole = fake_result(seed)
    parts = []
    for k in (1, 2, 3):
        keep = {c.id for c in plan.shard(cells, plan.Shard(k, 3))}
        part = whole.cells
        parts.append(
            model.MatrixResult(
                whole.scenario,
                whole.title,
                whole.command,
                whole.venv_axes,
                whole.command_axes,
                whole.axis_labels,
                tuple(c for c in part if c.id in keep),
                whole.meta,
            )
        )
    (merged,) = store.merge(reversed(parts))
    assert merged.cells == whole.cells


def test_unreadable_results_are_one_line_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ResultsError, match="cannot be read"):
        store.read(bad)
    bad.write_text('{"schema": 2}')
    with pytest.raises(ResultsError, match="not a buglab results file"):
        store.read(bad)


def test_results_from_before_install_modes_are_refused_in_one_line(tmp_path: Path) -> None:
    """Schema 1 said 'non-editable' for what is now 'not-installed': never read it silently."""
    old = tmp_path / "old.json"
    old.write_text('{"schema": 1, "cells": []}')
    with pytest.raises(ResultsError) as caught:
        store.read(old)
    line = str(caught.value)
    assert "\n" not in line and "schema 1" in line and "'not-installed'" in line


def _expectations(seed: model.Scenario) -> dict[str, model.Outcome | None]:
    return {c.id: c.expected for c in plan.expand(seed)}


def _fingerprints(result: model.MatrixResult) -> dict[str, str]:
    return {c.id: c.fingerprint or f"fp-{c.id}" for c in result.cells}


def test_a_partial_run_updates_its_cells_in_the_full_table(seed: model.Scenario) -> None:
    whole = fake_result(seed)
    first = plan.expand(seed)[0]
    partial = fake_result(
        seed, {first.id: model.Outcome.FAILED}, cells=(first,), started="2026-11-23T09:00:00Z"
    )
    partial = replace(partial, cells=tuple(c for c in partial.cells if c.id == first.id))
    merged = store.carry_over(whole, partial, _expectations(seed), _fingerprints(partial))
    assert [c.id for c in merged.cells] == [c.id for c in whole.cells]
    assert merged.cells[0].outcome is model.Outcome.FAILED
    assert merged.cells[1:] == whole.cells[1:]
    assert len(merged.carried) == len(whole.cells) - 1
    assert "71 kept from earlier runs" in render.summary(merged)


def test_an_interrupted_run_never_replaces_a_measured_outcome(seed: model.Scenario) -> None:
    """Cells that did not run keep their earlier outcome, marked with its date; none is
    claimed 'as expected' by the run that did not measure it."""
    before = fake_result(seed)
    first, second, third = plan.expand(seed)[:3]
    now = fake_result(seed, started="2026-11-23T09:00:00Z", cells=(first,))
    assert sum(not c.ran for c in now.cells) == 71
    prints = _fingerprints(now)
    prints[third.id] = "changed inputs"
    merged = store.carry_over(before, now, _expectations(seed), prints)
    by_id = {c.id: c for c in merged.cells}
    assert by_id[first.id].measured == "2026-11-23T09:00:00Z"
    assert by_id[second.id] == before.cells[1]  # kept, with the earlier date
    assert by_id[second.id].measured == "2026-11-22T10:00:00Z"
    # its inputs changed: the old outcome is kept, marked as measured with other inputs
    assert by_id[third.id].ran and by_id[third.id].inputs_changed
    assert by_id[third.id].outcome is before.cells[2].outcome
    assert not by_id[second.id].inputs_changed
    assert len(merged.carried) == 71
    text = render.markdown(merged)
    assert "kept from the run of 2026-11-22T10:00:00Z" in text
    assert "🐛†" in text and "‡ marks 1 of them" in text
    summary = render.summary(merged)
    assert "all as expected" not in summary
    assert "1 as expected" in summary and "71 kept from earlier runs (1 with inputs" in summary


def test_summary_says_when_nothing_was_expected(seed: model.Scenario) -> None:
    bare = replace(seed, expects=())
    result = fake_result(bare)
    assert render.summary(result).endswith("; no expectations recorded.")
    half = replace(
        result, cells=(replace(result.cells[0], expected=model.Outcome.PASSED), *result.cells[1:])
    )
    assert render.summary(half).endswith("; 1 as expected, 71 with no expectation recorded.")


def test_timings_alone_are_not_a_change(seed: model.Scenario) -> None:
    first = fake_result(seed)
    again = fake_result(seed, started="2026-11-23T09:00:00Z")
    again = replace(again, cells=tuple(replace(c, seconds=c.seconds + 1) for c in again.cells))
    assert store.same_measurements(first, again)
    moved = replace(
        again, cells=(replace(again.cells[0], outcome=model.Outcome.FAILED), *again.cells[1:])
    )
    assert not store.same_measurements(first, moved)


def test_terminal_table_is_a_grid_or_a_list_when_too_wide(seed: model.Scenario) -> None:
    result = fake_result(seed)
    grid = render.terminal(result)
    assert len(grid.columns) == 3 + 1 + 4 and grid.row_count == 18
    wide = model.MatrixResult(
        result.scenario,
        result.title,
        result.command,
        ("install",),
        ("sqlalchemy", "toolchain", "warnings", "coverage"),
        result.axis_labels,
        result.cells,
        result.meta,
    )
    listed = render.terminal(wide)
    assert [c.header for c in listed.columns] == [
        "install",
        "sqlalchemy",
        "toolchain",
        "warnings",
        "coverage",
        "outcome",
    ]
    assert listed.row_count == 72


def test_one_cell_is_one_cell(seed: model.Scenario) -> None:
    whole = fake_result(seed)
    result = replace(whole, cells=whole.cells[:1])
    assert render.summary(result) == "1 cell: 1 reproduced; all as expected."
