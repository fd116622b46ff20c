"""Stage 5: run one cell in its venv, in a folder and environment of its own."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path

from buglab import model
from buglab.env import copy_project, proc
from buglab.files import naming, open_log

#: wide enough that pytest and coverage never cut a message or a report line
COLUMNS = "300"
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
#: the same in every cell, whatever the machine (an export sets them too)
FIXED_ENV = {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "COLUMNS": COLUMNS, "LINES": "50"}


def cell_env(
    cell: model.Cell, venv: Path, home: Path, caller: Mapping[str, str], passenv: tuple[str, ...]
) -> dict[str, str]:
    """Built from nothing: the caller's variables reach a cell only when the scenario names them."""
    env = {name: caller[name] for name in passenv if name in caller}
    env.update(
        {
            "PATH": f"{venv / 'bin'}{os.pathsep}{SYSTEM_PATH}",
            "VIRTUAL_ENV": str(venv),
            "HOME": str(home),
            "TMPDIR": str(home),
            # the venv is shared and checked after every cell: Python (and pytest's assertion
            # rewriting, for plugins) would otherwise cache bytecode inside it
            "PYTHONDONTWRITEBYTECODE": "1",
            **FIXED_ENV,
        }
    )
    env.update(cell.env)
    return env


class Workspace:
    """A private temporary folder per cell, outside the repository so that no ancestor
    ``pyproject.toml`` or ``pytest.ini`` is mistaken for the project's configuration."""

    def __init__(self, keep: bool = False) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="buglab-run-"))
        self.keep = keep
        self._count = 0
        self._guard = threading.Lock()

    def new(self) -> Path:
        with self._guard:
            self._count += 1
            folder = self.root / f"cell-{self._count}"
        folder.mkdir()
        return folder

    def done(self, folder: Path) -> None:
        """A finished cell's folder goes at once, by its worker, off the cell's clock (so the
        run does not end with one long removal)."""
        if not self.keep:
            shutil.rmtree(folder, ignore_errors=True)

    def close(self) -> None:
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)


def run_cell(
    cell: model.Cell,
    scenario: model.Scenario,
    venv: Path,
    log: Path,
    workspace: Workspace,
    caller: Mapping[str, str],
    cancel: threading.Event | None = None,
    append: bool = False,
) -> model.RunRecord:
    """One run of ``cell``; ``append`` adds it to the log of an earlier run of the same cell."""
    folder = workspace.new()
    work, home = folder / "work", folder / "home"
    work.mkdir()
    home.mkdir()
    copy_project(scenario.project, work)
    env = cell_env(cell, venv, home, caller, scenario.passenv)
    log.parent.mkdir(parents=True, exist_ok=True)
    header = [
        f"# buglab cell {cell.scenario} {cell.id}",
        f"# venv {venv.resolve()}",
        "# env " + " ".join(f"{k}={env[k]}" for k in sorted(env) if k != "PATH"),
        "$ " + " ".join(cell.argv),
        "",
    ]
    with naming(log), open_log(log, append) as sink:
        sink.write((("\n" if append else "") + "\n".join(header)).encode("utf-8"))
    done = proc.run(cell.argv, cwd=work, env=env, timeout=scenario.timeout, log=log, cancel=cancel)
    output = anonymise(done.output, {work: "<cell>", venv: "<venv>", home: "<home>"})
    workspace.done(folder)
    return model.RunRecord(
        done.returncode, done.timed_out, output, done.seconds, str(log), done.cancelled
    )


def anonymise(text: str, places: Mapping[Path, str]) -> str:
    """Machine-specific folders as short names, so that an excerpt reads the same everywhere."""
    for path, name in places.items():
        for spelling in dict.fromkeys((str(path.resolve()), str(path))):
            text = text.replace(spelling, name)
    return text
