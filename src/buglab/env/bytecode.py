"""Byte-compile a venv's site-packages, sharing every ``.pyc`` with the venvs that hold the
same file.

Run by the venv's own interpreter (so stdlib only, Python 3.9+), as
``python -I -c SOURCE CACHE``: it compiles that interpreter's site-packages.

uv links each installed file from its cache, so venvs that install the same wheel hold the same
file (same inode, same mtime); a ``.pyc`` records its source's mtime and size, and the
interpreter corrects the file name in the code on load, so one compiled copy is valid in every
venv that holds that file. Compiling each distinct file once, instead of once per venv, is most
of what building many venvs of the same packages costs. A file is known by its mtime, size and
a CRC of its bytes; a cached ``.pyc`` is linked into place (copied where links fail). Venvs are
never left half-compiled in a way that matters: a missing ``.pyc`` is only a slower import.
"""

from __future__ import annotations

import importlib.util
import os
import py_compile
import shutil
import sys
import sysconfig
import zlib
from pathlib import Path


def _key(path: Path) -> str:
    stat = path.stat()
    crc = zlib.crc32(path.read_bytes())
    return f"{stat.st_mtime_ns:x}-{stat.st_size:x}-{crc:08x}"


def _place(source: Path, cache: Path) -> bool:
    """Give ``source`` its ``.pyc``; True when it had to be compiled here."""
    target = Path(importlib.util.cache_from_source(str(source)))
    if target.exists():
        return False
    shared = cache / f"{_key(source)}.pyc"
    compiled = False
    if not shared.exists():
        temporary = shared.with_name(f"{shared.name}.{os.getpid()}.tmp")
        try:
            py_compile.compile(str(source), cfile=str(temporary), doraise=True)
        except (py_compile.PyCompileError, OSError, ValueError):
            return False  # not valid on this Python (a vendored py2 file): imported never
        os.replace(temporary, shared)
        compiled = True
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(shared, target)
    except FileExistsError:
        pass
    except OSError:
        shutil.copyfile(shared, target)
    return compiled


def compile_site_packages(cache: str) -> int:
    paths = sysconfig.get_paths()
    folders = sorted({paths["purelib"], paths["platlib"]})
    tagged = Path(cache) / (sys.implementation.cache_tag or "python")
    tagged.mkdir(parents=True, exist_ok=True)
    compiled = linked = 0
    for folder in folders:
        for top, dirs, files in os.walk(folder):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for name in files:
                if name.endswith(".py"):
                    if _place(Path(top) / name, tagged):
                        compiled += 1
                    else:
                        linked += 1
    print(f"bytecode: {compiled} files compiled, {linked} shared or skipped")
    return 0


if __name__ == "__main__":
    sys.exit(compile_site_packages(sys.argv[1]))
