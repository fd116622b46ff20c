"""The project's own wheels, editable and regular, each built once per project, date and Python.

pip and uv call the project's build backend on every install of a folder (1-2 s each here). A
wheel depends only on the project's files (which the store keeps content-addressed), the build
requirements as of the toolchain date and the interpreter, so one build environment per such
key makes both kinds, each at most once, and every venv with that key installs the same file.
The backend is still the project's real one, called through PEP 517 and PEP 660 by
``pyproject_hooks``, exactly as ``pip install .`` and ``pip install -e .`` call it.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import shutil
import sys
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from filelock import FileLock
from pyproject_hooks import BuildBackendHookCaller

from buglab.env import proc
from buglab.env.backends import Backend, InstallRequest, Interpreter

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

#: PEP 517's answer for a project without a [build-system] table
LEGACY = (["setuptools>=40.8.0"], "setuptools.build_meta:__legacy__", None)


class BuildFailed(Exception):
    """The wheel could not be made here; the installer then builds the folder itself.

    ``lasting``: the project's own backend refused (the same files will fail again), rather
    than its build environment failing to install (which the network may explain)."""

    def __init__(self, message: str, lasting: bool = False) -> None:
        super().__init__(message)
        self.lasting = lasting


class BuildStopped(BuildFailed):
    """A build step cut short (the deadline, or a cancel): nothing is learnt about the files."""


@dataclass(frozen=True)
class ProjectWheels:
    root: Path  # the store's wheels/ folder
    backend: Backend
    env: Mapping[str, str]
    timeout: float

    def key(self, digest: str, interpreter: Interpreter, request: InstallRequest) -> str:
        """What a wheel depends on: the files (by digest), the toolchain date, the interpreter
        and the installer that makes its build environment."""
        parts = [digest, str(request.date), interpreter.executable, interpreter.version]
        return hashlib.sha256("\0".join([*parts, self.backend.name]).encode()).hexdigest()[:24]

    def lock(self, key: str) -> FileLock:
        """Held while a wheel of ``key`` is looked for or built: one builder at a time."""
        self.root.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.root / f"{key}.lock"))

    def cached(self, key: str, editable: bool) -> Path | None:
        kind = "editable" if editable else "regular"
        found = sorted((self.root / key / kind).glob("*.whl"))
        return found[0] if found else None

    def wheel(
        self,
        project: Path,
        digest: str,
        interpreter: Interpreter,
        request: InstallRequest,
        editable: bool,
        log: Path,
        cancel: threading.Event | None,
    ) -> Path | None:
        """The cached wheel of ``project``, building it if needed; None when it cannot be."""
        key = self.key(digest, interpreter, request)
        with self.lock(key):
            found = self.cached(key, editable)
            if found is not None:
                return found
            try:
                return self.build(key, project, interpreter, request, editable, log, cancel)
            except BuildFailed as exc:
                kind = "editable" if editable else "regular"
                with log.open("a", encoding="utf-8") as sink:
                    sink.write(f"# no {kind} wheel ({exc}); the installer builds the folder\n")
                return None

    def build(
        self,
        key: str,
        project: Path,
        interpreter: Interpreter,
        request: InstallRequest,
        editable: bool,
        log: Path,
        cancel: threading.Event | None,
    ) -> Path:
        """Build the wheel of ``key`` from ``project`` (the caller holds ``lock(key)``);
        raises :class:`BuildFailed`."""
        folder = self.root / key
        folder.mkdir(parents=True, exist_ok=True)
        kind = "editable" if editable else "regular"
        return self._build(folder, kind, project, interpreter, request, log, cancel)

    def _build(
        self,
        folder: Path,
        kind: str,
        project: Path,
        interpreter: Interpreter,
        request: InstallRequest,
        log: Path,
        cancel: threading.Event | None,
    ) -> Path:
        requires, backend, backend_path = build_system(project)
        env = self._build_env(folder, requires, interpreter, request, log, cancel)

        def runner(
            cmd: Sequence[str],
            cwd: str | None = None,
            extra_environ: Mapping[str, str] | None = None,
        ) -> None:
            try:
                self._run(list(cmd), Path(cwd or project), log, cancel, extra_environ or {})
            except BuildStopped:
                raise
            except BuildFailed as exc:  # the backend itself failed: it will again
                raise BuildFailed(str(exc), lasting=True) from None

        hooks = BuildBackendHookCaller(
            str(project),
            backend,
            backend_path,
            runner=runner,
            python_executable=str(env / "bin" / "python"),
        )
        staging = folder / f".{kind}.{secrets.token_hex(4)}"
        staging.mkdir()
        try:
            if kind == "editable":
                extra = _quietly(hooks.get_requires_for_build_editable, log)
                self._install(env, extra, request, log, cancel)
                name = _quietly(lambda: hooks.build_editable(str(staging)), log)
            else:
                extra = _quietly(hooks.get_requires_for_build_wheel, log)
                self._install(env, extra, request, log, cancel)
                name = _quietly(lambda: hooks.build_wheel(str(staging)), log)
            with contextlib.suppress(OSError):  # the lock makes this the only builder
                staging.rename(folder / kind)
            return folder / kind / name
        except BuildFailed:
            raise
        except Exception as exc:  # the backend's own errors: missing hook, bad config
            raise BuildFailed(f"{type(exc).__name__}: {exc}", lasting=True) from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _build_env(
        self,
        folder: Path,
        requires: list[str],
        interpreter: Interpreter,
        request: InstallRequest,
        log: Path,
        cancel: threading.Event | None,
    ) -> Path:
        """The isolated build environment, made once and published whole by a rename."""
        env = folder / "env"
        if (env / "bin" / "python").exists():
            return env
        staging = folder / f".env.{secrets.token_hex(4)}"
        try:
            self._run(self.backend.create(staging, interpreter), folder, log, cancel)
            self._install(staging, requires, request, log, cancel, cwd=folder)
            staging.rename(env)  # only bin/python is used, and it does not mind the move
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return env

    def _install(
        self,
        env: Path,
        requires: Sequence[str],
        request: InstallRequest,
        log: Path,
        cancel: threading.Event | None,
        cwd: Path | None = None,
    ) -> None:
        if requires:
            wanted = InstallRequest(
                tuple(requires), None, request.date, request.index_url, request.offline
            )
            self._run(self.backend.install(env, wanted), cwd or env, log, cancel)

    def _run(
        self,
        argv: list[str],
        cwd: Path,
        log: Path,
        cancel: threading.Event | None,
        extra: Mapping[str, str] | None = None,
    ) -> None:
        with log.open("a", encoding="utf-8") as sink:
            sink.write("$ " + proc.shown_argv(argv) + "\n")
        done = proc.run(
            argv,
            cwd=cwd,
            env={**self.env, **(extra or {})},
            timeout=self.timeout,
            log=log,
            cancel=cancel,
        )
        if done.cancelled or done.timed_out:
            why = "interrupted" if done.cancelled else f"no end in {self.timeout:.0f} s"
            raise BuildStopped(f"{Path(argv[0]).name}: {why}")
        if done.returncode != 0:
            lines = [line.strip() for line in done.output.splitlines() if line.strip()]
            last = f": {lines[-1]}" if lines else ""
            raise BuildFailed(f"{Path(argv[0]).name} exited with {done.returncode}{last}")


_WARNINGS = threading.Lock()
T = TypeVar("T")


def _quietly(hook: Callable[[], T], log: Path) -> T:
    """Call a hook, sending the backend's warnings (which ``pyproject_hooks`` re-raises in this
    process, like setuptools' "Editable installation" banner) to the build log, not the
    terminal. Warning filters are global, hence the lock."""
    with _WARNINGS, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            return hook()
        finally:
            if caught:
                with log.open("a", encoding="utf-8") as sink:
                    for warning in caught:
                        sink.write(f"# {warning.category.__name__}: {warning.message}\n")


def build_system(project: Path) -> tuple[list[str], str, list[str] | None]:
    """The project's [build-system]: requirements, backend, backend-path."""
    try:
        data = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return LEGACY
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise BuildFailed(f"pyproject.toml: {exc}", lasting=True) from None
    table = data.get("build-system")
    if not isinstance(table, dict) or "build-backend" not in table:
        return LEGACY
    requires = [str(r) for r in table.get("requires", [])]
    path = table.get("backend-path")
    return requires, str(table["build-backend"]), [str(p) for p in path] if path else None
