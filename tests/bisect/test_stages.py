"""The bisect command's stages on the seed scenario, with fake probes: choosing the cell, the
probe cells, the ranges, the answer's renderings. No venv, no index, no process."""

from __future__ import annotations

import datetime as dt
import json
import shlex
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import pytest

from buglab import model
from buglab.bisect import answer, cell, driving, record
from buglab.bisect import workflow as bisection
from buglab.bisect.options import BisectOptions
from buglab.bisect.probing import Probe, Subject
from buglab.bisect.search import Found, Phase, Verdict
from buglab.cli import _parser
from buglab.env.resolve import Failed, Resolution
from buglab.errors import UsageError
from buglab.option import FRONT_DOOR, command_line, from_arguments
from buglab.spec import plan
from tests.conftest import ROOT, SEED

FIXED = ("install=not-installed", "toolchain=latest", "warnings=on", "coverage=on")
TODAY = dt.date(2026, 11, 23)


def options(**given: Any) -> BisectOptions:
    """A release bisect when a package is given, else a date bisect, as the parser makes them."""
    base = BisectOptions(root=ROOT, scenario=SEED, today=TODAY, date=not given.get("package"))
    return replace(base, **given)


def subject(seed: model.Scenario, **given: Any) -> Subject:
    return cell.choose_subject(seed, options(**given))


# -- the cell --------------------------------------------------------------------------------


def test_a_release_bisect_frees_the_package_axis_and_pins_each_candidate(
    seed: model.Scenario,
) -> None:
    s = subject(seed, package="SQLAlchemy", only=FIXED)
    assert s.package == "sqlalchemy" and s.free == ("sqlalchemy",)
    assert s.cell_name == "install=not-installed,toolchain=latest,warnings=on,coverage=on"
    cell = s.release_cell("2.0.23")
    assert "sqlalchemy==2.0.23" in cell.venv.requirements
    assert not any(r.startswith("sqlalchemy==1.4") for r in cell.venv.requirements)
    assert [p.requirement for p in cell.venv.pins] == ["sqlalchemy==2.0.23"]
    assert cell.venv.date is None and cell.venv.install is model.InstallMode.NOT_INSTALLED
    assert cell.id not in {c.id for c in plan.expand(seed)}, "its log must not overwrite one"
    matrix_cell = next(
        c
        for c in plan.expand(seed)
        if c.id == "install=not-installed,sqlalchemy=2.0,toolchain=latest,warnings=on,coverage=on"
    )
    assert cell.argv == matrix_cell.argv


def test_a_package_that_is_no_axis_needs_every_axis_fixed(seed: model.Scenario) -> None:
    with pytest.raises(UsageError) as caught:
        subject(seed, package="coverage", only=FIXED)
    assert str(caught.value) == (
        "a bisect varies one cell: fix every axis with --only; still free: sqlalchemy (1.4, "
        "2.0, 2.1)"
    )
    with pytest.raises(UsageError, match="--day 2026-02-03 takes the place of toolchain"):
        subject(seed, package="coverage", only=(*FIXED, "sqlalchemy=2.0"), day="2026-02-03")
    only = tuple(item for item in FIXED if not item.startswith("toolchain"))
    held = subject(
        seed,
        package="coverage",
        only=(*only, "sqlalchemy=2.0"),
        hold=("pytest==8.0.0",),
        day="2026-02-03",
    )
    cell = held.release_cell("7.13.2")
    assert cell.venv.date == "2026-02-03"
    assert {"pytest==8.0.0", "coverage==7.13.2", "sqlalchemy==2.0.*"} <= set(cell.venv.requirements)
    assert held.cell_name.endswith(",day=2026-02-03,with=pytest==8.0.0")


