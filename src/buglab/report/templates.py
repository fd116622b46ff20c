"""The comment in the order a project's bug-report form asks for it, within GitHub's limit. Pure.

The fields and their order follow each project's own form (read from their repositories):
SQLAlchemy's ``bug_report.yaml`` issue form, coverage.py's ``bug_report.md`` and pytest's
``1_bug_report.md`` checklist. The headings here only name the fields; the text in them is
buglab's. ``generic`` is buglab's own order: summary, trigger, table, reproduction, outputs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace

from buglab import model
from buglab.report import comment, evidence, facts
from buglab.report.comment import Source, Trim, code, fence

#: GitHub refuses a comment longer than this many characters (counted as UTF-16 code units)
LIMIT = 65_536
#: packages that are a database driver (a DBAPI) for SQLAlchemy's form
DBAPIS = (
    "aiosqlite",
    "asyncpg",
    "psycopg",
    "psycopg2",
    "psycopg2-binary",
    "pg8000",
    "pymysql",
    "mysqlclient",
    "aiomysql",
    "asyncmy",
    "mariadb",
    "pyodbc",
    "aioodbc",
    "oracledb",
    "cx-oracle",
    "pymssql",
)
#: what to leave out, step by step, when a comment is too long: least useful first
LEVELS = (
    Trim(),
    Trim(
        excerpt_lines=15,
        pins_for_all=False,
        notes=(
            "outputs cut to their last 15 lines",
            "pinned versions only for the reproduced cell",
        ),
    ),
    Trim(
        excerpt_lines=8,
        pins_for_all=False,
        description_paragraphs=2,
        axes_list=False,
        causes=6,
        notes=(
            "outputs cut to their last 8 lines",
            "pinned versions only for the reproduced cell",
            "outputs for at most 6 causes (the others listed, folded)",
            "the description cut to 2 paragraphs",
            "the meaning of each label left out",
        ),
    ),
    Trim(
        excerpt_lines=8,
        pins_for_all=False,
        description_paragraphs=1,
        axes_list=False,
        versions_table=False,
        outputs=(model.Outcome.REPRODUCED, model.Outcome.PASSED),
        notes=(
            "outputs only for reproduced and passed cells, cut to 8 lines (the other causes "
            "listed, folded)",
            "the description cut to 1 paragraph",
            "the meaning of each label and the versions table left out",
        ),
    ),
)


def size(text: str) -> int:
    """Characters as GitHub counts them: an emoji outside the BMP counts twice."""
    return len(text.encode("utf-16-le")) // 2


def render(source: Source, template: str = "generic", reserve: int = 0) -> str:
    """The comment, trimmed step by step until it fits (with ``reserve`` characters left for
    what is put around it); each step is named in the footer."""
    build = ASSEMBLERS[template]
    limit = LIMIT - reserve
    for trim in LEVELS:
        text = build(source, trim)
        if size(text) <= limit:
            return text
    last = LEVELS[-1]
    for rows in (40, 20, 10, 5):
        trim = replace(last, table_rows=rows, notes=(*last.notes, f"tables cut to {rows} rows"))
        text = build(source, trim)
        if size(text) <= limit:
            return text
    note = "\n\n[… cut here: the rest does not fit in one comment]"
    while size(text) > limit - size(note):
        text = text[: len(text) - max(1, size(text) - limit + size(note))]
    return text + note


#: a terminal's colour and cursor codes, which a cell's output may hold: gone from a comment
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
#: any other control character but newline and tab: shown as "?"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _sections(parts: Sequence[str]) -> str:
    """The comment's sections, as plain text: no control character reaches a reader (or a
    terminal the comment is printed on), wherever the comment goes."""
    text = "\n\n".join(part.rstrip() for part in parts if part.strip()) + "\n"
    return CONTROL.sub("?", ANSI.sub("", text))


def _title(source: Source) -> str:
    return f"## {source.result.title}"


def generic(source: Source, trim: Trim) -> str:
    result = source.result
    return _sections(
        [
            _title(source),
            comment.summary_paragraph(source),
            comment.trigger_section(source),
            "### Results\n\n" + comment.tables_section(source, trim),
            "### Minimal reproduction\n\n" + evidence.reproduction_section(source),
            "### Output, one cell per cause\n\n" + evidence.outputs_section(source, trim),
            "### Environment\n\n" + comment.environment_section(result),
            "### Background (the scenario's description)\n\n"
            + comment.background_section(source, trim),
            comment.footer(source, trim),
        ]
    )


def sqlalchemy(source: Source, trim: Trim) -> str:
    result = source.result
    docs = [link for link in source.links if "docs.sqlalchemy.org" in link]
    return _sections(
        [
            _title(source),
            "### Describe the bug\n\n" + _description(source, trim),
            "### Documentation\n\n" + ("\n".join(f"- {link}" for link in docs) or "None given."),
            "### SQLAlchemy version\n\n" + _versions_line(result, "sqlalchemy"),
            "### DBAPI\n\n" + _dbapi(source),
            "### Database\n\n" + _database(source),
            "### Python version\n\n" + _versions_line(result, "python"),
            "### Operating system\n\n" + (result.meta_map.get("platform") or "not recorded"),
            "### To reproduce\n\n" + evidence.reproduction_section(source),
            "### Error\n\n" + evidence.outputs_section(source, trim),
            "### Additional context\n\n" + _context(source, trim),
            comment.footer(source, trim),
        ]
    )


def coverage(source: Source, trim: Trim) -> str:
    result = source.result
    reproduction = source.reproduction
    freeze = fence("\n".join(reproduction.requirements), "text") if reproduction else "none"
    expected = f"No output matching {code(source.signature)}, as in the cells marked ✅"
    if source.contrast is not None:
        expected += (
            f", e.g. {code(source.contrast.command)} ({comment.cell_words(source.contrast.cell)})"
        )
    return _sections(
        [
            _title(source),
            "**Describe the bug**\n\n"
            + _description(source, trim, evidence.outputs_section(source, trim)),
            "**To Reproduce**\n\n"
            + f"1. Python: {_versions_line(result, 'python')}\n"
            + f"1. coverage.py: {_versions_line(result, 'coverage')} (buglab does not record "
            "`coverage debug sys`)\n"
            + "1. Installed packages, the reproduced cell's venv as `pip freeze` would list "
            "them:\n\n"
            + _indent(freeze)
            + "\n"
            + "1. Code: the files are inline in the script below; no repository is needed.\n"
            + "1. Commands:\n\n"
            + _indent(evidence.reproduction_section(source)),
            "**Expected behavior**\n\n" + expected + ".",
            "**Additional context**\n\n" + _context(source, trim),
            comment.footer(source, trim),
        ]
    )


def pytest(source: Source, trim: Trim) -> str:
    result = source.result
    reproduction = source.reproduction
    listing = _pip_list(reproduction.requirements) if reproduction else "none"
    return _sections(
        [
            _title(source),
            "#### Description\n\n"
            + _description(
                source,
                trim,
                evidence.outputs_section(source, trim),
                comment.background_section(source, trim),
            ),
            "#### `pip list` of the reproduced cell's venv\n\n" + listing,
            "#### pytest and operating system versions\n\n"
            + f"- pytest: {_versions_line(result, 'pytest')}\n"
            + f"- OS: {result.meta_map.get('platform') or 'not recorded'}\n"
            + comment.environment_section(result),
            "#### Minimal example\n\n" + evidence.reproduction_section(source),
            comment.footer(source, trim),
        ]
    )


def _description(source: Source, trim: Trim, *more: str) -> str:
    """The summary, the trigger and the tables (then ``more``) as one section: the upstream
    forms ask for the bug's description in one field."""
    parts = [comment.summary_paragraph(source), comment.trigger_section(source)]
    return "\n\n".join([*parts, comment.tables_section(source, trim), *more])


