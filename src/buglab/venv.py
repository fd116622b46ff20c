"""Stage 4: build venvs, or reuse one only when everything that defines it is unchanged.

A venv is built in a fresh folder ``venvs/<key>.<random>`` and published by atomically
pointing the link ``venvs/<key>`` at it once its manifest is written. A folder nobody links
to is an unfinished build: it is never used, and it is swept under the key's lock.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Callable

from filelock import FileLock, Timeout

from buglab import bytecode, index, model, proc
from buglab.backends import (
    Backend,
    InstallRequest,
    Interpreter,
    installer_env,
    site_packages,
    user_cache,
)
from buglab.interpreters import Interpreters
from buglab.store import write_atomic
from buglab.wheels import ProjectWheels

Say = Callable[[str], None]
LAYOUT = 2  # bump when the way venvs are built changes, so old ones are not trusted
MANIFEST = "buglab-venv.json"
KEY_CHARS = 24
IGNORED = {"__pycache__", ".pytest_cache", ".coverage", ".mypy_cache", ".ruff_cache"}
GENERATED_PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "0"
"""


@dataclass(frozen=True)
class Store:
    root: Path

    @property
    def venvs(self) -> Path:
        return self.root / "venvs"

    @property
    def projects(self) -> Path:
        return self.root / "projects"

    @property
    def locks(self) -> Path:
        return self.root / "locks"

    def lock(self, name: str) -> FileLock:
        self.locks.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.locks / f"{name}.lock"))


def wait_for(lock: FileLock, what: str, say: Say) -> None:
    """Take ``lock``; if another run holds it, say what we wait for first."""
    try:
        lock.acquire(timeout=0)
    except Timeout:
        say(f"waiting for {what} (held by another buglab run)")
        lock.acquire()


# -- what defines a venv ---------------------------------------------------------------------


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


def venv_key(
    spec: model.VenvSpec, backend: str, interpreter: Interpreter, project: str | None
) -> str:
    """What is asked for, not where it is fetched from: another index (a mirror, or one that
    cannot be reached) does not invalidate a venv, so warm runs never need the network."""
    fields = {
        "layout": LAYOUT, "backend": backend, "python": [interpreter.executable,
        interpreter.version], "requirements": list(spec.requirements), "date": spec.date,
        "install": spec.install.value, "project": project,
    }  # fmt: skip
    blob = json.dumps(fields, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:KEY_CHARS]


# -- building --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildSettings:
    store: Store
    backend: Backend
    caller: Mapping[str, str]
    index_url: str | None
    offline: bool = False
    timeout: float = 900.0
    rebuild: bool = False

    @property
    def bytecode(self) -> Path:
        """Compiled files are kept per user, like the installer's own cache: they are keyed by
        the installed file, which the installer's cache keeps."""
        return user_cache(self.caller) / "bytecode"


@dataclass(frozen=True)
class Identity:
    key: str
    interpreter: Interpreter
    project: str | None  # digest of the project files, when the project is installed


