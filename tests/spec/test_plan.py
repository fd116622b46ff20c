"""Expansion, selection and sharding of the real seed scenario: pure, no venvs."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from buglab import model
from buglab.env import backends
from buglab.errors import UsageError
from buglab.spec import plan, which_cell


def test_seed_expands_to_72_cells_in_18_venvs(seed: model.Scenario) -> None:
    cells = plan.expand(seed)
    assert len(cells) == 72
    assert len(plan.venv_groups(cells)) == 18
    assert len({c.id for c in cells}) == 72


def test_flags_land_where_the_placeholder_stands(seed: model.Scenario) -> None:
    cell = plan.expand(seed)[0]
    assert cell.id == "install=editable,sqlalchemy=1.4,toolchain=2023-12-10,warnings=on,coverage=on"
    assert cell.argv == (
        "pytest",
        "-Wignore:XXX:sqlalchemy.exc.SADeprecationWarning",
        "--cov=package.module",
        "test.py",
    )


def test_venv_spec_carries_the_venv_axes_only(seed: model.Scenario) -> None:
    by_id = {c.id: c for c in plan.expand(seed)}
    a = by_id["install=editable,sqlalchemy=2.0,toolchain=latest,warnings=on,coverage=on"]
    b = by_id["install=editable,sqlalchemy=2.0,toolchain=latest,warnings=off,coverage=off"]
    c = by_id["install=not-installed,sqlalchemy=2.0,toolchain=latest,warnings=off,coverage=off"]
    assert a.venv == b.venv
    assert a.venv != c.venv
    assert a.venv.requirements == ("pytest", "pytest-cov", "sqlalchemy", "sqlalchemy==2.0.*")
    assert a.venv.install is model.InstallMode.EDITABLE and a.venv.project is not None
    assert c.venv.project is None and c.venv.date is None


@pytest.mark.parametrize(
    ("mode", "installs", "argument"),
    [
        ("editable", True, "--editable"),  # pip install -e ./project
        ("non-editable", True, None),  # pip install ./project
        ("not-installed", False, None),  # only files in the cell's folder
    ],
)
def test_each_install_mode_yields_its_install_request(
    seed: model.Scenario, mode: str, installs: bool, argument: str | None, tmp_path: Path
) -> None:
    cell = next(c for c in plan.expand(seed) if c.label_map["install"] == mode)
    assert cell.venv.install.value == mode
    assert (cell.venv.project is not None) is installs
    # what the installer is told when it has to build the folder itself
    request = backends.InstallRequest(
        cell.venv.requirements,
        tmp_path if installs else None,
        cell.venv.date,
        None,
        False,
        editable=cell.venv.install is model.InstallMode.EDITABLE,
    )
    argv = backends.UvBackend("uv").install(tmp_path / "venv", request)
    tail = argv[-2:] if argument else argv[-1:]
    if not installs:
        assert str(tmp_path) not in argv
    elif argument:
        assert tail == [argument, str(tmp_path)]
    else:
        assert tail == [str(tmp_path)] and "--editable" not in argv


def test_expectations_follow_the_rules(seed: model.Scenario) -> None:
    by_id = {c.id: c.expected for c in plan.expand(seed)}
    assert (
        by_id["install=editable,sqlalchemy=1.4,toolchain=2023-12-10,warnings=on,coverage=on"]
        is model.Outcome.REPRODUCED
    )
    assert (
        by_id["install=non-editable,sqlalchemy=1.4,toolchain=2023-12-10,warnings=on,coverage=on"]
        is model.Outcome.REPRODUCED
    )
    assert (
        by_id["install=not-installed,sqlalchemy=1.4,toolchain=2023-12-10,warnings=on,coverage=on"]
        is model.Outcome.PASSED
    )
    assert (
        by_id["install=editable,sqlalchemy=2.1,toolchain=2023-12-10,warnings=off,coverage=off"]
        is model.Outcome.UNAVAILABLE
    )


def test_only_keeps_matching_cells(seed: model.Scenario) -> None:
    selection = plan.Selection.parse(["install=editable", "sqlalchemy=1.4,2.0"])
    selection.validate([seed])
    kept = plan.select(plan.expand(seed), selection)
    assert len(kept) == 16
    assert all(c.label_map["install"] == "editable" for c in kept)


@pytest.mark.parametrize(
    ("only", "message"),
    [
        (["instal=editable"], "did you mean 'install'"),
        (["install=editabel"], "did you mean 'editable'"),
        (["install"], "expected AXIS=VALUE"),
    ],
)
def test_bad_only_is_a_usage_error(seed: model.Scenario, only: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        plan.Selection.parse(only).validate([seed])


def test_shards_partition_and_keep_venvs_together(seed: model.Scenario) -> None:
    cells = plan.expand(seed)
    shards = [plan.shard(cells, plan.Shard(k, 5)) for k in range(1, 6)]
    ids = [c.id for s in shards for c in s]
    assert sorted(ids) == sorted(c.id for c in cells)
    for part in shards:
        for group in plan.venv_groups(cells):
            inside = {c.id for c in group} & {c.id for c in part}
            assert inside in (set(), {c.id for c in group})
    sizes = [len(s) for s in shards]
    assert max(sizes) - min(sizes) <= 4


def test_a_narrower_expectation_overrides_a_broader_one(seed: model.Scenario) -> None:
    """A broad rule and a narrower one inside it layer; the narrower wins where both match."""
    broad = model.Rule((("install", frozenset({"editable"})),), model.Outcome.REPRODUCED)
    narrow = model.Rule(
        (("install", frozenset({"editable"})), ("toolchain", frozenset({"2023-12-10"}))),
        model.Outcome.UNAVAILABLE,
    )
    layered = replace(seed, expects=(model.Rule((), model.Outcome.PASSED), broad, narrow))
    by_id = {c.id: c.expected for c in plan.expand(layered)}
    old = "install=editable,sqlalchemy=2.0,toolchain=2023-12-10,warnings=on,coverage=on"
    new = "install=editable,sqlalchemy=2.0,toolchain=latest,warnings=on,coverage=on"
    other = "install=not-installed,sqlalchemy=2.0,toolchain=latest,warnings=on,coverage=on"
    assert by_id[old] is model.Outcome.UNAVAILABLE
    assert by_id[new] is model.Outcome.REPRODUCED
    assert by_id[other] is model.Outcome.PASSED
    # the same rules in the other order layer the same way
    flipped = replace(layered, expects=(narrow, broad, model.Rule((), model.Outcome.PASSED)))
    assert {c.id: c.expected for c in plan.expand(flipped)} == by_id


def test_the_longest_work_starts_first(seed: model.Scenario) -> None:
    """Groups by their cells' total last-run seconds, cells within a group likewise; cells never
    timed keep the plan's order."""
    from buglab.lab.execute import Job, longest_first

    groups = [list(g) for g in plan.venv_groups(plan.expand(seed))[:3]]
    timed = {groups[1][0].id: 5.0, groups[1][1].id: 1.0, groups[2][3].id: 3.0}
    jobs = [[Job(seed, c, "", timed.get(c.id, 0.0)) for c in g] for g in groups]
    ordered = longest_first(jobs)
    assert [g[0].cell.id for g in ordered] == [groups[1][0].id, groups[2][3].id, groups[0][0].id]
    assert [j.cell.id for j in ordered[2]] == [c.id for c in groups[0]]
    assert [j.expected_seconds for j in ordered[1]] == [3.0, 0.0, 0.0, 0.0]


