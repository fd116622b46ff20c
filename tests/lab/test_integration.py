"""The lab for real: venvs built by uv (and virtualenv), the seed bug reproduced.

Nothing stands in for a venv here; these install from PyPI and are marked slow.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from buglab.spec.scenario import discover
from tests.conftest import ROOT, SEED

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One venv store for the whole session, shared by the xdist workers (the lab's locks make
    that safe), so that each venv is built once."""
    base = tmp_path_factory.getbasetemp()
    session = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    shared = session / "shared-store"
    shared.mkdir(exist_ok=True)
    return shared


def lab(
    *args: str, root: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "buglab", "--root", str(root), *args],
        capture_output=True,
        text=True,
        env=env or dict(os.environ),
        timeout=900,
        check=False,
    )


def only(*labels: str) -> list[str]:
    """``--only`` for each AXIS=VALUE."""
    return [arg for label in labels for arg in ("--only", label)]


def cells(results: Path, name: str = SEED) -> dict[str, dict[str, Any]]:
    data = json.loads((results / f"{name}.json").read_text())
    return {c["id"]: c for c in data["cells"]}


def seed_id(
    install: str, toolchain: str, warnings: str, coverage: str = "on", sqlalchemy: str = "2.0"
) -> str:
    return (
        f"install={install},sqlalchemy={sqlalchemy},toolchain={toolchain},"
        f"warnings={warnings},coverage={coverage}"
    )


def test_seed_reproduces_and_passes_on_both_toolchains(store: Path, tmp_path: Path) -> None:
    done = lab(
        "matrix",
        SEED,
        *only("sqlalchemy=2.0", "coverage=on"),
        "--store",
        str(store),
        "--results",
        str(tmp_path),
        "--quiet",
    )
    assert done.returncode == 0, done.stderr
    found = cells(tmp_path)
    assert len(found) == 12
    outcome = {k: v["outcome"] for k, v in found.items()}
    assert outcome[seed_id("editable", "2023-12-10", "on")] == "reproduced"
    assert outcome[seed_id("non-editable", "2023-12-10", "on")] == "reproduced"
    assert outcome[seed_id("not-installed", "2023-12-10", "on")] == "passed"
    assert outcome[seed_id("editable", "latest", "on")] == "reproduced"
    assert outcome[seed_id("editable", "latest", "off")] == "passed"
    assert outcome[seed_id("not-installed", "latest", "on")] == "reproduced"
    old = found[seed_id("editable", "2023-12-10", "on")]["resolved"]
    assert old["sqlalchemy"].startswith("2.0.") and old["pytest"] == "7.4.3"
    log = tmp_path / found[seed_id("editable", "2023-12-10", "on")]["log"]
    assert "is already registered" in log.read_text()
    assert (tmp_path / f"{SEED}.md").read_text().count("🐛") >= 2


def test_series_without_a_release_by_the_date_is_unavailable(store: Path, tmp_path: Path) -> None:
    done = lab(
        "matrix",
        SEED,
        *only("sqlalchemy=2.1", "toolchain=2023-12-10", "install=not-installed"),
        "--store",
        str(store),
        "--results",
        str(tmp_path),
        "--quiet",
    )
    assert done.returncode == 0, done.stderr
    found = cells(tmp_path)
    assert {c["outcome"] for c in found.values()} == {"unavailable"}
    log = (tmp_path / next(iter(found.values()))["log"]).read_text()
    assert "no release of sqlalchemy==2.1.* by 2023-12-10" in log


def copy_seed(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "scenarios" / SEED, repo / "scenarios" / SEED)
    shutil.copytree(ROOT / "package", repo / "package")
    shutil.copy(ROOT / "test.py", repo / "test.py")
    return repo


