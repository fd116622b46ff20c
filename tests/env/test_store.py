"""The venv store proves what it hands out: a damaged venv, a cell that writes into its venv,
``--rebuild`` beside a running cell.

Real venvs holding ``six`` (installed by uv into a private cache, since a file written in place
reaches the installer's cache through its hard links), real runs of the lab; marked slow.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import make_repo
from tests.lab.test_faults import lab, matrix_argv, results, scenario_toml

pytestmark = pytest.mark.slow

PROBE = """\
import os, pathlib, sys, sysconfig, time
mode = os.environ.get("MODE", "check")
site = pathlib.Path(sysconfig.get_paths()["purelib"])
if mode == "poison":
    (site / "zz_poison.pth").write_text("import os; os.environ['POISONED'] = '1'\\n")
elif mode == "edit":
    import six
    with open(six.__file__, "a") as handle:
        handle.write("\\nEDITED = True\\n")
elif mode == "slow":
    time.sleep(float(pathlib.Path(os.environ["SLEEP_FILE"]).read_text()))
import six
print("six", six.__version__, "from", six.__file__)
if os.environ.get("POISONED") or getattr(six, "EDITED", False):
    print("BUG-SIGNATURE-42")
"""


def private_cache(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "UV_CACHE_DIR": str(tmp_path / "uv-cache")}


def venv_folder(repo: Path) -> Path:
    (link,) = [p for p in (repo / "store" / "venvs").iterdir() if p.is_symlink()]
    return link.resolve()


def site_packages(venv: Path) -> Path:
    (found,) = venv.glob("lib/python*/site-packages")
    return found


def edit_six(venv: Path) -> None:
    with (site_packages(venv) / "six.py").open("a") as handle:  # in place: the inode is shared
        handle.write("\nEDITED = True\n")


def drop_six(venv: Path) -> None:
    (site_packages(venv) / "six.py").unlink()


def drop_python(venv: Path) -> None:
    (venv / "bin" / "python").unlink()


def add_pth(venv: Path) -> None:
    (site_packages(venv) / "zz_poison.pth").write_text("import os; os.environ['POISONED'] = '1'\n")


def break_manifest(venv: Path) -> None:
    manifest = venv / "buglab-venv.json"
    data = json.loads(manifest.read_text())
    data["resolved"] = ["six"]
    manifest.write_text(json.dumps(data))


@pytest.mark.parametrize(
    "damage",
    [edit_six, drop_six, drop_python, add_pth, break_manifest],
    ids=lambda f: f.__name__,
)
def test_a_damaged_venv_is_never_reused(tmp_path: Path, damage: Callable[[Path], None]) -> None:
    repo = make_repo(
        tmp_path, "probe", scenario_toml(["check"], requirements='["six"]'), {"probe.py": PROBE}
    )
    env = private_cache(tmp_path)
    assert lab(repo, env=env).returncode == 0
    (first,) = results(repo)["cells"]
    assert first["outcome"] == "passed"
    damage(venv_folder(repo))
    done = lab(repo, env=env)
    assert done.returncode == 0, done.stderr
    assert "it is not used again, building it anew" in done.stderr
    assert "Traceback" not in done.stderr
    (cell,) = results(repo)["cells"]
    assert cell["outcome"] == "passed"
    assert cell["resolved"] == first["resolved"]
    assert "EDITED" not in (site_packages(venv_folder(repo)) / "six.py").read_text()


def test_a_cell_that_writes_into_its_venv_never_serves_a_later_cell(tmp_path: Path) -> None:
    """One cell adds a ``.pth`` to its venv, one edits an installed file in place (reaching the
    installer's cache through its hard link); the cell after them still gets a clean venv, in
    this run and the next, and the writers are named."""
    toml = scenario_toml(["poison", "edit", "check"], requirements='["six"]')
    repo = make_repo(tmp_path, "probe", toml, {"probe.py": PROBE})
    env = private_cache(tmp_path)
    done = lab(repo, "--jobs", "1", env=env)
    assert done.returncode == 0, done.stderr
    cells = {c["id"]: c for c in results(repo)["cells"]}
    assert cells["mode=check"]["outcome"] == "passed"
    for writer in ("mode=poison", "mode=edit"):
        assert "the cell changed its venv" in cells[writer]["detail"], cells[writer]
        assert f"{writer}: its venv changed while it ran" in done.stderr
    assert "added lib/" in cells["mode=poison"]["detail"]
    assert "changed lib/" in cells["mode=edit"]["detail"]
    again = lab(repo, "--jobs", "1", "--only", "mode=check", env=env)
    assert again.returncode == 0, again.stderr
    assert {c["id"]: c["outcome"] for c in results(repo)["cells"]}["mode=check"] == "passed"


def test_rebuild_leaves_a_venv_a_running_cell_holds(tmp_path: Path) -> None:
    """``--rebuild`` in a second run replaces the venv while a cell of the first still runs in
    it: the first cell finishes in the venv it started in; the old venv goes afterwards."""
    sleep = tmp_path / "sleep"
    toml = scenario_toml(["slow"], requirements='["six"]', env=f'{{ SLEEP_FILE = "{sleep}" }}')
    repo = make_repo(tmp_path, "probe", toml, {"probe.py": PROBE})
    env = private_cache(tmp_path)
    sleep.write_text("0")
    assert lab(repo, env=env).returncode == 0
    old = venv_folder(repo)
    sleep.write_text("6")
    log = repo / "results" / "logs" / "probe" / "mode=slow.log"
    log.unlink()
    first = subprocess.Popen(
        matrix_argv(repo), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (log.exists() and "$ python" in log.read_text()):
        time.sleep(0.1)
    second = lab(repo, "--rebuild", "--results", str(tmp_path / "other"), env=env)
    assert second.returncode == 0, second.stderr
    assert venv_folder(repo) != old and old.exists(), "the running cell's venv was removed"
    _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    (cell,) = results(repo)["cells"]
    assert cell["outcome"] == "passed", cell
    # the next build of the key sweeps the old folder, which nobody holds any more
    assert lab(repo, "--rebuild", env=env).returncode == 0
    assert not old.exists()
    shutil.rmtree(tmp_path / "uv-cache", ignore_errors=True)