class Builder:
    """Gives each VenvSpec a complete venv (or the reason it has none); thread-safe."""

    def __init__(self, settings: BuildSettings, interpreters: Interpreters, say: Say) -> None:
        self.settings = settings
        self.interpreters = interpreters
        self.say = say
        self.env = installer_env(settings.caller)
        self.wheels = ProjectWheels(settings.store.root / "wheels", settings.backend, self.env,
                                    settings.timeout)  # fmt: skip
        self.digests: dict[model.Project, str] = {}
        self.guard = threading.Lock()

    def identify(self, spec: model.VenvSpec) -> Identity | str:
        """The venv's key, or why no venv can be made (an interpreter that is not here)."""
        found = self.interpreters.find(spec.python)
        if isinstance(found, str):
            return found
        digest = self.digest(spec.project) if spec.project else None
        key = venv_key(spec, self.settings.backend.name, found, digest)
        return Identity(key, found, digest)

    def digest(self, project: model.Project) -> str:
        with self.guard:
            if project not in self.digests:
                self.digests[project] = project_digest(project)
            return self.digests[project]

    def ensure(
        self, spec: model.VenvSpec, log: Path, cancel: threading.Event | None = None
    ) -> model.BuiltVenv:
        start = time.monotonic()
        identity = self.identify(spec)
        if isinstance(identity, str):
            log.write_text(identity + "\n", encoding="utf-8")
            return model.BuiltVenv("", None, "", (), model.Outcome.ENV_ERROR, identity)
        settings = self.settings
        link = settings.store.venvs / identity.key
        with held(settings.store.lock(f"venv-{identity.key}"), f"venv {identity.key}", self.say):
            if not settings.rebuild:
                known = read_manifest(link, identity.key) or read_unavailable(link, log)
                if known is not None:
                    return replace(known, reused=True, seconds=time.monotonic() - start)
            built = self._not_released(spec, log) or self._build(spec, identity, log, cancel)
            if built.failure is model.Outcome.UNAVAILABLE and spec.date is not None:
                # a series with no release by a past day never gets one: remember, ask no more
                marker = {"key": identity.key, "message": built.message}
                write_atomic(_unavailable(link), json.dumps(marker))
        return replace(built, seconds=time.monotonic() - start)

    def _build(
        self, spec: model.VenvSpec, identity: Identity, log: Path, cancel: threading.Event | None
    ) -> model.BuiltVenv:
        key, interpreter = identity.key, identity.interpreter
        store = self.settings.store
        store.venvs.mkdir(parents=True, exist_ok=True)
        _sweep(store.venvs, key)
        target = store.venvs / f"{key}.{secrets.token_hex(4)}"
        backend = self.settings.backend
        log.write_text(f"# building venv {key} with {backend.name}\n", encoding="utf-8")
        request = self._request(spec, identity, log, cancel)
        steps = [backend.create(target, interpreter)]
        if request.requirements or request.project is not None:
            steps.append(backend.install(target, request))
            # compiled at build time, so that cells never write into the venv they share; each
            # distinct file once for the whole store
            steps.append(compile_bytecode(target, self.settings.bytecode))
        for argv in steps:
            with log.open("a", encoding="utf-8") as sink:
                sink.write("$ " + proc.shown(argv) + "\n")
            done = proc.run(
                argv,
                cwd=store.root,
                env=self.env,
                timeout=self.settings.timeout,
                log=log,
                cancel=cancel,
            )
            if done.returncode != 0:
                shutil.rmtree(target, ignore_errors=True)
                return self._failure(spec, done, log)
        resolved = resolved_versions(target, interpreter.version)
        manifest = {
            "key": key,
            "layout": LAYOUT,
            "backend": backend.name,
            "python": interpreter.version,
            "resolved": dict(resolved),
            "requirements": list(spec.requirements),
            "date": spec.date,
            "install": spec.install.value,
            "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        write_atomic(target / MANIFEST, json.dumps(manifest, indent=2))
        _publish(store.venvs / key, target)
        return model.BuiltVenv(key, store.venvs / key, interpreter.version, resolved)

    def _not_released(self, spec: model.VenvSpec, log: Path) -> model.BuiltVenv | None:
        """A pinned series with no release by a past toolchain date is ``unavailable`` without
        asking the installer to fail first (the index's upload times say so)."""
        if spec.date is None or not spec.pins or self.settings.offline:
            return None
        missing = index.missing_pins(spec.pins, spec.date, self.settings.index_url)
        if not missing:
            return None
        log.write_text(f"# buglab: unavailable: {missing} (the index's upload times)\n",
                       encoding="utf-8")  # fmt: skip
        return model.BuiltVenv("", None, "", (), model.Outcome.UNAVAILABLE, missing)

    def _failure(self, spec: model.VenvSpec, done: proc.Finished, log: Path) -> model.BuiltVenv:
        if done.cancelled:
            return model.BuiltVenv("", None, "", (), model.Outcome.NOT_RUN, "interrupted")
        if done.timed_out:
            message = f"the installer did not finish in {self.settings.timeout:.0f} s"
        else:
            lines = [ln for ln in done.output.splitlines() if ln.strip()]
            message = " | ".join(lines[-3:]) or done.start_error or "the installer failed"
        if self.settings.offline:
            message = f"offline, and the installer's cache cannot satisfy it: {message}"
            return model.BuiltVenv("", None, "", (), model.Outcome.ENV_ERROR, message)
        missing = index.missing_pins(spec.pins, spec.date, self.settings.index_url)
        if missing:
            with log.open("a", encoding="utf-8") as sink:
                sink.write(f"\n# buglab: unavailable: {missing}\n")
            return model.BuiltVenv("", None, "", (), model.Outcome.UNAVAILABLE, missing)
        unasked = [
            pin.requirement
            for pin in spec.pins
            if index.release_times(pin.package, self.settings.index_url) is None
        ]
        if unasked:
            message += f" (the index could not be asked whether {', '.join(unasked)} exists)"
        return model.BuiltVenv("", None, "", (), model.Outcome.ENV_ERROR, message)

    def _request(
        self, spec: model.VenvSpec, identity: Identity, log: Path, cancel: threading.Event | None
    ) -> InstallRequest:
        """What the installer is given: the project as its wheel, built once and reused."""
        request = InstallRequest(
            spec.requirements, None, spec.date, self.settings.index_url, self.settings.offline
        )
        if spec.project is None or identity.project is None:
            return request  # not-installed: the project is only files in the cell's folder
        folder = self._project(spec.project, identity.project)
        editable = spec.install is model.InstallMode.EDITABLE
        wheel = self.wheels.wheel(
            folder, identity.project, identity.interpreter, request, editable, log, cancel
        )
        if wheel is None:  # the installer builds the folder with the same backend
            return replace(request, project=folder, editable=editable)
        return replace(request, requirements=(*request.requirements, str(wheel)))

    def _project(self, project: model.Project, digest: str) -> Path:
        """A content-addressed copy of the project, shared by every venv that installs it."""
        store = self.settings.store
        dest = store.projects / digest[:KEY_CHARS]
        if (dest / "pyproject.toml").exists() or (dest / "setup.py").exists():
            return dest
        store.projects.mkdir(parents=True, exist_ok=True)
        staging = store.projects / f".{digest[:KEY_CHARS]}.{secrets.token_hex(4)}"
        staging.mkdir()
        copy_project(project, staging)
        if not (staging / "pyproject.toml").exists() and not (staging / "setup.py").exists():
            (staging / "pyproject.toml").write_text(
                GENERATED_PYPROJECT.format(name=project.name), encoding="utf-8"
            )
        try:
            staging.rename(dest)
        except OSError:  # another run published the same content first
            shutil.rmtree(staging, ignore_errors=True)
        return dest


@contextmanager
def held(lock: FileLock, what: str, say: Say) -> Iterator[None]:
    """``lock`` for the length of a ``with`` block, saying so if another process holds it."""
    wait_for(lock, what, say)
    try:
        yield
    finally:
        lock.release()


def compile_bytecode(venv: Path, cache: Path) -> list[str]:
    """The venv's interpreter runs ``bytecode.py``, sharing ``.pyc`` files through ``cache``."""
    script = Path(bytecode.__file__).read_text(encoding="utf-8")
    return [str(venv / "bin" / "python"), "-I", "-c", script, str(cache)]


def read_manifest(link: Path, key: str) -> model.BuiltVenv | None:
    """The venv behind ``link`` if it is complete and was built for ``key``."""
    try:
        data = json.loads((link / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if data.get("key") != key or data.get("layout") != LAYOUT or not (link / "bin").is_dir():
        return None
    resolved = tuple(sorted(data["resolved"].items()))
    return model.BuiltVenv(key, link, data["python"], resolved)


def _unavailable(link: Path) -> Path:
    return link.with_name(f"{link.name}.unavailable")


def read_unavailable(link: Path, log: Path) -> model.BuiltVenv | None:
    """A venv an earlier run found impossible for its (past) toolchain date."""
    try:
        data = json.loads(_unavailable(link).read_text(encoding="utf-8"))
        message = str(data["message"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    log.write_text(f"# buglab: unavailable (found by an earlier run): {message}\n",
                   encoding="utf-8")  # fmt: skip
    return model.BuiltVenv(link.name, None, "", (), model.Outcome.UNAVAILABLE, message)


def resolved_versions(venv: Path, python: str) -> tuple[tuple[str, str], ...]:
    found = {"python": python}
    for dist in metadata.distributions(path=[str(p) for p in site_packages(venv)]):
        name = dist.metadata["Name"]
        if name:
            found[name.lower()] = dist.version
    return tuple(sorted(found.items()))


def _publish(link: Path, target: Path) -> None:
    """Point ``link`` at ``target`` in one atomic step, then drop what it pointed at before."""
    previous = link.resolve() if link.is_symlink() else None
    temporary = link.with_name(f".{link.name}.{secrets.token_hex(4)}.link")
    temporary.symlink_to(target.name)
    os.replace(temporary, link)
    if previous is not None and previous != target.resolve():
        shutil.rmtree(previous, ignore_errors=True)


def _sweep(venvs: Path, key: str) -> None:
    """Remove unfinished builds of ``key``: folders the link does not point at."""
    link = venvs / key
    current = link.resolve() if link.is_symlink() else None
    for folder in venvs.glob(f"{key}.*"):
        if folder.is_dir() and not folder.is_symlink() and folder.resolve() != current:
            shutil.rmtree(folder, ignore_errors=True)
    if link.exists() and not link.is_symlink():
        shutil.rmtree(link, ignore_errors=True)
