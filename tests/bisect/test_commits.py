"""Commit bisects for real: a small git history of a package (``tests/bisect/history.py``),
each probed commit built by the package's own PEP 517 backend, installed in a real venv, the
scenario's command run. No network: the package has no build requirement and no dependency,
and the index the lab may ask is a local one."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.bisect.history import CHECK, SCENARIO, History, make_history
from tests.conftest import FakeIndex, fake_index, make_repo

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def index() -> Iterator[FakeIndex]:
    with fake_index({}) as found:
        yield found


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    return make_history(tmp_path_factory.mktemp("history") / "tinybug")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo(tmp_path_factory.mktemp("lab"), "tiny", SCENARIO, {"check.py": CHECK})


def bisect(
    lab: Path, index: FakeIndex, *args: str, cache: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BUGLAB_INDEX_URL": index.url}
    env["BUGLAB_CACHE_DIR"] = str(cache or lab / "cache")
    return subprocess.run(
        [
            *(sys.executable, "-m", "buglab", "--root", str(lab), "bisect", "tiny"),
            *("--package", "tinybug", *args, "--store", str(lab / "store")),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
    )


def stored(results: Path) -> dict[str, Any]:
    (path,) = (results / "tiny").glob("bisect-tinybug-commits-*.json")
    data: dict[str, Any] = json.loads(path.read_text())
    data["paragraph"] = path.with_suffix(".md").read_text()
    return data


def short(h: History, role: str) -> str:
    return h.ids[role][:10]


def test_a_regression_inside_a_pull_request_names_the_pull_request_and_the_commit(
    lab: Path, index: FakeIndex, history: History, tmp_path: Path
) -> None:
    argv = ["--commits", "--repo", str(history.path), "--good", "v0.1.0", "--bad", "v0.2.0"]
    done = bisect(lab, index, *argv, "--jobs", "1", "--results", str(tmp_path / "cold"))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == f"first bad: tinybug@{short(history, 'bug')} (pull request #7)"
    assert f'commit: {history.ids["bug"]} 2024-01-02T00:00:00+00:00 "Feature step 3"' in (
        "\n".join(lines)
    )
    assert any(line.startswith(f"last good: {short(history, 'step2')} ") for line in lines)
    assert "  came in by pull request #7 (merged as " in "\n".join(lines)
    data = stored(tmp_path / "cold")
    assert data["kind"] == "commit"
    assert data["history"]["merge"] == short(history, "merge")
    assert data["answer"]["boundary"] == short(history, "bug")
    assert data["answer"]["confirmed"]
    commits = len(history.git("rev-list", "v0.1.0..v0.2.0").split())
    assert commits == 30
    assert data["venvs"]["built"] <= math.ceil(math.log2(commits)) + 3
    bug = data["history"]["commits"][short(history, "bug")]
    assert (bug["id"], bug["pull_request"]) == (history.ids["bug"], 7)
    paragraph = data["paragraph"]
    assert paragraph.startswith(f"**First bad commit: tinybug@{short(history, 'bug')}")
    assert paragraph.rstrip().endswith("python check.py\n```")
    assert f"pip install git+file://{history.path}@{history.ids['bug']}" in paragraph

    again = bisect(lab, index, *argv, "--jobs", "1", "--results", str(tmp_path / "again"))
    assert again.stdout.splitlines()[-1] == lines[-1]
    assert stored(tmp_path / "again")["venvs"]["built"] == 0, "asking again builds nothing"


def test_a_fix_names_the_first_good_commit(
    lab: Path, index: FakeIndex, history: History, tmp_path: Path
) -> None:
    done = bisect(
        lab,
        index,
        "--commits",
        "--repo",
        str(history.path),
        "--bad",
        "0.2.0",  # found as its tag, v0.2.0
        "--good",
        "v0.2.1",
        "--results",
        str(tmp_path),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == (
        f"first good: tinybug@{short(history, 'fix')} (pull request #31)"
    )
    assert stored(tmp_path)["looking_for"] == "first good"


def test_a_commit_that_cannot_be_built_at_the_boundary_gives_a_range(
    lab: Path, index: FakeIndex, tmp_path: Path
) -> None:
    h = make_history(tmp_path / "tinybug", bug_after_broken=True)
    done = bisect(
        lab,
        index,
        "--commits",
        "--repo",
        str(h.path),
        "--good",
        "v0.1.0",
        "--bad",
        "v0.2.0",
        "--results",
        str(tmp_path / "r"),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    broken, repaired = short(h, "broken"), short(h, "repaired")
    assert lines[-1] == (
        f"first bad: one of tinybug@{broken}, tinybug@{repaired} (1 skipped between "
        f"tinybug@{h.git('rev-parse', '--short=10', h.ids['broken'] + '^')} and tinybug@{repaired})"
    )
    skipped = next(line for line in lines if line.startswith("skipped: "))
    assert skipped.startswith(f"skipped: tinybug@{broken} env-error: cannot build: ")
    assert "ValueError: VERSION '0.2-dev!' is not a version" in skipped
    data = stored(tmp_path / "r")
    assert data["answer"]["kind"] == "range"
    assert [s["candidate"] for s in data["answer"]["skipped"]] == [broken]


def test_without_repo_the_repository_the_index_names_is_cloned_once_then_fetched(
    lab: Path, tmp_path: Path
) -> None:
    h = make_history(tmp_path / "origin")
    info = {"tinybug": {"project_urls": {"Source Code": f"file://{h.path}"}}}
    cache = tmp_path / "cache"
    with fake_index({}, info) as index:
        argv = ["--commits", "--good", "v0.1.0", "--bad", "v0.2.0", "--jobs", "1"]
        first = bisect(lab, index, *argv, "--results", str(tmp_path / "r1"), cache=cache)
        assert first.returncode == 0, first.stdout + first.stderr
        assert f"repository: file://{h.path} (named by the index's metadata" in first.stdout
        (clone,) = (cache / "repos").glob("*.git")
        (clone / "kept").write_text("a mark: a new clone would not have it")
        h.commit("Later work")
        h.git("tag", "v0.3.0")
        argv = ["--commits", "--good", "v0.2.1", "--bad", "v0.3.0", "--jobs", "1"]
        second = bisect(lab, index, *argv, "--results", str(tmp_path / "r2"), cache=cache)
        assert "pypi/tinybug" in index.asked
    assert (clone / "kept").exists(), "fetched, not cloned again"
    assert "no boundary: the end called bad" in second.stdout.splitlines()[-1], second.stdout


def wheel_of(h: History, tag: str, folder: Path) -> Path:
    """A release as the package's index would serve it: the tag built by its own backend."""
    source = folder / f"source-{tag}"
    h.git("worktree", "add", "--quiet", "--detach", str(source), tag)
    build = "import sys; sys.path.insert(0, '_build'); import tinybuild; "
    build += "tinybuild.build_wheel(sys.argv[1])"
    subprocess.run([sys.executable, "-c", build, str(folder)], cwd=source, check=True)
    (found,) = folder.glob(f"tinybug-{tag[1:]}-*.whl")
    return found


