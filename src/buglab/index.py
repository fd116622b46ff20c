"""Asking the package index which releases existed by a date (PEP 691 JSON, PEP 700 times).

Used only after an install failed, to tell ``unavailable`` (no release of that series yet)
from ``env-error`` (anything else): never on the path of a warm run.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import urllib.error
import urllib.request
from collections.abc import Iterable

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from buglab import model
from buglab.backends import cutoff

PYPI_SIMPLE = "https://pypi.org/simple"
ACCEPT = "application/vnd.pypi.simple.v1+json"


def missing_pins(pins: Iterable[model.Version], day: str | None, index_url: str | None) -> str:
    """A sentence naming the first pin with no release by ``day``; "" if all exist or unknown."""
    limit = dt.datetime.fromisoformat(cutoff(day).replace("Z", "+00:00")) if day else None
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


def release_times(package: str, index_url: str | None) -> dict[Version, dt.datetime | None] | None:
    """Each release and its first upload time, or None when the index cannot be read.

    Asked once per run and package (the answer is kept for the life of the process)."""
    found = _release_times(str(canonicalize_name(package)), index_url)
    return None if found is None else dict(found)


@functools.lru_cache(maxsize=512)
def _release_times(
    package: str, index_url: str | None
) -> tuple[tuple[Version, dt.datetime | None], ...] | None:
    base = (index_url or PYPI_SIMPLE).rstrip("/")
    request = urllib.request.Request(
        f"{base}/{canonicalize_name(package)}/", headers={"Accept": ACCEPT}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            data = json.load(response)
    except (OSError, ValueError, urllib.error.URLError):
        return None
    times: dict[Version, dt.datetime | None] = {}
    for version in data.get("versions", []):
        try:
            times[Version(version)] = None
        except InvalidVersion:
            continue
    for item in data.get("files", []):
        version = _version_of(item.get("filename", ""), package)
        stamp = item.get("upload-time")
        if version is None or version not in times or not stamp:
            continue
        when = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        seen = times[version]
        times[version] = when if seen is None or when < seen else seen
    return tuple(times.items())


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
