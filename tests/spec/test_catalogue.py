"""A catalogue of malformed scenarios and command lines, run through ``buglab matrix``.

The format promises that a bad scenario stops the lab before any venv is built, with one line
naming the file, the dotted key and the problem. Every case here builds a throwaway repository,
breaks one thing in an otherwise valid scenario, and holds the CLI to that promise: exit
status 2, one line on stderr, no traceback, no venv store and no results folder.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import pytest
from packaging.version import Version

from buglab.cli import main
from buglab.lab import workflow

NAME = "demo"
PREFIX = "buglab: error: "

Doc = dict[str, Any]
Edit = Callable[[Doc], None]
Setup = Callable[["Lab"], None]


# -- a minimal valid scenario, and the edits that break it -----------------------------------


def base() -> Doc:
    """Valid, and touching every part of the format, so that each case breaks exactly one."""
    return {
        "title": "A throwaway scenario for the catalogue",
        "description": "Broken one key at a time by the catalogue of malformed inputs.",
        "links": ["https://example.org/issue/1"],
        "upstream": "example-org/demo.py#12",
        "requirements": ["pytest", "sqlalchemy"],
        "command": ["pytest", "{flags}", "test.py"],
        "signature": "AssertionError: boom",
        "timeout": 30,
        "python": "3.11",
        "env": {"SOME_VAR": "1"},
        "passenv": ["HOME"],
        "project": {"name": "package", "files": ["../../package", "../../test.py"]},
        "axes": {
            "install": {"kind": "install", "values": ["editable", "non-editable"]},
            "sqlalchemy": {"kind": "version", "values": ["1.4", "2.0"]},
            "toolchain": {"kind": "date", "values": ["2023-12-10", "latest"]},
            "python": {"kind": "python", "values": ["3.9", "3.12"]},
            "extra": {
                "kind": "requirements",
                "values": {"plain": [], "flask": ["flask-sqlalchemy==3.1.*"]},
            },
            "warnings": {"kind": "flags", "values": {"on": ["-Wignore"], "off": []}},
            "core": {
                "kind": "env",
                "values": {"default": {}, "sysmon": {"COVERAGE_CORE": "sysmon"}},
            },
        },
        "exclude": [{"python": "3.9", "core": "sysmon", "reason": "sys.monitoring is 3.12+"}],
        "expect": [
            {"outcome": "passed"},
            {"outcome": "reproduced", "install": "editable", "warnings": "on"},
        ],
    }


def toml_value(value: object) -> str:
    """Inline TOML; JSON string escapes are valid TOML basic-string escapes."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        pairs = (f"{toml_value(k)} = {toml_value(v)}" for k, v in value.items())
        return "{" + ", ".join(pairs) + "}"
    raise TypeError(f"no TOML for {value!r}")


def to_toml(doc: Doc) -> str:
    """One ``key = inline value`` line per top-level key (arrays of inline tables for rules)."""
    return "".join(f"{toml_value(key)} = {toml_value(value)}\n" for key, value in doc.items())


def _parent(doc: Doc, dotted: str) -> tuple[Any, str]:
    *parents, last = dotted.split(".")
    node: Any = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node, last


def put(dotted: str, value: object) -> Edit:
    """Set a key (``expect.1.outcome`` indexes a list); the key need not exist yet."""

    def edit(doc: Doc) -> None:
        node, last = _parent(doc, dotted)
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return edit


def drop(dotted: str) -> Edit:
    def edit(doc: Doc) -> None:
        node, last = _parent(doc, dotted)
        del node[int(last) if isinstance(node, list) else last]

    return edit


def rename(dotted: str, new: str) -> Edit:
    """A misspelt key: same value, other name, same place."""

    def edit(doc: Doc) -> None:
        node, last = _parent(doc, dotted)
        node[new] = node.pop(last)

    return edit


# -- the throwaway repository ----------------------------------------------------------------


@dataclass(frozen=True)
class Lab:
    """A repository in tmp_path, with the store and results folders the CLI is pointed at."""

    tmp: Path

    @property
    def repo(self) -> Path:
        return self.tmp / "repo"

    @property
    def store(self) -> Path:
        return self.tmp / "store"

    @property
    def results(self) -> Path:
        return self.tmp / "results"

    @property
    def outside(self) -> Path:
        """A folder next to the repository: anything a scenario reaches here is a leak."""
        return self.tmp / "outside"

    def folder(self, name: str = NAME) -> Path:
        return self.repo / "scenarios" / name

    def toml(self, name: str = NAME) -> Path:
        """The path as the CLI prints it: under the resolved ``--root``."""
        return self.repo.resolve() / "scenarios" / name / "scenario.toml"

    def write(self, content: str | bytes, name: str = NAME) -> None:
        path = self.folder(name) / "scenario.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")

    def matrix(self, *args: str, names: Sequence[str] = (NAME,)) -> int:
        return main(
            [
                "--root",
                str(self.repo),
                "matrix",
                *names,
                *args,
                "--store",
                str(self.store),
                "--results",
                str(self.results),
            ]
        )