def test_a_date_bisect_frees_the_date_axis(seed: model.Scenario) -> None:
    s = subject(
        seed, only=("install=not-installed", "sqlalchemy=2.0", "warnings=on", "coverage=on")
    )
    assert s.free == ("toolchain",)
    cell = s.day_cell("2024-05-01")
    assert cell.venv.date == "2024-05-01"
    assert cell.venv.requirements == s.cell.venv.requirements
    assert cell.id.endswith(",bisect=2024-05-01")


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            {"package": "sqlalchemy", "only": (*FIXED, "sqlalchemy=2.0")},
            "--only sqlalchemy=...: sqlalchemy is what this bisect varies",
        ),
        (
            {"only": (*FIXED, "sqlalchemy=2.0")},
            "--only toolchain=...: toolchain is what this bisect varies",
        ),
        (
            {"package": "sqlalchemy", "only": ("install=editable",)},
            "still free: toolchain (2023-12-10, latest); warnings (on, off); coverage (on, off)",
        ),
        (
            {"package": "sqlalchemy", "only": ("install=editable,non-editable", *FIXED[1:])},
            "still free: install (editable, non-editable)",
        ),
        ({"package": "sqlalchemy", "only": ("bogus=1",)}, "no axis 'bogus'"),
        ({"package": "sqlalchemy", "only": ("warnings=maybe",)}, "'maybe' is not a value"),
    ],
)
def test_bad_cells_are_one_line(
    seed: model.Scenario, given: dict[str, object], message: str
) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        subject(seed, **given)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"package": "x", "then_package": True}, "--then-package belongs to a date bisect"),
        ({"day": "2024-01-01"}, "--day belongs to a release bisect"),
        ({"package": "x", "hold": ("pytest>=8",)}, "--hold 'pytest>=8': expected NAME==VERSION"),
        ({"package": "x", "repeat": 0}, "--repeat 0: must be at least 1"),
        ({"package": "x", "day": "2026-13-01"}, "--day '2026-13-01': expected a day"),
        ({"package": "x", "day": "2027-01-01"}, "--day 2027-01-01: that day has not come yet"),
        (
            {"package": "Pytest", "hold": ("pytest==8.0.0",)},
            "--hold pytest==8.0.0: pytest is the package being bisected",
        ),
    ],
)
def test_bad_options_are_one_line(given: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        cell.check_options(options(**given))


def test_the_package_must_be_in_the_cell(seed: model.Scenario) -> None:
    s = subject(seed, package="coverage", only=(*FIXED, "sqlalchemy=2.0"))
    seen: list[model.VenvSpec] = []

    def resolve(spec: model.VenvSpec) -> Resolution | Failed:
        seen.append(spec)
        return Resolution((("coverage", "7.13.3"), ("pytest", "9.0.2")))

    cell.ensure_in_cell(s, resolve)
    assert seen == [s.cell.venv]
    other = replace(s, package="requests")
    with pytest.raises(UsageError, match=r"requests: the cell does not install it \(coverage, "):
        cell.ensure_in_cell(other, resolve)
    with pytest.raises(UsageError, match="cannot tell whether the cell installs requests: down"):
        cell.ensure_in_cell(other, lambda spec: Failed("down"))
    direct = subject(seed, package="pytest", only=(*FIXED, "sqlalchemy=2.0"))
    cell.ensure_in_cell(direct, None)  # a requirement by name: nothing to ask


# -- ranges of days --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("good", "bad", "first", "last", "oldest"),
    [
        (None, None, "2023-12-10", "2026-11-23", None),  # the scenario's oldest day to today
        ("2026-02-01", None, "2026-02-01", "2026-11-23", Verdict.GOOD),
        ("2026-02-01", "latest", "2026-02-01", "2026-11-23", Verdict.GOOD),
        ("2026-02-05", "2026-02-01", "2026-02-01", "2026-02-05", Verdict.BAD),
    ],
)
def test_day_ranges(
    seed: model.Scenario,
    good: str | None,
    bad: str | None,
    first: str,
    last: str,
    oldest: Verdict | None,
) -> None:
    s = subject(seed, only=(*FIXED[:1], "sqlalchemy=2.0", *FIXED[2:]))
    found = cell.day_range(s, options(good=good, bad=bad))
    assert (found.labels[0], found.labels[-1], found.oldest) == (first, last, oldest)
    assert (
        len(found.labels) == (dt.date.fromisoformat(last) - dt.date.fromisoformat(first)).days + 1
    )


