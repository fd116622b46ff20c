"""Evidence per cause and triggers that say what they cover: a second reason for failing is
never hidden behind the first, and "exactly" is said only where every cell under it that ran
reproduced or passed. Hand-made matrices shaped like the dataframe case that showed both
problems (pandas' SQL reader, SQLAlchemy 2.0, numpy 2); pure, no venv."""

from __future__ import annotations

from dataclasses import replace

from buglab import model
from buglab.report import causes, comment, facts, gather, pivot, templates
from tests.conftest import RESULTS, ROOT

Outcome = model.Outcome
NUMPY = (
    "ValueError: numpy.dtype size changed, may indicate binary incompatibility. Expected {n} "
    "from C header, got 88 from PyObject"
)
ENGINE = "AttributeError: 'Engine' object has no attribute 'cursor'"
AXES = (
    ("pandas", ("1.5", "2.2")),
    ("sqlalchemy", ("1.4", "2.0")),
    ("numpy", ("1.26", "unpinned")),
)


def cell(outcome: model.Outcome, detail: str, **labels: str) -> model.CellResult:
    pairs = tuple(labels.items())
    cid = ",".join(f"{k}={v}" for k, v in pairs)
    excerpt = f"Traceback (most recent call last):\n  File 'x.py'\n{detail}"
    return model.CellResult(
        cid, pairs, (("python", "3.11.7"),), outcome, None, 1, 0.5, "", detail, excerpt=excerpt
    )


def dataframe_matrix() -> model.MatrixResult:
    """pandas 1.5 with numpy 2 fails to import (whatever SQLAlchemy); pandas 1.5 with numpy 1
    and SQLAlchemy 2.0 fails in read_sql; pandas 2.2 reproduces the bug with SQLAlchemy 2.0."""
    cells = []
    for pandas, sqlalchemy, numpy in (
        (p, s, n) for p, _ in [("1.5", 0), ("2.2", 0)] for s in AXES[1][1] for n in AXES[2][1]
    ):
        labels = {"pandas": pandas, "sqlalchemy": sqlalchemy, "numpy": numpy}
        if pandas == "1.5" and numpy == "unpinned":
            n = "96" if sqlalchemy == "1.4" else "104"  # numbers differ: still one cause
            cells.append(cell(Outcome.FAILED, f"exit 1: {NUMPY.format(n=n)}", **labels))
        elif pandas == "1.5" and sqlalchemy == "2.0":
            cells.append(cell(Outcome.FAILED, f"exit 1: {ENGINE}", **labels))
        elif pandas == "2.2" and sqlalchemy == "2.0":
            cells.append(cell(Outcome.REPRODUCED, "E   BugSignature: here", **labels))
        else:
            cells.append(cell(Outcome.PASSED, "exit 0", **labels))
    return model.MatrixResult(
        "dataframe",
        "read_sql",
        ("python", "check.py"),
        ("pandas", "sqlalchemy", "numpy"),
        (),
        AXES,
        tuple(cells),
    )


def source(result: model.MatrixResult) -> comment.Source:
    return comment.Source(
        result, (), "", (), "BugSignature", pivot.choose(result), results_file="x"
    )


def test_two_reasons_for_failing_are_two_causes_each_with_where_it_holds() -> None:
    found = causes.of_result(dataframe_matrix())
    failed = [c for c in found if c.outcome is Outcome.FAILED]
    assert [(c.count, c.reason.split(":")[0], c.place()) for c in failed] == [
        (2, "ValueError", "pandas = 1.5 and numpy = unpinned"),
        (1, "AttributeError", "pandas = 1.5 and sqlalchemy = 2.0 and numpy = 1.26"),
    ]


def test_the_comment_shows_every_cause_with_its_count_and_condition() -> None:
    text = templates.render(source(dataframe_matrix()))
    assert "numpy.dtype size changed" in text and "'Engine' object has no attribute" in text
    assert "❌ failed (ValueError: numpy.dtype size changed" in text
    assert "Where: all 2 exactly where **pandas = 1.5 and numpy = unpinned**." in text
    assert text.count("<details>") == 4  # reproduced, passed and the two causes of failure


def test_reasons_are_compared_without_paths_and_numbers() -> None:
    one = cell(Outcome.FAILED, "exit 1: OSError: /home/a/x.so: bad ELF 64 at 0x7f00aa")
    two = cell(Outcome.FAILED, "exit 2: OSError: <venv>/lib/y.so: bad ELF 32 at 0x7f11bb")
    other = cell(Outcome.FAILED, "exit 1: OSError: /home/a/x.so: truncated")
    assert causes.key(one) == causes.key(two) != causes.key(other)


