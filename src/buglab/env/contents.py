"""What a venv holds, recorded when it is published and checked before every use.

A venv is shared by every cell (of every scenario) that asks for the same packages, and cells
run as whatever user runs the lab - as root, no permission stops a cell from writing into its
venv. So the store does not trust a venv, it checks it: at publish time every file, link and
folder is listed (a file by its size and modification time, a link by its target), and a venv
is used only while it still matches its listing. A package deleted, ``bin/python`` removed, a
file edited, a ``.pth`` added: each is a difference, named in one line. Statting the files is
cheap (a few milliseconds for a venv of two thousand files; ``bench`` measures it), so it runs
when a venv is reused and again after every cell that ran in it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from buglab.files import naming

LISTING = "buglab-files.json"
#: the store's own files in a venv, written after the listing
OWN = frozenset({LISTING, "buglab-venv.json"})


def survey(venv: Path) -> dict[str, str]:
    """Every entry under ``venv`` by relative path: ``f SIZE MTIME``, ``l TARGET`` or ``d``."""
    found: dict[str, str] = {}
    folders = [""]
    while folders:
        relative = folders.pop()
        with os.scandir(venv / relative if relative else venv) as entries:
            for entry in entries:
                path = f"{relative}/{entry.name}" if relative else entry.name
                if entry.is_symlink():
                    found[path] = "l " + str(Path(entry.path).readlink())
                elif entry.is_dir(follow_symlinks=False):
                    found[path] = "d"
                    folders.append(path)
                else:
                    stat = entry.stat(follow_symlinks=False)
                    found[path] = f"f {stat.st_size} {stat.st_mtime_ns}"
    for name in OWN:
        found.pop(name, None)
    return found


def record(venv: Path) -> None:
    """List ``venv`` as it is now (called once it is complete, before it is published)."""
    with naming(venv / LISTING):
        (venv / LISTING).write_text(json.dumps(survey(venv)), encoding="utf-8")


@dataclass(frozen=True)
class Change:
    """How a venv differs from its listing; empty when it does not."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()  # files written in place: their inode may be shared
    unreadable: str = ""

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed or self.unreadable)

    def __str__(self) -> str:
        if self.unreadable:
            return self.unreadable
        parts = []
        for word, paths in (
            ("added", self.added),
            ("removed", self.removed),
            ("changed", self.changed),
        ):
            if paths:
                more = f" and {len(paths) - 3} more" if len(paths) > 3 else ""
                parts.append(f"{word} {', '.join(paths[:3])}{more}")
        return "; ".join(parts)


def differences(venv: Path) -> Change:
    """What changed in ``venv`` since it was listed."""
    try:
        listed = json.loads((venv / LISTING).read_text(encoding="utf-8"))
    except FileNotFoundError:
        # built before venvs were listed (keys did not change with the listing, so that results
        # stay byte for byte): built again, once
        return Change(unreadable="it has no listing of its files (built by an older buglab)")
    except (OSError, ValueError) as exc:
        return Change(unreadable=f"its listing of files cannot be read ({exc.__class__.__name__})")
    if not isinstance(listed, dict):
        return Change(unreadable="its listing of files is malformed")
    try:
        now = survey(venv)
    except OSError as exc:
        return Change(unreadable=f"it cannot be read ({exc.strerror or exc})")
    if listed == now:
        return Change()
    return Change(
        added=tuple(sorted(set(now) - set(listed))),
        removed=tuple(sorted(set(listed) - set(now))),
        changed=tuple(sorted(p for p in set(now) & set(listed) if now[p] != listed[p])),
    )
