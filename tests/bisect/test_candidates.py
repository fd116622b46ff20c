"""Which releases and days a bisection may probe, from PEP 691 pages written here by hand."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from packaging.tags import Tag
from packaging.version import Version

from buglab.bisect import candidates
from buglab.env import index
from buglab.errors import UsageError

UTC = dt.timezone.utc
PY311 = Version("3.11.7")
LINUX = "manylinux_2_17_x86_64.manylinux2014_x86_64"


def page(*files: dict[str, Any], versions: list[str] | None = None) -> dict[str, Any]:
    return {"name": "demo", "versions": versions or [], "files": list(files)}


def file(name: str, when: str = "2024-01-01T00:00:00Z", **extra: Any) -> dict[str, Any]:
    return {"filename": name, "upload-time": when, **extra}


def target(day: str | None = None) -> candidates.Target:
    tags = frozenset(
        [
            Tag("cp311", "cp311", "manylinux_2_17_x86_64"),
            Tag("py3", "none", "any"),
            Tag("cp311", "abi3", "manylinux_2_17_x86_64"),
        ]
    )
    cutoff = dt.datetime.fromisoformat(f"{day}T00:00:00+00:00") if day else None
    return candidates.Target(PY311, tags, cutoff)


def releases(
    *files: dict[str, Any], versions: list[str] | None = None
) -> tuple[index.Release, ...]:
    return index.parse_project(page(*files, versions=versions), "demo")


def test_parse_project_groups_files_by_release_with_times_and_yanks() -> None:
    found = releases(
        file("demo-1.0.tar.gz", "2020-01-02T00:00:00Z", **{"requires-python": ">=3.6"}),
        file("demo-1.0-py3-none-any.whl", "2020-01-01T10:00:00Z"),
        file("Demo-2.0.tar.gz", yanked="broken metadata"),
        file("other-3.0.tar.gz"),
        versions=["1.0", "2.0", "2.1"],
    )
    by = {str(r.version): r for r in found}
    assert list(by) == ["1.0", "2.0", "2.1"]
    assert by["1.0"].uploaded == dt.datetime(2020, 1, 1, 10, tzinfo=UTC)
    assert by["1.0"].requires_python == ">=3.6"
    assert by["2.0"].yanked and by["2.0"].yanked_reason == "broken metadata"
    assert not by["1.0"].yanked
    assert by["2.1"].files == ()
    assert index.release_times is not None  # still the API missing_pins uses


def test_a_release_needs_a_file_this_python_can_install() -> None:
    listed = candidates.release_candidates(
        releases(
            file("demo-1.0.tar.gz"),  # an sdist counts
            file(f"demo-1.1-cp311-cp311-{LINUX}.whl"),
            file(f"demo-1.2-cp312-cp312-{LINUX}.whl"),  # another Python only
            file("demo-1.3-py3-none-any.whl", **{"requires-python": ">=3.12"}),
            file("demo-1.4-py3-none-any.whl", **{"requires-python": ">=3.8"}),
            file("demo-1.5-py3-none-any.whl", yanked=True),
            file("demo-1.6-py3-none-any.whl", "2024-06-02T00:00:00Z"),
            file("demo-1.7b1-py3-none-any.whl"),
            file("demo-1.8-cp311-cp311-win_amd64.whl"),
            file("demo-1.8-cp312-cp312-win_amd64.whl", "2024-07-01T00:00:00Z"),
            versions=["1.9"],  # listed with no files
        ),
        target("2024-06-02"),
        pre=False,
    )
    assert [str(v) for v in listed.versions] == ["1.0", "1.1", "1.4"]
    aside = {s.version: s.reason for s in listed.set_aside}
    assert aside == {
        "1.2": "no wheel for Python 3.11.7 here",
        "1.3": "requires Python >=3.12",
        "1.5": "yanked",
        "1.6": "released after the toolchain date",
        "1.7b1": "a pre-release (--pre takes them)",
        "1.8": "no file installable on Python 3.11.7",
        "1.9": "no files on the index",
    }
    assert [s.version for s in listed.yanked()] == ["1.5"]


def test_pre_releases_are_candidates_when_asked() -> None:
    found = releases(file("demo-1.0.tar.gz"), file("demo-1.1rc1.tar.gz"), file("demo-1.1.tar.gz"))
    listed = candidates.release_candidates(found, target(), pre=True)
    assert [str(v) for v in listed.versions] == ["1.0", "1.1rc1", "1.1"]


def test_a_release_with_one_usable_file_left_is_still_a_candidate() -> None:
    found = releases(
        file(f"demo-1.0-cp312-cp312-{LINUX}.whl"),
        file("demo-1.0.tar.gz", "2025-01-01T00:00:00Z"),  # too new for the date
        file(f"demo-1.0-cp311-cp311-{LINUX}.whl"),
    )
    assert candidates.release_candidates(found, target("2024-06-02"), pre=False).versions == (
        Version("1.0"),
    )


def test_target_tags_are_those_of_the_interpreter_version() -> None:
    tags = candidates.target_tags(Version("3.12.1"))
    assert Tag("py3", "none", "any") in tags
    assert any(t.interpreter == "cp312" and t.abi == "cp312" for t in tags)
    assert not any(t.interpreter == "cp311" and t.abi == "cp311" for t in tags)


# -- ends ------------------------------------------------------------------------------------

LABELS = ("1.0", "1.1", "1.2", "2.0", "2.1")


@pytest.mark.parametrize(
    ("good", "bad", "expected"),
    [
        (None, None, candidates.Ends(0, 4, None)),
        ("1.1", "2.0", candidates.Ends(1, 3, "good")),
        ("2.0", "1.1", candidates.Ends(1, 3, "bad")),  # either order: a fix
        ("1.2", None, candidates.Ends(2, 4, "good")),
        (None, "1.0", candidates.Ends(0, 4, "bad")),
        ("1.0.0", "2.1.0", candidates.Ends(0, 4, "good")),  # the same versions, written longer
    ],
)
def test_choose_ends(good: str | None, bad: str | None, expected: candidates.Ends) -> None:
    assert candidates.choose_ends(LABELS, good, bad, {}) == expected


@pytest.mark.parametrize(
    ("good", "bad", "message"),
    [
        ("1.1", "1.1", "--good and --bad are both '1.1'"),
        ("1.1", "1.1.0", "--good 1.1 and --bad 1.1.0 are the same release"),
        ("1.5", "2.0", "--good 1.5: not a release here; nearest candidates: 1.0, 1.1, 1.2, 2.0"),
        ("1.1", "1.3", "--bad 1.3: not a candidate here: yanked (oops)"),
        ("banana", "2.0", "--good banana: not a candidate"),
        (None, "2.1", "--bad 2.1: it is the newest candidate; give the other end too"),
    ],
)
def test_bad_ends_are_one_line(good: str | None, bad: str | None, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        candidates.choose_ends(LABELS, good, bad, {"1.3": "yanked (oops)"})
    assert str(caught.value).startswith(message)


def test_days() -> None:
    today = dt.date(2026, 2, 10)
    assert candidates.parse_day("--bad", "latest", today) == today
    assert candidates.days(dt.date(2024, 2, 28), dt.date(2024, 3, 1)) == (
        "2024-02-28",
        "2024-02-29",
        "2024-03-01",
    )
    for text, problem in (
        ("2026-02-11", "has not come yet"),
        ("2026-2-1", "YYYY-MM-DD"),
        ("yesterday", "YYYY-MM-DD"),
    ):
        with pytest.raises(UsageError, match=problem):
            candidates.parse_day("--good", text, today)