def test_command_line_reads_back_as_the_same_options() -> None:
    given = options(
        package="coverage",
        only=FIXED,
        good="7.13.2",
        bad="7.13.3",
        pre=True,
        repeat=3,
        day="2026-02-03",
        hold=("pytest==9.0.2",),
    )
    argv = bisection.bisect_command(given, {})
    assert argv[:4] == ("python", "-m", "buglab", "bisect")
    args = _parser().parse_args(argv[3:])
    read = from_arguments(BisectOptions, args, root=ROOT, today=TODAY)
    assert replace(read, jobs=given.jobs) == given


def test_a_follow_up_is_printed_in_the_form_the_user_ran() -> None:
    given = options(package="coverage", only=FIXED, good="7.13.2", bad="7.13.3")
    through_nox = bisection.bisect_command(given, {FRONT_DOOR: "lab"})
    assert through_nox[:6] == ("python3", "-m", "nox", "-s", "bisect", "--")
    assert through_nox[6:] == bisection.bisect_command(given, {})[4:]
    assert command_line("bisect", ["x"], {}, "/venv/bin/buglab") == ("buglab", "bisect", "x")
    assert command_line("export", ["x"], {FRONT_DOOR: "report"})[4:7] == ("lab", "--", "export")


# -- the whole search with fake probes, and its renderings -----------------------------------


class FakeProber:
    """Answers from a string (g/b/other outcome letters), with versions from a table."""

    OUTCOMES: ClassVar[dict[str, model.Outcome]] = {
        "g": model.Outcome.PASSED,
        "b": model.Outcome.REPRODUCED,
        "f": model.Outcome.FAILED,
        "e": model.Outcome.ENV_ERROR,
    }

    def __init__(self, labels: Sequence[str], text: str, versions: Sequence[str] = ()):
        self.answers = dict(zip(labels, text))
        self.versions = dict(zip(labels, versions))
        self.probes: list[Probe] = []
        self.prefetched: list[str] = []

    def prefetch(self, cells: Sequence[model.Cell]) -> None:
        self.prefetched += [c.id for c in cells]

    def cancel(self) -> None:
        self.cancelled = True

    def probe(self, candidate: str, cell: model.Cell, phase: Phase) -> Probe:
        outcome = self.OUTCOMES[self.answers[candidate]]
        detail = "exit 1: ImportError: cannot import name 'x'" if outcome.value == "failed" else ""
        resolved = (("coverage", self.versions.get(candidate, "1")), ("python", "3.11.7"))
        probe = Probe(
            candidate,
            phase,
            outcome,
            1.0,
            phase is not Phase.CONFIRM,
            "key",
            resolved,
            f"logs/{cell.id}.log",
            detail,
        )
        self.probes.append(probe)
        return probe


def bisected(
    s: Subject,
    labels: tuple[str, ...],
    text: str,
    oldest: Verdict | None,
    versions: Sequence[str] = (),
) -> answer.Bisected:
    cells = [s.day_cell(x) if s.package is None else s.release_cell(x) for x in labels]
    fake = FakeProber(labels, text, versions)
    said: list[str] = []
    driven = driving.drive(labels, cells, oldest, fake, said.append)
    assert said == [answer.probe_line(p) for p in fake.probes]
    assert list(driven.probes) == fake.probes and driven.rounds == len(fake.probes)
    assert fake.prefetched, "the next candidates are resolved while a probe runs"
    return answer.Bisected(
        s,
        ("buglab", "bisect"),
        "3.11.7",
        labels,
        (),
        oldest,
        driven.probes,
        driven.state.answer(),
        "2026-11-23T00:00Z",
        9.0,
    )


