"""How a venv is made: uv when it is on hand, virtualenv + pip otherwise, behind one Protocol."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from buglab.env.dates import cutoff
from buglab.errors import UsageError


@dataclass(frozen=True)
class Interpreter:
    executable: str  # the real binary, links followed
    version: str  # e.g. 3.12.7


@dataclass(frozen=True)
class InstallRequest:
    requirements: tuple[str, ...]
    project: Path | None  # a project folder the installer builds itself (when no wheel could be)
    date: str | None  # ISO day: resolve as of the end of that day (UTC)
    index_url: str | None
    offline: bool
    editable: bool = False  # install ``project`` with -e

    @property
    def targets(self) -> list[str]:
        """The requirements, then the project folder as ``pip install [-e] FOLDER`` takes it."""
        if self.project is None:
            return list(self.requirements)
        folder = ["--editable", str(self.project)] if self.editable else [str(self.project)]
        return [*self.requirements, *folder]


class Backend(Protocol):
    """Creates a venv and installs into it; returns argv lists, the caller runs them."""

    @property
    def name(self) -> str: ...

    def create(self, target: Path, interpreter: Interpreter) -> list[str]: ...

    def install(self, target: Path, request: InstallRequest) -> list[str]: ...


def uv_resolution_flags(day: str | None, index_url: str | None, offline: bool) -> list[str]:
    """How uv resolves for the lab, installing or compiling alike: pre-releases only where a
    requirement names one ("2.1" means a release, not a beta), as of ``day``, from the index."""
    flags = ["--no-config", "--prerelease", "explicit"]
    if day:
        flags += ["--exclude-newer", cutoff(day)]
    if index_url:
        flags += ["--index-url", index_url]
    if offline:
        flags.append("--offline")
    return flags


def find_uv() -> str | None:
    try:
        from uv import find_uv_bin  # the uv package ships the binary
    except ImportError:
        return shutil.which("uv")
    try:
        return find_uv_bin()
    except FileNotFoundError:
        return shutil.which("uv")


@dataclass(frozen=True)
class UvBackend:
    uv: str
    name: str = "uv"

    def create(self, target: Path, interpreter: Interpreter) -> list[str]:
        return [
            self.uv,
            "venv",
            "--no-config",
            "--quiet",
            "--no-python-downloads",
            "--python",
            interpreter.executable,
            str(target),
        ]

    def install(self, target: Path, request: InstallRequest) -> list[str]:
        flags = uv_resolution_flags(request.date, request.index_url, request.offline)
        python = ["--python", str(target / "bin" / "python")]
        return [self.uv, "pip", "install", *flags, *python, *request.targets]


@dataclass(frozen=True)
class VirtualenvBackend:
    name: str = "virtualenv"

    def create(self, target: Path, interpreter: Interpreter) -> list[str]:
        return [
            sys.executable,
            "-m",
            "virtualenv",
            "--quiet",
            "--no-periodic-update",
            "--python",
            interpreter.executable,
            str(target),
        ]

    def install(self, target: Path, request: InstallRequest) -> list[str]:
        argv = [
            str(target / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-input",
            "--no-compile",  # the lab compiles once for every venv (see bytecode.py)
        ]
        if request.date:
            # pip >= 26 filters releases by upload time, like uv's --exclude-newer
            argv += ["--uploaded-prior-to", cutoff(request.date)]
        if request.index_url:
            argv += ["--index-url", request.index_url]
        if request.offline:
            argv += ["--no-index"]
        return argv + request.targets


def choose_backend(name: str | None) -> Backend:
    """``--backend``: uv by default when it can be found, else virtualenv."""
    if name in (None, "uv"):
        uv = find_uv()
        if uv is not None:
            return UvBackend(uv)
        if name == "uv":
            raise UsageError("--backend uv: uv is not installed (pip install uv, or nox[uv])")
    if name in (None, "virtualenv"):
        return VirtualenvBackend()
    raise UsageError(f"--backend {name!r}: expected uv or virtualenv")


def describe_installer(backend: Backend, env: Mapping[str, str]) -> str:
    """``uv 0.9.5``, or virtualenv's version (pip is each venv's own, shown in ``resolved``)."""
    if isinstance(backend, UvBackend):
        try:
            done = subprocess.run(
                [backend.uv, "--version"],
                env=dict(env),
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return "uv"
        return done.stdout.strip() or "uv"
    try:
        from virtualenv import __version__ as version
    except ImportError:
        return "virtualenv"
    return f"virtualenv {version}, pip"


def site_packages(venv: Path) -> Sequence[Path]:
    return sorted((venv / "lib").glob("python*/site-packages"))
