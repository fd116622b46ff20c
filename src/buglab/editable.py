"""Editable wheels, built once per project, toolchain date and interpreter.

uv and pip call the project's build backend for every editable install (1-2 s each here). The
wheel the backend makes only points at the project folder, and the store keeps that folder
content-addressed, so one wheel serves every venv with the same project, date and interpreter.
The backend is still the project's real one, called through PEP 660 by ``pyproject_hooks``.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import shutil
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock
from pyproject_hooks import BuildBackendHookCaller

from buglab import proc
from buglab.backends import Backend, InstallRequest, Interpreter

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

#: PEP 517's answer for a project without a [build-system] table
LEGACY = (["setuptools>=40.8.0"], "setuptools.build_meta:__legacy__", None)


class BuildFailed(Exception):
    """The wheel could not be made here; the caller falls back to a plain editable install."""


@dataclass(frozen=True)
class EditableWheels:
    root: Path  # the store's editables/ folder
    backend: Backend
    env: Mapping[str, str]
    timeout: float

    def wheel(
        self,
        project: Path,
        digest: str,
        interpreter: Interpreter,
        request: InstallRequest,
        log: Path,
        cancel: threading.Event | None,
    ) -> Path | None:
        """The cached editable wheel of ``project``, building it if needed; None on failure."""
        key = hashlib.sha256(
            "\0".join([digest, str(request.date), interpreter.executable, interpreter.version,
                       self.backend.name]).encode()
        ).hexdigest()[:24]  # fmt: skip
        folder = self.root / key
        self.root.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.root / f"{key}.lock")):
            found = sorted(folder.glob("*.whl")) if folder.is_dir() else []
            if found:
                return found[0]
            return self._publish(folder, project, interpreter, request, log, cancel)

    def _publish(self, folder: Path, project: Path, interpreter: Interpreter,
                 request: InstallRequest, log: Path, cancel: threading.Event | None
                 ) -> Path | None:  # fmt: skip
        staging = self.root / f".{folder.name}.{secrets.token_hex(4)}"
        staging.mkdir()
        try:
            name = self._build(project, staging, interpreter, request, log, cancel)
            with contextlib.suppress(OSError):  # another run published the same wheel first
                (staging / "wheel").rename(folder)
            return folder / name if (folder / name).exists() else None
        except BuildFailed as exc:
            with log.open("a", encoding="utf-8") as sink:
                sink.write(f"# no cached editable wheel ({exc}); installing the folder\n")
            return None
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _build(
        self,
        project: Path,
        staging: Path,
        interpreter: Interpreter,
        request: InstallRequest,
        log: Path,
        cancel: threading.Event | None,
    ) -> str:
        requires, backend, backend_path = build_system(project)
        env = staging / "env"
        self._run(self.backend.create(env, interpreter), staging, log, cancel)
        self._install(env, requires, request, staging, log, cancel)

        def runner(
            cmd: Sequence[str],
            cwd: str | None = None,
            extra_environ: Mapping[str, str] | None = None,
        ) -> None:
            self._run(list(cmd), Path(cwd or project), log, cancel, extra_environ or {})

        hooks = BuildBackendHookCaller(
            str(project),
            backend,
            backend_path,
            runner=runner,
            python_executable=str(env / "bin" / "python"),
        )
        try:
            extra = list(hooks.get_requires_for_build_editable())
            self._install(env, extra, request, staging, log, cancel)
            (staging / "wheel").mkdir()
            return hooks.build_editable(str(staging / "wheel"))
        except BuildFailed:
            raise
        except Exception as exc:  # the backend's own errors: missing hook, bad config
            raise BuildFailed(f"{type(exc).__name__}: {exc}") from None

    def _install(
        self,
        env: Path,
        requires: list[str],
        request: InstallRequest,
        cwd: Path,
        log: Path,
        cancel: threading.Event | None,
    ) -> None:
        if requires:
            wanted = InstallRequest(
                tuple(requires), None, request.date, request.index_url, request.offline
            )
            self._run(self.backend.install(env, wanted), cwd, log, cancel)

    def _run(
        self,
        argv: list[str],
        cwd: Path,
        log: Path,
        cancel: threading.Event | None,
        extra: Mapping[str, str] | None = None,
    ) -> None:
        with log.open("a", encoding="utf-8") as sink:
            sink.write("$ " + " ".join(argv) + "\n")
        done = proc.run(
            argv,
            cwd=cwd,
            env={**self.env, **(extra or {})},
            timeout=self.timeout,
            log=log,
            cancel=cancel,
        )
        if done.returncode != 0:
            raise BuildFailed(f"{argv[0]} exited with {done.returncode}")


def build_system(project: Path) -> tuple[list[str], str, list[str] | None]:
    """The project's [build-system]: requirements, backend, backend-path."""
    try:
        data = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return LEGACY
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise BuildFailed(f"pyproject.toml: {exc}") from None
    table = data.get("build-system")
    if not isinstance(table, dict) or "build-backend" not in table:
        return LEGACY
    requires = [str(r) for r in table.get("requires", [])]
    path = table.get("backend-path")
    return requires, str(table["build-backend"]), [str(p) for p in path] if path else None