class ReachedTheVenvStage(AssertionError):
    """Raised instead of building a venv: validation let a broken scenario through."""


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Lab:
    """The repository, and a guard so that a case the engine wrongly accepts builds nothing."""
    made = Lab(tmp_path)
    (made.repo / "package").mkdir(parents=True)
    (made.repo / "package" / "__init__.py").write_text("", encoding="utf-8")
    (made.repo / "test.py").write_text("def test_ok():\n    pass\n", encoding="utf-8")
    made.outside.mkdir()
    (made.outside / "secret.py").write_text("SECRET = 1\n", encoding="utf-8")

    def refuse(*args: object, **kwargs: object) -> None:
        raise ReachedTheVenvStage("validation passed: the matrix went on to the venv store")

    monkeypatch.setattr(workflow, "Execution", refuse)
    return made


def error_line(capsys: pytest.CaptureFixture[str], lab: Lab) -> str:
    """The one line on stderr, after checking that nothing else happened."""
    out, err = capsys.readouterr()
    assert out == ""
    assert "Traceback" not in err
    shown = err
    assert shown.count("\n") == 1 and shown.endswith("\n"), f"not one line: {err!r}"
    assert shown.startswith(PREFIX), shown
    assert not lab.store.exists(), "a venv store was created"
    assert not lab.results.exists(), "a results folder was created"
    return shown.rstrip("\n")


# -- scenario files that must be refused -----------------------------------------------------


@dataclass(frozen=True)
class Case:
    key: str | None  # the dotted key the line names; None: the file as a whole
    problem: str  # a substring of what the line says is wrong
    edits: tuple[Edit, ...] = ()
    text: str | bytes | None = None  # raw file content instead of the edited base
    setup: Setup | None = None


Marks = Union[pytest.MarkDecorator, tuple[pytest.MarkDecorator, ...]]


def case(
    doc: str,
    key: str | None,
    problem: str,
    *edits: Edit,
    text: str | bytes | None = None,
    setup: Setup | None = None,
    marks: Marks = (),
) -> Any:
    return pytest.param(Case(key, problem, edits, text, setup), id=doc, marks=marks)


def link_in_scenario(lab: Lab) -> None:
    """A file in the scenario folder that is a symlink to a file outside the repository."""
    lab.folder().mkdir(parents=True, exist_ok=True)
    (lab.folder() / "link.py").symlink_to(lab.outside / "secret.py")


def link_in_package(lab: Lab) -> None:
    (lab.repo / "package" / "evil.py").symlink_to(lab.outside / "secret.py")


def local_test_file(lab: Lab) -> None:
    lab.folder().mkdir(parents=True, exist_ok=True)
    (lab.folder() / "test.py").write_text("", encoding="utf-8")


CONTRADICTION = [
    {"outcome": "passed"},
    {"outcome": "reproduced", "install": "editable"},
    {"outcome": "failed", "warnings": "on"},
]
SAME_CELLS = [
    {"outcome": "passed"},
    {"outcome": "reproduced", "install": "editable"},
    {"outcome": "failed", "install": ["editable"]},
]

