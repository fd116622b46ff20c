"""Bisections for real: venvs built by uv from PyPI, short ranges, one store for the module.

The seed gives a release bisect (SQLAlchemy 2.0 reproduces, 2.1 does not) and a date bisect
(coverage 7.13.3, released 2026-02-03, made the not-installed cell reproduce). A throwaway
scenario over ``six`` (tiny venvs) gives a good end that fails for another reason and a probe
that is flaky under ``--repeat``; it also checks ``matrix --repeat``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, SEED, make_repo

pytestmark = pytest.mark.slow

NOT_INSTALLED = [
    "--only",
    "install=not-installed",
    "--only",
    "warnings=on",
    "--only",
    "coverage=on",
]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bisect-store")


def bisect(
    *args: str, root: Path = ROOT, store: Path, results: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "buglab",
            "--root",
            str(root),
            "bisect",
            *args,
            "--store",
            str(store),
            "--results",
            str(results),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=dict(os.environ),
    )


def stored(results: Path, scenario: str) -> dict[str, Any]:
    (path,) = (results / scenario).glob("bisect-*.json")
    data: dict[str, Any] = json.loads(path.read_text())
    assert path.with_suffix(".md").read_text().startswith("**")
    return data


def test_seed_release_bisect_names_the_release_that_fixed_it(store: Path, tmp_path: Path) -> None:
    argv = [
        SEED,
        "--package",
        "sqlalchemy",
        *NOT_INSTALLED,
        "--only",
        "toolchain=latest",
        "--bad",
        "2.0.58",
        "--good",
        "2.1.1",
    ]
    first = bisect(*argv, store=store, results=tmp_path / "first")
    assert first.returncode == 0, first.stdout + first.stderr
    lines = first.stdout.splitlines()
    assert lines[-1] == "first good: sqlalchemy==2.1.0"
    assert (
        "confirmed: sqlalchemy==2.0.58 reproduced and sqlalchemy==2.1.0 passed again on a "
        "second run (both sides)"
    ) in lines
    data = stored(tmp_path / "first", SEED)
    assert data["candidates"] == ["2.0.58", "2.1.0", "2.1.1"]
    assert data["venvs"] == {"built": 3, "reused": 2}
    assert [(p["candidate"], p["outcome"], p["venv"]) for p in data["probes"]] == [
        ("2.0.58", "reproduced", "built"),
        ("2.1.1", "passed", "built"),
        ("2.1.0", "passed", "built"),
        ("2.0.58", "reproduced", "reused"),
        ("2.1.0", "passed", "reused"),
    ]
    assert data["probes"][2]["resolved"]["sqlalchemy"] == "2.1.0"
    assert "is already registered" in (tmp_path / "first" / data["probes"][0]["log"]).read_text()


def test_seed_date_bisect_names_the_day_and_the_package_that_changed(
    store: Path, tmp_path: Path
) -> None:
    done = bisect(
        SEED,
        "--date",
        *NOT_INSTALLED,
        "--only",
        "sqlalchemy=2.0",
        "--good",
        "2026-02-02",
        "--bad",
        "2026-02-04",
        store=store,
        results=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "first bad: 2026-02-03"
    assert "changed between 2026-02-02 and 2026-02-03: coverage 7.13.2 → 7.13.3" in lines
    assert "culprit: coverage 7.13.2 → 7.13.3 (the only package that changed)" in lines
    data = stored(tmp_path, SEED)
    assert data["changes"] == [{"package": "coverage", "before": "7.13.2", "after": "7.13.3"}]
    assert data["answer"]["kind"] == "boundary" and data["answer"]["confirmed"]
    assert [p["candidate"] for p in data["probes"]] == [
        "2026-02-02",
        "2026-02-04",
        "2026-02-03",
        "2026-02-02",
        "2026-02-03",
    ]
    assert data["venvs"]["built"] <= 3 and data["venvs"]["reused"] >= 2


# -- a throwaway scenario over six -----------------------------------------------------------

PROBE = """\
import os, pathlib, sys
import six
version, case = six.__version__, os.environ["CASE"]
counter = pathlib.Path(os.environ["COUNTERS"]) / f"{case}-{version}"
runs = int(counter.read_text()) if counter.exists() else 0
counter.write_text(str(runs + 1))
if case == "alternate":
    bug = runs % 2 == 0  # every other run
elif case == "wrong-end" and version == "1.14.0":
    raise RuntimeError("unrelated failure")
elif case == "flaky-middle" and version == "1.15.0":
    bug = runs % 2 == 0
else:
    bug = version >= "1.16.0"
print("BUG-SIGNATURE-42" if bug else "fine")
sys.exit(1 if bug else 0)
"""


def six_repo(tmp_path: Path) -> Path:
    counters = tmp_path / "counters"
    counters.mkdir()
    cases = ", ".join(
        f'{c} = {{ CASE = "{c}" }}' for c in ("alternate", "wrong-end", "flaky-middle", "plain")
    )
    toml = f"""
title = "six"
description = "a throwaway scenario for bisect and --repeat"
requirements = ["six"]
command = ["python", "probe.py"]
signature = "BUG-SIGNATURE-42"
timeout = 60
env = {{ COUNTERS = "{counters}" }}

[project]
files = ["probe.py"]

[axes.case]
kind = "env"
values = {{ {cases} }}
"""
    return make_repo(tmp_path / "repo", "six", toml, {"probe.py": PROBE})


def test_a_second_bisect_over_the_same_range_builds_nothing(store: Path, tmp_path: Path) -> None:
    repo = six_repo(tmp_path)
    argv = [
        "six",
        "--package",
        "six",
        "--only",
        "case=plain",
        "--good",
        "1.14.0",
        "--bad",
        "1.17.0",
    ]
    first = bisect(*argv, root=repo, store=store, results=tmp_path / "first")
    assert first.stdout.splitlines()[-1] == "first bad: six==1.16.0", first.stdout + first.stderr
    venvs = stored(tmp_path / "first", "six")["venvs"]
    assert venvs["built"] + venvs["reused"] == 6 and venvs["built"] <= 4
    again = bisect(*argv, root=repo, store=store, results=tmp_path / "again")
    assert again.stdout.splitlines()[-1] == "first bad: six==1.16.0"
    assert stored(tmp_path / "again", "six")["venvs"] == {"built": 0, "reused": 6}
    assert "venvs: 0 built, 6 reused; 4 of 4 candidates probed (6 probes, 2 of them" in again.stdout


def test_a_good_end_that_fails_for_another_reason_names_no_boundary(
    store: Path, tmp_path: Path
) -> None:
    repo = six_repo(tmp_path)
    done = bisect(
        "six",
        "--package",
        "six",
        "--only",
        "case=wrong-end",
        "--good",
        "1.14.0",
        "--bad",
        "1.16.0",
        root=repo,
        store=store,
        results=tmp_path / "r",
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == (
        "no boundary: the end called good, six==1.14.0, is not good: it gave failed: exit 1: "
        "RuntimeError: unrelated failure"
    )
    data = stored(tmp_path / "r", "six")
    assert [p["candidate"] for p in data["probes"]] == ["1.14.0", "1.16.0"]
    assert data["answer"]["kind"] == "wrong-end"


def test_a_flaky_probe_is_skipped_and_named_never_blamed(store: Path, tmp_path: Path) -> None:
    repo = six_repo(tmp_path)
    done = bisect(
        "six",
        "--package",
        "six",
        "--only",
        "case=flaky-middle",
        "--good",
        "1.14.0",
        "--bad",
        "1.17.0",
        "--repeat",
        "2",
        root=repo,
        store=store,
        results=tmp_path / "r",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == (
        "first bad: one of six==1.15.0, six==1.16.0 (1 skipped between six==1.14.0 and six==1.16.0)"
    )
    assert any(line.startswith("skipped: six==1.15.0 flaky: ") for line in lines), lines
    probes = stored(tmp_path / "r", "six")["probes"]
    flaky = next(p for p in probes if p["candidate"] == "1.15.0")
    assert (flaky["outcome"], flaky["runs"]) == ("flaky", ["reproduced", "passed"])


def test_matrix_repeat_marks_cells_whose_runs_disagree_as_flaky(tmp_path: Path) -> None:
    repo = six_repo(tmp_path)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "buglab",
            "--root",
            str(repo),
            "matrix",
            "six",
            "--repeat",
            "3",
            "--only",
            "case=alternate,plain",
            "--store",
            str(repo / "store"),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    cells = {c["id"]: c for c in json.loads((repo / "results" / "six.json").read_text())["cells"]}
    assert cells["case=alternate"]["outcome"] == "flaky"
    assert cells["case=alternate"]["runs"] == ["reproduced", "passed", "reproduced"]
    assert cells["case=plain"]["outcome"] == "reproduced"  # six today is >= 1.16
    assert cells["case=plain"]["runs"] == ["reproduced"] * 3
    assert "🎲 2/3" in (repo / "results" / "six.md").read_text()
    log = (repo / "results" / cells["case=alternate"]["log"]).read_text()
    assert log.count("$ python probe.py") == 3, "each run is in the log"


def test_then_package_settles_which_of_two_same_day_releases_did_it(
    store: Path, tmp_path: Path
) -> None:
    """idna 3.4 and certifi 2022.9.14 were both released on 2022-09-14; only idna matters."""
    probe = (
        "from importlib.metadata import version\n"
        "idna = tuple(int(part) for part in version('idna').split('.')[:2])\n"
        "print('BUG-SIGNATURE-42' if idna >= (3, 4) else 'fine')\n"
    )
    toml = """
title = "two packages, one day"
description = "idna and certifi released the same day; the bug is idna's"
requirements = ["idna", "certifi"]
command = ["python", "probe.py"]
signature = "BUG-SIGNATURE-42"

[project]
files = ["probe.py"]
"""
    repo = make_repo(tmp_path / "repo", "sameday", toml, {"probe.py": probe})
    done = bisect(
        "sameday",
        "--date",
        "--good",
        "2022-09-12",
        "--bad",
        "2022-09-16",
        "--then-package",
        root=repo,
        store=store,
        results=tmp_path / "r",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "first bad: 2022-09-14"
    changed = next(line for line in lines if line.startswith("changed between"))
    assert "certifi " in changed and "idna 3.3 → 3.4" in changed
    assert "then idna: first bad: idna==3.4" in lines
    assert "culprit: idna 3.3 → 3.4 (its own releases bisected, the others held)" in lines
    data = json.loads((tmp_path / "r" / "sameday" / "bisect-date-default.json").read_text())
    follow = {f["package"]: f for f in data["follow_ups"]}
    assert follow["idna"]["answer"] == "first bad: idna==3.4"
    assert "--hold certifi==" in follow["idna"]["command"]
    assert follow["certifi"]["answer"].startswith("no boundary: the end called bad")
    sub = json.loads(Path(follow["idna"]["results"]).read_text())
    assert sub["day"] == "2022-09-14" and sub["hold"][0].startswith("certifi==2022.")
