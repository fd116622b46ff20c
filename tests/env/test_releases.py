"""A version that never existed is bad input, not "unavailable": checked against an index.

The index here is a tiny local server speaking PEP 691 JSON, so the answers are fixed and no
venv is ever built: the check happens before the build stage.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from buglab.env import release_check
from buglab.spec import scenario
from tests.conftest import FakeIndex, fake_index, make_repo

RELEASES = {
    "pytest": ["7.4.3", "8.0.0", "8.0.1", "8.0.2", "8.1.0", "8.1.1", "8.4.2", "9.0.0"],
    "sqlalchemy": ["1.4.50", "2.0.23", "2.1.0b1", "2.1.0b2"],
}


@pytest.fixture
def index() -> Iterator[FakeIndex]:
    with fake_index({name: {"versions": v, "files": []} for name, v in RELEASES.items()}) as served:
        yield served


@pytest.fixture
def index_url(index: FakeIndex) -> str:
    return index.url


SCENARIO = """
title = "typo"
description = "a version that never existed"
requirements = {requirements}
command = ["python", "-c", "print(1)"]
signature = "BUG"

[axes.pytest]
kind = "version"
values = {values}
"""


def run(repo: Path, index_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "buglab",
            "--root",
            str(repo),
            "matrix",
            "typo",
            "--quiet",
            "--store",
            str(repo / "store"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "BUGLAB_INDEX_URL": index_url, "BUGLAB_CACHE_DIR": str(repo / "cache")},
    )


@pytest.mark.parametrize(
    ("values", "requirements", "key", "message"),
    [
        (
            '["8.0", "8.0.7"]',
            "[]",
            "axes.pytest.values[1]",
            "'8.0.7': no release of pytest matches it on the index; "
            "nearest releases: 8.0.1, 8.0.2, 8.1.0, 8.1.1",
        ),
        (
            '["8.9"]',
            "[]",
            "axes.pytest.values[0]",
            "'8.9': no release of pytest matches it on the index; "
            "nearest releases: 8.1.1, 8.4.2, 9.0.0",
        ),
        (
            '{ new = ">=10" }',
            "[]",
            "axes.pytest.values.new",
            "'new' (>=10): no release of pytest matches it on the index; "
            "nearest releases: 8.4.2, 9.0.0",
        ),
        (
            '["8.0"]',
            '["sqlalchemy==2.1.*"]',
            "requirements[0]",
            "'sqlalchemy==2.1.*': sqlalchemy has only pre-releases there (2.1.0b1, 2.1.0b2)",
        ),
    ],
)
def test_a_version_that_never_existed_is_refused_in_one_line(
    tmp_path: Path, index_url: str, values: str, requirements: str, key: str, message: str
) -> None:
    repo = make_repo(tmp_path, "typo", SCENARIO.format(values=values, requirements=requirements))
    done = run(repo, index_url)
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"buglab: error: {repo}/scenarios/typo/scenario.toml: {key}: ")
    assert message in line
    assert not (repo / "store" / "venvs").exists(), "nothing may be built"
    assert not (repo / "results" / "typo.json").exists()


def test_a_requirement_no_index_has_is_refused_before_anything_is_built(
    tmp_path: Path, index_url: str
) -> None:
    """Not a 🧱 after a build (exit 0 when nothing is expected): one line, exit 2."""
    repo = make_repo(tmp_path, "typo", SCENARIO.format(values='["8.0"]', requirements='["pytset"]'))
    done = run(repo, index_url)
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.endswith(
        "scenario.toml: requirements[0]: 'pytset': the index has no release of pytset at all "
        "(a typo?)"
    )
    assert not (repo / "store" / "venvs").exists(), "nothing may be built"


def test_an_exclusion_is_checked_after_the_axis_values_it_names(
    tmp_path: Path, index_url: str
) -> None:
    """The typo is the axis value 8.0.7 (meant: 8.0.2): the error names it, and never tells
    the exclusion, which is right, to spread the typo."""
    toml = SCENARIO.format(values='["8.0.1", "8.0.7"]', requirements="[]")
    toml += '\n[[exclude]]\npytest = "8.0.2"\nreason = "r"\n'
    repo = make_repo(tmp_path, "typo", toml)
    done = run(repo, index_url)
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert "axes.pytest.values[1]: '8.0.7': no release of pytest matches it" in line
    assert "did you mean '8.0.7'" not in line


def test_an_answer_of_exists_is_remembered_and_never_asked_again(
    tmp_path: Path, index: FakeIndex
) -> None:
    checker = release_check.ReleaseCheck(tmp_path / "cache", index.url)
    text = SCENARIO.format(values='["8.0", "7.4.3"]', requirements="[]")
    repo = make_repo(tmp_path, "typo", text)

    loaded = scenario.load(repo / "scenarios" / "typo" / "scenario.toml", repo)
    checker.check([loaded])
    assert index.asked == ["pytest"]
    checker.check([loaded])
    release_check.ReleaseCheck(tmp_path / "cache", "http://127.0.0.1:9/simple").check([loaded])
    assert index.asked == ["pytest"], "a confirmed version is never asked about again"


def test_an_index_that_cannot_be_asked_stops_nothing(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, "typo", SCENARIO.format(values='["8.0.7"]', requirements="[]"))

    loaded = scenario.load(repo / "scenarios" / "typo" / "scenario.toml", repo)
    release_check.ReleaseCheck(tmp_path / "cache", "http://127.0.0.1:9/simple").check([loaded])
