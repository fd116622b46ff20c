"""Pivoting the matrix: layouts asked for, the default within eight columns, --only. Pure."""

from __future__ import annotations

from pathlib import Path

import pytest

from buglab import model
from buglab.errors import UsageError
from buglab.lab import store
from buglab.report import pivot
from tests.conftest import RESULTS, SEED

RESULT_FILES = sorted(RESULTS.glob("*.json"))


def seed() -> model.MatrixResult:
    return store.read(RESULTS / f"{SEED}.json")


@pytest.mark.parametrize("path", RESULT_FILES, ids=lambda p: p.stem)
def test_the_default_layout_fits_every_landed_scenario(path: Path) -> None:
    result = store.read(path)
    tables = pivot.build(result, pivot.choose(result))
    assert max(t.width for t in tables) <= pivot.MAX_COLUMNS
    placed = [cell for t in tables for row in t.grid for cell in row if cell is not None]
    assert sorted(c.id for c in placed) == sorted(c.id for c in result.cells)


def test_inmemory_sqlite_pool_is_no_longer_seventeen_columns_wide() -> None:
    result = store.read(RESULTS / "inmemory-sqlite-pool.json")
    assert len(result.command_axes) == 3  # the stored table puts all 15 combinations across
    layout = pivot.choose(result)
    assert all(t.width <= 8 for t in pivot.build(result, layout))


def test_the_seed_keeps_the_stored_layout() -> None:
    layout = pivot.choose(seed())
    assert layout == pivot.Layout(("install", "sqlalchemy", "toolchain"), ("warnings", "coverage"))


def test_rows_and_cols_as_asked_the_rest_split_into_tables() -> None:
    result = seed()
    layout = pivot.choose(result, ("warnings",), ("sqlalchemy",))
    assert layout.rows == ("warnings",) and layout.cols == ("sqlalchemy",)
    assert layout.tables == ("install", "toolchain", "coverage")
    tables = pivot.build(result, layout)
    assert len(tables) == 3 * 2 * 2
    assert tables[0].caption == (
        ("install", "editable"),
        ("toolchain", "2023-12-10"),
        ("coverage", "on"),
    )
    only_rows = pivot.choose(result, rows=("coverage",))
    assert only_rows.cols == ("install", "sqlalchemy", "toolchain", "warnings")


def test_axes_fixed_by_only_leave_the_table_for_the_caption() -> None:
    result = pivot.narrow(seed(), ["toolchain=latest", "install=editable"])
    assert len(result.cells) == 12
    layout = pivot.choose(result)
    assert layout.fixed == (("install", "editable"), ("toolchain", "latest"))
    assert "toolchain" not in layout.rows + layout.cols + layout.tables


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["instal=editable"],
            "no axis 'instal' in warnings-coverage-editable (did you mean 'install'?)",
        ),
        (["install=editabel"], "'editabel' is not a value of axis 'install'"),
    ],
)
def test_only_with_an_unknown_axis_or_value_is_one_line(args: list[str], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        pivot.narrow(seed(), args)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_rows_naming_an_unknown_axis_suggests_one() -> None:
    with pytest.raises(UsageError, match=r"no axis 'warning' .*did you mean 'warnings'"):
        pivot.parse_axes("warning", seed(), "--rows")
    with pytest.raises(UsageError, match="both name 'install'"):
        pivot.choose(seed(), ("install",), ("install",))


def test_a_wide_matrix_is_laid_out_greedily(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pivot, "SEARCH_AXES", 1)
    result = seed()
    layout = pivot.choose(result)
    assert set(layout.rows) >= {"install", "sqlalchemy", "toolchain"}
    assert max(t.width for t in pivot.build(result, layout)) <= pivot.MAX_COLUMNS