def test_a_found_release_reads_as_first_good_and_is_stored_whole(seed: model.Scenario) -> None:
    s = subject(seed, package="sqlalchemy", only=FIXED)
    labels = ("2.0.56", "2.0.57", "2.0.58", "2.1.0", "2.1.1")
    b = bisected(s, labels, "bbbgg", Verdict.BAD)
    out = answer.lines(b)
    assert out[-1] == "first good: sqlalchemy==2.1.0"
    assert (
        "confirmed: sqlalchemy==2.0.58 reproduced and sqlalchemy==2.1.0 passed again on a "
        "second run (both sides)"
    ) in out
    assert (
        "venvs: 4 built, 2 reused; 4 of 5 candidates probed (6 probes, 2 of them "
        "confirmations) in 9.0 s"
    ) in out
    data = json.loads(json.dumps(record.answer_json(b)))
    assert data["answer"] == {
        "kind": "boundary",
        "last_before": "2.0.58",
        "boundary": "2.1.0",
        "skipped": [],
        "confirmed": True,
    }
    assert data["venvs"] == {"built": 4, "reused": 2}
    assert [p["phase"] for p in data["probes"]].count("confirm") == 2
    text = record.paragraph(b)
    assert text.startswith(
        "**First good release: sqlalchemy==2.1.0.** sqlalchemy==2.0.58 "
        "reproduced and sqlalchemy==2.1.0 passed, both confirmed"
    )


def test_asking_again_rewrites_nothing_unless_the_answer_changed(
    seed: model.Scenario, tmp_path: Path
) -> None:
    s = subject(seed, package="sqlalchemy", only=FIXED)
    labels = ("2.0.56", "2.0.57", "2.0.58", "2.1.0", "2.1.1")
    first = bisected(s, labels, "bbbgg", Verdict.BAD)
    path = tmp_path / "bisect.json"
    bisection.write_answer(first, path)
    stored = [path.read_bytes(), path.with_suffix(".md").read_bytes()]
    again = replace(
        first,
        started="2026-11-24T00:00Z",
        seconds=3.0,
        probes=tuple(replace(p, seconds=p.seconds + 1, built=False) for p in first.probes),
    )
    bisection.write_answer(again, path)
    assert [path.read_bytes(), path.with_suffix(".md").read_bytes()] == stored
    moved = bisected(s, labels, "bbggg", Verdict.BAD)
    bisection.write_answer(moved, path)
    assert json.loads(path.read_text())["answer"]["boundary"] == "2.0.58"
    assert path.with_suffix(".md").read_bytes() != stored[1]


def test_a_skip_at_the_boundary_gives_a_range_with_each_reason(seed: model.Scenario) -> None:
    s = subject(seed, package="sqlalchemy", only=FIXED)
    labels = tuple(f"2.0.{n}" for n in range(8))
    b = bisected(s, labels, "gggfebbb", Verdict.GOOD)
    out = answer.lines(b)
    assert out[-1] == (
        "first bad: one of sqlalchemy==2.0.3, sqlalchemy==2.0.4, "
        "sqlalchemy==2.0.5 (2 skipped between sqlalchemy==2.0.2 and "
        "sqlalchemy==2.0.5)"
    )
    assert "skipped: sqlalchemy==2.0.3 failed: exit 1: ImportError: cannot import name 'x'" in out
    assert "skipped: sqlalchemy==2.0.4 env-error: " in out


