"""Faults: broken installs, hostile commands, interruptions, two runs at once, a hostile caller.

Each builds real (tiny) venvs with uv from a throwaway scenario, so they are marked slow but
cost seconds: the venvs hold no packages unless the case needs one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_repo
from tests.processes import alive

pytestmark = pytest.mark.slow

PROBE = """\
import os, sys, pathlib
mode = os.environ.get("MODE", "pass")
print("ENV", sorted(k for k in os.environ))
print("SYSPATH", sys.path)
if mode == "pass":
    print("all good")
elif mode == "bug":
    print("BUG-SIGNATURE-42")
    sys.exit(1)
elif mode == "other":
    raise RuntimeError("unrelated failure")
elif mode == "hang":
    import subprocess, time
    pathlib.Path(os.environ["PIDS"]).mkdir(exist_ok=True)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                             start_new_session=True)
    (pathlib.Path(os.environ["PIDS"]) / str(child.pid)).write_text("")
    (pathlib.Path(os.environ["PIDS"]) / str(os.getpid())).write_text("")
    time.sleep(600)
elif mode == "flood":
    chunk = "y" * 65535 + "\\n"
    for _ in range(16384):  # a gigabyte
        sys.stdout.write(chunk)
elif mode == "rmcwd":
    import shutil
    shutil.rmtree(os.getcwd())
    print("deleted my own folder")
elif mode == "signal":
    import signal
    os.kill(os.getpid(), signal.SIGSEGV)
elif mode == "slow":
    import time
    time.sleep(float(pathlib.Path(os.environ["SLEEP_FILE"]).read_text()))
    print("slept")
"""


def scenario_toml(
    modes: list[str],
    *,
    requirements: str = "[]",
    extra: str = "",
    timeout: float = 60,
    env: str = "{}",
) -> str:
    values = ", ".join(f'{m} = {{ MODE = "{m}" }}' for m in modes)
    return f"""
title = "probe"
description = "a throwaway scenario for fault tests"
requirements = {requirements}
command = ["python", "probe.py"]
signature = "BUG-SIGNATURE-42"
timeout = {timeout}
env = {env}

[project]
files = ["probe.py"]

[axes.mode]
kind = "env"
values = {{ {values} }}
{extra}
"""


def matrix_argv(repo: Path, *args: str) -> list[str]:
    """``buglab matrix probe`` on a throwaway repository, with a venv store inside it."""
    return [
        sys.executable,
        "-m",
        "buglab",
        "--root",
        str(repo),
        "matrix",
        "probe",
        "--quiet",
        "--store",
        str(repo / "store"),
        *args,
    ]


def lab(
    repo: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        matrix_argv(repo, *args),
        capture_output=True,
        text=True,
        env=env or dict(os.environ),
        timeout=timeout,
        check=False,
    )


def outcomes(repo: Path) -> dict[str, str]:
    return {c["id"]: c["outcome"] for c in results(repo)["cells"]}


def results(repo: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((repo / "results" / "probe.json").read_text())
    return data


# -- install faults --------------------------------------------------------------------------


def test_install_faults_are_env_errors_and_the_rest_still_runs(tmp_path: Path) -> None:
    """A requirement the installer cannot fetch (a name no index has is refused before, in one
    line: ``env/test_releases.py``)."""
    extra = """
[axes.deps]
kind = "requirements"
values = { none = [], missing = ["buglab-no-such-package-0000 @ file:///nonexistent/b-0.tar.gz"] }

