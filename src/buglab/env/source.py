"""A package built from one commit of its history, as its own PEP 517 backend builds it.

The wheel is kept in the store's ``wheels/`` beside the project's own, keyed by the commit, the
toolchain date, the interpreter and the installer that made its build environment: a second
bisect over the same commits builds nothing. A commit whose backend refuses to build is
remembered with the reason, so that it is not built again either; a build that failed to get
its build requirements (the network) is tried again next time.
"""

from __future__ import annotations

import secrets
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from buglab.env.backends import InstallRequest, Interpreter
from buglab.env.git import Commit, Repository
from buglab.env.wheels import BuildFailed, ProjectWheels
from buglab.files import write_atomic

FAILED = "regular.failed"


@dataclass(frozen=True)
class CommitWheel:
    """A commit's wheel, or why there is none."""

    path: Path | None
    reason: str = ""  # one line, when there is no wheel
    built: bool = False  # built (or tried) now, rather than found


class CommitWheels:
    def __init__(
        self,
        wheels: ProjectWheels,
        repository: Repository,
        index_url: str | None,
        offline: bool,
    ) -> None:
        self.wheels = wheels
        self.repository = repository
        self.index_url = index_url
        self.offline = offline

    def wheel(
        self,
        commit: Commit,
        interpreter: Interpreter,
        date: str | None,
        log: Path,
        cancel: threading.Event | None = None,
    ) -> CommitWheel:
        """``commit``'s wheel, its build requirements resolved as of ``date``."""
        request = InstallRequest((), None, date, self.index_url, self.offline)
        key = self.wheels.key(f"git:{commit.id}", interpreter, request)
        marker = self.wheels.root / key / FAILED
        with self.wheels.lock(key):
            found = self.wheels.cached(key, editable=False)
            if found is not None:
                return CommitWheel(found)
            if marker.is_file():
                return CommitWheel(None, marker.read_text(encoding="utf-8").strip())
            with log.open("a", encoding="utf-8") as sink:
                sink.write(f"# building {commit.id} ({commit.subject}) with its own backend\n")
            source = self.wheels.root / key / f".source.{secrets.token_hex(4)}"
            source.parent.mkdir(parents=True, exist_ok=True)
            try:
                why = self.repository.checkout(commit, source, log)
                if why:
                    return CommitWheel(None, f"cannot check it out: {why}", built=True)
                built = self.wheels.build(key, source, interpreter, request, False, log, cancel)
                return CommitWheel(built, built=True)
            except BuildFailed as exc:
                reason = f"cannot build: {exc}"
                if exc.lasting:
                    write_atomic(marker, reason + "\n")
                return CommitWheel(None, reason, built=True)
            finally:
                shutil.rmtree(source, ignore_errors=True)