def test_a_good_end_that_fails_is_said_in_one_line(seed: model.Scenario) -> None:
    s = subject(seed, package="sqlalchemy", only=FIXED)
    b = bisected(s, ("1.3.24", "1.4.0", "1.4.1"), "fbb", Verdict.GOOD)
    assert answer.final_line(b) == (
        "no boundary: the end called good, sqlalchemy==1.3.24, is not good: it gave failed: "
        "exit 1: ImportError: cannot import name 'x'"
    )
    assert [p.candidate for p in b.probes] == ["1.3.24", "1.4.1"]
    assert record.answer_json(b)["answer"]["kind"] == "wrong-end"


def test_ends_without_contrast_say_what_each_gave(seed: model.Scenario) -> None:
    s = subject(seed, package="sqlalchemy", only=FIXED)
    b = bisected(s, ("0.1.0", "1.0", "2.1.9"), "egg", None)
    assert answer.final_line(b) == (
        "no boundary: the oldest candidate, sqlalchemy==0.1.0, gave env-error; the newest, "
        "sqlalchemy==2.1.9, passed; name the ends with --good/--bad"
    )


def test_a_date_answer_names_the_day_and_what_changed(seed: model.Scenario) -> None:
    s = subject(
        seed, only=("install=not-installed", "sqlalchemy=2.0", "warnings=on", "coverage=on")
    )
    days = tuple(f"2026-02-0{n}" for n in range(1, 6))
    b = bisected(s, days, "ggbbb", Verdict.GOOD, ["7.13.2", "7.13.2", "7.13.3", "7.13.3", "7.13.4"])
    before, after = b.first_probe(1), b.first_probe(2)
    b = replace(b, changes=answer.diff(before.resolved, after.resolved))
    out = answer.lines(b)
    assert out[-1] == "first bad: 2026-02-03"
    assert "changed between 2026-02-02 and 2026-02-03: coverage 7.13.2 → 7.13.3" in out
    assert "culprit: coverage 7.13.2 → 7.13.3 (the only package that changed)" in out
    assert "Only one package changed between those days: coverage 7.13.2 → 7.13.3." in (
        record.paragraph(b)
    )


def test_diff_names_packages_that_came_and_went() -> None:
    changes = answer.diff(
        [("a", "1"), ("b", "2"), ("c", "3")], [("a", "1"), ("b", "3"), ("d", "1")]
    )
    assert [str(c) for c in changes] == ["b 2 → 3", "c 3 → (absent)", "d (absent) → 1"]


def test_results_go_next_to_the_scenario(seed: model.Scenario, tmp_path: Path) -> None:
    s = subject(seed, package="sqlalchemy", only=FIXED)
    path = bisection.answer_path(options(results=tmp_path), s)
    assert path == tmp_path / SEED / f"bisect-sqlalchemy-{s.cell_name}.json"


def test_several_changed_packages_give_one_release_bisect_each(seed: model.Scenario) -> None:
    only = ("install=not-installed", "sqlalchemy=2.0", "warnings=on", "coverage=on")
    s = subject(seed, only=only)
    b = bisected(s, ("2026-02-01", "2026-02-02"), "gb", Verdict.GOOD)
    versions = {"2026-02-01": ("7.13.2", "9.0.1"), "2026-02-02": ("7.13.3", "9.0.2")}
    probes = tuple(
        replace(
            p,
            resolved=(
                ("coverage", versions[p.candidate][0]),
                ("python", "3.11.7"),
                ("pytest", versions[p.candidate][1]),
            ),
        )
        for p in b.probes
    )
    settled = bisection.settle(replace(b, probes=probes), options(only=only), {}, print)
    assert [str(c) for c in settled.changes] == ["coverage 7.13.2 → 7.13.3", "pytest 9.0.1 → 9.0.2"]
    assert [f.package for f in settled.follow_ups] == ["coverage", "pytest"]
    assert shlex.join(settled.follow_ups[0].argv) == (
        f"python -m buglab bisect {SEED} --package coverage --only install=not-installed "
        "--only sqlalchemy=2.0 --only warnings=on --only coverage=on --day 2026-02-02 "
        "--good 7.13.2 --bad 7.13.3 --hold pytest==9.0.1"
    )
    out = answer.lines(settled)
    assert f"to settle pytest: {shlex.join(settled.follow_ups[1].argv)}" in out
    assert not any(line.startswith("culprit:") for line in out)
    assert isinstance(b.answer, Found)
    fix = replace(b, probes=probes, answer=replace(b.answer, looking_for=Verdict.GOOD))
    argv = bisection.settle(fix, options(only=only), {}, print).follow_ups[0].argv
    assert argv[argv.index("--good") + 1] == "7.13.3" and argv[argv.index("--bad") + 1] == "7.13.2"


