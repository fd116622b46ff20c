"""What a venv would hold, without building it: ``uv pip compile`` with the install's own flags.

A resolution takes a fraction of a second and no disk beyond uv's cache, so a bisection uses it
to check that a package is in a cell before anything is built, and to tell apart days that
would install exactly the same things (they need not be built or run twice). When the project
is installed, its build requirements are resolved too: the wheel is built with them as of that
day, so they are part of what a day means. A project whose requirements are not written
statically in ``pyproject.toml`` cannot be resolved this way; then every day counts as new.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from buglab import model
from buglab.env.backends import uv_resolution_flags

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

GENERATED_BUILD = ("setuptools>=61",)  # what project.GENERATED_PYPROJECT asks for


@dataclass(frozen=True)
class Resolution:
    """``(name, version)`` pairs, canonical names, sorted; ``build`` for the project's wheel."""

    pins: tuple[tuple[str, str], ...]
    build: tuple[tuple[str, str], ...] = ()

    def names(self) -> frozenset[str]:
        return frozenset(name for name, _ in self.pins)


@dataclass(frozen=True)
class Failed:
    message: str


def compile_argv(
    uv: str, python: str, day: str | None, index_url: str | None, offline: bool
) -> list[str]:
    """With the flags ``UvBackend.install`` resolves with, so both reach the same answer."""
    flags = uv_resolution_flags(day, index_url, offline)
    quiet = ["--quiet", "--no-header", "--no-annotate"]
    return [uv, "pip", "compile", *flags, *quiet, "--python", python, "-"]  # requirements: stdin


def parse_pins(text: str) -> tuple[tuple[str, str], ...]:
    pins = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        version = next((s.version for s in requirement.specifier if s.operator == "=="), None)
        pins.append((str(canonicalize_name(requirement.name)), version or line))
    return tuple(sorted(pins))


def project_requirements(project: model.Project) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """(build requirements, dependencies) written statically, or None when they cannot be read
    without running the build backend."""
    pyproject = next((f for f in project.files if f.name == "pyproject.toml" and f.is_file()), None)
    if any(f.name == "setup.py" and f.is_file() for f in project.files):
        return None
    if pyproject is None:
        return GENERATED_BUILD, ()
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    table = data.get("project", {})
    if not isinstance(table, dict) or "dependencies" in table.get("dynamic", []):
        return None
    build = data.get("build-system", {}).get("requires", ["setuptools>=40.8.0"])
    return tuple(str(r) for r in build), tuple(str(d) for d in table.get("dependencies", []))


class Resolver:
    """Resolves venv specs as of their day, each at most once, several at a time when asked."""

    def __init__(
        self,
        uv: str,
        python: str,
        env: Mapping[str, str],
        cwd: Path,
        index_url: str | None,
        offline: bool,
        timeout: float = 120.0,
    ) -> None:
        self.uv, self.python, self.env, self.cwd = uv, python, dict(env), cwd
        cwd.mkdir(parents=True, exist_ok=True)
        self.index_url, self.offline, self.timeout = index_url, offline, timeout
        self.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="resolve")
        self.futures: dict[model.VenvSpec, Future[Resolution | Failed]] = {}
        self.guard = threading.Lock()

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)

    def prefetch(self, specs: Sequence[model.VenvSpec]) -> None:
        """Start resolving specs the search may probe next, while the current probe runs."""
        for spec in specs:
            self._future(spec)

    def resolve(self, spec: model.VenvSpec) -> Resolution | Failed:
        return self._future(spec).result()

    def _future(self, spec: model.VenvSpec) -> Future[Resolution | Failed]:
        with self.guard:
            if spec not in self.futures:
                self.futures[spec] = self.pool.submit(self._resolve, spec)
            return self.futures[spec]

    def _resolve(self, spec: model.VenvSpec) -> Resolution | Failed:
        requirements = list(spec.requirements)
        build: tuple[str, ...] = ()
        if spec.project is not None:
            declared = project_requirements(spec.project)
            if declared is None:
                return Failed("the project's requirements are not static")
            build, dependencies = declared
            requirements += dependencies
        pins = self._compile(requirements, spec.date)
        if isinstance(pins, Failed) or not build:
            return pins if isinstance(pins, Failed) else Resolution(pins)
        built_with = self._compile(list(build), spec.date)
        if isinstance(built_with, Failed):
            return built_with
        return Resolution(pins, built_with)

    def _compile(
        self, requirements: Sequence[str], day: str | None
    ) -> tuple[tuple[str, str], ...] | Failed:
        argv = compile_argv(self.uv, self.python, day, self.index_url, self.offline)
        try:
            done = subprocess.run(
                argv,
                input="\n".join(requirements) + "\n",
                env=self.env,
                cwd=self.cwd,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return Failed(f"uv pip compile could not run: {exc}")
        if done.returncode != 0:
            lines = [ln.strip() for ln in done.stderr.splitlines() if ln.strip()]
            return Failed(" | ".join(lines[-3:]) or f"uv pip compile exited {done.returncode}")
        return parse_pins(done.stdout)
