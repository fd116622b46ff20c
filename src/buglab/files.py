"""Files that are never half-written, and locks that say what they wait for.

Every file the lab keeps (results, manifests, answers) is written to a temporary name, flushed
to disk and renamed into place, so a reader, or a run that is killed, never sees half a file.
A lock held by another run is waited for after one line saying so.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from filelock import FileLock, Timeout

Say = Callable[[str], None]


#: a file name made from a cell id stays below every filesystem's limit (255 bytes), with room
#: for a suffix and the temporary names of ``write_atomic``
NAME_BYTES = 200


def bounded_name(name: str) -> str:
    """``name`` (a cell id) as a file name: itself when short enough, else its start and a
    digest of the whole, so that two long ids never share a file."""
    raw = name.encode("utf-8")
    if len(raw) <= NAME_BYTES:
        return name
    digest = hashlib.sha256(raw).hexdigest()[:16]
    start = raw[: NAME_BYTES - len(digest) - 1].decode("utf-8", errors="ignore")
    return f"{start}-{digest}"


def open_log(path: Path, append: bool = True) -> BinaryIO:
    """A log opened for writing that never follows a symbolic link planted at its name (the
    link's target would be overwritten): such a name fails instead."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (os.O_APPEND if append else os.O_TRUNC)
    return os.fdopen(os.open(path, flags, 0o644), "ab")


def no_link_at(path: Path) -> Path:
    """``path`` with a symbolic link found there removed (a log is written under the name, not
    through a link to somewhere else)."""
    if path.is_symlink():
        path.unlink()
    return path


@contextmanager
def naming(path: Path) -> Iterator[None]:
    """An OSError raised inside (a full disk, a size limit) names ``path``, which the one line
    the CLI prints then shows."""
    try:
        yield
    except OSError as exc:
        if exc.filename:
            raise
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with naming(path), temporary.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()


def wait_for(lock: FileLock, what: str, say: Say) -> None:
    """Take ``lock``; if another run holds it, say what we wait for first."""
    try:
        lock.acquire(timeout=0)
    except Timeout:
        say(f"waiting for {what} (held by another buglab run)")
        lock.acquire()


@contextmanager
def held(lock: FileLock, what: str, say: Say) -> Iterator[None]:
    """``lock`` for the length of a ``with`` block, saying so if another process holds it."""
    wait_for(lock, what, say)
    try:
        yield
    finally:
        lock.release()