CASES = [
    # the file as a whole
    case(
        "TOML syntax error is reported with its line",
        None,
        "invalid TOML: ",
        text=to_toml(base()) + 'oops = "no closing quote\n',
    ),
    case(
        "a key given twice is invalid TOML",
        None,
        "Cannot overwrite a value",
        text=to_toml(base()) + 'title = "again"\n',
    ),
    case(
        "a file that is not UTF-8 is refused, not decoded",
        None,
        "not UTF-8 text",
        text=to_toml(base()).encode() + b"# caf\xe9\n",
    ),
    # top-level keys: types and values
    case(
        "title given as a number", "title", "expected a string, got an integer 7", put("title", 7)
    ),
    case("title that is only blanks", "title", "must not be empty", put("title", "  ")),
    case(
        "title on two lines, though the format says one line",
        "title",
        "one line",
        put("title", "first line\nsecond line"),
    ),
    case(
        "description given as a list",
        "description",
        "expected a string, got a list",
        put("description", ["a", "b"]),
    ),
    case(
        "links given as one string",
        "links",
        "expected a list of strings, got a string",
        put("links", "https://example.org"),
    ),
    case(
        "a link that is not a string",
        "links[1]",
        "expected a string, got an integer 3",
        put("links", ["https://example.org", 3]),
    ),
    case(
        "upstream given as a URL",
        "upstream",
        "expected OWNER/REPO#NUMBER (write example-org/demo#12)",
        put("upstream", "https://github.com/example-org/demo/issues/12"),
    ),
    case(
        "upstream without an issue number",
        "upstream",
        "'example-org/demo' is not an issue reference",
        put("upstream", "example-org/demo"),
    ),
    case(
        "upstream issue number 0",
        "upstream",
        "is not an issue reference",
        put("upstream", "example-org/demo#0"),
    ),
    case(
        "upstream owner with a leading hyphen",
        "upstream",
        "is not an issue reference",
        put("upstream", "-org/demo#3"),
    ),
    case(
        "upstream given as a number",
        "upstream",
        "expected a string, got an integer 12",
        put("upstream", 12),
    ),
    case(
        "requirements given as one string",
        "requirements",
        "expected a list of strings",
        put("requirements", "pytest"),
    ),
    case(
        "a requirement that is not a string",
        "requirements[1]",
        "expected a string, got a boolean True",
        put("requirements", ["pytest", True]),
    ),
    case(
        "a requirement that does not parse",
        "requirements[1]",
        "invalid requirement 'pytest >>> 7'",
        put("requirements", ["sqlalchemy", "pytest >>> 7"]),
    ),
    case(
        "command given as a shell line",
        "command",
        "expected a list of strings, got a string",
        put("command", "pytest test.py"),
    ),
    case(
        "a command item that is not a string",
        "command[1]",
        "expected a string, got an integer",
        put("command", ["pytest", 3]),
    ),
    case("command as an empty list", "command", "must not be an empty list", put("command", [])),
    case(
        "placeholder naming no flags axis suggests the close one",
        "command[1]",
        "'{warning}' names no flags axis (did you mean 'warnings'?)",
        put("command", ["pytest", "{warning}", "test.py"]),
    ),
    case(
        "placeholder naming an axis of another kind",
        "command[1]",
        "'{install}' names no flags axis",
        put("command", ["pytest", "{install}"]),
    ),
    case(
        "placeholder inside a longer argument",
        "command[1]",
        "must be a whole argument",
        put("command", ["pytest", "-W{warnings}"]),
    ),
    case(
        "signature given as a number",
        "signature",
        "expected a string, got an integer 1",
        put("signature", 1),
    ),
    case(
        "signature that is not a regular expression",
        "signature",
        "invalid regular expression '(unclosed'",
        put("signature", "(unclosed"),
    ),
    case(
        "signature '.*' matches the empty string",
        "signature",
        "'.*' matches the empty string",
        put("signature", ".*"),
    ),
    case(
        "signature 'a?' matches the empty string",
        "signature",
        "'a?' matches the empty string",
        put("signature", "a?"),
    ),
    case("signature as an empty string", "signature", "must not be empty", put("signature", "")),
    case(
        "timeout given as a string",
        "timeout",
        "expected a number of seconds, got a string '120'",
        put("timeout", "120"),
    ),
    case(
        "timeout given as a boolean",
        "timeout",
        "expected a number of seconds, got a boolean True",
        put("timeout", True),
    ),
    case(
        "timeout of zero seconds",
        "timeout",
        "must be more than 0 seconds, got 0",
        put("timeout", 0),
    ),
    case("negative timeout", "timeout", "must be more than 0 seconds, got -5", put("timeout", -5)),
    case(
        "timeout nan",
        "timeout",
        "must be more than 0 seconds, got nan",
        put("timeout", float("nan")),
    ),
    case(
        "python given as a number",
        "python",
        "expected a string, got a number 3.11",
        put("python", 3.11),
    ),
    case(
        "python with a patch release",
        "python",
        "'3.11.4' is not a Python version like '3.12'",
        put("python", "3.11.4"),
    ),
    case("env given as a list", "env", "expected a table, got a list", put("env", ["A=1"])),
    case(
        "an env value that is not a string",
        "env.SOME_VAR",
        "expected a string, got an integer 1",
        put("env", {"SOME_VAR": 1}),
    ),
    case(
        "an env name that is not a variable name",
        "env.1VAR",
        "is not a valid environment variable name",
        put("env", {"1VAR": "x"}),
    ),
    case(
        "passenv given as one string",
        "passenv",
        "expected a list of strings, got a string",
        put("passenv", "HOME"),
    ),
    case(
        "a passenv name that is not a variable name",
        "passenv[1]",
        "'NOT-A-NAME' is not a valid environment variable name",
        put("passenv", ["HOME", "NOT-A-NAME"]),
    ),
    case(
        "show given as one string",
        "show",
        "expected a list of strings, got a string",
        put("show", "coverage"),
    ),
    case(
        "a show entry that is no package name",
        "show[1]",
        "'not a package' is not a package name",
        put("show", ["coverage", "not a package"]),
    ),
    # unknown and missing keys
    case(
        "unknown top-level key suggests 'requirements'",
        "requirement",
        "unknown key (did you mean 'requirements'?)",
        rename("requirements", "requirement"),
    ),
    case(
        "unknown top-level key suggests 'timeout'",
        "timout",
        "unknown key (did you mean 'timeout'?)",
        rename("timeout", "timout"),
    ),
    case(
        "unknown key holding a line break stays on one line",
        "ti\\ntle",
        "unknown key",
        put("ti\ntle", "x"),
    ),
    case("title is required", "title", "is required", drop("title")),
    case("description is required", "description", "is required", drop("description")),
    case("command is required", "command", "is required", drop("command")),
    case("signature is required", "signature", "is required", drop("signature")),
    # [project]
    case(
        "project given as a string",
        "project",
        "expected a table, got a string",
        put("project", "package"),
    ),
    case(
        "unknown key in project suggests 'files'",
        "project.file",
        "unknown key (did you mean 'files'?)",
        rename("project.files", "file"),
    ),
    case(
        "project name given as a number",
        "project.name",
        "expected a string, got an integer 1",
        put("project.name", 1),
    ),
    case(
        "project name that is no distribution name",
        "project.name",
        "'my package' is not a valid distribution name",
        put("project.name", "my package"),
    ),
    case(
        "project files given as one string",
        "project.files",
        "expected a list of strings, got a string",
        put("project.files", "../../package"),
    ),
    case(
        "project files as an empty list",
        "project.files",
        "must not be an empty list",
        put("project.files", []),
    ),
    case(
        "a project file that is not a string",
        "project.files[1]",
        "expected a string, got an integer 5",
        put("project.files", ["../../package", 5]),
    ),
    case(
        "a project file that leaves the repository through '..'",
        "project.files[1]",
        "'../../../outside/secret.py' leads outside the repository",
        put("project.files", ["../../package", "../../../outside/secret.py"]),
    ),
    case(
        "a project file given as an absolute path",
        "project.files[0]",
        "'/etc/hostname' is an absolute path",
        put("project.files", ["/etc/hostname"]),
    ),
    case(
        "a listed symlink in the scenario folder that points outside",
        "project.files[0]",
        "'link.py' leads outside the repository",
        put("project.files", ["link.py"]),
        setup=link_in_scenario,
    ),
    case(
        "an unlisted symlink in the scenario folder that points outside",
        "project.files",
        "link.py",
        drop("project.files"),
        setup=link_in_scenario,
    ),
    case(
        "a symlink inside a listed folder that points outside",
        "project.files[0]",
        "holds 'evil.py', a link out of the repository",
        setup=link_in_package,
    ),
    case(
        "a project file that does not exist",
        "project.files[1]",
        "'../../missing.py' does not exist",
        put("project.files", ["../../package", "../../missing.py"]),
    ),
    case(
        "the whole repository as a project file",
        "project.files[0]",
        "'../..' is the whole repository",
        put("project.files", ["../.."]),
    ),
    case(
        "two project files with the same name",
        "project.files",
        "value 'test.py' appears twice",
        put("project.files", ["../../test.py", "test.py"]),
        setup=local_test_file,
    ),
    case(
        "editable install axis without project.name",
        "project.name",
        "is required when the install axis has 'editable'",
        drop("project.name"),
    ),
    # [axes.*]: shape
    case("axes given as a list", "axes", "expected a table, got a list", put("axes", ["install"])),
    case(
        "an axis given as a string",
        "axes.install",
        "expected a table, got a string",
        put("axes.install", "editable"),
    ),
    case(
        "unknown key in an axis suggests 'values'",
        "axes.install.value",
        "unknown key (did you mean 'values'?)",
        rename("axes.install.values", "value"),
    ),
    case(
        "axis without kind",
        "axes.install.kind",
        "is required (one of install, version",
        drop("axes.install.kind"),
    ),
    case(
        "axis kind given as a number",
        "axes.install.kind",
        "expected a string, got an integer",
        put("axes.install.kind", 1),
    ),
    case(
        "unknown axis kind suggests 'version'",
        "axes.sqlalchemy.kind",
        "unknown kind 'verison' (did you mean 'version'?)",
        put("axes.sqlalchemy.kind", "verison"),
    ),
    case("axis without values", "axes.install.values", "is required", drop("axes.install.values")),
    case(
        "axis name in capitals",
        "axes.Extra",
        "axis names are lower-case",
        put("axes.Extra", {"kind": "flags", "values": {"x": []}}),
    ),
    case(
        "axis named 'flags' is reserved",
        "axes.flags",
        "'flags' is reserved",
        put("axes.flags", {"kind": "flags", "values": {"x": []}}),
    ),
    case(
        "package on an axis that is not a version axis",
        "axes.install.package",
        "only a version axis names a package",
        put("axes.install.package", "package"),
    ),
    case(
        "axis description given as a number",
        "axes.install.description",
        "expected a string",
        put("axes.install.description", 1),
    ),
    # [axes.*]: values, per kind
    case(
        "install values given as a table",
        "axes.install.values",
        "expected a list, got a table",
        put("axes.install.values", {"e": "editable"}),
    ),
    case(
        "install value that is no install mode suggests 'editable'",
        "axes.install.values[0]",
        "'editabel' is not an install mode (editable, non-editable, not-installed) "
        "(did you mean 'editable'?)",
        put("axes.install.values", ["editabel", "non-editable"]),
    ),
    case(
        "version values written as TOML floats",
        "axes.sqlalchemy.values[0]",
        'expected a string, got a number 1.4; quote it: "1.4"',
        put("axes.sqlalchemy.values", [1.4, 2.0]),
    ),
    case(
        "version values given as a number",
        "axes.sqlalchemy.values",
        "expected a table of label = value, got an integer 2",
        put("axes.sqlalchemy.values", 2),
    ),
    case(
        "version list label that is not a version",
        "axes.sqlalchemy.values[1]",
        "'latest' is not a version; use a table",
        put("axes.sqlalchemy.values", ["1.4", "latest"]),
    ),
    case(
        "version table with an invalid specifier",
        "axes.sqlalchemy.values.old",
        "invalid version specifier '<<1.4'",
        put("axes.sqlalchemy.values", {"old": "<<1.4", "new": ">=2"}),
    ),
    case(
        "version table with a bare version instead of a specifier",
        "axes.sqlalchemy.values.new",
        "invalid version specifier '2.0'",
        put("axes.sqlalchemy.values", {"old": "<1.4", "new": "2.0"}),
    ),
    case(
        "version table with a specifier that is not a string",
        "axes.sqlalchemy.values.old",
        "expected a string, got a number 1.4",
        put("axes.sqlalchemy.values", {"old": 1.4}),
    ),
    case(
        "version package that is no package name",
        "axes.sqlalchemy.package",
        "'sql alchemy' is not a package name",
        put("axes.sqlalchemy.package", "sql alchemy"),
    ),
    case(
        "date that does not exist",
        "axes.toolchain.values[0]",
        "'2023-13-01' is not a date like 2023-12-10 or 'latest'",
        put("axes.toolchain.values", ["2023-13-01", "latest"]),
    ),
    case(
        "date in the compact ISO form",
        "axes.toolchain.values[0]",
        "is not a date like",
        put("axes.toolchain.values", ["20231210", "latest"]),
    ),
    case(
        "date values given as a table",
        "axes.toolchain.values",
        "expected a list, got a table",
        put("axes.toolchain.values", {"old": "2023-12-10"}),
    ),
    case(
        "python axis values written as TOML floats",
        "axes.python.values[0]",
        'expected a string, got a number 3.9; quote it: "3.9"',
        put("axes.python.values", [3.9, 3.12]),
    ),
    case(
        "an unquoted python = 3.10 is the number 3.1 to TOML",
        "python",
        'expected a string, got a number 3.1; quote it: "3.10"',
        text=to_toml(base()).replace('"python" = "3.11"', "python = 3.10"),
    ),
    case(
        "a toolchain date in the future",
        "axes.toolchain.values[0]",
        "'2999-01-01' is in the future",
        put("axes.toolchain.values", ["2999-01-01", "latest"]),
    ),
    case(
        "python axis value that is no Python version",
        "axes.python.values[1]",
        "'3.x' is not a Python version",
        put("axes.python.values", ["3.9", "3.x"]),
    ),
    case(
        "requirements axis values given as a list",
        "axes.extra.values",
        "expected a table of label = value, got a list",
        put("axes.extra.values", ["flask"]),
    ),
    case(
        "requirements axis entry that is not a list",
        "axes.extra.values.flask",
        "expected a list of requirements, got a string",
        put("axes.extra.values.flask", "flask"),
    ),
    case(
        "requirements axis entry that does not parse",
        "axes.extra.values.flask[0]",
        "invalid requirement 'flask sqlalchemy'",
        put("axes.extra.values.flask", ["flask sqlalchemy"]),
    ),
    case(
        "flags values that are not lists",
        "axes.warnings.values.on",
        "expected a list of strings, got a string",
        put("axes.warnings.values.on", "-Wignore"),
    ),
    case(
        "flags values given as a list",
        "axes.warnings.values",
        "expected a table of label = value, got a list",
        put("axes.warnings.values", ["-W"]),
    ),
    case(
        "a flag that is not a string",
        "axes.warnings.values.on[0]",
        "expected a string, got an integer 1",
        put("axes.warnings.values.on", [1]),
    ),
    case(
        "env axis values that are not tables",
        "axes.core.values.sysmon",
        "expected a table, got a string",
        put("axes.core.values.sysmon", "COVERAGE_CORE=sysmon"),
    ),
    case(
        "env axis variable that is not a string",
        "axes.core.values.sysmon.COVERAGE_CORE",
        "expected a string, got an integer 1",
        put("axes.core.values.sysmon.COVERAGE_CORE", 1),
    ),
    case(
        "empty axis values (list)",
        "axes.install.values",
        "an axis needs at least one value",
        put("axes.install.values", []),
    ),
    case(
        "empty axis values (table)",
        "axes.warnings.values",
        "an axis needs at least one value",
        put("axes.warnings.values", {}),
    ),
    case(
        "a value listed twice in one axis",
        "axes.sqlalchemy.values",
        "value '1.4' appears twice",
        put("axes.sqlalchemy.values", ["1.4", "2.0", "1.4"]),
    ),
    case(
        "a list label with a space",
        "axes.sqlalchemy.values[1]",
        "'2.0 beta' is not a valid label",
        put("axes.sqlalchemy.values", ["1.4", "2.0 beta"]),
    ),
    case(
        "a table label starting with '-'",
        "axes.warnings.values.-on",
        "'-on' is not a valid label",
        put("axes.warnings.values", {"-on": [], "off": []}),
    ),
    case(
        "a table label holding a line break stays on one line",
        "axes.warnings.values.o\\nn",
        "is not a valid label",
        put("axes.warnings.values", {"o\nn": []}),
    ),
    # [axes.*]: across axes
    case(
        "one package on two version axes",
        "axes.sa.package",
        "'SQLAlchemy' already has the axis 'sqlalchemy'",
        put("axes.sa", {"kind": "version", "package": "SQLAlchemy", "values": ["2.1"]}),
    ),
    case(
        "two install axes",
        "axes.mode",
        "a second install axis (first: 'install')",
        put("axes.mode", {"kind": "install", "values": ["editable"]}),
    ),
    case(
        "two date axes",
        "axes.when",
        "a second date axis (first: 'toolchain')",
        put("axes.when", {"kind": "date", "values": ["latest"]}),
    ),
    case(
        "two python axes",
        "axes.interpreter",
        "a second python axis (first: 'python')",
        put("axes.interpreter", {"kind": "python", "values": ["3.10"]}),
    ),
    # [[exclude]]
    case(
        "exclude as one table, not an array of tables",
        "exclude",
        "expected an array of tables ([[exclude]])",
        put("exclude", {"python": "3.9"}),
    ),
    case(
        "an exclusion that is not a table",
        "exclude[0]",
        "expected a table, got a string",
        put("exclude", ["python=3.9"]),
    ),
    case(
        "exclusion naming an unknown axis suggests 'python'",
        "exclude[0].pyhton",
        "names no axis (did you mean 'python'?)",
        put("exclude", [{"pyhton": "3.9"}]),
    ),
    case(
        "exclusion naming an unknown value suggests 'sysmon'",
        "exclude[0].core",
        "'sysmom' is not a value of axis 'core' (default, sysmon) (did you mean 'sysmon'?)",
        put("exclude", [{"python": "3.9", "core": "sysmom"}]),
    ),
    case(
        "exclusion with no axis keys",
        "exclude[0]",
        "an exclusion with no axis would exclude every cell",
        put("exclude", [{"reason": "everything"}]),
    ),
    case(
        "exclusion value given as a number",
        "exclude[0].python",
        "expected a label or a list of labels, got a number 3.9",
        put("exclude", [{"python": 3.9}]),
    ),
    case(
        "exclusion with an empty list",
        "exclude[0].python",
        "an empty list matches no cell",
        put("exclude", [{"python": []}]),
    ),
    case(
        "exclusion reason that is not a string",
        "exclude[0].reason",
        "expected a string, got an integer 1",
        put("exclude.0.reason", 1),
    ),
    case(
        "exclusions that leave no cell",
        "exclude",
        "the exclusions leave no cell to run",
        put("exclude", [{"install": ["editable", "non-editable"]}]),
    ),
    # [[expect]]
    case(
        "expect as one table, not an array of tables",
        "expect",
        "expected an array of tables ([[expect]])",
        put("expect", {"outcome": "passed"}),
    ),
    case(
        "an expectation that is not a table",
        "expect[0]",
        "expected a table, got a string",
        put("expect", ["passed"]),
    ),
    case(
        "expectation naming an unknown axis suggests 'install'",
        "expect[1].instal",
        "names no axis (did you mean 'install'?)",
        rename("expect.1.install", "instal"),
    ),
    case(
        "expectation naming an unknown value suggests 'editable'",
        "expect[1].install",
        "'editble' is not a value of axis 'install' (editable, non-editable) "
        "(did you mean 'editable'?)",
        put("expect.1.install", "editble"),
    ),
    case(
        "expectation label that is not a string",
        "expect[1].warnings",
        "expected a string, got a boolean True",
        put("expect.1.warnings", [True]),
    ),
    case(
        "unknown outcome suggests 'reproduced'",
        "expect[1].outcome",
        "unknown outcome 'reproduce' (one of passed, reproduced, failed, timeout, env-error, "
        "unavailable, flaky) (did you mean 'reproduced'?)",
        put("expect.1.outcome", "reproduce"),
    ),
    case(
        "'not-run' cannot be expected",
        "expect[0].outcome",
        "unknown outcome 'not-run'",
        put("expect.0.outcome", "not-run"),
    ),
    case(
        "expectation without outcome", "expect[1].outcome", "is required", drop("expect.1.outcome")
    ),
    case(
        "outcome given as a number",
        "expect[0].outcome",
        "expected a string, got an integer 0",
        put("expect.0.outcome", 0),
    ),
    case(
        "misspelt reason in an expectation suggests 'reason'",
        "expect[1].reasn",
        "names no axis (did you mean 'reason'?)",
        put("expect.1.reasn", "why"),
    ),
    case(
        "two default expectations",
        "expect",
        "more than one default expectation (a rule with no axis keys)",
        put("expect", [{"outcome": "passed"}, {"outcome": "failed"}]),
    ),
    case(
        "overlapping expectations that disagree, neither narrower (found at expansion)",
        "expect",
        "expect[1] (reproduced) and expect[2] (failed) both claim 24 cell(s), e.g. "
        "'install=editable,sqlalchemy=1.4,toolchain=2023-12-10,python=3.9,extra=plain,"
        "warnings=on,core=default', and neither is narrower than the other",
        put("expect", CONTRADICTION),
    ),
    case(
        "two expectations for the same cells that disagree",
        "expect",
        "expect[1] (reproduced) and expect[2] (failed) both claim 48 cell(s)",
        put("expect", SAME_CELLS),
    ),
]