def test_a_side_that_flips_on_confirmation_names_no_culprit(seed: model.Scenario) -> None:
    s = subject(seed, package="sqlalchemy", only=FIXED)
    labels = tuple(f"2.0.{n}" for n in range(6))

    class FlipsOnConfirm(FakeProber):
        def probe(self, candidate: str, cell: model.Cell, phase: Phase) -> Probe:
            if phase is Phase.CONFIRM and candidate == "2.0.3":
                self.answers[candidate] = "g"
            return super().probe(candidate, cell, phase)

    fake = FlipsOnConfirm(labels, "gggbbb")
    cells = [s.release_cell(x) for x in labels]
    driven = driving.drive(labels, cells, Verdict.GOOD, fake, lambda line: None)
    b = answer.Bisected(
        s, (), "3.11.7", labels, (), Verdict.GOOD, driven.probes, driven.state.answer(), "", 1.0
    )
    assert answer.final_line(b) == (
        "no single culprit: the outcomes do not split into one good and one bad block: "
        "sqlalchemy==2.0.2 passed → sqlalchemy==2.0.3 reproduced; sqlalchemy==2.0.3 reproduced "
        "→ sqlalchemy==2.0.3 passed; sqlalchemy==2.0.3 passed → sqlalchemy==2.0.5 reproduced"
    )
    assert record.answer_json(b)["answer"]["kind"] == "inconsistent"
    assert record.paragraph(b).startswith("**No single culprit: the outcomes do not split")


def test_two_at_a_time_take_fewer_rounds_and_store_probes_in_the_searchs_order(
    seed: model.Scenario,
) -> None:
    s = subject(seed, package="sqlalchemy", only=FIXED)
    labels = tuple(f"2.0.{n}" for n in range(30))
    cells = [s.release_cell(x) for x in labels]
    text = "g" * 21 + "b" * 9
    one = driving.drive(labels, cells, Verdict.GOOD, FakeProber(labels, text), print)
    said: list[str] = []
    two = driving.drive(labels, cells, Verdict.GOOD, FakeProber(labels, text), said.append, jobs=2)
    assert one.state.answer() == two.state.answer() == Found(20, 21, Verdict.BAD)
    assert two.rounds < one.rounds
    assert [p.candidate for p in two.probes[:2]] == ["2.0.0", "2.0.29"]
    assert [p.candidate for p in two.probes[-2:]] == ["2.0.20", "2.0.21"]
    assert sorted(said) == sorted(answer.probe_line(p) for p in two.probes)


def test_a_probe_that_breaks_off_cancels_the_others(seed: model.Scenario) -> None:
    s = subject(seed, package="sqlalchemy", only=FIXED)
    labels = tuple(f"2.0.{n}" for n in range(9))

    class Interrupted(FakeProber):
        def probe(self, candidate: str, cell: model.Cell, phase: Phase) -> Probe:
            if candidate == "2.0.8":
                raise KeyboardInterrupt
            return super().probe(candidate, cell, phase)

    fake = Interrupted(labels, "ggggbbbbb")
    with pytest.raises(KeyboardInterrupt):
        driving.drive(labels, [s.release_cell(x) for x in labels], None, fake, print, jobs=2)
    assert getattr(fake, "cancelled", False)
