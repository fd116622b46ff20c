"""Exported cells: the folder's files for each install mode, and, for real, a reproduced and a
passed cell of the seed rebuilt with ``python3.11 -m venv`` and pip alone (marked slow)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from buglab import model
from buglab.cli import main
from buglab.lab import store
from buglab.report import export, repro
from buglab.spec import scenario
from tests.conftest import RESULTS, ROOT, SEED


def cell_id(install: str, coverage: str = "on", sqlalchemy: str = "2.0") -> str:
    return (
        f"install={install},sqlalchemy={sqlalchemy},toolchain=latest,warnings=on,"
        f"coverage={coverage}"
    )


def reproduction(cell: str) -> repro.Reproduction:
    loaded = scenario.load(ROOT / "scenarios" / SEED / scenario.SCENARIO_FILE, ROOT)
    return export.reproduction(loaded, store.read(RESULTS / f"{SEED}.json"), cell)


@pytest.mark.parametrize(
    ("install", "command"),
    [
        ("editable", "pip install -e ./project"),
        ("non-editable", "pip install ./project"),
        ("not-installed", None),
    ],
)
def test_the_install_mode_is_the_command_it_says(install: str, command: str | None) -> None:
    found = reproduction(cell_id(install))
    setup = found.setup_sh()
    if command is None:
        assert "./project" not in setup
        assert "pyproject.toml" not in {f.path for f in found.files}
    else:
        assert f".venv/bin/python -m {command}\n" in setup
        generated = {f.path: f.text for f in found.files}["pyproject.toml"]
        assert 'name = "package"' in generated and "setuptools.build_meta" in generated
    assert '"${PYTHON:-python3.11}" -m venv .venv' in setup
    pins = found.requirements_txt().splitlines()[1:]
    assert "sqlalchemy==2.0.58" in pins and "coverage==7.17.4" in pins
    assert not [p for p in pins if p.split("==")[0] in ("python", "pip", "package")]
    run = found.run_sh()
    assert 'cp -R "$here/project/package" "$here/project/test.py" "$work/"' in run
    assert "env -i \\" in run and "COLUMNS=300" in run
    assert (
        "pytest -Wignore:XXX:sqlalchemy.exc.SADeprecationWarning --cov=package.module test.py"
        in run
    )


def test_the_scripts_are_valid_bash(tmp_path: Path) -> None:
    found = reproduction(cell_id("editable"))
    written = export.write_folder(found, tmp_path / "out")
    names = sorted(p.relative_to(tmp_path / "out").as_posix() for p in written)
    assert names == [
        "README.md",
        "project/package/__init__.py",
        "project/pyproject.toml",
        "project/test.py",
        "requirements.txt",
        "run.sh",
        "setup.sh",
    ]
    (tmp_path / "inline.sh").write_text(found.script())
    for script in ("out/setup.sh", "out/run.sh", "inline.sh"):
        done = subprocess.run(
            ["bash", "-n", str(tmp_path / script)], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, (script, done.stderr)
    assert os.access(tmp_path / "out" / "run.sh", os.X_OK)


def test_a_heredoc_never_ends_early() -> None:
    item = repro.ProjectFile("x.txt", "a\nEOF\nEOF_\nb")
    found = repro.Reproduction(
        "s",
        "c",
        model.Outcome.PASSED,
        "3.11.7",
        model.InstallMode.NOT_INSTALLED,
        ("x.txt",),
        (item,),
        (),
        ("true",),
        (),
        (),
        "sig",
    )
    assert "cat > project/x.txt <<'EOF__'\na\nEOF\nEOF_\nb\nEOF__" in found.script()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--cell", "install=editabel"], "no such cell in the results"),
        (
            ["--cell", cell_id("editable", sqlalchemy="2.1").replace("latest", "2023-12-10")],
            "has no venv to pin (unavailable: no release of sqlalchemy==2.1.* by 2023-12-10)",
        ),
    ],
)
def test_cells_that_cannot_be_exported_are_one_line_errors(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--root", str(ROOT), "export", SEED, *argv, "--to", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "x").exists()


def test_export_never_writes_into_a_folder_with_files(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    assert (
        main(
            [
                "--root",
                str(ROOT),
                "export",
                SEED,
                "--cell",
                cell_id("editable"),
                "--to",
                str(tmp_path),
            ]
        )
        == 2
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def python311() -> str:
    if sys.version_info[:2] == (3, 11):
        return sys.executable
    found = shutil.which("python3.11")
    if found is None:
        pytest.skip("no python3.11 here: the seed's cells ran on 3.11")
    return found


@pytest.mark.slow
@pytest.mark.parametrize(
    ("install", "coverage", "verdict", "status"),
    [("editable", "on", "buglab: reproduced", 2), ("not-installed", "off", "buglab: passed", 0)],
)
def test_an_exported_cell_gives_its_outcome_with_pip_alone(
    install: str, coverage: str, verdict: str, status: int, tmp_path: Path
) -> None:
    """A fresh folder, python3.11 -m venv, pip install of the pinned versions (and of the
    project, for an installing mode), then the command: the reproduced cell reproduces, the
    passed one passes."""
    folder = tmp_path / "export"
    cell = cell_id(install, coverage=coverage)
    assert main(["--root", str(ROOT), "export", SEED, "--cell", cell, "--to", str(folder)]) == 0
    env = {**os.environ, "PYTHON": python311()}
    env.pop("VIRTUAL_ENV", None)
    setup = subprocess.run(
        [str(folder / "setup.sh")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert setup.returncode == 0, setup.stdout[-2000:] + setup.stderr[-2000:]
    run = subprocess.run(
        [str(folder / "run.sh")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
        check=False,
    )
    assert run.stdout.rstrip().splitlines()[-1].startswith(verdict), run.stdout[-3000:]
    assert run.returncode == status
    assert ("is already registered" in (folder / "output.log").read_text()) == (coverage == "on")