def test_catalogue_is_big_enough() -> None:
    """The brief asks for at least 45 malformed scenarios; the ids must stay unique."""
    ids = [param.id for param in CASES]
    assert len(ids) >= 45
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("bad", CASES)
def test_malformed_scenario_is_one_line_and_builds_nothing(
    bad: Case, lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each broken scenario: status 2, one line naming file, key and problem, nothing built."""
    doc = base()
    for edit in bad.edits:
        edit(doc)
    if bad.setup is not None:
        bad.setup(lab)
    lab.write(bad.text if bad.text is not None else to_toml(doc))

    status = lab.matrix()

    line = error_line(capsys, lab)
    assert status == 2
    where = f"{PREFIX}{lab.toml()}: " + (f"{bad.key}: " if bad.key is not None else "")
    assert line.startswith(where), f"{line!r} does not start with {where!r}"
    assert bad.problem in line[len(where) :]


# -- command lines that must be refused ------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        pytest.param(
            ("--only", "instal=editable"),
            "--only instal=...: no axis 'instal' in demo (did you mean 'install'?)",
            id="--only with an unknown axis suggests 'install'",
        ),
        pytest.param(
            ("--only", "install=editble"),
            "--only install=editble: 'editble' is not a value of axis 'install' "
            "(editable, non-editable) (did you mean 'editable'?)",
            id="--only with an unknown value suggests 'editable'",
        ),
        pytest.param(
            ("--only", "install"), "--only 'install': expected AXIS=VALUE", id="--only without '='"
        ),
        pytest.param(
            ("--only", "install="),
            "--only 'install=': expected AXIS=VALUE",
            id="--only with nothing after '='",
        ),
        pytest.param(("--jobs", "0"), "--jobs 0: must be at least 1", id="--jobs 0"),
        pytest.param(("--jobs", "-3"), "--jobs -3: must be at least 1", id="--jobs negative"),
        pytest.param(("--jobs", "many"), "invalid int value: 'many'", id="--jobs not a number"),
        pytest.param(
            ("--shard", "3/2"),
            "--shard '3/2': expected K/N with 1 <= K <= N",
            id="--shard 3/2, K beyond N",
        ),
        pytest.param(("--shard", "0/2"), "--shard '0/2': expected K/N", id="--shard 0/2"),
        pytest.param(("--shard", "1-2"), "--shard '1-2': expected K/N", id="--shard without '/'"),
        pytest.param(("--backend", "conda"), "invalid choice: 'conda'", id="--backend unknown"),
    ],
)
def test_bad_option_is_one_line_and_builds_nothing(
    args: tuple[str, ...], problem: str, lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    """Usage errors name the option and its value; the scenario itself is fine."""
    lab.write(to_toml(base()))
    status = lab.matrix(*args)
    line = error_line(capsys, lab)
    assert status == 2
    assert problem in line


@pytest.mark.parametrize(
    ("names", "problem"),
    [
        pytest.param((NAME, NAME), "scenario 'demo' is named twice", id="a scenario named twice"),
        pytest.param(("demoo",), "no scenario 'demoo' in ", id="an unknown scenario"),
    ],
)
def test_bad_scenario_name_is_one_line_and_builds_nothing(
    names: tuple[str, ...], problem: str, lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    lab.write(to_toml(base()))
    status = lab.matrix(names=names)
    line = error_line(capsys, lab)
    assert status == 2
    assert problem in line


def test_unknown_scenario_suggests_the_close_one(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    """The did-you-mean is worth its own assertion: it is the whole point of the message."""
    lab.write(to_toml(base()))
    lab.write(to_toml(base()), name="other")
    assert lab.matrix(names=("demoo",)) == 2
    assert error_line(capsys, lab).endswith("(did you mean 'demo'?)")


# -- standalone promises ---------------------------------------------------------------------


def test_base_scenario_is_valid(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    """Each case breaks one key of the base, so the base itself must plan cleanly."""
    lab.write(to_toml(base()))
    assert main(["--root", str(lab.repo), "plan", NAME]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith(f"{NAME}: 96 cells in 32 venvs")


def test_error_output_is_exactly_one_line(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    lab.write(to_toml({**base(), "timeout": 0}))
    assert lab.matrix() == 2
    _, err = capsys.readouterr()
    assert err.count("\n") == 1, repr(err)


def test_quiet_error_is_exactly_one_line(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    """With no progress bar there is nothing but the error line."""
    lab.write(to_toml({**base(), "timeout": 0}))
    assert lab.matrix("--quiet") == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"{PREFIX}{lab.toml()}: timeout: must be more than 0 seconds, got 0\n"


def test_existing_results_are_left_untouched(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad scenario must not rewrite (or lock, or log into) the results of an earlier run."""
    lab.results.mkdir()
    old = lab.results / f"{NAME}.json"
    old.write_text('{"earlier": "run"}', encoding="utf-8")
    os.utime(old, (1_000_000_000, 1_000_000_000))
    before = sorted(p.relative_to(lab.results) for p in lab.results.rglob("*"))
    lab.write(to_toml({**base(), "signature": ".*"}))

    assert lab.matrix() == 2

    capsys.readouterr()
    assert sorted(p.relative_to(lab.results) for p in lab.results.rglob("*")) == before
    assert old.read_text(encoding="utf-8") == '{"earlier": "run"}'
    assert old.stat().st_mtime == 1_000_000_000
    assert not lab.store.exists()


def test_one_bad_scenario_stops_every_scenario(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    """All scenarios are checked before the first venv, so a good one does not run alone."""
    lab.write(to_toml(base()), name="a-good")
    broken = copy.deepcopy(base())
    broken["axes"]["install"]["values"] = ["editable", "editable"]
    lab.write(to_toml(broken), name="z-bad")

    assert lab.matrix(names=()) == 2

    line = error_line(capsys, lab)
    assert line == (
        f"{PREFIX}{lab.toml('z-bad')}: axes.install.values: value 'editable' appears twice"
    )


def test_plan_command_reports_the_same_line(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    """``plan`` reads scenarios through the same validation as ``matrix``."""
    lab.write(to_toml({**base(), "timout": 30}))
    assert main(["--root", str(lab.repo), "plan", NAME]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"{PREFIX}{lab.toml()}: timout: unknown key (did you mean 'timeout'?)\n"


def test_post_release_version_label_is_an_exact_pin(tmp_path: Path) -> None:
    """'1.4.post1' is a version, so the list form should pin exactly that release."""
    from buglab.spec import scenario

    lab = Lab(tmp_path)
    doc = base()
    doc["axes"]["sqlalchemy"]["values"] = ["1.4", "1.4.post1"]
    doc["project"]["files"] = ["test.py"]
    lab.write(to_toml(doc))
    (lab.folder() / "test.py").write_text("", encoding="utf-8")
    loaded = scenario.load(lab.folder() / "scenario.toml", lab.repo)
    payloads = [v.payload for v in loaded.axis("sqlalchemy").values]
    assert [getattr(p, "specifier", None) for p in payloads] == ["==1.4.*", "==1.4.post1"]


def test_unpinned_is_the_one_spelling_of_a_version_value_without_a_pin(tmp_path: Path) -> None:
    """Not ">=0" copied from another scenario: ``"unpinned"`` leaves the resolver free, and
    the release check asks only that the package exists."""
    from buglab.env import release_check
    from buglab.spec import plan, scenario

    lab = Lab(tmp_path)
    doc = base()
    doc["axes"]["sqlalchemy"]["values"] = ["2.0", "unpinned"]
    doc["project"]["files"] = ["test.py"]
    lab.write(to_toml(doc))
    (lab.folder() / "test.py").write_text("", encoding="utf-8")
    loaded = scenario.load(lab.folder() / "scenario.toml", lab.repo)
    payloads = [v.payload for v in loaded.axis("sqlalchemy").values]
    assert [getattr(p, "specifier", None) for p in payloads] == ["==2.0.*", ""]
    free = next(c for c in plan.expand(loaded) if c.label_map["sqlalchemy"] == "unpinned")
    assert "sqlalchemy" in free.venv.requirements
    assert not any(r.startswith("sqlalchemy=") for r in free.venv.requirements)
    named = [n for n in release_check.named_versions(loaded) if n.label == "unpinned"]
    assert [n.key for n in named] == ["axes.sqlalchemy.values[1]"]
    assert release_check.missing(named[0], [Version("2.0.1")]) == ""
