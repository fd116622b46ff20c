"""What a watch makes of a run (pure): which cells flipped against what was recorded, which of
them a date bisect can explain and from which day, and the words of the comment."""

from __future__ import annotations

from collections.abc import Sequence

from buglab import model
from buglab.report import watch

Out = model.Outcome
RUN = "2026-11-25T06:00:00Z"
LAST = "2026-11-18T06:00:00Z"


def cell(
    labels: Sequence[tuple[str, str]],
    outcome: model.Outcome,
    expected: model.Outcome | None = None,
    measured: str = RUN,
) -> model.CellResult:
    cid = ",".join(f"{a}={v}" for a, v in labels)
    resolved = (
        ()
        if outcome in (Out.ENV_ERROR, Out.UNAVAILABLE, Out.NOT_RUN)
        else (("python", "3.11.7"), ("setuptools", "80.0"), ("six", "1.17.0"))
    )
    return model.CellResult(
        cid, tuple(labels), resolved, outcome, expected, 0, 0.1, "", measured=measured
    )


def result(cells: Sequence[model.CellResult], started: str = RUN) -> model.MatrixResult:
    return model.MatrixResult(
        scenario="demo",
        title="demo",
        command=("python", "probe.py"),
        venv_axes=("toolchain", "mode"),
        command_axes=(),
        axis_labels=(("toolchain", ("2024-06-01", "latest")), ("mode", ("a", "b"))),
        cells=tuple(cells),
        meta=(("started", started), ("shown_packages", "six")),
        axis_kinds=(("toolchain", "date"), ("mode", "requirements")),
    )


OLD_A = (("toolchain", "2024-06-01"), ("mode", "a"))
NEW_A = (("toolchain", "latest"), ("mode", "a"))
OLD_B = (("toolchain", "2024-06-01"), ("mode", "b"))
NEW_B = (("toolchain", "latest"), ("mode", "b"))


def test_a_cell_flips_against_its_expectation_or_else_the_last_results() -> None:
    now = result(
        [
            cell(OLD_A, Out.REPRODUCED, Out.REPRODUCED),
            cell(NEW_A, Out.PASSED, Out.REPRODUCED),  # went away
            cell(OLD_B, Out.PASSED),  # no expectation, same as last time
            cell(NEW_B, Out.FAILED),  # no expectation, passed last time
        ]
    )
    last = result([cell(OLD_B, Out.PASSED, measured=LAST), cell(NEW_B, Out.PASSED, measured=LAST)])
    found = watch.compare(now, last)
    assert [(f.cell.id, f.before, f.expected, f.kind) for f in found.flips] == [
        ("toolchain=latest,mode=a", Out.REPRODUCED, True, watch.Kind.WENT_AWAY),
        ("toolchain=latest,mode=b", Out.PASSED, False, watch.Kind.CHANGED),
    ]
    assert found.unmeasured == ()
    assert watch.summary(found) == "demo: the bug went away in 1 cell; 1 cell broke differently"


def test_cells_not_measured_now_are_not_flips_and_env_errors_are_never_reported() -> None:
    now = result(
        [
            cell(OLD_A, Out.PASSED, Out.REPRODUCED, measured=LAST),  # kept from an earlier run
            cell(NEW_A, Out.NOT_RUN, Out.REPRODUCED),
            cell(OLD_B, Out.ENV_ERROR, Out.PASSED),
            cell(NEW_B, Out.PASSED, Out.PASSED),
        ]
    )
    found = watch.compare(now, None)
    assert found.flips == ()
    assert [f.cell.id for f in found.unmeasured] == ["toolchain=2024-06-01,mode=b"]
    assert watch.summary(found) == (
        "demo: 1 cell could not be measured (toolchain=2024-06-01,mode=b: env-error); "
        "not reported upstream"
    )
    built_now = result([cell(NEW_A, Out.PASSED)])
    not_built_then = result([cell(NEW_A, Out.ENV_ERROR, measured=LAST)], LAST)
    assert not watch.compare(built_now, not_built_then).changed
    calm = watch.compare(result([cell(NEW_B, Out.PASSED, Out.PASSED)]), None)
    assert not calm.changed
    said = watch.summary(calm)
    assert said.startswith("demo: nothing changed (") and said.endswith("; all as expected)")


def test_the_bisect_starts_from_the_newest_day_the_cell_behaved_as_recorded() -> None:
    now = result(
        [cell(OLD_A, Out.REPRODUCED, Out.REPRODUCED), cell(NEW_A, Out.PASSED, Out.REPRODUCED)]
    )
    (flip,) = watch.compare(now, None).flips
    days = watch.date_range(flip, now, None, "2026-11-25")
    assert days == watch.DateRange(
        "toolchain=latest,mode=a",
        ("mode=a",),
        None,
        "2024-06-01",
        "it reproduced on 2024-06-01 (toolchain = 2024-06-01, mode = a in this run)",
    )
    # a week ago the latest cell itself still reproduced: a shorter range
    last = result([cell(NEW_A, Out.REPRODUCED, Out.REPRODUCED, measured=LAST)], LAST)
    days = watch.date_range(flip, now, last, "2026-11-25")
    assert isinstance(days, watch.DateRange)
    assert (days.good, days.bad) == (None, "2026-11-18")
    assert days.evidence == "it reproduced on 2026-11-18 (measured on 2026-11-18)"


