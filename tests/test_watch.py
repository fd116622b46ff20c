"""``buglab watch`` for real: a scenario run with uv from PyPI, a date bisect, and the comment
sent over HTTP to a local GitHub API.

The scenario is a stand-in for an upstream fix: its "bug" is six older than 1.17.0 (released
2024-12-04). It records the bug as reproducing on every toolchain, as a scenario written before
the fix would; today's toolchain passes, so the watch sees the bug go away, bisects the day and
the package, and posts that once (then updates the same comment).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import make_repo
from tests.github import TOKEN, Failure, FakeGitHub, fake_github

pytestmark = pytest.mark.slow

ISSUE = "buglab-demo/upstream#1"
PROBE = """\
import sys
import six
bug = tuple(int(p) for p in six.__version__.split(".")) < (1, 17)
print("BUG-SIGNATURE-42" if bug else "fine", six.__version__)
sys.exit(1 if bug else 0)
"""
SCENARIO = """\
title = "six before 1.17 (a stand-in bug, fixed upstream in 1.17.0)"
description = "A throwaway scenario: the bug is six older than 1.17.0."
upstream = "{upstream}"
requirements = ["six"]
command = ["python", "probe.py"]
signature = "BUG-SIGNATURE-42"
timeout = 60

[project]
files = ["probe.py"]

[axes.toolchain]
kind = "date"
values = ["2024-06-01", "latest"]

[[expect]]
outcome = "reproduced"
"""
AS_MEASURED = """
[[expect]]
outcome = "passed"
toolchain = "latest"
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("watch-store")


def repo(tmp_path: Path, extra: str = "", upstream: str = ISSUE) -> Path:
    toml = SCENARIO.format(upstream=upstream) + extra
    return make_repo(tmp_path / "repo", "six-fix", toml, {"probe.py": PROBE})


def watch(
    root: Path, store: Path, server: FakeGitHub, *extra: str, token: str | None = TOKEN
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GH_", "GITHUB_"))}
    if token is not None:
        env["GH_TOKEN"] = token
    argv = [sys.executable, "-m", "buglab", "--root", str(root), "watch", "--store", str(store)]
    argv += ["--api-url", server.url, "--quiet", *extra]
    return subprocess.run(argv, capture_output=True, text=True, timeout=600, env=env, check=False)


def test_a_fix_upstream_is_bisected_and_posted_once(tmp_path: Path, store: Path) -> None:
    root = repo(tmp_path)
    with fake_github(ISSUE) as server:
        first = watch(root, store, server)
        assert first.returncode == 1, first.stderr
        assert "six-fix: the bug went away in 1 cell" in first.stderr
        assert "six-fix: toolchain=latest: first good: 2024-12-04" in first.stderr
        assert f"six-fix: comment posted on {ISSUE}: https://github.example/" in first.stderr
        # the token was checked before the run: one look, then the post's own look and POST
        assert server.methods() == ["GET", "GET", "POST"]
        (comment,) = server.on(ISSUE)
        body = comment["body"]
        lines = body.splitlines()
        assert lines[0] == "<!-- buglab: scenario six-fix -->"
        assert lines[1].startswith("### Watch, ") and lines[1].endswith(
            ": the bug went away in 1 cell"
        )
        (row,) = [line for line in lines if line.startswith("| toolchain = latest |")]
        assert row.startswith("| toolchain = latest | 🐛 reproduced | ✅ passed | py 3.")
        assert row.endswith(", six 1.17.0 |")
        assert "**Since when** (toolchain = latest): **first good: 2024-12-04**." in lines
        assert "- culprit: six 1.16.0 → 1.17.0 (the only package that changed)" in lines
        assert "**First good day: 2024-12-04.** 2024-12-03 reproduced and 2024-12-04 passed" in body
        assert "| latest | ✅ ❗ expected 🐛 |" in lines  # the new table, in the report below

        again = watch(root, store, server)
        assert again.returncode == 1, again.stderr
        # the same findings: the comment already says them, nothing is sent
        assert f"six-fix: comment already up to date on {ISSUE}" in again.stderr
        assert server.methods()[3:] == ["GET", "GET"]
        comment["body"] = body.replace("went away", "vanished")  # edited on GitHub meanwhile
        third = watch(root, store, server)
        assert third.returncode == 1, third.stderr
        assert f"six-fix: comment updated on {ISSUE}" in third.stderr
        assert server.methods()[5:] == ["GET", "GET", "PATCH"]
        assert server.on(ISSUE) == [comment] and comment["body"] == body
    everything = [out.stdout + out.stderr for out in (first, again, third)]
    written = [p.read_text(errors="replace") for p in root.rglob("*") if p.is_file()]
    assert not any(TOKEN in text for text in everything + written)


def test_nothing_changed_posts_nothing(tmp_path: Path, store: Path) -> None:
    root = repo(tmp_path, AS_MEASURED)
    with fake_github(ISSUE) as server:
        done = watch(root, store, server)
        assert done.returncode == 0, done.stderr
        assert "six-fix: nothing changed (2 cells: 1 passed, 1 reproduced" in done.stderr
        assert server.methods() == ["GET"]  # the token and the issue checked, nothing sent
        assert server.comments == []


def test_a_flip_that_cannot_be_posted_exits_2(tmp_path: Path, store: Path) -> None:
    root = repo(tmp_path)
    with fake_github(ISSUE) as server:
        server.fail.append(Failure(422, body={"message": "Validation Failed"}, method="POST"))
        done = watch(root, store, server, "--no-bisect")
        assert done.returncode == 2, done.stderr
        assert (
            f"six-fix: could not report to {ISSUE}: GitHub refused the comment for {ISSUE} "
            "(422: Validation Failed); nothing was posted"
        ) in done.stderr.splitlines()
        assert server.comments == []


def test_dry_run_prints_the_request_and_sends_nothing(tmp_path: Path, store: Path) -> None:
    root = repo(tmp_path)
    with fake_github(ISSUE) as server:
        done = watch(root, store, server, "--dry-run", "--no-bisect", token=None)
        assert done.returncode == 1, done.stderr
        assert server.requests == []
        assert done.stdout.startswith(f"dry run: nothing is sent to {server.url}\n")
        assert "<!-- buglab: scenario six-fix -->\n### Watch, " in done.stdout


def test_a_token_github_refuses_stops_the_watch_before_anything_runs(
    tmp_path: Path, store: Path
) -> None:
    root = repo(tmp_path)
    with fake_github(ISSUE) as server:
        done = watch(root, store, server, token="not-the-token")
        assert done.returncode == 2
        assert done.stderr.splitlines() == [
            "buglab: error: GitHub refused the token from GH_TOKEN (401: Bad credentials); "
            "nothing was posted"
        ]
        assert not (root / "results").exists()
        other = watch(repo(tmp_path / "b", upstream="buglab-demo/upstream#2"), store, server)
        assert other.returncode == 2
        assert "GitHub has no issue buglab-demo/upstream#2" in other.stderr


def test_scenarios_without_an_upstream_issue(tmp_path: Path, store: Path) -> None:
    root = make_repo(tmp_path, "plain", SCENARIO.replace('upstream = "{upstream}"\n', ""))
    (root / "scenarios" / "plain" / "probe.py").write_text(PROBE)
    with fake_github(ISSUE) as server:
        nothing = watch(root, store, server)
        assert nothing.returncode == 0
        assert "watch: no scenario names its upstream issue" in nothing.stderr
        named = watch(root, store, server, "plain")
        assert named.returncode == 2
        assert 'plain names no upstream issue: add upstream = "OWNER/REPO#N"' in named.stderr
        assert server.requests == []
