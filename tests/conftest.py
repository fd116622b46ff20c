"""Shared fixtures: the real repository, and throwaway ones built in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from buglab import model, scenario

ROOT = Path(__file__).resolve().parent.parent
SEED = "warnings-coverage-editable"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def seed() -> model.Scenario:
    return scenario.load(ROOT / "scenarios" / SEED / scenario.SCENARIO_FILE, ROOT)


def make_repo(tmp: Path, name: str, toml: str, files: dict[str, str] | None = None) -> Path:
    """A throwaway repository holding one scenario; returns its root."""
    folder = tmp / "scenarios" / name
    folder.mkdir(parents=True)
    (folder / scenario.SCENARIO_FILE).write_text(toml, encoding="utf-8")
    for relative, text in (files or {}).items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp
