"""Before anything is built: every project and version a scenario names must exist on the index.

A typo (``8.0.7`` for a pytest that never had it, a series ``8.9`` that was never released) would
otherwise read as ``unavailable`` - "not released yet" - on every date, a fact the lab never
measured. So each (package, specifier) is checked against the index once; an answer of "it
exists" is remembered per index in the user's buglab cache, since releases are never taken
back (yanked ones still exist), and warm runs ask nothing. An index that cannot be asked stops
nothing here: the build then says so if it fails.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from buglab import model
from buglab.env import index
from buglab.errors import ScenarioError
from buglab.files import write_atomic

NEAREST = 2  # releases shown on each side of a version that does not exist


@dataclass(frozen=True)
class Named:
    """One version a scenario names, and where: the key an error must point at."""

    source: Path
    key: str
    label: str
    package: str
    specifier: str

    @property
    def fact(self) -> str:
        return f"{canonicalize_name(self.package)} {self.specifier}"


def named_versions(scenario: model.Scenario) -> Iterator[Named]:
    """Version axis values and requirements that carry a specifier."""
    for axis in scenario.axes:
        for i, value in enumerate(axis.values):
            payload = value.payload
            if isinstance(payload, model.Version):
                listed = payload.specifier in (f"=={value.label}", f"=={value.label}.*", "")
                key = f"axes.{axis.name}.values" + (f"[{i}]" if listed else f".{value.label}")
                yield Named(scenario.source, key, value.label, payload.package, payload.specifier)
            elif isinstance(payload, model.Requirements):
                for j, text in enumerate(payload.requirements):
                    yield from _requirement(
                        scenario.source, f"axes.{axis.name}.values.{value.label}[{j}]", text
                    )
    for i, text in enumerate(scenario.requirements):
        yield from _requirement(scenario.source, f"requirements[{i}]", text)


def _requirement(source: Path, key: str, text: str) -> Iterator[Named]:
    """A requirement names a project that must exist, and with a specifier, a release."""
    requirement = Requirement(text)
    if not requirement.url:
        yield Named(source, key, text, requirement.name, str(requirement.specifier))


@dataclass(frozen=True)
class ReleaseCheck:
    cache: Path  # the user's buglab cache (caller.user_cache); answers go in cache/index/
    index_url: str | None
    offline: bool = False
    #: packages built from their source (a commit bisect's): no release of them need exist
    from_source: frozenset[str] = frozenset()

    @property
    def memory(self) -> Path:
        """One file per index: what one index confirmed says nothing of another."""
        which = hashlib.sha256((self.index_url or index.PYPI_SIMPLE).encode()).hexdigest()
        return self.cache / "index" / f"{which[:16]}.json"

    def check(self, scenarios: Sequence[model.Scenario]) -> None:
        """Raise a one-line ScenarioError for the first version that never existed."""
        wanted = [
            n
            for s in scenarios
            for n in named_versions(s)
            if canonicalize_name(n.package) not in self.from_source
        ]
        known = self._confirmed()
        unknown = [n for n in wanted if n.fact not in known]
        if not unknown or self.offline:
            return
        packages = sorted({canonicalize_name(n.package) for n in unknown})
        with ThreadPoolExecutor(max_workers=min(8, len(packages))) as pool:
            answers = dict(zip(packages, pool.map(self._releases, packages)))
        confirmed, problems = set(), []
        for named in unknown:
            releases = answers[canonicalize_name(named.package)]
            if releases is None:
                continue  # the index cannot be asked: the build will say so if it fails
            problem = missing(named, releases)
            if problem:
                problems.append(ScenarioError(named.source, named.key, problem))
            else:
                confirmed.add(named.fact)
        if confirmed:
            self._remember(confirmed)
        if problems:
            raise problems[0]

    def _releases(self, package: str) -> list[Version] | None:
        times = index.release_times(package, self.index_url)
        return None if times is None else sorted(times)

    def _confirmed(self) -> set[str]:
        try:
            return set(json.loads(self.memory.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return set()

    def _remember(self, facts: set[str]) -> None:
        self.memory.parent.mkdir(parents=True, exist_ok=True)
        with _GUARD, FileLock(str(self.memory.with_suffix(".lock"))):
            everything = self._confirmed() | facts
            write_atomic(self.memory, json.dumps(sorted(everything), indent=1))


_GUARD = threading.Lock()


def missing(named: Named, releases: Sequence[Version]) -> str:
    """Why ``named`` matches no release at all, with the nearest real ones; "" if it matches."""
    spec = SpecifierSet(named.specifier)
    if any(index.admits(named.specifier, v) for v in releases):
        return ""
    bare = named.specifier.lstrip("=~<>!").removesuffix(".*")
    shown = repr(named.label) if bare in named.label else f"{named.label!r} ({named.specifier})"
    pre = [v for v in releases if v.is_prerelease and spec.contains(v, prereleases=True)]
    if pre:
        return (
            f"{shown}: {named.package} has only pre-releases there "
            f"({', '.join(str(v) for v in pre[-3:])}); name one, or use a specifier"
        )
    if not releases:
        return f"{shown}: the index has no release of {named.package} at all (a typo?)"
    return (
        f"{shown}: no release of {named.package} matches it on the index; nearest releases: "
        f"{', '.join(str(v) for v in nearest(named, releases))}"
    )


def nearest(named: Named, releases: Sequence[Version]) -> list[Version]:
    """A few final releases either side of where the named version would sort."""
    finals = sorted(v for v in releases if not v.is_prerelease) or sorted(releases)
    anchor = _anchor(named)
    if anchor is None:
        return finals[-NEAREST * 2 :]
    at = bisect.bisect_left(finals, anchor)
    return finals[max(0, at - NEAREST) : at + NEAREST]


def _anchor(named: Named) -> Version | None:
    for item in SpecifierSet(named.specifier):
        try:
            return Version(item.version.removesuffix(".*"))
        except InvalidVersion:
            continue
    return None