def test_a_bug_that_came_back_is_bisected_from_the_day_it_passed() -> None:
    now = result([cell(OLD_B, Out.PASSED, Out.PASSED), cell(NEW_B, Out.REPRODUCED, Out.PASSED)])
    (flip,) = watch.compare(now, None).flips
    assert flip.kind is watch.Kind.CAME_BACK
    days = watch.date_range(flip, now, None, "2026-11-25")
    assert isinstance(days, watch.DateRange)
    assert (days.only, days.good, days.bad) == (("mode=b",), "2024-06-01", None)


def test_flips_a_date_bisect_cannot_explain_say_why() -> None:
    pinned = result([cell(OLD_A, Out.PASSED, Out.REPRODUCED)])
    (flip,) = watch.compare(pinned, None).flips
    assert watch.date_range(flip, pinned, None, "2026-11-25") == watch.NotBisected(
        "toolchain=2024-06-01,mode=a",
        "its toolchain is pinned (toolchain = 2024-06-01), so no release since then reaches it",
    )
    broke = result([cell(NEW_A, Out.FAILED, Out.REPRODUCED)])
    (flip,) = watch.compare(broke, None).flips
    reason = watch.date_range(flip, broke, None, "2026-11-25")
    assert isinstance(reason, watch.NotBisected)
    assert reason.reason == (
        "a bisect tells reproduced from passed, and reproduced → failed is not that change"
    )
    alone = result([cell(NEW_A, Out.PASSED, Out.REPRODUCED)])
    (flip,) = watch.compare(alone, None).flips
    reason = watch.date_range(flip, alone, None, "2026-11-25")
    assert isinstance(reason, watch.NotBisected)
    assert reason.reason == "the lab has no day on which this cell reproduced, to bisect from"
    today = result([cell(NEW_A, Out.REPRODUCED, Out.REPRODUCED, measured=RUN)], RUN)
    reason = watch.date_range(flip, alone, today, "2026-11-25")
    assert isinstance(reason, watch.NotBisected)
    assert reason.reason.endswith("today (measured on 2026-11-25); a day cannot be split")


def test_one_bisect_per_kind_of_change() -> None:
    now = result(
        [
            cell(OLD_A, Out.PASSED, Out.REPRODUCED),
            cell(NEW_A, Out.PASSED, Out.REPRODUCED),
            cell(OLD_B, Out.REPRODUCED, Out.PASSED),
            cell(NEW_B, Out.REPRODUCED, Out.PASSED),
        ]
    )
    chosen = watch.to_bisect(watch.compare(now, None).flips)
    assert [f.cell.id for f in chosen] == [
        "toolchain=2024-06-01,mode=a",
        "toolchain=2024-06-01,mode=b",
    ]


def test_the_section_names_the_flip_the_answer_and_what_was_not_bisected() -> None:
    now = result(
        [
            cell(OLD_A, Out.REPRODUCED, Out.REPRODUCED),
            cell(NEW_A, Out.PASSED, Out.REPRODUCED),
            cell(NEW_B, Out.PASSED),
        ]
    )
    last = result([cell(NEW_B, Out.REPRODUCED, measured=LAST)], LAST)
    found = watch.compare(now, last)
    explained = [
        watch.Explanation(
            "toolchain=latest,mode=a",
            command="python -m buglab bisect demo --date --only mode=a --bad 2024-06-01",
            answer="first good: 2024-12-04",
            details=("culprit: six 1.16.0 → 1.17.0 (the only package that changed)",),
            paragraph="**First good day: 2024-12-04.**\n",
        )
    ]
    text = watch.section(found, explained)
    lines = text.splitlines()
    assert lines[0] == "### Watch, 2026-11-25: the bug went away in 2 cells"
    versions = "| py 3.11.7, six 1.17.0 |"
    assert f"| toolchain = latest, mode = a | 🐛 reproduced | ✅ passed {versions}" in lines
    assert (
        f"| toolchain = latest, mode = b | 🐛 reproduced (last run) | ✅ passed {versions}" in lines
    )
    assert "**Since when** (toolchain = latest, mode = a): **first good: 2024-12-04**." in lines
    assert "- culprit: six 1.16.0 → 1.17.0 (the only package that changed)" in lines
    assert (
        "- asked with `python -m buglab bisect demo --date --only mode=a --bad 2024-06-01`" in lines
    )
    assert "**First good day: 2024-12-04.**" in lines
    assert (
        "1 cell that flipped the same way as a bisected one was not bisected separately." in lines
    )
    assert text.endswith("\n\n---\n\n")
    skipped = watch.section(found, [watch.Explanation("toolchain=latest,mode=a", reason="why")])
    assert "**Since when** (toolchain = latest, mode = a): not bisected: why." in skipped
