"""The venv store: each venv published whole under its key, and found again only if complete.

A venv is built in a fresh folder ``venvs/<key>.<random>`` and published by atomically
pointing the link ``venvs/<key>`` at it once its manifest and its listing of files
(:mod:`buglab.env.contents`) are written. A folder nobody links to is an unfinished build, or
one replaced (``--rebuild``) or found changed: it is never used again, and it is swept under the
key's lock - but only once no run holds it. A run holds every venv it uses (a shared lock on
``<folder>.users``) until it ends, so a venv is never pulled from under a running cell.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from filelock import FileLock

from buglab import model
from buglab.env.backends import Interpreter

LAYOUT = 2  # bump when the way venvs are built changes, so old ones are not trusted
MANIFEST = "buglab-venv.json"
KEY_CHARS = 24


def venv_store(root: Path, given: Path | None = None) -> Path:
    """Where venvs and wheels are kept: ``--store``, else the repository's ``.buglab/``."""
    return given or root / ".buglab"


@dataclass(frozen=True)
class VenvStore:
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


def venv_key(
    spec: model.VenvSpec, backend: str, interpreter: Interpreter, project: str | None
) -> str:
    """What is asked for, not where it is fetched from: another index (a mirror, or one that
    cannot be reached) does not invalidate a venv, so warm runs never need the network."""
    fields = {
        "layout": LAYOUT,
        "backend": backend,
        "python": [interpreter.executable, interpreter.version],
        "requirements": list(spec.requirements),
        "date": spec.date,
        "install": spec.install.value,
        "project": project,
    }
    blob = json.dumps(fields, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:KEY_CHARS]


def read_manifest(link: Path, key: str) -> model.BuiltVenv | str | None:
    """The venv behind ``link`` (by its real folder) if it was built for ``key``; None when
    there is none; why not, when its manifest is not one the store wrote."""
    if not link.is_symlink():
        return None
    folder = link.resolve()
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "its manifest is missing"
    except (OSError, ValueError) as exc:
        return f"its manifest cannot be read ({exc.__class__.__name__})"
    try:
        if data["key"] != key or data["layout"] != LAYOUT:
            return None  # built for another key or an older layout: not trusted
        resolved = tuple(sorted((str(k), str(v)) for k, v in data["resolved"].items()))
        python = str(data["python"])
    except (KeyError, TypeError, AttributeError):
        return "its manifest is malformed"
    return model.BuiltVenv(key, folder, python, resolved)


def unavailable_marker(link: Path) -> Path:
    return link.with_name(f"{link.name}.unavailable")


def read_unavailable(link: Path, log: Path) -> model.BuiltVenv | None:
    """A venv an earlier run found impossible for its (past) toolchain date."""
    try:
        data = json.loads(unavailable_marker(link).read_text(encoding="utf-8"))
        message = str(data["message"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    log.write_text(
        f"# buglab: unavailable (found by an earlier run): {message}\n", encoding="utf-8"
    )
    return model.BuiltVenv(link.name, None, "", (), model.Outcome.UNAVAILABLE, message)


def publish(link: Path, target: Path) -> None:
    """Point ``link`` at ``target`` in one atomic step; what it pointed at before is retired."""
    previous = link.resolve() if link.is_symlink() else None
    temporary = link.with_name(f".{link.name}.{secrets.token_hex(4)}.link")
    temporary.symlink_to(target.name)
    os.replace(temporary, link)
    if previous is not None and previous != target.resolve():
        remove_unused(previous)


def unpublish(link: Path, folder: Path) -> None:
    """Take ``folder`` out of the store (it was found changed): the next use builds anew."""
    if link.is_symlink() and link.resolve() == folder:
        link.unlink()
    remove_unused(folder)


def users(folder: Path) -> Path:
    return folder.with_name(f"{folder.name}.users")


def hold(folder: Path) -> IO[bytes]:
    """A shared lock on ``folder`` for as long as the returned file is open (or the process
    lives): no other run removes it meanwhile."""
    handle = users(folder).open("a+b")
    fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
    return handle


def remove_unused(folder: Path) -> bool:
    """Remove ``folder`` unless a run holds it; True when it is gone."""
    marker = users(folder)
    try:
        handle = marker.open("a+b")
    except OSError:
        return False
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # in use: swept by a later build of the key
        shutil.rmtree(folder, ignore_errors=True)
        marker.unlink(missing_ok=True)
    return True


def sweep(venvs: Path, key: str) -> None:
    """Remove unfinished, replaced and changed builds of ``key`` that no run holds."""
    link = venvs / key
    current = link.resolve() if link.is_symlink() else None
    for folder in venvs.glob(f"{key}.*"):
        if folder.is_dir() and not folder.is_symlink() and folder.resolve() != current:
            remove_unused(folder)
    if link.exists() and not link.is_symlink():
        shutil.rmtree(link, ignore_errors=True)
