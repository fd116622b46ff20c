"""The results a run is compared with: as committed in git, else as they were on disk."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

from buglab import model
from buglab.errors import ResultsError, UsageError
from buglab.lab import MatrixOptions, results_path, store
from buglab.report import diff
from buglab.spec import load_scenarios


def _git(folder: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(folder), *argv], capture_output=True, text=True, timeout=60, check=False
    )


def committed(path: Path) -> str | None:
    """The text of ``path`` in git's HEAD; None when it is not tracked (or there is no git)."""
    folder = path.resolve().parent
    try:
        top = _git(folder, "rev-parse", "--show-toplevel")
        if top.returncode != 0:
            return None
        root = Path(top.stdout.strip()).resolve()
        relative = path.resolve().relative_to(root).as_posix()
        if _git(root, "ls-files", "--error-unmatch", relative).returncode != 0:
            return None
        shown = _git(root, "show", f"HEAD:{relative}")
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None
    return shown.stdout if shown.returncode == 0 else None


def baseline(path: Path) -> tuple[model.MatrixResult | None, str]:
    """The results to compare a run with, and where they came from (or why there are none)."""
    text = committed(path)
    where = f"{path} as committed in git HEAD"
    if text is None:
        if not path.exists():
            return None, f"{path} did not exist before this run"
        text = path.read_text(encoding="utf-8")
        where = f"{path} as it was before this run"
    try:
        return store.from_json(json.loads(text), path), where
    except (ValueError, ResultsError) as exc:
        return None, f"{where} cannot be compared: {exc}"


Baselines = dict[str, tuple[model.MatrixResult | None, str]]


def baselines(options: MatrixOptions) -> Baselines:
    """``matrix --diff``: each scenario's results before the run (as committed, if tracked)."""
    if options.shard:
        raise UsageError("--diff compares whole results files; it does not go with --shard")
    names = [s.name for s in load_scenarios(options.root, options.names)]
    return {name: baseline(results_path(options, name)) for name in names}


def changes_since(before: Baselines, options: MatrixOptions) -> Iterator[str]:
    """``matrix --diff``: what changed against the results before the run, as markdown."""
    for name, (old, where) in before.items():
        path = results_path(options, name)
        if old is None:
            yield f"{name}: nothing to compare with: {where}\n"
        elif path.exists():
            yield f"Compared with {where}:\n"
            yield diff.changes_markdown(diff.compare(old, store.read(path)))
