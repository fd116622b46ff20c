"""The frozen values that flow between the pipeline's stages."""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, Union

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


class Outcome(str, enum.Enum):
    """How one cell ended; the only words the table uses."""

    PASSED = "passed"
    REPRODUCED = "reproduced"
    FAILED = "failed"
    TIMEOUT = "timeout"
    ENV_ERROR = "env-error"
    UNAVAILABLE = "unavailable"
    FLAKY = "flaky"
    NOT_RUN = "not-run"

    def __str__(self) -> str:
        return self.value


#: outcomes a scenario may expect (``not-run`` only ever comes from an interrupted run)
EXPECTABLE = tuple(o for o in Outcome if o is not Outcome.NOT_RUN)


class AxisKind(str, enum.Enum):
    INSTALL = "install"
    VERSION = "version"
    DATE = "date"
    PYTHON = "python"
    REQUIREMENTS = "requirements"
    FLAGS = "flags"
    ENV = "env"

    @property
    def shapes_venv(self) -> bool:
        """Axes that change what is installed make venvs; the others only change the command."""
        return self not in (AxisKind.FLAGS, AxisKind.ENV)

    def __str__(self) -> str:
        return self.value


class InstallMode(str, enum.Enum):
    """How the project under test gets into the venv; each label reads as the command it means."""

    EDITABLE = "editable"  # pip install -e .
    NON_EDITABLE = "non-editable"  # pip install .
    NOT_INSTALLED = "not-installed"  # only files in the cell's folder

    @property
    def installs_project(self) -> bool:
        return self is not InstallMode.NOT_INSTALLED

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Install:
    mode: InstallMode


@dataclass(frozen=True)
class Version:
    package: str
    specifier: str

    @property
    def requirement(self) -> str:
        return f"{self.package}{self.specifier}"


@dataclass(frozen=True)
class Date:
    day: str | None  # ISO date; None means "latest"


@dataclass(frozen=True)
class Python:
    version: str


@dataclass(frozen=True)
class Requirements:
    requirements: tuple[str, ...]


@dataclass(frozen=True)
class Flags:
    argv: tuple[str, ...]


@dataclass(frozen=True)
class Env:
    variables: tuple[tuple[str, str], ...]


Payload = Union[Install, Version, Date, Python, Requirements, Flags, Env]


@dataclass(frozen=True)
class AxisValue:
    label: str
    payload: Payload


@dataclass(frozen=True)
class Axis:
    name: str
    kind: AxisKind
    values: tuple[AxisValue, ...]

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(v.label for v in self.values)


@dataclass(frozen=True)
class Rule:
    """Axis conditions (each a set of allowed labels), for ``[[exclude]]`` and ``[[expect]]``."""

    conditions: tuple[tuple[str, frozenset[str]], ...]
    outcome: Outcome | None = None
    reason: str = ""

    @property
    def is_default(self) -> bool:
        return not self.conditions

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(labels[axis] in allowed for axis, allowed in self.conditions)


@dataclass(frozen=True)
class Project:
    """The project under test: files copied into every cell, and its distribution name."""

    name: str
    root: Path  # the repository root; files are shown relative to it
    files: tuple[Path, ...]  # absolute paths of files or folders


#: ``owner/repo#123``: GitHub's rules for an account name and a repository name
ISSUE_REF = re.compile(
    r"(?P<owner>[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?)/"
    r"(?P<repo>[A-Za-z0-9._-]{1,100})#(?P<number>[1-9][0-9]{0,9})\Z"
)


@dataclass(frozen=True)
class IssueRef:
    """An issue on GitHub (or GitHub Enterprise), written ``owner/repo#123``."""

    owner: str
    repo: str
    number: int

    @classmethod
    def parse(cls, text: str) -> IssueRef:
        """The reference, or ValueError saying what is wrong with ``text``."""
        found = ISSUE_REF.match(text)
        if found is None or found["repo"] in (".", ".."):
            url = re.search(r"([^/\s]+)/([^/\s]+)/(?:issues|pull)/([0-9]+)/?\Z", text)
            hint = f" (write {url[1]}/{url[2]}#{url[3]})" if url else ""
            raise ValueError(
                f"{text!r} is not an issue reference; expected OWNER/REPO#NUMBER{hint}"
            )
        return cls(found["owner"], found["repo"], int(found["number"]))

    def __str__(self) -> str:
        return f"{self.owner}/{self.repo}#{self.number}"


class Found(Protocol):
    def start(self) -> int: ...

    def end(self) -> int: ...


class Signature(Protocol):
    """What the lab searches output for: a pattern as written, and a search that cannot run
    away (RE2, see ``buglab.spec.signature``)."""

    @property
    def pattern(self) -> str: ...

    def search(self, text: str, /) -> Found | None: ...


