"""The venv store: each venv published whole under its key, and found again only if complete.

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
from dataclasses import dataclass
from pathlib import Path

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
    """Point ``link`` at ``target`` in one atomic step, then drop what it pointed at before."""
    previous = link.resolve() if link.is_symlink() else None
    temporary = link.with_name(f".{link.name}.{secrets.token_hex(4)}.link")
    temporary.symlink_to(target.name)
    os.replace(temporary, link)
    if previous is not None and previous != target.resolve():
        shutil.rmtree(previous, ignore_errors=True)


def sweep(venvs: Path, key: str) -> None:
    """Remove unfinished builds of ``key``: folders the link does not point at."""
    link = venvs / key
    current = link.resolve() if link.is_symlink() else None
    for folder in venvs.glob(f"{key}.*"):
        if folder.is_dir() and not folder.is_symlink() and folder.resolve() != current:
            shutil.rmtree(folder, ignore_errors=True)
    if link.exists() and not link.is_symlink():
        shutil.rmtree(link, ignore_errors=True)
