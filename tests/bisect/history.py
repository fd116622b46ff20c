"""A small real git history of a package, for commit bisects: ``tinybug``, built by its own
in-tree PEP 517 backend (no build requirement, so nothing is fetched to build it).

The history (``make_history``), oldest first, on ``main``:

- ``v0.1.0``: the first commit, and ten more direct commits;
- a pull request (#7, four commits, branched after the fifth) merged with a merge commit; its
  third commit breaks the greeting (``TINYBUG-SIGNATURE``);
- fifteen more direct commits, the third of which cannot be built (its version is not a
  version) and the fourth of which repairs that; ``v0.2.0`` on the last;
- a squashed pull request (#31) that restores the greeting, then four more, the last of which
  says the version is 0.2.1; ``v0.2.1``.

With ``bug_after_broken``, the greeting is broken instead by the direct commit right after the
one that cannot be built (and the pull request changes nothing): a skip at the boundary.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

BACKEND = '''\
"""tinybug's own build backend: a pure-Python wheel of the tinybug/ folder."""
import base64, hashlib, pathlib, re, zipfile


def get_requires_for_build_wheel(config_settings=None):
    return []


def _line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    version = pathlib.Path("VERSION").read_text().strip()
    if not re.fullmatch(r"[0-9]+([.][0-9]+)*", version):
        raise ValueError(f"VERSION {version!r} is not a version")
    info = f"tinybug-{version}.dist-info"
    files = {p.as_posix(): p.read_bytes() for p in sorted(pathlib.Path("tinybug").glob("*.py"))}
    metadata = f"Metadata-Version: 2.1\\nName: tinybug\\nVersion: {version}\\n"
    files[f"{info}/METADATA"] = metadata.encode()
    tags = "Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
    files[f"{info}/WHEEL"] = tags.encode()
    record = [_line(name, data) for name, data in files.items()] + [f"{info}/RECORD,,"]
    name = f"tinybug-{version}-py3-none-any.whl"
    with zipfile.ZipFile(pathlib.Path(wheel_directory) / name, "w") as wheel:
        for member, data in files.items():
            wheel.writestr(member, data)
        wheel.writestr(f"{info}/RECORD", "\\n".join(record) + "\\n")
    return name
'''
PYPROJECT = """\
[build-system]
requires = []
build-backend = "tinybuild"
backend-path = ["_build"]
"""
GOOD = 'def greet():\n    return "hello"\n'
BAD = 'def greet():\n    return "TINYBUG-SIGNATURE: the greeting is gone"\n'
START = 1_704_103_200  # 2024-01-01 10:00 UTC: every commit an hour after the one before

SCENARIO = """
title = "tinybug's greeting"
description = "a throwaway scenario for commit bisects"
requirements = ["tinybug"]
command = ["python", "check.py"]
signature = "TINYBUG-SIGNATURE"
timeout = 60

[project]
files = ["check.py"]
"""
CHECK = "import tinybug\nprint(tinybug.greet())\n"


@dataclass
class History:
    path: Path
    ids: dict[str, str] = field(default_factory=dict)  # a role ("bug", "broken", ...) -> id
    count: int = 0

    def git(self, *args: str) -> str:
        stamp = f"@{START + 3600 * self.count} +0000"
        env = {
            **os.environ,
            "GIT_AUTHOR_NAME": "Ada Tester",
            "GIT_AUTHOR_EMAIL": "ada@example.org",
            "GIT_COMMITTER_NAME": "Ada Tester",
            "GIT_COMMITTER_EMAIL": "ada@example.org",
            "GIT_AUTHOR_DATE": stamp,
            "GIT_COMMITTER_DATE": stamp,
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "GIT_CONFIG_NOSYSTEM": "1",
        }
        done = subprocess.run(
            ["git", "-C", str(self.path), *args],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        return done.stdout.strip()

    def commit(self, subject: str, files: dict[str, str] | None = None, role: str = "") -> str:
        self.count += 1
        for name, text in (files or {"NOTES.txt": f"note {self.count}\n"}).items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            before = target.read_text() if name == "NOTES.txt" and target.exists() else ""
            target.write_text(before + text)
        self.git("add", "-A")
        self.git("commit", "--quiet", "-m", subject)
        found = self.git("rev-parse", "HEAD")
        if role:
            self.ids[role] = found
        return found


def make_history(folder: Path, bug_after_broken: bool = False) -> History:
    h = History(folder)
    folder.mkdir(parents=True)
    h.git("init", "--quiet", "--initial-branch=main")
    h.commit(
        "Start tinybug",
        {
            "pyproject.toml": PYPROJECT,
            "_build/tinybuild.py": BACKEND,
            "VERSION": "0.1.0\n",
            "tinybug/__init__.py": "from tinybug.greeting import greet\n",
            "tinybug/greeting.py": GOOD,
            "NOTES.txt": "",
        },
        role="start",
    )
    h.git("tag", "v0.1.0")
    for n in range(1, 11):
        h.commit(f"Note {n}")
        if n == 5:
            branch_at = h.git("rev-parse", "HEAD")
    h.git("checkout", "--quiet", "-b", "feature", branch_at)
    for n in range(1, 5):
        breaks = n == 3 and not bug_after_broken
        files = {"tinybug/greeting.py": BAD} if breaks else {"FEATURE.txt": f"step {n}\n"}
        h.commit(f"Feature step {n}", files, role="bug" if breaks else f"step{n}")
    h.git("checkout", "--quiet", "main")
    h.count += 1
    h.git(
        "merge",
        "--quiet",
        "--no-ff",
        "feature",
        "-m",
        "Merge pull request #7 from ada/feature",
    )
    h.ids["merge"] = h.git("rev-parse", "HEAD")
    for n in range(1, 16):
        if n == 3:
            h.commit("Try a new version scheme", {"VERSION": "0.2-dev!\n"}, role="broken")
        elif n == 4:
            files = {"VERSION": "0.2.0\n"}
            if bug_after_broken:
                files["tinybug/greeting.py"] = BAD
            h.commit("Back to plain versions (#12)", files, role="repaired")
        else:
            h.commit(f"More notes {n}")
    h.git("tag", "v0.2.0")
    h.commit("Restore the greeting (#31)", {"tinybug/greeting.py": GOOD}, role="fix")
    for n in range(1, 4):
        h.commit(f"Last notes {n}")
    h.commit("Release 0.2.1", {"VERSION": "0.2.1\n"})
    h.git("tag", "v0.2.1")
    return h
