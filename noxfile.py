"""The lab's front door: ``python3 -m nox -s matrix`` runs it, ``-s tests`` tests it."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["matrix"]
nox.options.reuse_existing_virtualenvs = True


def _lab(session: nox.Session, *extra: str) -> None:
    session.install(".")
    session.run("python", "-m", "buglab", "matrix", *extra, *session.posargs)


@nox.session
def matrix(session: nox.Session) -> None:
    """Every scenario, or those named after ``--``; ``--only AXIS=VALUE``, ``--jobs N``."""
    _lab(session)


@nox.session(name="scenario-editable")
def scenario_editable(session: nox.Session) -> None:
    """The matrix, editable installs only."""
    _lab(session, "--only", "install=editable")


@nox.session(name="scenario-non-editable")
def scenario_non_editable(session: nox.Session) -> None:
    """The matrix, non-editable installs only."""
    _lab(session, "--only", "install=non-editable")


@nox.session
def tests(session: nox.Session) -> None:
    """Unit tests and the integration tests that build real venvs (marked slow)."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff and mypy --strict."""
    session.install("-e", ".[lint,test]", "nox")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")


@nox.session
def bench(session: nox.Session) -> None:
    """The benchmark table in the README: floor, lab warm/cold, by hand, nox per cell."""
    session.install(".", "nox")
    session.run("python", "bench/bench.py", *session.posargs)