[axes.python]
kind = "python"
values = ["3.11", "3.99"]
"""
    repo = make_repo(
        tmp_path, "probe", scenario_toml(["pass", "bug"], extra=extra), {"probe.py": PROBE}
    )
    done = lab(repo)
    assert done.returncode == 0, done.stderr
    found = results(repo)["cells"]
    by = {c["id"]: c for c in found}
    assert by["mode=pass,deps=none,python=3.11"]["outcome"] == "passed"
    assert by["mode=bug,deps=none,python=3.11"]["outcome"] == "reproduced"
    missing = by["mode=pass,deps=missing,python=3.11"]
    assert missing["outcome"] == "env-error"
    assert "buglab-no-such-package-0000" in (repo / "results" / missing["log"]).read_text()
    for cell in found:
        if "python=3.99" in cell["id"]:
            assert cell["outcome"] == "env-error"
            assert "Python 3.99 is not installed" in cell["detail"]


def test_unreachable_index_is_an_env_error_not_a_hang(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path, "probe", scenario_toml(["pass"], requirements='["six"]'), {"probe.py": PROBE}
    )
    env = {**os.environ, "BUGLAB_INDEX_URL": "http://127.0.0.1:9/simple"}
    start = time.monotonic()
    lab(repo, env=env)
    assert time.monotonic() - start < 120
    (cell,) = results(repo)["cells"]
    assert cell["outcome"] == "env-error"
    assert "127.0.0.1" in (repo / "results" / cell["log"]).read_text()


def test_failing_build_backend_is_an_env_error(tmp_path: Path) -> None:
    extra = """
