"""Which interpreter a venv is made from: ``python3.X`` found on the caller's PATH, then in
pyenv's versions (whose shims may not select it), each probed once per run."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

from buglab.env.backends import Interpreter

_PROBE = (
    "import os, sys, platform; print(os.path.realpath(sys.executable)); "
    "print(platform.python_version())"
)


class Interpreters:
    """Finds ``python3.X`` on the caller's PATH once per run."""

    def __init__(self, caller: Mapping[str, str]) -> None:
        self.caller = caller
        self.found: dict[str | None, Interpreter | str] = {}
        self.guard = threading.Lock()

    def find(self, version: str | None) -> Interpreter | str:
        with self.guard:
            if version not in self.found:
                self.found[version] = self._probe(version)
            return self.found[version]

    def _probe(self, version: str | None) -> Interpreter | str:
        if version is None:
            return Interpreter(os.path.realpath(sys.executable), platform.python_version())
        tried = []
        for path in self._candidates(version):
            found = _run_probe(path, version, self.caller)
            if isinstance(found, Interpreter):
                return found
            tried.append(found)
        if not tried:
            return (
                f"Python {version} is not installed here (no python{version} on PATH or in pyenv)"
            )
        return tried[0]

    def _candidates(self, version: str) -> list[str]:
        """``python3.X`` on PATH first, then pyenv's installs (its shims may not select them)."""
        name = f"python{version}"
        found = [shutil.which(name, path=self.caller.get("PATH", os.defpath))]
        pyenv = Path(self.caller.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
        installs = [p for p in pyenv.glob(f"{version}.*/bin/{name}") if p.is_file()]
        found += [str(p) for p in sorted(installs, key=_patch_level, reverse=True)]
        return list(dict.fromkeys(p for p in found if p))


def _patch_level(path: Path) -> tuple[int, ...]:
    text = path.parent.parent.name
    return tuple(int(part) if part.isdigit() else -1 for part in text.split("."))


def _run_probe(path: str, version: str, caller: Mapping[str, str]) -> Interpreter | str:
    env = {k: v for k, v in caller.items() if not k.startswith("PYTHON")}
    try:
        out = subprocess.run(
            [path, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"Python {version} ({path}) could not be started: {exc}"
    lines = out.stdout.split()
    if out.returncode != 0 or len(lines) != 2 or not lines[1].startswith(version + "."):
        detail = (out.stderr.strip().splitlines() or ["no output"])[-1].strip()
        return f"Python {version} ({path}) is not usable: {detail}"
    return Interpreter(lines[0], lines[1])
