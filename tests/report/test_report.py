"""The issue comment and the HTML page, from the committed results of every landed scenario.

Rendering is pure; the only disk reads are the results files and the scenarios' own files.
"""

from __future__ import annotations

import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from buglab import model
from buglab.cli import main
from buglab.lab import store
from buglab.report import comment, html, pivot, templates
from buglab.report.gather import gather
from tests.conftest import RESULTS, ROOT, SEED

NAMES = sorted(p.stem for p in (RESULTS).glob("*.json"))
HEADINGS = {
    "generic": [
        "### Results",
        "### Minimal reproduction",
        "### Output, one cell per cause",
        "### Environment",
        "### Background",
    ],
    "sqlalchemy": [
        "### Describe the bug",
        "### Documentation",
        "### SQLAlchemy version",
        "### DBAPI",
        "### Database",
        "### Python version",
        "### Operating system",
        "### To reproduce",
        "### Error",
        "### Additional context",
    ],
    "coverage": [
        "**Describe the bug**",
        "**To Reproduce**",
        "**Expected behavior**",
        "**Additional context**",
    ],
    "pytest": [
        "#### Description",
        "#### `pip list`",
        "#### pytest and operating system",
        "#### Minimal example",
    ],
}


def source(name: str, **kwargs: object) -> comment.Source:
    return gather(ROOT, name, RESULTS, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("template", templates.TEMPLATES)
def test_every_landed_scenario_fits_one_comment_in_every_template(name: str, template: str) -> None:
    found = source(name)
    text = templates.render(found, template)
    assert templates.size(text) <= templates.LIMIT
    assert "left out to fit" not in text and "To stay within" not in text  # nothing trimmed
    positions = [text.index(heading) for heading in HEADINGS[template]]
    assert positions == sorted(positions), "fields out of the form's order"
    result = found.result
    assert text.count("<details>") == len(found.causes)
    assert f"in {len(result.cells)} cells" in text
    assert "**Trigger**" in text and "```sh" in text
    assert text.count("<details>") == text.count("</details>")
    assert text.count("```") % 2 == 0


def test_the_seed_comment_states_the_trigger_of_each_date_and_a_runnable_cell() -> None:
    text = templates.render(source(SEED))
    assert (
        "**On toolchain = 2023-12-10**: every reproduced cell and no passed cell has "
        "**install ∈ {editable, non-editable} and warnings = on and coverage = on** (4 "
        "reproduced, 20 passed, 12 neither), but not every cell under it reproduced: 2 cells "
        "under it are unavailable: `no release of sqlalchemy==2.1.* by 2023-12-10` "
        "(sqlalchemy = 2.1)." in text
    )
    assert (
        "**On toolchain = latest**: reproduces exactly when **sqlalchemy ∈ {1.4, 2.0} and "
        "warnings = on and coverage = on** (6 reproduced, 30 passed, 0 neither)" in text
    )
    assert "**10 reproduced**" in text and "50 passed" in text and "12 are unavailable" in text
    script = re.search(r"```sh\n(.*?)\n```", text, re.S)
    assert script is not None
    lines = script.group(1)
    assert "sqlalchemy==2.0.58" in lines and "python==" not in lines and "package==" not in lines
    assert ".venv/bin/python -m pip install -e ./project" in lines
    assert (
        "pytest -Wignore:XXX:sqlalchemy.exc.SADeprecationWarning --cov=package.module test.py"
        in lines
    )
    assert "With coverage = off instead it passes (in the same venv" in text
    assert "- OS: Linux-" in text and "- Installer: uv " in text
    assert "toolchain = 2023-12-10: every package as uploaded by the end of that day" in text


def test_only_narrows_the_comment_and_names_the_fixed_axes() -> None:
    text = templates.render(source(SEED, only=("toolchain=latest",)))
    assert "selected by `--only toolchain=latest`" in text
    assert "Every cell here has toolchain = latest." in text
    assert "It differs by toolchain date" not in text
    assert "reproduces exactly when **sqlalchemy ∈ {1.4, 2.0} and warnings = on and " in text


def test_rows_and_cols_change_only_the_table() -> None:
    found = source(SEED, rows="warnings,coverage", cols="install")
    table = comment.tables_section(found, comment.Trim())
    head = next(line for line in table.splitlines() if line.startswith("| "))
    assert head == (
        "| warnings | coverage | install=editable | install=non-editable | install=not-installed |"
    )


def test_the_negated_trigger_of_the_alembic_scenario() -> None:
    text = templates.render(source("alembic-model-registration"))
    assert "reproduces **unless imports = present and downgrade = fixed**" in text


def test_a_comment_too_long_is_trimmed_and_says_what_was_left_out() -> None:
    found = source(SEED)
    noisy = "\n".join(f"line {i} " + "x" * 280 for i in range(40))
    cells = tuple(replace(c, excerpt=noisy) for c in found.result.cells)
    long = replace(
        found,
        result=replace(found.result, cells=cells),
        description="\n\n".join(["word " * 2000] * 6),
    )
    text = templates.render(long)
    assert templates.size(text) <= templates.LIMIT
    assert "To stay within GitHub's comment limit:" in text
    assert "outputs cut to their last" in text and "left out to fit" in text


def test_a_huge_matrix_still_fits() -> None:
    """6,000 cells, most contradicting their expectation (long table cells): tables are cut."""
    rows, cols = tuple(str(i) for i in range(150)), tuple(str(i) for i in range(40))
    cells = tuple(
        model.CellResult(
            f"a={a},b={b}",
            (("a", a), ("b", b)),
            (("python", "3.11.7"),),
            model.Outcome.REPRODUCED if a == b else model.Outcome.PASSED,
            model.Outcome.REPRODUCED,
            1,
            0.1,
            f"logs/x/a={a},b={b}.log",
        )
        for a in rows
        for b in cols
    )
    result = model.MatrixResult(
        "huge", "Huge", ("run",), ("a",), ("b",), (("a", rows), ("b", cols)), cells
    )
    huge = comment.Source(result, (), "", (), "sig", pivot.Layout(("a",), ("b",)))
    text = templates.render(huge)
    assert templates.size(text) <= templates.LIMIT
    assert "tables cut to" in text and "more rows, left out to fit" in text


def test_github_counts_emoji_twice() -> None:
    assert templates.size("🐛") == 2 and templates.size("✅") == 1 and templates.size("a") == 1


class Cells(HTMLParser):
    """The page's table cells, links and anything that would fetch an asset."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[dict[str, str]] = []
        self.links: list[str] = []
        self.fetches: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "td" and "cell" in found.get("class", "").split():
            self.cells.append(found)
        if tag == "a":
            self.links.append(found.get("href", ""))
        if tag in ("script", "link", "img", "iframe") or "src" in found:
            self.fetches.append(tag)


@pytest.mark.parametrize("name", NAMES)
def test_the_page_is_self_contained_and_links_every_cell_to_its_log(name: str) -> None:
    found = source(name)
    page = html.page(found, "")
    parsed = Cells()
    parsed.feed(page)
    style = re.search(r"<style>(.*?)</style>", page, re.S)
    assert style is not None and "url(" not in style.group(1) and "@import" not in style.group(1)
    assert not parsed.fetches
    result = found.result
    assert len(parsed.cells) == len(result.cells)
    by_id = {c.id: c for c in result.cells}
    for td in parsed.cells:
        assert td["data-outcome"] == by_id[td["data-cell"]].outcome.value
    logs = {c.log for c in result.cells if c.log}
    assert logs <= set(parsed.links)


def test_the_seed_page_outlines_exactly_the_cells_of_its_trigger() -> None:
    page = html.page(source(SEED), "../results/")
    parsed = Cells()
    parsed.feed(page)
    outlined = [td for td in parsed.cells if "in-trigger" in td["class"].split()]
    assert len(outlined) == 10
    assert {td["data-outcome"] for td in outlined} == {"reproduced"}
    assert "href='../results/logs/warnings-coverage-editable/" in page
    assert "install ∈ {editable, non-editable} and warnings = on and coverage = on" in page


def test_tidy_shortens_machine_paths_only() -> None:
    from buglab.report.evidence import tidy_excerpt

    text = (
        "../../../..<venv>/lib/python3.9/site-packages/x.py:1\n"
        "/root/.pyenv/versions/3.11.7/lib/python3.11/importlib/__init__.py:126: in import_module\n"
        "$ /home/someone/bin/uv venv\n"
        "<venv>/lib/python3.11/site-packages/y.py"
    )
    assert tidy_excerpt(text).splitlines() == [
        "<venv>/lib/python3.9/site-packages/x.py:1",
        "<python>/lib/python3.11/importlib/__init__.py:126: in import_module",
        "$ ~/bin/uv venv",
        "<venv>/lib/python3.11/site-packages/y.py",
    ]


def test_code_spans_survive_backticks() -> None:
    assert comment.code("a `b` c") == "`` a `b` c ``"
    assert comment.code("plain") == "`plain`"
    assert comment.fence("```\nx\n```").startswith("````")


def test_results_of_schema_one_are_refused(tmp_path: Path) -> None:
    (tmp_path / f"{SEED}.json").write_text('{"schema": 1, "cells": []}')
    with pytest.raises(Exception, match="schema 1"):
        gather(ROOT, SEED, tmp_path)
    assert store.SCHEMA == 2


def test_the_command_writes_the_comment_and_the_page_beside_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "results"
    results.mkdir()
    (results / f"{SEED}.json").write_bytes((RESULTS / f"{SEED}.json").read_bytes())
    argv = ["--root", str(ROOT), "report", SEED, "--results", str(results)]
    assert main([*argv, "--template", "pytest"]) == 0
    captured = capsys.readouterr()
    assert (
        captured.out.startswith("## pytest -W and coverage")
        and "#### Minimal example" in captured.out
    )
    assert (results / f"{SEED}.html").exists()  # beside the results' own markdown
    assert f"comment of {templates.size(captured.out):,} characters" in captured.err
    out = tmp_path / "comment.md"
    assert main([*argv, "--out", str(out)]) == 0
    assert capsys.readouterr().out == ""
    assert out.read_text().startswith("## ") and (tmp_path / "comment.html").exists()
    assert "href='results/logs/" in (tmp_path / "comment.html").read_text()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["warnings-coverage-editabel"], "did you mean 'warnings-coverage-editable'"),
        ([SEED, "--rows", "instal"], "did you mean 'install'"),
        ([SEED, "--only", "toolchain=today"], "'today' is not a value of axis 'toolchain'"),
        ([SEED, "--template", "django"], "invalid choice: 'django'"),
        ([SEED, "--results", "/nonexistent"], "no such results file"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--root", str(ROOT), "report", *argv]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.err.count("\n") == 1 and captured.out == ""


def test_a_package_missing_from_some_venvs_is_not_said_to_be_everywhere() -> None:
    """The project is in the editable and non-editable venvs only: never 'every venv has it'."""
    from buglab.report import facts

    found = dict(facts.versions(source(SEED).result).same)
    assert found["package"] == "0 (only in the venvs that have it)"
    assert found["python"] == "3.11.7"
