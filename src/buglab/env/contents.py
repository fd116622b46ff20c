"""What a venv holds, recorded when it is published and checked before every use.

A venv is shared by every cell (of every scenario) that asks for the same packages, and cells
run as whatever user runs the lab - as root, no permission stops a cell from writing into its
venv. So the store does not trust a venv, it checks it: at publish time every file, link and
folder is listed (a file by its size and modification time, a link by its target), and a venv
is used only while it still matches its listing. A package deleted, ``bin/python`` removed, a
file edited, a ``.pth`` added: each is a difference, named in one line. Statting the files is
cheap (a few milliseconds for a venv of two thousand files; ``bench`` measures it), so it runs
when a venv is reused.

After a cell the lab asks the kernel instead (:class:`Sentry`): every file and folder of a venv
in use is watched, so "nothing changed" costs one read of an empty queue; any report at all, or
no way to watch, sends the venv through the full listing again.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from buglab.files import naming

try:
    import inotify_simple
except ImportError:  # not Linux: the listing alone, every time
    inotify_simple = None

#: what makes a report: a write, a new, removed or moved entry, changed attributes
WATCHED = (
    0
    if inotify_simple is None
    else inotify_simple.flags.MODIFY
    | inotify_simple.flags.ATTRIB
    | inotify_simple.flags.CREATE
    | inotify_simple.flags.DELETE
    | inotify_simple.flags.DELETE_SELF
    | inotify_simple.flags.MOVED_FROM
    | inotify_simple.flags.MOVED_TO
    | inotify_simple.flags.MOVE_SELF
    | inotify_simple.flags.DONT_FOLLOW
)

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


class Sentry:
    """Tells that nothing in a venv changed since it was last found as listed, without listing it.

    inotify reports a write, a new or removed entry, or changed attributes, for each watched
    folder (its entries) and each watched file (its inode: so an edit through another hard link,
    such as the installer's cache shares between venvs, is seen too). Reports are per watch, and
    a watch may be shared by several venvs, so a report marks every venv holding that inode. The
    answer is only ever "unchanged" or "ask the listing": a venv not watched (no inotify here,
    its limit reached, a file gone while the watches were set), an overflowed queue or any report
    at all means the full check runs, and only a full check that finds the venv as listed makes
    it "unchanged" again. One inotify instance serves a whole run.
    """

    def __init__(self) -> None:
        self.guard = threading.Lock()
        self.notify: inotify_simple.INotify | None = None
        if inotify_simple is not None:
            try:
                self.notify = inotify_simple.INotify()
            except OSError:  # no inotify in this kernel, or no instance left for this user
                self.notify = None
        self.venvs_of: dict[int, set[Path]] = {}
        #: reports per venv so far
        self.reports: Counter[Path] = Counter()
        #: each watched venv: its count of reports when it was last found as listed
        self.settled: dict[Path, int] = {}

    def watch(self, venv: Path) -> None:
        """Watch ``venv`` from now on (before it is checked, so that nothing slips between)."""
        with self.guard:
            if self.notify is None or venv in self.settled:
                return
            try:
                listed = json.loads((venv / LISTING).read_text(encoding="utf-8"))
                paths = [venv, *(venv / p for p, kind in listed.items() if kind[:1] in "fd")]
                watches = [self.notify.add_watch(path, WATCHED) for path in paths]
            except (OSError, ValueError, AttributeError, TypeError):
                return  # watch limit, a file gone, a listing unreadable: the listing decides
            for watch in watches:
                self.venvs_of.setdefault(watch, set()).add(venv)
            self.settled[venv] = self.reports[venv]

    def unchanged(self, venv: Path) -> bool:
        """True only when ``venv`` is watched and nothing was reported since it was settled."""
        with self.guard:
            if venv not in self.settled:
                return False
            self._drain()
            return self.reports[venv] == self.settled[venv]

    def mark(self, venv: Path) -> int:
        """Taken before a full check of ``venv``: how many reports it has had so far."""
        with self.guard:
            if self.settled:
                self._drain()
            return self.reports[venv]

    def confirmed(self, venv: Path, mark: int) -> None:
        """The full check that began at ``mark`` found ``venv`` as listed: the reports before it
        are spent; one that came while it ran (it may have missed that change) is not."""
        with self.guard:
            if venv in self.settled:
                self.settled[venv] = mark

    def forget(self, venv: Path) -> None:
        """``venv`` is out of the store: never answer for it again."""
        with self.guard:
            self.settled.pop(venv, None)

    def _drain(self) -> None:
        assert self.notify is not None
        for event in self.notify.read(timeout=0):
            if event.mask & inotify_simple.flags.Q_OVERFLOW:
                self.reports.update(self.settled)  # every watched venv, once
            else:
                self.reports.update(self.venvs_of.get(event.wd, ()))