@dataclass(frozen=True)
class Scenario:
    name: str
    source: Path  # the scenario.toml
    title: str
    description: str
    links: tuple[str, ...]
    requirements: tuple[str, ...]
    command: tuple[str, ...]
    signature: Signature
    timeout: float
    python: str | None
    env: tuple[tuple[str, str], ...]
    passenv: tuple[str, ...]
    show: tuple[str, ...]  # extra packages whose resolved version the table shows
    project: Project
    axes: tuple[Axis, ...]
    excludes: tuple[Rule, ...]
    expects: tuple[Rule, ...]
    upstream: IssueRef | None = None  # the issue the lab's comment goes to (watch)

    def axis(self, name: str) -> Axis:
        return next(a for a in self.axes if a.name == name)

    @property
    def shown_packages(self) -> tuple[str, ...]:
        """The packages a reader wants versions of: those the scenario names, and the project
        itself (shown only where it is installed); canonical names, first mention first."""
        names = [*self.requirements, *self.show]
        if self.project.name:
            names.append(self.project.name)
        for axis in self.axes:
            for value in axis.values:
                if isinstance(value.payload, Version):
                    names.append(value.payload.package)
                elif isinstance(value.payload, Requirements):
                    names.extend(value.payload.requirements)
        return tuple(dict.fromkeys(str(canonicalize_name(Requirement(n).name)) for n in names))


@dataclass(frozen=True)
class VenvSpec:
    """Everything that defines a venv, before the machine is consulted (interpreter, backend)."""

    python: str | None
    requirements: tuple[str, ...]
    date: str | None
    install: InstallMode
    project: Project | None  # set only when the project is installed (editable or not)
    pins: tuple[Version, ...] = ()  # version-axis pins, to tell "unavailable" from "env-error"


@dataclass(frozen=True)
class Cell:
    scenario: str
    id: str
    labels: tuple[tuple[str, str], ...]  # (axis, label) in axis order
    venv: VenvSpec
    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    expected: Outcome | None

    @functools.cached_property
    def label_map(self) -> Mapping[str, str]:
        """The labels by axis (``labels`` keeps them in axis order, and hashable)."""
        return dict(self.labels)


@dataclass(frozen=True)
class BuiltVenv:
    """A venv that is complete on disk, or the reason it could not be built."""

    key: str
    path: Path | None
    python_version: str
    resolved: tuple[tuple[str, str], ...]
    failure: Outcome | None = None  # ENV_ERROR or UNAVAILABLE
    message: str = ""
    seconds: float = 0.0
    reused: bool = False  # found complete in the store (or known unavailable), not built now


@dataclass(frozen=True)
class RunRecord:
    """What the run stage saw of one process; classification is separate and pure."""

    returncode: int | None
    timed_out: bool
    output: str
    seconds: float
    log: str
    cancelled: bool = False


@dataclass(frozen=True)
class CellResult:
    id: str
    labels: tuple[tuple[str, str], ...]
    resolved: tuple[tuple[str, str], ...]
    outcome: Outcome
    expected: Outcome | None
    returncode: int | None
    seconds: float
    log: str
    detail: str = ""
    fingerprint: str = ""
    venv: str = ""  # the key of the venv the cell ran in
    excerpt: str = ""  # the lines of output that matter, paths replaced by <cell> and <venv>
    runs: tuple[Outcome, ...] = ()  # each run's outcome, when the cell was run more than once
    measured: str = ""  # when the run that measured this cell started (ISO, UTC)
    inputs_changed: bool = False  # kept from an earlier run whose inputs differ from today's

    @functools.cached_property
    def label_map(self) -> Mapping[str, str]:
        return dict(self.labels)

    @functools.cached_property
    def versions(self) -> Mapping[str, str]:
        """What its venv held, by package (and ``python``); empty when no venv was built."""
        return dict(self.resolved)

    @property
    def as_expected(self) -> bool:
        return self.expected is None or self.expected is self.outcome

    @property
    def ran(self) -> bool:
        return self.outcome is not Outcome.NOT_RUN


@dataclass(frozen=True)
class MatrixResult:
    scenario: str
    title: str
    command: tuple[str, ...]
    venv_axes: tuple[str, ...]
    command_axes: tuple[str, ...]
    axis_labels: tuple[tuple[str, tuple[str, ...]], ...]
    cells: tuple[CellResult, ...]
    meta: tuple[tuple[str, str], ...] = field(default=())
    axis_kinds: tuple[tuple[str, str], ...] = ()  # (axis, kind), e.g. ("toolchain", "date")

    @property
    def contradictions(self) -> tuple[CellResult, ...]:
        return tuple(c for c in self.cells if not c.as_expected and c.ran)

    @functools.cached_property
    def meta_map(self) -> Mapping[str, str]:
        return dict(self.meta)

    @functools.cached_property
    def labels_by_axis(self) -> Mapping[str, tuple[str, ...]]:
        return dict(self.axis_labels)

    @functools.cached_property
    def kind_by_axis(self) -> Mapping[str, str]:
        return dict(self.axis_kinds)

    @property
    def started(self) -> str:
        return self.meta_map.get("started", "")

    @property
    def carried(self) -> tuple[CellResult, ...]:
        """Cells this run did not measure, kept from an earlier run (with its date)."""
        return tuple(c for c in self.cells if c.ran and c.measured and c.measured != self.started)

    def axes_of_kind(self, kind: AxisKind) -> tuple[str, ...]:
        return tuple(name for name, k in self.axis_kinds if k == kind.value)
