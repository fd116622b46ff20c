"""``export``: one cell as a folder that reproduces it with no lab installed.

Reading the project's files and writing the folder are the only impure parts; what goes into
the folder is :mod:`buglab.report.repro`'s.
"""

from __future__ import annotations

from pathlib import Path

from buglab import model
from buglab.env import project_files
from buglab.errors import ResultsError, UsageError
from buglab.files import bounded_name, write_atomic
from buglab.report import repro
from buglab.spec import plan, which_cell


def read_files(project: model.Project) -> tuple[repro.ProjectFile, ...]:
    """The project's files as text, under the names the lab copies them to."""
    found = []
    for name, path in project_files(project):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"{path}: not a UTF-8 text file; it cannot go into a script") from None
        found.append(repro.ProjectFile(name, text))
    return tuple(found)


def reproduction(
    scenario: model.Scenario, result: model.MatrixResult, cell_id: str
) -> repro.Reproduction:
    """The reproduction of one measured cell; a cell with no venv has nothing to pin."""
    measured = {c.id: c for c in result.cells}
    if cell_id not in measured:
        raise UsageError(
            f"--cell {cell_id!r}: no such cell in the results of {scenario.name}"
            f"{which_cell(cell_id, list(measured))}"
        )
    cell = next((c for c in plan.expand(scenario) if c.id == cell_id), None)
    if cell is None:
        raise UsageError(f"--cell {cell_id!r}: the scenario has no such cell any more")
    found = measured[cell_id]
    if not found.resolved:
        raise ResultsError(
            f"cell {cell_id!r} of {scenario.name} has no venv to pin "
            f"({found.outcome.value}: {found.detail or 'no versions recorded'})"
        )
    return repro.make(scenario, cell, found, read_files(scenario.project))


def write_folder(reproduction: repro.Reproduction, folder: Path) -> list[Path]:
    """The folder: project/, requirements.txt, setup.sh, run.sh, README.md."""
    if folder.exists() and any(folder.iterdir()):
        raise UsageError(f"--to {folder}: exists and is not empty")
    written = []
    for item in reproduction.files:
        written.append(_write(folder / "project" / item.path, item.text))
    written.append(_write(folder / "requirements.txt", reproduction.requirements_txt()))
    written.append(_write(folder / "setup.sh", reproduction.setup_sh(), executable=True))
    written.append(_write(folder / "run.sh", reproduction.run_sh(), executable=True))
    written.append(_write(folder / "README.md", reproduction.readme()))
    return written


def _write(path: Path, text: str, executable: bool = False) -> Path:
    write_atomic(path, text)
    if executable:
        path.chmod(0o755)
    return path


def default_folder(scenario: str, cell_id: str) -> Path:
    """``exports/<scenario>/<cell id>`` under the current folder."""
    return Path("exports") / scenario / bounded_name(cell_id)