def test_changing_one_axis_value_rebuilds_only_those_venvs(tmp_path: Path) -> None:
    repo = copy_seed(tmp_path)
    store = tmp_path / "store"
    select = [
        *only("sqlalchemy=2.0", "warnings=on", "coverage=on", "install=editable,not-installed"),
        "--store",
        str(store),
        "--quiet",
    ]
    assert lab("matrix", SEED, *select, root=repo).returncode == 0
    first = {k: c["venv"] for k, c in cells(repo / "results").items()}
    before = {p.name: p.stat().st_ino for p in (store / "venvs").iterdir() if p.is_symlink()}
    assert set(before) == set(first.values()) and len(before) == 4
    toml = repo / "scenarios" / SEED / "scenario.toml"
    toml.write_text(
        toml.read_text()
        .replace('"2023-12-10", "latest"', '"2023-12-09", "latest"')
        .replace('toolchain = "2023-12-10"', 'toolchain = "2023-12-09"')
    )
    second = lab("matrix", SEED, *select, root=repo)
    assert second.returncode == 0, second.stderr
    then = {k: c["venv"] for k, c in cells(repo / "results").items()}
    after = {p.name: p.stat().st_ino for p in (store / "venvs").iterdir() if p.is_symlink()}
    assert all(before[k] == after[k] for k in before), "an unchanged venv was rebuilt"
    assert len(set(after) - set(before)) == 2
    for cell_id, key in then.items():
        if "toolchain=latest" in cell_id:
            assert key == first[cell_id]
        else:
            assert key not in before


def test_virtualenv_backend_reproduces_too(tmp_path: Path) -> None:
    done = lab(
        "matrix",
        SEED,
        "--backend",
        "virtualenv",
        *only("sqlalchemy=2.0", "toolchain=2023-12-10", "coverage=on", "warnings=on"),
        "--store",
        str(tmp_path / "store"),
        "--results",
        str(tmp_path),
        "--quiet",
        "--jobs",
        "2",
    )
    assert done.returncode == 0, done.stderr
    outcome = {k: v["outcome"] for k, v in cells(tmp_path).items()}
    assert outcome == {
        seed_id("editable", "2023-12-10", "on"): "reproduced",
        seed_id("non-editable", "2023-12-10", "on"): "reproduced",
        seed_id("not-installed", "2023-12-10", "on"): "passed",
    }


def _pair(name: str) -> tuple[str, str]:
    """A cell expected to reproduce and one expected to pass, sharing a venv when possible."""
    from buglab import model
    from buglab.spec import plan, scenario

    loaded = scenario.load(ROOT / "scenarios" / name / scenario.SCENARIO_FILE, ROOT)
    cells = plan.expand(loaded)
    bugs = [c for c in cells if c.expected is model.Outcome.REPRODUCED]
    passes = [c for c in cells if c.expected is model.Outcome.PASSED]
    assert bugs and passes, f"{name} needs a reproduced and a passed expectation"
    for bug in reversed(bugs):  # latest toolchains come last: their venvs are cached best
        twin = next((p for p in passes if p.venv == bug.venv), None)
        if twin is not None:
            return bug.id, twin.id
    return bugs[-1].id, passes[-1].id


SCENARIOS = [p.name for p in discover(ROOT / "scenarios") if p.name != SEED]


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_scenario_reproduces_and_passes_for_real(
    name: str, store: Path, tmp_path: Path
) -> None:
    bug, fine = _pair(name)
    done = lab(
        "matrix",
        name,
        "--cell",
        bug,
        "--cell",
        fine,
        "--store",
        str(store),
        "--results",
        str(tmp_path),
        "--quiet",
    )
    found = {k: v["outcome"] for k, v in cells(tmp_path, name).items()}
    assert found == {bug: "reproduced", fine: "passed"}, done.stderr
    assert done.returncode == 0


def test_unavailable_is_remembered_for_a_past_date(store: Path, tmp_path: Path) -> None:
    """A warm run asks nothing of the index, even for cells that could never be built."""
    select = [
        *only("sqlalchemy=2.1", "toolchain=2023-12-10", "install=not-installed"),
        "--store",
        str(store),
        "--quiet",
    ]
    lab("matrix", SEED, *select, "--results", str(tmp_path / "first"))
    blocked = {**os.environ, "BUGLAB_INDEX_URL": "http://127.0.0.1:9/simple"}
    done = lab("matrix", SEED, *select, "--results", str(tmp_path / "second"), env=blocked)
    assert done.returncode == 0, done.stderr
    found = cells(tmp_path / "second")
    assert {c["outcome"] for c in found.values()} == {"unavailable"}
    assert all("no release of sqlalchemy==2.1.*" in c["detail"] for c in found.values())
