"""The project under test as files: listed in a stable order, digested, copied.

The digest keys the store's copy of the project and its wheels; the copy puts the files into a
cell's working folder (or an export) under their own names.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from buglab import model

IGNORED = {"__pycache__", ".pytest_cache", ".coverage", ".mypy_cache", ".ruff_cache"}
GENERATED_PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "0"
"""


def project_files(project: model.Project) -> list[tuple[str, Path]]:
    """(relative name, path) of every file the project brings, in a stable order."""
    out = []
    for entry in project.files:
        if entry.is_dir():
            for path in sorted(entry.rglob("*")):
                if path.is_file() and not IGNORED.intersection(path.relative_to(entry).parts):
                    out.append((f"{entry.name}/{path.relative_to(entry).as_posix()}", path))
        else:
            out.append((entry.name, entry))
    return out


def project_digest(project: model.Project) -> str:
    digest = hashlib.sha256(project.name.encode())
    for name, path in project_files(project):
        digest.update(b"\0" + name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def copy_project(project: model.Project, dest: Path) -> None:
    """The project's files into ``dest``, each under its own name."""
    for entry in project.files:
        if entry.is_dir():
            shutil.copytree(
                entry, dest / entry.name, symlinks=False, ignore=shutil.ignore_patterns(*IGNORED)
            )
        else:
            shutil.copy2(entry, dest / entry.name)
