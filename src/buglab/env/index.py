"""Asking the package index about a project's releases (PEP 691 JSON, PEP 700 upload times).

Used after an install failed, to tell ``unavailable`` (no release of that series yet) from
``env-error`` (anything else), and by bisection, to list the releases worth probing (files,
``requires-python``, yanks). Never on the path of a warm matrix run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from buglab import model
from buglab.env.dates import cutoff_time

PYPI_SIMPLE = "https://pypi.org/simple"
ACCEPT = "application/vnd.pypi.simple.v1+json"


def missing_pins(pins: Iterable[model.Version], day: str | None, index_url: str | None) -> str:
    """A sentence naming the first pin with no release by ``day``; "" if all exist or unknown."""
    limit = cutoff_time(day) if day else None
    for pin in pins:
        uploads = release_times(pin.package, index_url)
        if uploads is None:
            continue  # the index cannot tell; the failure stays an env-error
        fits = [
            v
            for v, when in uploads.items()
            if admits(pin.specifier, v) and (limit is None or when is None or when < limit)
        ]
        if not fits:
            when = f" by {day}" if day else ""
            return f"no release of {pin.package}{pin.specifier}{when}"
    return ""


def admits(specifier: str, version: Version) -> bool:
    """Whether the installer takes ``version`` for ``specifier``: pre-releases only where the
    specifier names one (uv's ``--prerelease explicit``, which the lab uses)."""
    spec = SpecifierSet(specifier)
    return spec.contains(version, prereleases=any(_is_pre(item.version) for item in spec))


def _is_pre(text: str) -> bool:
    try:
        return Version(text.removesuffix(".*")).is_prerelease
    except InvalidVersion:
        return False


@dataclass(frozen=True)
class Dist:
    """One file of a release, as the index lists it."""

    filename: str
    uploaded: dt.datetime | None  # PEP 700 upload-time
    requires_python: str | None
    yanked: str | None  # None: not yanked; otherwise the reason ("" when none was given)

    @property
    def is_sdist(self) -> bool:
        return not self.filename.endswith(".whl")


@dataclass(frozen=True)
class Release:
    version: Version
    files: tuple[Dist, ...]

    @property
    def uploaded(self) -> dt.datetime | None:
        """The first upload of any of its files."""
        times = [f.uploaded for f in self.files if f.uploaded is not None]
        return min(times) if times else None

    @property
    def yanked(self) -> bool:
        """PEP 592 yanks files; a release is yanked when every file is."""
        return bool(self.files) and all(f.yanked is not None for f in self.files)

    @property
    def yanked_reason(self) -> str:
        return next((f.yanked for f in self.files if f.yanked), "")

    @property
    def requires_python(self) -> str | None:
        return next((f.requires_python for f in self.files if f.requires_python), None)


#: seconds to wait for the index before the lab says it does not answer
INDEX_TIMEOUT = 10.0
_UNANSWERED: dict[str, str] = {}


def not_answering(index_url: str | None) -> str:
    """How the index failed to answer in this process ("" if it did, or was never asked)."""
    return _UNANSWERED.get((index_url or PYPI_SIMPLE).rstrip("/"), "")


def releases(package: str, index_url: str | None) -> tuple[Release, ...] | None:
    """Every release the index lists, oldest version first; None when it cannot be read.

    Asked once per run and package (the answer is kept for the life of the process)."""
    return _releases(str(canonicalize_name(package)), index_url)


@functools.lru_cache(maxsize=512)
def _releases(package: str, index_url: str | None) -> tuple[Release, ...] | None:
    base = (index_url or PYPI_SIMPLE).rstrip("/")
    import urllib.request  # only when the index is asked: warm runs never are

    request = urllib.request.Request(
        f"{base}/{canonicalize_name(package)}/", headers={"Accept": ACCEPT}
    )
    import urllib.error

    try:
        with urllib.request.urlopen(request, timeout=INDEX_TIMEOUT) as response:
            data = json.load(response)
    except urllib.error.HTTPError as exc:
        return () if exc.code == 404 else None  # 404: the index has no such project
    except TimeoutError:
        _UNANSWERED[base] = f"did not answer within {INDEX_TIMEOUT:.0f} s"
        return None
    except OSError as exc:  # URLError is an OSError
        if isinstance(getattr(exc, "reason", None), TimeoutError):
            _UNANSWERED[base] = f"did not answer within {INDEX_TIMEOUT:.0f} s"
        return None
    except ValueError:
        return None
    return parse_project(data, package) if isinstance(data, dict) else None


def project_info(package: str, index_url: str | None) -> Mapping[str, Any] | None:
    """The project's metadata (``info``) from the JSON API beside the simple index (PyPI's
    ``/pypi/NAME/json``), or None when there is none or it cannot be read."""
    base = (index_url or PYPI_SIMPLE).rstrip("/")
    if not base.endswith("/simple"):
        return None
    import urllib.request

    url = f"{base.removesuffix('/simple')}/pypi/{canonicalize_name(package)}/json"
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            data = json.load(response)
    except (OSError, ValueError):
        return None
    info = data.get("info") if isinstance(data, dict) else None
    return info if isinstance(info, dict) else None


def parse_project(data: Mapping[str, Any], package: str) -> tuple[Release, ...]:
    """A PEP 691 project page as releases; versions listed without files have none."""
    files: dict[Version, list[Dist]] = {}
    for version in data.get("versions", []):
        with contextlib.suppress(InvalidVersion):
            files.setdefault(Version(version), [])
    for item in data.get("files", []):
        version = _version_of(str(item.get("filename", "")), package)
        if version is None:
            continue
        stamp = item.get("upload-time")
        yanked = item.get("yanked", False)
        files.setdefault(version, []).append(
            Dist(
                filename=str(item["filename"]),
                uploaded=_time(stamp) if isinstance(stamp, str) and stamp else None,
                requires_python=item.get("requires-python") or None,
                yanked=None if yanked is False else (yanked if isinstance(yanked, str) else ""),
            )
        )
    return tuple(Release(v, tuple(found)) for v, found in sorted(files.items()))


def _time(stamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def release_times(package: str, index_url: str | None) -> dict[Version, dt.datetime | None] | None:
    """Each release and its first upload time, or None when the index cannot be read."""
    found = releases(package, index_url)
    return None if found is None else {r.version: r.uploaded for r in found}


def _version_of(filename: str, package: str) -> Version | None:
    stem = filename
    for suffix in (".whl", ".tar.gz", ".zip", ".tar.bz2", ".egg"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    parts = stem.split("-")
    for i in range(1, len(parts)):
        if canonicalize_name("-".join(parts[:i])) == canonicalize_name(package):
            try:
                return Version(parts[i])
            except InvalidVersion:
                return None
    return None
