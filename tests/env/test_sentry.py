"""After a cell, the kernel's word that its venv is unchanged: never "unchanged" after a change.

Real folders and real inotify (the lab's own Linux); each change below is one a cell could make.
The sentry may only ever answer "unchanged" or "ask the full listing", so each test checks that a
change makes it ask, and that the full listing then names the change.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from buglab.env import contents

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="inotify is Linux's")


def fake_venv(root: Path) -> Path:
    venv = root / "venv"
    site = venv / "lib" / "python3" / "site-packages"
    (site / "six").mkdir(parents=True)
    (site / "six" / "__init__.py").write_text("VERSION = 1\n")
    (venv / "bin").mkdir()
    (venv / "bin" / "python").write_text("#!/bin/sh\n")
    contents.record(venv)
    return venv


@pytest.fixture
def sentry() -> contents.Sentry:
    watcher = contents.Sentry()
    if watcher.notify is None:
        pytest.skip("no inotify instance available here")
    return watcher


def test_reading_a_venv_is_no_change(tmp_path: Path, sentry: contents.Sentry) -> None:
    venv = fake_venv(tmp_path)
    sentry.watch(venv)
    for path in venv.rglob("*"):
        if path.is_file():
            path.read_bytes()
        path.stat()
    assert sentry.unchanged(venv)


def site(venv: Path) -> Path:
    return venv / "lib" / "python3" / "site-packages"


def add_pth(venv: Path) -> None:
    (site(venv) / "zz.pth").write_text("import os\n")


def edit_in_place(venv: Path) -> None:
    with (site(venv) / "six" / "__init__.py").open("a") as handle:
        handle.write("EDITED = True\n")


def remove_python(venv: Path) -> None:
    (venv / "bin" / "python").unlink()


def new_folder(venv: Path) -> None:
    (site(venv) / "evil").mkdir()


def touch(venv: Path) -> None:
    os.utime(venv / "bin" / "python", (0, 0))


@pytest.mark.parametrize(
    "change", [add_pth, edit_in_place, remove_python, new_folder, touch], ids=lambda f: f.__name__
)
def test_every_change_is_reported(tmp_path: Path, sentry: contents.Sentry, change: object) -> None:
    venv = fake_venv(tmp_path)
    sentry.watch(venv)
    assert sentry.unchanged(venv)
    assert callable(change)
    change(venv)
    assert not sentry.unchanged(venv)
    assert contents.differences(venv)  # and the full listing names it
    assert not sentry.unchanged(venv)  # a report stays until a full check confirms the venv


def test_an_edit_through_another_hard_link_is_reported(
    tmp_path: Path, sentry: contents.Sentry
) -> None:
    """The installer's cache and other venvs share a file's inode: an edit there is an edit here."""
    venv = fake_venv(tmp_path)
    elsewhere = tmp_path / "cache-copy.py"
    os.link(site(venv) / "six" / "__init__.py", elsewhere)
    contents.record(venv)
    sentry.watch(venv)
    assert sentry.unchanged(venv)
    with elsewhere.open("a") as handle:
        handle.write("EDITED = True\n")
    assert not sentry.unchanged(venv)


def test_a_confirmed_venv_is_unchanged_again(tmp_path: Path, sentry: contents.Sentry) -> None:
    venv = fake_venv(tmp_path)
    sentry.watch(venv)
    touch_file = site(venv) / "six" / "__init__.py"
    stat = touch_file.stat()
    touch_file.write_text("VERSION = 1\n")  # the same bytes, the same times: as listed
    os.utime(touch_file, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert not sentry.unchanged(venv)
    mark = sentry.mark(venv)
    assert not contents.differences(venv)
    sentry.confirmed(venv, mark)
    assert sentry.unchanged(venv)


def test_a_change_during_the_full_check_is_not_forgiven(
    tmp_path: Path, sentry: contents.Sentry
) -> None:
    """The listing may have passed the file before it changed: that report stands."""
    venv = fake_venv(tmp_path)
    sentry.watch(venv)
    touch(venv)
    assert not sentry.unchanged(venv)
    mark = sentry.mark(venv)
    listed = contents.differences(venv)  # sees the touch
    add_pth(venv)  # ... and then, as if while it ran, another change
    sentry.confirmed(venv, mark)
    assert listed
    assert not sentry.unchanged(venv)


def test_a_venv_it_cannot_watch_is_always_checked(tmp_path: Path, sentry: contents.Sentry) -> None:
    venv = fake_venv(tmp_path)
    (venv / contents.LISTING).unlink()
    sentry.watch(venv)
    assert not sentry.unchanged(venv)
    other = fake_venv(tmp_path / "other")
    sentry.watch(other)
    sentry.forget(other)
    assert not sentry.unchanged(other)