def test_then_commits_goes_from_the_first_bad_release_to_the_first_bad_commit(
    lab: Path, history: History, tmp_path: Path
) -> None:
    wheels = [wheel_of(history, tag, tmp_path) for tag in ("v0.1.0", "v0.2.0", "v0.2.1")]
    files = [{"filename": w.name, "url": w.as_uri(), "hashes": {}} for w in wheels]
    page = {"tinybug": {"files": files, "versions": ["0.1.0", "0.2.0", "0.2.1"]}}
    with fake_index(page) as index:
        argv = ["--good", "0.1.0", "--bad", "0.2.0", "--then-commits", "--repo", str(history.path)]
        done = bisect(lab, index, *argv, "--results", str(tmp_path / "r"))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert "first bad: tinybug==0.2.0" in lines
    then = next(line for line in lines if line.startswith("then: "))
    assert f"--package tinybug --good 0.1.0 --bad 0.2.0 --commits --repo {history.path}" in then
    commit_line = f"first bad: tinybug@{short(history, 'bug')} (pull request #7)"
    assert f"then tinybug commits: {commit_line}" in lines
    assert lines[-1] == "first bad: tinybug==0.2.0"
    release = json.loads((tmp_path / "r" / "tiny" / "bisect-tinybug-default.json").read_text())
    assert release["follow_ups"][0]["answer"] == commit_line
    assert stored(tmp_path / "r")["answer"]["boundary"] == short(history, "bug")


def test_refs_that_name_nothing_or_no_line_of_history_are_one_line(
    lab: Path, index: FakeIndex, history: History, tmp_path: Path
) -> None:
    repo = ["--commits", "--repo", str(history.path), "--results", str(tmp_path)]
    unknown = bisect(lab, index, *repo, "--good", "0.0.9", "--bad", "v0.2.0")
    assert unknown.returncode == 2
    assert "--good 0.0.9: no such tag or commit in " in unknown.stderr
    assert "tags like it: " in unknown.stderr
    apart = bisect(lab, index, *repo, "--good", history.ids["step1"], "--bad", "v0.2.1~25")
    assert apart.returncode == 2
    assert "neither is an ancestor of the other" in apart.stderr, apart.stderr
    assert not (tmp_path / "tiny").exists(), "nothing written"
