"""What a run of the lab is asked to do, each option declared once (see :mod:`buglab.option`).

``RunOptions`` is what every command that builds venvs and runs cells shares (the matrix and the
bisections); ``MatrixOptions`` adds the matrix's own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from buglab.env import venv_store
from buglab.lab.store import results_folder
from buglab.option import flag, positional


def only() -> Any:
    """``--only AXIS=VALUE``, the same for every command that selects cells."""
    return flag(
        "--only",
        action="append",
        metavar="AXIS=VALUE",
        help="keep cells with this value (repeat; a,b for either)",
    )


@dataclass(frozen=True)
class Located:
    """The repository, and where its results are read and written."""

    root: Path
    results: Path | None = flag(
        "--results", type=Path, metavar="DIR", help="results folder (default: ROOT/results)"
    )

    @property
    def results_dir(self) -> Path:
        return results_folder(self.root, self.results)


@dataclass(frozen=True)
class RunOptions(Located):
    """Where venvs live, how they are built, and how cells are run."""

    backend: str | None = flag(
        "--backend",
        choices=["uv", "virtualenv"],
        help="how venvs are built (default: uv when installed)",
    )
    offline: bool = flag(
        "--offline", action="store_true", default=False, help="install from the cache only"
    )
    store: Path | None = flag(
        "--store", type=Path, metavar="DIR", help="venv store (default: ROOT/.buglab)"
    )
    jobs: int = flag(
        "--jobs",
        "-j",
        type=int,
        default=os.cpu_count() or 1,
        forward=False,
        help="processes at once (default: the CPU count)",
    )
    repeat: int = flag(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="run each cell N times; runs that disagree make it flaky",
    )
    rebuild: bool = flag(
        "--rebuild", action="store_true", default=False, help="rebuild venvs even if current"
    )
    keep: bool = flag(
        "--keep", action="store_true", default=False, help="keep each cell's working folder"
    )

    @property
    def store_dir(self) -> Path:
        return venv_store(self.root, self.store)


@dataclass(frozen=True)
class MatrixOptions(RunOptions):
    names: tuple[str, ...] = positional("scenario names (default: all)", nargs="*")
    only: tuple[str, ...] = only()
    cells: tuple[str, ...] = flag(
        "--cell", action="append", metavar="ID", help="keep this cell (repeat)"
    )
    shard: str | None = flag("--shard", metavar="K/N", help="run only the K-th of N shards")
    resume: bool = flag(
        "--resume",
        action="store_true",
        default=False,
        help="keep finished cells of the last run whose inputs are unchanged",
    )
    quiet: bool = flag(
        "--quiet", "-q", action="store_true", default=False, help="no progress and no table"
    )
    diff: bool = flag(
        "--diff",
        action="store_true",
        default=False,
        help="at the end, the cells whose outcome changed against the committed results",
    )
