"""Stage 4: build venvs, or reuse one only when everything that defines it is unchanged.

The store (:mod:`buglab.env.venvs`) publishes each venv whole under its key; this module decides
what a venv is (its key), builds it with the chosen backend and the project's own wheel, and
says why when it cannot (``env-error``, or ``unavailable`` from the index's upload times).
"""

from __future__ import annotations

import contextlib
import json
import secrets
import shutil
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import IO, Callable

from buglab import model
from buglab.env import bytecode, contents, index, proc
from buglab.env.backends import Backend, InstallRequest, Interpreter, site_packages
from buglab.env.caller import installer_env, user_cache
from buglab.env.interpreters import Interpreters
from buglab.env.project import GENERATED_PYPROJECT, copy_project, project_digest
from buglab.env.venvs import (
    KEY_CHARS,
    LAYOUT,
    MANIFEST,
    VenvStore,
    hold,
    publish,
    read_manifest,
    read_unavailable,
    sweep,
    unavailable_marker,
    unpublish,
    venv_key,
)
from buglab.env.wheels import ProjectWheels
from buglab.files import held, naming, write_atomic

Say = Callable[[str], None]


# -- building --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildSettings:
    store: VenvStore
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
        self.wheels = ProjectWheels(
            settings.store.root / "wheels", settings.backend, self.env, settings.timeout
        )
        self.digests: dict[model.Project, str] = {}
        self.guard = threading.Lock()
        #: venvs this run uses, held until it ends (``--rebuild`` elsewhere leaves them be)
        self.held: dict[Path, IO[bytes]] = {}
        #: venvs found changed after a cell: never handed out again
        self.changed: set[Path] = set()
        #: says after a cell, at the cost of reading an empty queue, that its venv is unchanged
        self.sentry = contents.Sentry()

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
        with naming(log):  # a full disk names the log the build could not write
            return self._ensure(spec, log, cancel)

    def _ensure(
        self, spec: model.VenvSpec, log: Path, cancel: threading.Event | None
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
                known = self._reusable(link, identity.key, log)
                if known is not None:
                    return replace(known, reused=True, seconds=time.monotonic() - start)
            built = self._not_released(spec, log) or self._build(spec, identity, log, cancel)
            if built.failure is model.Outcome.UNAVAILABLE and spec.date is not None:
                # a series with no release by a past day never gets one: remember, ask no more
                marker = {"key": identity.key, "message": built.message}
                write_atomic(unavailable_marker(link), json.dumps(marker))
            if built.path is not None:
                self._hold(built.path)
        return replace(built, seconds=time.monotonic() - start)

    def _reusable(self, link: Path, key: str, log: Path) -> model.BuiltVenv | None:
        """The stored venv if it is still exactly what was published (its files as listed, its
        packages as its manifest says), read from the venv itself; else it is taken out of the
        store, saying why, and None (build it)."""
        known = read_manifest(link, key)
        if known is None:
            return read_unavailable(link, log)
        change = contents.Change(unreadable=known) if isinstance(known, str) else None
        if isinstance(known, model.BuiltVenv):
            assert known.path is not None
            # watched before the check: a change while it runs is reported, not missed
            self.sentry.watch(known.path)
            change = contents.differences(known.path)
            if not change:
                found = resolved_versions(known.path, known.python_version)
                if found == known.resolved:
                    self._hold(known.path)
                    return replace(known, resolved=found)
                change = contents.Change(unreadable="its packages are not those it was built with")
        self.say(f"venv {key}: {change}; it is not used again, building it anew")
        with log.open("a", encoding="utf-8") as sink:
            sink.write(f"# buglab: the stored venv {key} changed ({change}); building it anew\n")
        folder = link.resolve()
        self.sentry.forget(folder)
        if change is not None and change.changed:
            self._purge(folder, change.changed)
        unpublish(link, folder)
        return None

    def damage(self, built: model.BuiltVenv) -> contents.Change:
        """What changed in ``built`` since it was published (empty if nothing), after every cell
        that ran in it: the kernel's word when it has nothing to report, else the full check."""
        if built.path is None or self.sentry.unchanged(built.path):
            return contents.Change()
        mark = self.sentry.mark(built.path)
        change = contents.differences(built.path)
        if not change:
            self.sentry.confirmed(built.path, mark)
        return change

    def _purge(self, folder: Path, changed: tuple[str, ...]) -> None:
        """Files written in place may be links to the installer's cache and the shared
        bytecode, which would hand the same edit to the next build: the packages they belong to
        leave the installer's cache, their compiled files the bytecode cache."""
        inodes, shared = set(), []
        for relative in changed:
            with contextlib.suppress(OSError):
                stat = (folder / relative).stat()
                if stat.st_nlink > 1:  # written in place through a link the caches share
                    inodes.add(stat.st_ino)
                    shared.append(relative)
        if not shared:
            return
        for cached in self.settings.bytecode.glob("*/*.pyc"):
            with contextlib.suppress(OSError):
                if cached.stat().st_ino in inodes:
                    cached.unlink()
        owners = owning_distributions(folder, tuple(shared))
        uv = getattr(self.settings.backend, "uv", None)
        if owners and uv:
            self.say(f"the installer's cache of {', '.join(owners)} is cleaned (a file changed)")
            argv = [uv, "cache", "clean", *owners]
            log = folder.with_name(f"{folder.name}.purge.log")
            proc.run(argv, cwd=self.settings.store.root, env=self.env, timeout=300, log=log)
            log.unlink(missing_ok=True)

    def discarded(self, built: model.BuiltVenv) -> bool:
        """Whether ``built`` was found changed after a cell (a later cell needs a new one)."""
        return built.path in self.changed

    def discard(self, built: model.BuiltVenv, change: contents.Change) -> None:
        """``built`` changed under a cell: out of the store, so that no later cell (of this run
        or another) gets it; the next ``ensure`` builds it anew."""
        assert built.path is not None
        with held(self.settings.store.lock(f"venv-{built.key}"), f"venv {built.key}", self.say):
            if built.path in self.changed:
                return
            self.changed.add(built.path)
            self.sentry.forget(built.path)
            if change.changed:
                self._purge(built.path, change.changed)
            unpublish(self.settings.store.venvs / built.key, built.path)

    def _hold(self, folder: Path) -> None:
        with self.guard:
            if folder not in self.held:
                self.held[folder] = hold(folder)

    def _build(
        self, spec: model.VenvSpec, identity: Identity, log: Path, cancel: threading.Event | None
    ) -> model.BuiltVenv:
        key, interpreter = identity.key, identity.interpreter
        store = self.settings.store
        store.venvs.mkdir(parents=True, exist_ok=True)
        sweep(store.venvs, key)
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
                sink.write("$ " + proc.shown_argv(argv) + "\n")
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
        contents.record(target)
        write_atomic(target / MANIFEST, json.dumps(manifest, indent=2))
        self.sentry.watch(target)  # not yet published: nothing else can have changed it
        publish(store.venvs / key, target)
        return model.BuiltVenv(key, target, interpreter.version, resolved)

    def _not_released(self, spec: model.VenvSpec, log: Path) -> model.BuiltVenv | None:
        """A pinned series with no release by a past toolchain date is ``unavailable`` without
        asking the installer to fail first (the index's upload times say so)."""
        if spec.date is None or not spec.pins or self.settings.offline:
            return None
        missing = index.missing_pins(spec.pins, spec.date, self.settings.index_url)
        if not missing:
            return None
        log.write_text(
            f"# buglab: unavailable: {missing} (the index's upload times)\n", encoding="utf-8"
        )
        return model.BuiltVenv("", None, "", (), model.Outcome.UNAVAILABLE, missing)

    def _failure(self, spec: model.VenvSpec, done: proc.Finished, log: Path) -> model.BuiltVenv:
        if done.cancelled:
            return model.BuiltVenv("", None, "", (), model.Outcome.NOT_RUN, "interrupted")
        if done.timed_out:
            message = f"the installer did not finish in {self.settings.timeout:.0f} s"
        else:
            lines = [ln for ln in done.output.splitlines() if ln.strip()]
            message = " | ".join(lines[-3:]) or done.start_error or "the installer failed"
            if "timed out" in done.output:
                where = self.settings.index_url or index.PYPI_SIMPLE
                message = f"the index {where} did not answer in time: {message}"
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


def compile_bytecode(venv: Path, cache: Path) -> list[str]:
    """The venv's interpreter runs ``bytecode.py``, sharing ``.pyc`` files through ``cache``."""
    script = Path(bytecode.__file__).read_text(encoding="utf-8")
    return [str(venv / "bin" / "python"), "-I", "-c", script, str(cache)]


def owning_distributions(venv: Path, files: tuple[str, ...]) -> list[str]:
    """The distributions whose RECORD lists any of ``files`` (paths relative to ``venv``)."""
    wanted = {(venv / f).resolve() for f in files}
    owners = []
    for dist in metadata.distributions(path=[str(p) for p in site_packages(venv)]):
        located = {Path(str(dist.locate_file(entry))).resolve() for entry in dist.files or ()}
        if located & wanted and dist.metadata["Name"]:
            owners.append(dist.metadata["Name"])
    return sorted(set(owners))


def resolved_versions(venv: Path, python: str) -> tuple[tuple[str, str], ...]:
    found = {"python": python}
    for dist in metadata.distributions(path=[str(p) for p in site_packages(venv)]):
        name = dist.metadata["Name"]
        if name:
            found[name.lower()] = dist.version
    return tuple(sorted(found.items()))
