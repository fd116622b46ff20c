"""A commit bisect's pure parts: pull requests read from commit messages, forges and links, the
repository a package's metadata names, and the options that belong to a commit bisect."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest

from buglab.bisect import cell
from buglab.bisect.lineage import History, pull_number
from buglab.bisect.options import BisectOptions
from buglab.env import Commit, forge_of
from buglab.env.git import source_url
from buglab.errors import UsageError
from tests.conftest import ROOT, SEED


def commit(subject: str, body: str = "", parents: tuple[str, ...] = ("p",)) -> Commit:
    return Commit("f" * 40, "f" * 10, parents, "2021-11-05T09:25:25-07:00", "Ada", subject, body)


@pytest.mark.parametrize(
    ("subject", "body", "number"),
    [
        ("Merge pull request #261 from pallets/remove-deprecated-code", "", 261),
        ("Restore the greeting (#31)", "", 31),
        ("Merged in feature (pull request #12)", "", 12),
        ("Merge pull request 'x' (#5) from a/b into main", "", 5),
        ("Merge branch 'fix' into 'main'", "Fix it\n\nSee merge request group/proj!42", 42),
        ("Merge branch '2.0.x'", "", None),
        ("Fix #12 in the parser", "", None),  # an issue named in passing, not a pull request
    ],
)
def test_the_pull_request_a_commit_message_names(
    subject: str, body: str, number: int | None
) -> None:
    assert pull_number(commit(subject, body)) == number


@pytest.mark.parametrize(
    ("url", "forge"),
    [
        ("https://github.com/pallets/markupsafe", "https://github.com/pallets/markupsafe"),
        ("https://github.com/pallets/markupsafe.git", "https://github.com/pallets/markupsafe"),
        ("git@github.com:pallets/markupsafe.git", "https://github.com/pallets/markupsafe"),
        (
            "https://github.com/pallets/markupsafe/tree/main/src",
            "https://github.com/pallets/markupsafe",
        ),
        ("https://gitlab.com/group/proj", "https://gitlab.com/group/proj"),
        ("file:///srv/git/markupsafe", None),
        ("/srv/git/markupsafe", None),
        ("https://example.org/pallets/markupsafe", None),
    ],
)
def test_forges_are_known_by_host(url: str, forge: str | None) -> None:
    found = forge_of(url)
    assert (found.url if found else None) == forge


def test_links_name_the_commit_and_its_pull_request_on_the_forge() -> None:
    merge = replace(commit("Merge pull request #7 from ada/feature", parents=("a", "b")), short="m")
    inner = replace(commit("Feature step 3"), id="c" * 40, short="c")
    history = History(
        "tinybug",
        "https://github.com/ada/tinybug",
        forge_of("https://github.com/ada/tinybug"),
        ("v0.1.0", "v0.2.0"),
        {"m": merge, "c": inner, "a": commit("Note 10")},
        ("a", "m"),
        merge="m",
        inside=("a", "c", "m"),
    )
    assert history.searched == ("a", "c", "m")
    assert history.links("c") == [
        f"https://github.com/ada/tinybug/commit/{'c' * 40}",
        "https://github.com/ada/tinybug/pull/7",
    ]
    assert history.came_in("c").startswith("pull request #7 (merged as m 2021-11-05 ")
    assert history.to_json()["commits"]["c"]["pull_request"] == 7


def test_the_repository_among_the_urls_a_package_names() -> None:
    urls = {
        "Documentation": "https://markupsafe.palletsprojects.com/",
        "Changes": "https://markupsafe.palletsprojects.com/changes/",
        "Source": "https://github.com/pallets/markupsafe/",
    }
    assert source_url(urls) == "https://github.com/pallets/markupsafe"
    assert source_url({"Homepage": "https://github.com/a/b"}) == "https://github.com/a/b"
    assert source_url({"Repository": "file:///srv/b"}) == "file:///srv/b"
    assert source_url({"Docs": "https://b.readthedocs.io"}, "https://b.org") is None


def options(**given: Any) -> BisectOptions:
    base = BisectOptions(root=ROOT, scenario=SEED, today=dt.date(2026, 11, 23))
    return replace(base, **given)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"commits": True, "date": True}, "--commits belongs to a release bisect"),
        ({"package": "x", "repo": "/r"}, "--repo belongs to a commit bisect"),
        ({"package": "x", "commits": True, "good": "1.0"}, "--commits: give --bad"),
        ({"package": "x", "commits": True}, "--commits: give --good and --bad"),
        (
            {"package": "x", "commits": True, "good": "1", "bad": "2", "pre": True},
            "--pre chooses releases",
        ),
        (
            {"package": "x", "commits": True, "then_commits": True, "good": "1", "bad": "2"},
            "--then-commits continues a release bisect",
        ),
        ({"package": "x", "commits": True, "good": "1", "bad": "2", "jobs": 0}, "--jobs 0"),
    ],
)
def test_commit_options_that_cannot_work_are_one_line(
    given: dict[str, object], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        cell.check_options(options(**given))
