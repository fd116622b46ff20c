"""The layout is checked, not hoped for: a wing is entered through its face.

import-linter (``nox -s lint``) checks that the arrows between the wings run one way; this
checks the other half of the promise each wing's ``__init__`` makes: outside a wing, only the
names in its ``__all__`` are imported, never one of its modules.
"""

from __future__ import annotations

import ast
import importlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

WINGS = ("spec", "env", "lab", "bisect", "report")
SOURCES = sorted((ROOT / "src" / "buglab").rglob("*.py")) + sorted((ROOT / "bench").glob("*.py"))


def wing_of(path: Path) -> str | None:
    parts = path.relative_to(ROOT).parts
    if parts[:2] == ("src", "buglab") and len(parts) > 3:
        return parts[2]
    return None


def crossings(path: Path) -> list[tuple[int, str, str, str]]:
    """(line, wing, module path after the wing, name) of every import into another wing."""
    found = []
    mine = wing_of(path)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            parts = node.module.split(".")
            if parts[0] == "buglab" and len(parts) > 1 and parts[1] in WINGS and parts[1] != mine:
                found += [(node.lineno, parts[1], ".".join(parts[2:]), a.name) for a in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if (
                    parts[0] == "buglab"
                    and len(parts) > 2
                    and parts[1] in WINGS
                    and parts[1] != mine
                ):
                    found.append((node.lineno, parts[1], ".".join(parts[2:]), ""))
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_other_wings_are_entered_through_their_face(path: Path) -> None:
    faces = {w: set(importlib.import_module(f"buglab.{w}").__all__) for w in WINGS}
    wrong = [
        f"{path.name}:{line}: buglab.{wing}.{module or name}"
        for line, wing, module, name in crossings(path)
        if module or name not in faces[wing]
    ]
    assert not wrong, "import these from the wing itself (and list them in its __all__)"


def test_every_face_holds_what_it_names() -> None:
    for wing in WINGS:
        face = importlib.import_module(f"buglab.{wing}")
        assert [name for name in face.__all__ if not hasattr(face, name)] == [], wing


def test_an_arrow_back_up_fails_the_contract_with_its_line(tmp_path: Path) -> None:
    """The import contract of ``nox -s lint``, on a copy whose report imports bisect."""
    shutil.copytree(ROOT / "src", tmp_path / "src")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    kept = subprocess.run(
        ["lint-imports"],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        check=False,
    )
    assert kept.returncode == 0, kept.stdout
    diff = tmp_path / "src" / "buglab" / "report" / "diff.py"
    diff.write_text(diff.read_text() + "\nfrom buglab.bisect import Found  # noqa\n")
    broken = subprocess.run(
        ["lint-imports"],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        check=False,
    )
    assert broken.returncode == 1
    assert "BROKEN" in broken.stdout and "buglab.report.diff -> buglab.bisect" in broken.stdout
    assert f"l.{len(diff.read_text().splitlines())}" in broken.stdout


def _env(root: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(root / "src")}
