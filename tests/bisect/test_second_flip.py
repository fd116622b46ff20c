"""Bisects that see a second flip: a backport published later in an older series is probed and
given its own boundary, and outcomes the lab already holds for the same cell (the matrix,
earlier bisects) that contradict the answer are said, and make it "not a single boundary".
Fake probes and the results snapshot: no venv, no index."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import replace
from pathlib import Path

from packaging.version import Version

from buglab import model
from buglab.bisect import answer, cell, crosscheck, installable, record, series
from buglab.bisect import workflow as bisection
from buglab.bisect.search import Found, Phase, Verdict
from buglab.env.resolve import Failed, Resolution
from tests.bisect.test_stages import FIXED, FakeProber, bisected, options, subject
from tests.conftest import RESULTS, SEED

DAY = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
#: a fix in 2.1.0, backported to the 1.4 series in 1.4.51, published a month after 2.1.0
LABELS = ("1.4.50", "1.4.51", "2.0.0", "2.0.1", "2.1.0", "2.1.1")
OUTCOMES = "bgbbgg"
UPLOADED = {
    "1.4.50": DAY,
    "2.0.0": DAY + dt.timedelta(days=10),
    "2.0.1": DAY + dt.timedelta(days=20),
    "2.1.0": DAY + dt.timedelta(days=30),
    "1.4.51": DAY + dt.timedelta(days=60),
    "2.1.1": DAY + dt.timedelta(days=90),
}


def with_series(seed: model.Scenario) -> answer.Bisected:
    s = subject(seed, package="sqlalchemy", only=FIXED)
    b = bisected(s, LABELS, OUTCOMES, Verdict.BAD)
    assert isinstance(b.answer, Found) and b.name(b.answer.first_new) == "sqlalchemy==2.1.0"
    assert "1.4.51" not in {p.candidate for p in b.probes}, "the binary search never sees it"
    fake = FakeProber(LABELS, OUTCOMES)
    said: list[str] = []
    assert isinstance(b.answer, Found)
    found = series.settle_series(s, LABELS, b.answer, UPLOADED, b.probes, fake.probe, said.append)
    assert [p.candidate for p in fake.probes] == ["1.4.51"], "only the backport is new"
    assert said == [answer.probe_line(fake.probes[0])]
    return replace(b, series=found, probes=(*b.probes, *fake.probes))


def test_a_backport_in_an_older_series_gets_its_own_boundary(seed: model.Scenario) -> None:
    b = with_series(seed)
    assert b.series == (
        answer.SeriesAnswer("1.4", "1.4.51", Verdict.GOOD, boundary="1.4.51", last_old="1.4.50"),
    )
    assert answer.final_line(b) == (
        "first good: sqlalchemy==2.1.0; in the 1.4 series, first good: sqlalchemy==1.4.51"
    )
    assert b.settled
    data = record.answer_json(b)
    assert data["series"][0]["boundary"] == "1.4.51"
    assert record.paragraph(b).startswith(
        "**First good release: sqlalchemy==2.1.0; in the 1.4 series, first good: "
        "sqlalchemy==1.4.51.**"
    )


def test_an_older_series_without_a_backport_is_said_to_behave_like_the_old_side(
    seed: model.Scenario,
) -> None:
    s = subject(seed, package="sqlalchemy", only=FIXED)
    b = bisected(s, LABELS, "bbbbgg", Verdict.BAD)
    assert isinstance(b.answer, Found)
    fake = FakeProber(LABELS, "bbbbgg")
    found = series.settle_series(s, LABELS, b.answer, UPLOADED, b.probes, fake.probe, print)
    assert found == (answer.SeriesAnswer("1.4", "1.4.51", Verdict.BAD),)
    b = replace(b, series=found)
    assert answer.series_line(b, found[0]) == (
        "in the 1.4 series, sqlalchemy==1.4.51 (published after the boundary) reproduced too"
    )
    assert answer.final_line(b) == "first good: sqlalchemy==2.1.0"


def test_no_series_is_probed_when_nothing_older_came_out_after_the_boundary() -> None:
    found = Found(3, 4, Verdict.GOOD)
    early = {**UPLOADED, "1.4.51": DAY + dt.timedelta(days=5)}
    assert series.backports(LABELS, found, early) == {}
    assert series.backports(LABELS, found, UPLOADED) == {(1, 4): [0, 1]}


def test_a_matrix_cell_that_contradicts_the_answer_makes_it_not_a_single_boundary(
    seed: model.Scenario,
) -> None:
    """The snapshot's matrix measured sqlalchemy 2.0.58 reproducing in this very cell; an
    answer "first good 2.0.58" is contradicted, said so, and exits 1."""
    s = subject(seed, package="sqlalchemy", only=FIXED)
    b = bisected(s, ("2.0.56", "2.0.57", "2.0.58", "2.1.0"), "bbgg", Verdict.BAD)
    seen = list(crosscheck.observations(b, options(package="sqlalchemy", results=RESULTS)))
    sources = {where.split(",")[0] for _, _, where in seen}
    assert len(seen) == 3 and len(sources) == 1  # sqlalchemy 1.4, 2.0 and 2.1 in this cell
    b = replace(b, contradictions=tuple(crosscheck.contradicting(b, seen)))
    (wrong,) = b.contradictions
    assert (wrong.candidate, wrong.outcome) == ("2.0.58", model.Outcome.REPRODUCED)
    assert wrong.source.endswith(
        "warnings-coverage-editable.json, cell install=not-installed,sqlalchemy=2.0,"
        "toolchain=latest,warnings=on,coverage=on"
    )
    assert not b.settled
    line = answer.final_line(b)
    assert line.startswith(
        "not a single boundary: first good: sqlalchemy==2.0.58 by bisection, but the lab "
        "holds outcomes that say otherwise: sqlalchemy==2.0.58 reproduced ("
    )
    assert any(
        x.startswith("contradicted: sqlalchemy==2.0.58 reproduced in ") for x in answer.lines(b)
    )


def test_an_earlier_bisect_of_the_same_cell_is_checked_too(
    seed: model.Scenario, tmp_path: Path
) -> None:
    s = subject(seed, package="sqlalchemy", only=FIXED)
    earlier = bisected(s, LABELS, "bgbbgg", Verdict.BAD)
    folder = tmp_path / SEED
    folder.mkdir()
    data = record.answer_json(earlier)
    data["probes"].append({**data["probes"][0], "candidate": "1.4.51", "outcome": "passed"})
    (folder / "bisect-sqlalchemy-x.json").write_text(json.dumps(data))
    other = {**data, "axes": {**data["axes"], "coverage": "off"}}  # another cell: not used
    (folder / "bisect-sqlalchemy-y.json").write_text(json.dumps(other))
    shutil.copy(RESULTS / f"{SEED}.json", tmp_path)  # 1.4.54, 2.0.58, 2.1.9: beyond the range
    seen = list(crosscheck.observations(earlier, options(package="sqlalchemy", results=tmp_path)))
    found = list(crosscheck.contradicting(earlier, seen))
    assert [(c.candidate, c.outcome.value) for c in found] == [("1.4.51", "passed")]
    assert found[0].source.endswith("bisect-sqlalchemy-x.json")
    assert crosscheck.expected(earlier, "1.4.51") is Verdict.BAD
    assert crosscheck.expected(earlier, "2.0.58") is None  # outside the range searched
    assert Phase.CONFIRM.value == "confirm"


# -- a bisect without ends starts where the cell can be installed ---------------------------


def test_the_installable_run_of_releases_is_found_by_halving() -> None:
    asked: list[int] = []

    def works(i: int) -> str:
        asked.append(i)
        return "" if 30 <= i <= 280 else f"conflict at {i}"

    found = installable.span(293, works)
    assert found == installable.Installable(30, 280, "conflict at 29")
    assert len(set(asked)) <= 2 * 9 + 3, "about log2 of the releases, each way"
    assert installable.span(5, lambda i: "no") is None


def test_a_bisect_without_ends_starts_from_releases_installable_beside_the_pins(
    seed: model.Scenario,
) -> None:
    """Like werkzeug 0.1 beside Flask 2.2: the oldest releases cannot be installed at all."""
    s = subject(seed, package="sqlalchemy", only=FIXED)
    labels = ("0.1.0", "0.9.0", "1.3.0", "1.4.0", "2.0.0", "2.1.0")

    def resolve(spec: model.VenvSpec) -> Resolution | Failed:
        assert spec.project is None
        (pin,) = [r for r in spec.requirements if r.startswith("sqlalchemy==")]
        ok = Version(pin.split("==")[1]) >= Version("1.3")
        return Resolution((("sqlalchemy", pin),)) if ok else Failed("no solution: pytest-cov")

    said: list[str] = []
    whole = cell.Range(labels, (), None)
    found = installable.within(whole, s, resolve, said.append)
    assert found.labels == ("1.3.0", "1.4.0", "2.0.0", "2.1.0")
    assert [a.version for a in found.set_aside] == ["0.1.0", "0.9.0"]
    assert said == [
        "ends: 2 older and 0 newer releases cannot be installed beside the cell's other "
        "requirements (no solution: pytest-cov); searching 1.3.0 … 2.1.0"
    ]


def test_a_pre_release_bisect_keeps_the_files_of_the_plain_one(seed: model.Scenario) -> None:
    plain = options(package="sqlalchemy", only=FIXED)
    pre = replace(plain, pre=True)
    s = subject(seed, package="sqlalchemy", only=FIXED)
    assert bisection.answer_path(pre, s) != bisection.answer_path(plain, s)
    assert bisection.answer_path(pre, s).name.startswith("bisect-sqlalchemy-pre-")


def test_a_date_bisect_is_checked_against_the_matrix_cells_of_other_days(
    seed: model.Scenario,
) -> None:
    """The snapshot measured this cell passing on 2023-12-10 and reproducing on the day of
    the run (2026-11-25, its "latest"): an answer "first bad 2026-11-26" is contradicted."""
    fixed = ("install=not-installed", "sqlalchemy=2.0", "warnings=on", "coverage=on")
    s = subject(seed, only=fixed)
    days = ("2023-12-10", "2025-01-01", "2026-11-25", "2026-11-26")
    asked = options(only=fixed, results=RESULTS)
    wrong = bisected(s, days, "gggb", Verdict.GOOD)
    seen = sorted(crosscheck.observations(wrong, asked))
    assert [(day, outcome.value) for day, outcome, _ in seen] == [
        ("2023-12-10", "passed"),
        ("2026-11-25", "reproduced"),
    ]
    assert [c.candidate for c in crosscheck.contradicting(wrong, seen)] == ["2026-11-25"]
    right = bisected(s, days, "ggbb", Verdict.GOOD)
    assert list(crosscheck.contradicting(right, seen)) == []