[axes.install]
kind = "install"
values = ["editable", "non-editable", "not-installed"]
"""
    toml = scenario_toml(["pass"], extra=extra).replace(
        'files = ["probe.py"]',
        'name = "broken"\nfiles = ["probe.py", "pyproject.toml", "backend.py"]',
    )
    pyproject = (
        '[build-system]\nrequires = []\nbuild-backend = "backend"\n'
        'backend-path = ["."]\n[project]\nname = "broken"\nversion = "0"\n'
    )
    backend = "def __getattr__(name):\n    raise RuntimeError('this build always fails')\n"
    repo = make_repo(
        tmp_path,
        "probe",
        toml,
        {"probe.py": PROBE, "pyproject.toml": pyproject, "backend.py": backend},
    )
    lab(repo)
    found = outcomes(repo)
    assert found == {
        "mode=pass,install=editable": "env-error",
        "mode=pass,install=non-editable": "env-error",
        "mode=pass,install=not-installed": "passed",
    }
    detail = {c["id"]: c["detail"] for c in results(repo)["cells"]}
    assert (
        "this build always fails"
        in (repo / "results" / "logs" / "probe" / "mode=pass,install=non-editable.log").read_text()
    )
    assert detail["mode=pass,install=non-editable"]


# -- run faults ------------------------------------------------------------------------------


def test_hostile_commands_are_classified_and_leave_nothing_behind(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    toml = scenario_toml(
        ["pass", "other", "hang", "flood", "rmcwd", "signal"],
        timeout=8,
        env=f'{{ PIDS = "{pids}" }}',
    )
    repo = make_repo(tmp_path, "probe", toml, {"probe.py": PROBE})
    done = lab(repo, "--jobs", "2")
    assert done.returncode == 0, done.stderr
    assert outcomes(repo) == {
        "mode=pass": "passed",
        "mode=other": "failed",
        "mode=hang": "timeout",
        "mode=flood": "passed",
        "mode=rmcwd": "passed",
        "mode=signal": "failed",
    }
    for pid in (int(p.name) for p in pids.iterdir()):
        assert not alive(pid), f"process {pid} outlived its cell"
    cells = {c["id"]: c for c in results(repo)["cells"]}
    assert cells["mode=signal"]["detail"] == "killed by signal 11"
    flood_log = repo / "results" / cells["mode=flood"]["log"]
    assert flood_log.stat().st_size < 4 * 1024 * 1024


# -- the caller's environment ----------------------------------------------------------------


def test_hostile_caller_environment_changes_nothing(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, "probe", scenario_toml(["pass", "bug"]), {"probe.py": PROBE})
    hostile = tmp_path / "hostile"
    hostile.mkdir()
    (hostile / "sitecustomize.py").write_text(
        "import sys\nprint('SITECUSTOMIZE-RAN', file=sys.stderr)\n"
    )
    inherited = os.environ.get("PYTHONPATH")  # the lab itself must still import
    pythonpath = os.pathsep.join(p for p in (str(hostile), inherited) if p)
    env = {
        **os.environ,
        "PYTHONPATH": pythonpath,
        "PYTEST_ADDOPTS": "--bogus",
        "COVERAGE_PROCESS_START": "/nonexistent",
        "PIP_INDEX_URL": "http://127.0.0.1:9/",
        "VIRTUAL_ENV": "/nonexistent",
        "MY_API_TOKEN": "hunter2-token",
        "DB_PASSWORD": "hunter2-pw",
        "AWS_SECRET_ACCESS_KEY": "hunter2-secret",
        "SIGNING_KEY": "hunter2-key",
    }
    assert lab(repo, env=env).returncode == 0
    assert outcomes(repo) == {"mode=pass": "passed", "mode=bug": "reproduced"}
    for log in (repo / "results" / "logs").rglob("*.log"):
        text = log.read_text()
        assert "hunter2" not in text, log
        assert "PYTHONPATH" not in text and "PYTEST_ADDOPTS" not in text
        assert str(hostile) not in text and "SITECUSTOMIZE-RAN" not in text


# -- interruption, resume, concurrency, determinism ------------------------------------------


def test_interrupted_run_keeps_finished_cells_and_resumes(tmp_path: Path) -> None:
    modes = ["pass", "bug", "slow"]
    sleep = tmp_path / "sleep"
    sleep.write_text("30")
    toml = scenario_toml(modes, env=f'{{ SLEEP_FILE = "{sleep}" }}')
    repo = make_repo(tmp_path, "probe", toml, {"probe.py": PROBE})
    process = subprocess.Popen(
        matrix_argv(repo, "--jobs", "3"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    logs = repo / "results" / "logs" / "probe"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        texts = [p.read_text() for p in logs.glob("*.log")] if logs.exists() else []
        if sum("all good" in t or "BUG-SIGNATURE" in t for t in texts) == 2 and len(texts) == 3:
            break
        time.sleep(0.2)
    time.sleep(1.0)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert outcomes(repo) == {
        "mode=pass": "passed",
        "mode=bug": "reproduced",
        "mode=slow": "not-run",
    }
    assert not list((repo / "results").glob(".*.tmp"))
    # --resume keeps the two finished cells and runs only the third
    sleep.write_text("0")
    first = {c["id"]: c for c in results(repo)["cells"]}
    done = lab(repo, "--resume")
    assert done.returncode == 0, done.stderr
    second = {c["id"]: c for c in results(repo)["cells"]}
    assert second["mode=slow"]["outcome"] == "passed"
    assert second["mode=pass"]["seconds"] == first["mode=pass"]["seconds"]
    assert second["mode=bug"]["seconds"] == first["mode=bug"]["seconds"]


def slow_build_repo(tmp_path: Path, flag: Path) -> Path:
    """A project whose build backend sleeps while ``flag`` exists (editable install)."""
    backend = (
        "import os, time\n"
        "from setuptools import build_meta as _b\n"
        f"if os.path.exists({str(flag)!r}):\n"
        "    time.sleep(600)\n"
        "def __getattr__(name):\n"
        "    return getattr(_b, name)\n"
    )
    pyproject = (
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "backend"\n'
        'backend-path = ["."]\n[project]\nname = "slowpkg"\nversion = "0"\n'
        '[tool.setuptools]\npy-modules = ["probe"]\n'
    )
    extra = '\n[axes.install]\nkind = "install"\nvalues = ["editable"]\n'
    toml = scenario_toml(["pass"], extra=extra).replace(
        'files = ["probe.py"]',
        'name = "slowpkg"\nfiles = ["probe.py", "pyproject.toml", "backend.py"]',
    )
    return make_repo(
        tmp_path,
        "probe",
        toml,
        {"probe.py": PROBE, "pyproject.toml": pyproject, "backend.py": backend},
    )


# SIGINT as a terminal delivers it: a suite started in the background (``cmd &``, ``nohup``)
# inherits SIGINT ignored, and so would the lab, which then never stops; exec keeps SIG_DFL.
HEARS_CTRL_C = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


def interrupt_while_building(repo: Path) -> str:
    """Start the lab, wait until the backend sleeps in its build, Ctrl-C; return stderr."""
    process = subprocess.Popen(
        [sys.executable, "-c", HEARS_CTRL_C, *matrix_argv(repo)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wheels = repo / "store" / "wheels"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(wheels.glob("*/env/bin/python")):
        time.sleep(0.2)
    time.sleep(3)  # well inside the backend's sleep
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    return err


def test_interrupted_build_is_never_reused(tmp_path: Path) -> None:
    flag = tmp_path / "slow-build"
    flag.write_text("")
    repo = slow_build_repo(tmp_path, flag)
    interrupt_while_building(repo)
    venvs = repo / "store" / "venvs"
    assert not [p for p in venvs.iterdir() if p.is_symlink()], "a half-built venv was published"
    flag.unlink()
    done = lab(repo)
    assert done.returncode == 0, done.stderr
    assert outcomes(repo) == {"mode=pass,install=editable": "passed"}
    assert len([p for p in venvs.iterdir() if p.is_dir() and not p.is_symlink()]) == 1


def test_interrupted_build_leaves_every_earlier_outcome(tmp_path: Path) -> None:
    """Ctrl-C while venvs build, before any cell ran: the results files stay as they were, and
    nothing claims 'as expected' over cells that did not run."""
    flag = tmp_path / "slow-build"
    repo = slow_build_repo(tmp_path, flag)
    assert lab(repo).returncode == 0
    files = [repo / "results" / "probe.json", repo / "results" / "probe.md"]
    before = [f.read_bytes() for f in files]
    assert outcomes(repo) == {"mode=pass,install=editable": "passed"}
    flag.write_text("")
    probe = repo / "scenarios" / "probe" / "probe.py"
    probe.write_text(probe.read_text() + "# changed: the project's wheel must be built again\n")
    err = interrupt_while_building(repo)
    assert [f.read_bytes() for f in files] == before
    assert "as expected" not in err
    assert "1 not-run; none ran" in err


def test_two_runs_at_once_agree_and_share_venvs(tmp_path: Path) -> None:
    sleep = tmp_path / "sleep"
    sleep.write_text("3")  # each run holds its locks for seconds: the two surely overlap
    toml = scenario_toml(
        ["pass", "bug", "other", "slow"],
        requirements='["six"]',
        env=f'{{ SLEEP_FILE = "{sleep}" }}',
    )
    repo = make_repo(tmp_path, "probe", toml, {"probe.py": PROBE})
    argv = matrix_argv(repo)
    first = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    second = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out1, out2 = first.communicate(timeout=300), second.communicate(timeout=300)
    assert first.returncode == second.returncode == 0, (out1, out2)
    assert "waiting for" in out1[1] + out2[1]
    assert outcomes(repo) == {
        "mode=pass": "passed",
        "mode=bug": "reproduced",
        "mode=other": "failed",
        "mode=slow": "passed",
    }
    links = [p for p in (repo / "store" / "venvs").iterdir() if p.is_symlink()]
    folders = [p for p in (repo / "store" / "venvs").iterdir() if p.is_dir() and not p.is_symlink()]
    assert len(links) == len(folders) == 1


def test_serial_and_parallel_runs_agree_three_times(tmp_path: Path) -> None:
    toml = scenario_toml(["pass", "bug", "other", "signal"])
    repo = make_repo(tmp_path, "probe", toml, {"probe.py": PROBE})
    seen = []
    for _ in range(3):
        for jobs in ("1", "3"):
            assert lab(repo, "--jobs", jobs).returncode == 0
            seen.append([(c["id"], c["outcome"]) for c in results(repo)["cells"]])
    assert all(run == seen[0] for run in seen)
    assert [i for i, _ in seen[0]] == ["mode=pass", "mode=bug", "mode=other", "mode=signal"]


def test_shards_merged_equal_one_full_run(tmp_path: Path) -> None:
    extra = '\n[axes.deps]\nkind = "requirements"\nvalues = { none = [], six = ["six"] }\n'
    toml = scenario_toml(["pass", "bug", "other"], extra=extra)
    repo = make_repo(tmp_path, "probe", toml, {"probe.py": PROBE})
    for k in ("1/3", "2/3", "3/3"):
        assert lab(repo, "--shard", k).returncode == 0
    shards = sorted((repo / "results" / "shards").glob("probe.*-of-3.json"))
    assert len(shards) == 3
    merge = subprocess.run(
        [sys.executable, "-m", "buglab", "--root", str(repo), "merge", *map(str, shards)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert merge.returncode == 0, merge.stderr
    merged = [(c["id"], c["outcome"], c["venv"]) for c in results(repo)["cells"]]
    assert lab(repo).returncode == 0
    whole = [(c["id"], c["outcome"], c["venv"]) for c in results(repo)["cells"]]
    assert merged == whole and len(whole) == 6


def test_warm_runs_need_no_network_and_offline_builds_say_so(tmp_path: Path) -> None:
    toml = scenario_toml(["pass", "bug"], requirements='["six"]')
    repo = make_repo(tmp_path, "probe", toml, {"probe.py": PROBE})
    assert lab(repo).returncode == 0
    blocked = {**os.environ, "BUGLAB_INDEX_URL": "http://127.0.0.1:9/simple"}
    start = time.monotonic()
    assert lab(repo, env=blocked).returncode == 0
    assert time.monotonic() - start < 30
    assert outcomes(repo) == {"mode=pass": "passed", "mode=bug": "reproduced"}
    # a venv that must be built offline, from a package no cache holds, fails fast and says so
    offline = scenario_toml(["pass"], requirements='["buglab-never-published-0000"]')
    (repo / "scenarios" / "probe" / "scenario.toml").write_text(offline)
    start = time.monotonic()
    lab(repo, "--offline", env=blocked)
    assert time.monotonic() - start < 60
    (cell,) = results(repo)["cells"]
    assert cell["outcome"] == "env-error"
    assert cell["detail"].startswith("offline")


def test_an_unchanged_run_leaves_the_results_files_untouched(tmp_path: Path) -> None:
    """Only timings and dates differ between two runs of an unchanged clone: no file changes,
    so `git status` stays clean."""
    repo = make_repo(tmp_path, "probe", scenario_toml(["pass", "bug"]), {"probe.py": PROBE})
    assert lab(repo).returncode == 0
    files = sorted((repo / "results").glob("probe.*"))
    before = {f.name: (f.read_bytes(), f.stat().st_mtime_ns) for f in files}
    assert {"probe.json", "probe.md"} <= set(before)
    time.sleep(1.1)  # the run's start time (to the second) would differ
    assert lab(repo).returncode == 0
    assert {f.name: (f.read_bytes(), f.stat().st_mtime_ns) for f in files} == before


def test_a_reader_that_goes_away_is_no_traceback(tmp_path: Path) -> None:
    """``buglab plan | head -1``: the pipe closes under the lab, which says nothing about it."""
    root = make_repo(tmp_path, "many", TOML_MANY)
    reader = subprocess.Popen(
        ["head", "-c", "10"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    done = subprocess.run(
        [sys.executable, "-m", "buglab", "--root", str(root), "plan", "many"],
        stdout=reader.stdin,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        check=False,
    )
    assert reader.stdin is not None
    reader.stdin.close()
    reader.wait()
    assert "Traceback" not in done.stderr and done.returncode == 0, done.stderr


ENV_VALUES = ", ".join(f'v{i} = {{ N = "{i}" }}' for i in range(4000))
TOML_MANY = f"""
title = "many cells"
description = "enough plan lines to fill a pipe"
command = ["python", "-c", "pass"]
signature = "never"

[axes.n]
kind = "env"
values = {{ {ENV_VALUES} }}
"""