def test_a_cell_id_that_matches_nothing_says_what_ids_look_like(seed: model.Scenario) -> None:
    from buglab.lab import workflow

    with pytest.raises(UsageError) as caught:
        workflow.make_plans([seed], (), None, ("install=editable",))
    message = str(caught.value)
    assert "a cell id names every axis; cells with these labels: 'install=editable," in message
    assert "`plan` lists them" in message
    with pytest.raises(UsageError, match="did you mean"):
        workflow.make_plans([seed], (), None, (plan.expand(seed)[0].id + "x",))


FLASK_CELLS = [
    "flask=2.2,werkzeug=2.3,toolchain=latest",
    "flask=3.0,werkzeug=2.3,toolchain=latest",
    "flask=3.0,werkzeug=3.0,toolchain=latest",
]


@pytest.mark.parametrize(
    ("wanted", "hint"),
    [
        (
            "werkzeug=2.3,toolchain=latest,flask=2.2",
            " (did you mean 'flask=2.2,werkzeug=2.3,toolchain=latest'? the same labels, in the "
            "order of the axes)",
        ),
        ("flask=2.3,werkzeug=2.3,toolchain=latest", " ('2.3' is not a value of 'flask': 2.2, 3.0"),
        (
            "werkzeug=3.0,flask=3.0",
            " (a cell id names every axis; cells with these labels: "
            "'flask=3.0,werkzeug=3.0,toolchain=latest';",
        ),
        ("flask=2.2,werkzeug=3.0,toolchain=latest", " (no cell has all these labels"),
        ("flsk=3.0", " (no axis 'flsk'; did you mean 'flask'?)"),
    ],
)
def test_a_cell_hint_never_changes_a_label_the_user_gave(wanted: str, hint: str) -> None:
    """The axes in another order name the same cell; a cell that differs in a label the user
    gave (another Flask) is never suggested."""
    got = which_cell(wanted, FLASK_CELLS)
    assert got.startswith(hint)
    given = set(wanted.split(","))
    for named in re.findall(r"'([^']*=[^']*)'", got):
        assert given <= set(named.split(",")), f"{named} changes a label of {wanted}"
