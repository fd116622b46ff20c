"""Bad surroundings and hostile inputs are one line and a documented exit status, never a
traceback, and never cost the results already on disk.

A full filesystem (a real, small tmpfs where the machine lets us mount one), a file-size limit,
a read-only results folder, files where folders belong, results files of the wrong shape, a
terminal that takes only ASCII, escapes in a cell's output, a planted symbolic link.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_repo
from tests.lab.test_faults import lab, matrix_argv, outcomes, results, scenario_toml

pytestmark = pytest.mark.slow

QUIET_PROBE = """\
import os
mode = os.environ.get("MODE", "pass")
if mode == "bug":
    print("\\x1b[31mBUG-SIGNATURE-42\\x1b[0m \\x07 seen")
    raise SystemExit(1)
print("ok")
"""


def buglab(
    repo: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "buglab", "--root", str(repo), *args],
        capture_output=True,
        text=True,
        env=env or dict(os.environ),
        timeout=300,
        check=False,
    )


def one_line(done: subprocess.CompletedProcess[str], status: int = 2) -> str:
    assert done.returncode == status, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("buglab: error: ")]
    assert len(lines) == 1, done.stderr
    return lines[0]


def measured_repo(tmp_path: Path, modes: tuple[str, ...] = ("pass", "bug")) -> Path:
    repo = make_repo(tmp_path, "probe", scenario_toml(list(modes)), {"probe.py": QUIET_PROBE})
    assert lab(repo).returncode == 0
    return repo


def snapshot(repo: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (repo / "results").glob("probe.*")}


def more_cells(repo: Path) -> None:
    """The scenario gains a cell, so that the next run has results to write."""
    toml = repo / "scenarios" / "probe" / "scenario.toml"
    toml.write_text(toml.read_text().replace("bug = {", 'other = { MODE = "other" }, bug = {'))


@contextlib.contextmanager
def small_filesystem(where: Path, size: str) -> Iterator[None]:
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_full_filesystem_is_one_line_and_the_results_stay(tmp_path: Path) -> None:
    repo = measured_repo(tmp_path)
    before = snapshot(repo)
    more_cells(repo)
    results_dir = tmp_path / "full"
    with small_filesystem(results_dir, "256k"):
        for name, data in before.items():
            (results_dir / name).write_bytes(data)
        with contextlib.suppress(OSError), (results_dir / "filler").open("wb") as filler:
            while True:
                filler.write(b"\0" * 4096)
                filler.flush()
        line = one_line(lab(repo, "--results", str(results_dir)))
        assert "No space left on device" in line and str(results_dir) in line
        assert {n: (results_dir / n).read_bytes() for n in before} == before


def test_a_file_size_limit_is_one_line_and_the_results_stay(tmp_path: Path) -> None:
    repo = measured_repo(tmp_path)
    before = snapshot(repo)
    more_cells(repo)
    limit = max(len(data) for data in before.values()) + 64

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = subprocess.run(
        matrix_argv(repo), capture_output=True, text=True, preexec_fn=limited, check=False
    )
    assert "File too large" in one_line(done)
    assert snapshot(repo) == before


def test_a_read_only_results_folder_is_one_line(tmp_path: Path) -> None:
    repo = measured_repo(tmp_path)
    before = snapshot(repo)
    more_cells(repo)
    results_dir = tmp_path / "read-only"
    with small_filesystem(results_dir, "1m"):
        for name, data in before.items():
            (results_dir / name).write_bytes(data)
        subprocess.run(["mount", "-o", "remount,ro", str(results_dir)], check=True)
        line = one_line(lab(repo, "--results", str(results_dir)))
        assert "Read-only file system" in line and str(results_dir) in line
        assert {n: (results_dir / n).read_bytes() for n in before} == before


@pytest.mark.parametrize("option", ["--results", "--store"])
def test_a_file_where_a_folder_belongs_is_one_line(tmp_path: Path, option: str) -> None:
    repo = make_repo(tmp_path, "probe", scenario_toml(["pass"]), {"probe.py": QUIET_PROBE})
    plain = tmp_path / "a-file"
    plain.write_text("not a folder")
    line = one_line(lab(repo, option, str(plain)))
    assert line.endswith(f"{option} {plain}: a file, not a folder")
    assert plain.read_text() == "not a folder"


def test_toml_nested_too_deep_is_one_line(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, "probe", scenario_toml(["pass"]), {"probe.py": QUIET_PROBE})
    toml = repo / "scenarios" / "probe" / "scenario.toml"
    toml.write_text(toml.read_text() + "deep = " + "[" * 50_000 + "]" * 50_000 + "\n")
    for command in (["plan"], ["matrix", "--quiet"]):
        line = one_line(buglab(repo, *command))
        assert line.endswith(f"{toml}: nested too deeply to read (arrays or tables)")


def test_a_plan_beyond_the_limit_is_refused_at_once(tmp_path: Path) -> None:
    values = ", ".join(f'v{i} = {{ N = "{i}" }}' for i in range(100))
    extra = "".join(f'\n[axes.a{k}]\nkind = "env"\nvalues = {{ {values} }}\n' for k in range(3))
    repo = make_repo(tmp_path, "probe", scenario_toml(["pass"], extra=extra), {"probe.py": ""})
    start = time.monotonic()
    line = one_line(buglab(repo, "plan"))
    assert time.monotonic() - start < 20
    assert "1,000,000 combinations, more than the lab expands (50,000)" in line


def test_only_http_links(tmp_path: Path) -> None:
    toml = scenario_toml(["pass"]).replace(
        'title = "probe"', 'title = "probe"\nlinks = ["javascript:alert(1)"]'
    )
    repo = make_repo(tmp_path, "probe", toml, {"probe.py": QUIET_PROBE})
    line = one_line(buglab(repo, "plan"))
    assert "links[0]: 'javascript:alert(1)' is not an http:// or https:// address" in line


def broken(data: dict[str, Any], how: str) -> dict[str, Any]:
    cell = data["cells"][0]
    if how == "axes a string":
        data["axes"] = "mode"
    elif how == "id a list":
        cell["id"] = ["mode=pass"]
    elif how == "a cell missing an axis":
        cell["axes"] = {}
    elif how == "empty cells":
        data["cells"] = []
    elif how == "measured a number":
        cell["measured"] = 42
    return data


SHAPES = [
    "axes a string",
    "id a list",
    "a cell missing an axis",
    "empty cells",
    "measured a number",
]


@pytest.mark.parametrize("how", SHAPES)
def test_a_wrong_shaped_results_file_is_one_line_everywhere(tmp_path: Path, how: str) -> None:
    repo = measured_repo(tmp_path)
    path = repo / "results" / "probe.json"
    path.write_text(json.dumps(broken(json.loads(path.read_text()), how)))
    for command in (["render", str(path)], ["report", "probe"], ["diff", str(path), str(path)]):
        line = one_line(buglab(repo, *command))
        assert f"{path}: not a buglab results file" in line
    # the matrix keeps it as a backup, then writes both files anew
    damaged = path.read_bytes()
    done = lab(repo)
    assert done.returncode == 0, done.stderr
    (backup,) = (repo / "results").glob("probe.json.unreadable-*")
    assert backup.read_bytes() == damaged and f"kept as {backup.name}" in done.stderr
    assert outcomes(repo) == {"mode=pass": "passed", "mode=bug": "reproduced"}
    assert (repo / "results" / "probe.md").read_text().count("|") > 4


def test_report_on_an_ascii_terminal_and_escapes_from_a_cell(tmp_path: Path) -> None:
    repo = measured_repo(tmp_path)
    excerpts = "".join(c["excerpt"] for c in results(repo)["cells"])
    assert "\x1b[31m" in excerpts  # the cell's output, kept as measured
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    done = buglab(repo, "report", "probe", env=env)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "BUG-SIGNATURE-42" in done.stdout
    assert "\x1b" not in done.stdout + done.stderr and "\x07" not in done.stdout


@pytest.mark.parametrize("kind", ["file", "dangling link"])
def test_export_to_a_file_or_a_dangling_link_is_one_line(tmp_path: Path, kind: str) -> None:
    repo = measured_repo(tmp_path)
    target = tmp_path / "to"
    if kind == "file":
        target.write_text("mine")
    else:
        target.symlink_to(tmp_path / "nowhere")
    line = one_line(buglab(repo, "export", "probe", "--cell", "mode=bug", "--to", str(target)))
    assert str(target) in line and "not a folder" in line
    assert target.is_symlink() or target.read_text() == "mine"
    assert not (tmp_path / "nowhere").exists()


def test_a_link_planted_at_a_log_is_not_followed(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, "probe", scenario_toml(["pass"]), {"probe.py": QUIET_PROBE})
    victim = tmp_path / "victim"
    victim.write_text("precious")
    logs = repo / "results" / "logs" / "probe"
    logs.mkdir(parents=True)
    (logs / "mode=pass.log").symlink_to(victim)
    done = lab(repo)
    assert done.returncode == 0, done.stderr
    assert victim.read_text() == "precious"
    log = logs / "mode=pass.log"
    assert not log.is_symlink() and "ok" in log.read_text()