def test_a_trigger_with_cells_under_it_that_failed_does_not_say_exactly() -> None:
    """The trigger of the dataframe case is exact over the evidence (sqlalchemy = 2.0 holds on
    every reproduced cell and no passed one), but three cells under it failed otherwise."""
    text = templates.render(source(dataframe_matrix()))
    assert "reproduces exactly when" not in text
    assert (
        "every reproduced cell and no passed cell has **sqlalchemy = 2.0** (2 reproduced, 3 "
        "passed, 3 neither), but not every cell under it reproduced: " in text
    )
    assert (
        "1 cell under it failed otherwise: `AttributeError: 'Engine' object has no attribute "
        "'cursor'` (pandas = 1.5 and numpy = 1.26)" in text
    )
    assert "1 cell under it failed otherwise: `ValueError: numpy.dtype size changed" in text
    assert "(pandas = 1.5 and numpy = unpinned)." in text


def test_exactly_is_said_where_every_cell_under_the_condition_is_evidence() -> None:
    result = dataframe_matrix()
    clean = tuple(c for c in result.cells if c.outcome is not Outcome.FAILED)
    text = templates.render(source(replace(result, cells=clean)))
    assert "reproduces exactly when **pandas = 2.2 and sqlalchemy = 2.0**" in text or (
        "reproduces exactly when **sqlalchemy = 2.0**" in text
    )


def test_however_many_causes_the_comment_fits_and_says_how_many_are_folded() -> None:
    axis = tuple(str(i) for i in range(400))
    cells = tuple(
        cell(
            Outcome.FAILED if i else Outcome.REPRODUCED,
            f"exit 1: RuntimeError: failure number {'x' * (i % 7)}{chr(65 + i % 26)}{i}"
            + " y" * 300,
            a=a,
        )
        for i, a in enumerate(axis)
    )
    cells = tuple(replace(c, excerpt="\n".join(["z" * 250] * 40)) for c in cells)
    result = model.MatrixResult("many", "Many", ("run",), ("a",), (), (("a", axis),), cells)
    text = templates.render(source(result))
    assert templates.size(text) <= templates.LIMIT
    assert text.count("<details>") == text.count("</details>")
    assert "more causes (" in text and "folded to fit" in text
    assert "and " in text and "more, in the results file" in text


def test_the_reproduction_is_the_cell_on_the_newest_toolchain_as_documented() -> None:
    """docs/report.md: "The reproduced cell shown is the one on the newest toolchain", even
    when an axis before the date axis has a newer label elsewhere."""
    axes = (("pandas", ("1.5", "2.2")), ("toolchain", ("2023-01-01", "latest")))
    cells = (
        cell(Outcome.REPRODUCED, "E   BugSignature", pandas="2.2", toolchain="2023-01-01"),
        cell(Outcome.REPRODUCED, "E   BugSignature", pandas="1.5", toolchain="latest"),
        cell(Outcome.PASSED, "exit 0", pandas="2.2", toolchain="latest"),
    )
    kinds = (("pandas", "version"), ("toolchain", "date"))
    result = model.MatrixResult("r", "R", ("run",), ("pandas", "toolchain"), (), axes, cells)
    result = replace(result, axis_kinds=kinds)
    shown = facts.representative(result, Outcome.REPRODUCED)
    assert shown is not None and shown.label_map["toolchain"] == "latest"


def test_an_installer_conflict_reads_as_its_cause_and_splits_no_table_column() -> None:
    message = (
        "error: No solution found when resolving dependencies |   cause: Because a==1 "
        "depends on b<9 and you require b==9.2.*, we can conclude that a==1 cannot be used."
    )
    broken = replace(cell(Outcome.ENV_ERROR, message, a="1"), resolved=())
    assert causes.reason(broken) == "no solution: a==1 depends on b<9 and you require b==9.2.*"
    built = [
        replace(cell(Outcome.PASSED, "exit 0", a=v), resolved=(("a", f"{v}.0"),)) for v in "23"
    ]
    axes = (("a", ("1", "2", "3")),)
    result = model.MatrixResult("e", "E", ("run",), ("a",), (), axes, (broken, *built))
    rows = comment.versions_section(replace(result, meta=(("shown_packages", "a"),)))
    assert "resolving dependencies \\| cause" in rows


def test_the_backport_scenario_shows_both_causes_and_the_cells_its_trigger_leaves_out() -> None:
    """The real scenario of this issue, from the results snapshot: pytest 9.2 fails two older
    pytest-asyncio lines for two different reasons, and the trigger on today's toolchain does
    not say "exactly", because two cells under it neither reproduced nor passed."""
    text = templates.render(gather(ROOT, "asyncio-fixturedef-backport", RESULTS))
    assert "'FixtureManager' object has no attribute '_arg2fixturedefs'" in text
    assert "'Package' object has no attribute 'obj'" in text
    assert (
        "**On toolchain = latest**: every reproduced cell and no passed cell has **asyncio ∈ "
        "{0.21.1, 0.23.5}** (2 reproduced, 2 passed, 4 neither), but not every cell under it "
        "reproduced: 1 cell under it failed otherwise: `AttributeError: 'FixtureManager' object "
        "has no attribute '_arg2fixturedefs'` (asyncio = 0.21.1 and pytest = 9.2); 1 cell under "
        "it could not be installed: `no solution: pytest-asyncio==0.23.5 depends on "
        "pytest>=7.0.0,<9 and you require pytest-asyncio==0.23.5` (asyncio = 0.23.5 and pytest "
        "= 9.2)." in text
    )