def _context(source: Source, trim: Trim) -> str:
    """The environment, then the scenario's description: what a form's last field holds."""
    return (
        comment.environment_section(source.result)
        + "\n\n"
        + comment.background_section(source, trim)
    )


def _indent(text: str) -> str:
    return "\n".join(f"   {line}" if line else "" for line in text.splitlines())


def _pip_list(requirements: Sequence[str]) -> str:
    pairs = [line.split("==", 1) for line in requirements]
    width = max([len("Package"), *(len(name) for name, _ in pairs)])
    rows = [f"{'Package':<{width}} Version", f"{'-' * width} -------"]
    rows += [f"{name:<{width}} {version}" for name, version in pairs]
    return fence("\n".join(rows), "text")


def _versions_line(result: model.MatrixResult, package: str) -> str:
    """``2.0.58 in the reproduced cell shown below; reproduced with 1.4.50, 2.0.58; passed
    only with 2.1.9``: what the versions of one package tell."""
    found: dict[model.Outcome, set[str]] = {}
    for cell in result.cells:
        version = cell.versions.get(package)
        if version:
            found.setdefault(cell.outcome, set()).add(version)
    if not found:
        return f"{package} is not in any venv"
    bugs = found.get(model.Outcome.REPRODUCED, set())
    fine = found.get(model.Outcome.PASSED, set()) - bugs
    parts = []
    if bugs:
        parts.append(f"reproduced with {_sorted(bugs)}")
    if fine:
        parts.append(f"only passed with {_sorted(fine)}")
    others = set().union(*found.values()) - bugs - fine
    if others:
        parts.append(f"also present, no evidence either way: {_sorted(others)}")
    return "; ".join(parts)


def _sorted(versions: set[str]) -> str:
    return ", ".join(sorted(versions, key=facts.version_key))


def _dbapi(source: Source) -> str:
    names = _installed(source, DBAPIS)
    if names:
        return "; ".join(names) + " (and the standard library's sqlite3, pysqlite)"
    return (
        "No DBAPI package is installed in any venv; the only driver at hand is the standard "
        "library's sqlite3 (pysqlite), if the reproduction uses a database at all."
    )


def _database(source: Source) -> str:
    servers = [n for n in _installed(source, DBAPIS) if not n.startswith("aiosqlite")]
    if servers:
        return f"Not recorded by buglab: a server reached through {', '.join(servers)}."
    return (
        "SQLite, the interpreter's own sqlite3 library, if a database is used (buglab does not "
        "record its version; `python -c 'import sqlite3; print(sqlite3.sqlite_version)'` tells)."
    )


def _installed(source: Source, names: Sequence[str]) -> list[str]:
    found: dict[str, set[str]] = {}
    for cell in source.result.cells:
        for name, version in cell.resolved:
            if name in names:
                found.setdefault(name, set()).add(version)
    return [f"{name} {_sorted(versions)}" for name, versions in sorted(found.items())]


ASSEMBLERS: dict[str, Callable[[Source, Trim], str]] = {
    "generic": generic,
    "sqlalchemy": sqlalchemy,
    "coverage": coverage,
    "pytest": pytest,
}
TEMPLATES = tuple(ASSEMBLERS)
