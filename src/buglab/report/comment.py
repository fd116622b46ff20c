"""The pieces of an issue comment, each GitHub-flavoured markdown. Pure.

A maintainer reads only the comment, so every piece says what it is: the summary what ran and
what it showed, the trigger what the evidence supports (and what it cannot tell), the tables
what each symbol means, the reproduction exactly what to paste. :mod:`buglab.report.templates` puts
the pieces in the order of a project's bug-report form and keeps the whole within GitHub's
limit.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from buglab import model
from buglab.lab import render
from buglab.report import facts, pivot, repro, trigger
from buglab.report.causes import Cause, of_result, uncovered

#: at most this many exceptions are listed by name
EXCEPTIONS_SHOWN = 12
#: at most this many causes get an output block of their own (the rest are listed, folded)
CAUSES_SHOWN = 12


@dataclass(frozen=True)
class Contrast:
    """The passed cell nearest to the reproduction, and how it differs."""

    cell: model.CellResult
    changed: tuple[tuple[str, str, str], ...]  # (axis, reproduced label, passed label)
    command: str
    same_venv: bool


@dataclass(frozen=True)
class Source:
    """Everything a report is made of, read before rendering."""

    result: model.MatrixResult  # already narrowed by --only
    axes: tuple[model.Axis, ...]  # the scenario's, for what each label means
    description: str
    links: tuple[str, ...]
    signature: str
    layout: pivot.Layout
    only: tuple[str, ...] = ()  # the --only arguments that narrowed the result
    reproduction: repro.Reproduction | None = None
    contrast: Contrast | None = None
    results_file: str = ""  # as the reader would find it, e.g. results/NAME.json
    project: str = ""  # the project's distribution name: never pinned

    @functools.cached_property
    def finding(self) -> trigger.Finding:
        """The trigger, derived once however many times the comment is trimmed and rebuilt."""
        return trigger.find(self.result)

    @functools.cached_property
    def causes(self) -> tuple[Cause, ...]:
        """The cells grouped by outcome and reason, each with where it holds."""
        return tuple(of_result(self.result))


@dataclass(frozen=True)
class Trim:
    """How much to leave out; level 0 leaves nothing out."""

    excerpt_lines: int | None = None  # keep the last N lines of each output
    pins_for_all: bool = True  # pinned requirements in every outcome's block
    outputs: tuple[model.Outcome, ...] | None = None  # only these outcome classes
    causes: int | None = CAUSES_SHOWN  # at most this many causes get a block; the rest folded
    description_paragraphs: int | None = None
    axes_list: bool = True
    versions_table: bool = True
    table_rows: int | None = None  # rows per table
    notes: tuple[str, ...] = ()  # what was trimmed, in words


def code(text: str) -> str:
    """An inline code span that survives backticks in ``text``."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or longest else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def fence(text: str, language: str = "") -> str:
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=2)
    ticks = "`" * (longest + 1)
    return f"{ticks}{language}\n{text.rstrip()}\n{ticks}"


def cell_words(cell: model.CellResult, scope: Sequence[tuple[str, str]] = ()) -> str:
    """``install = editable, sqlalchemy = 2.0``: the labels that are not already in scope."""
    fixed = set(scope)
    return facts.label_text([pair for pair in cell.labels if pair not in fixed])


def summary_paragraph(source: Source) -> str:
    result = source.result
    counts = dict(facts.by_class(result))
    total = len(result.cells)
    names = facts.axis_names(result)
    if source.only:
        chosen = f"the {total} cells of {names} selected by `--only {' '.join(source.only)}`"
    else:
        excluded = facts.product_size(result) - total
        chosen = f"{total} cells, every combination of {names}" + (
            f" less {excluded} the scenario excludes as impossible or redundant" if excluded else ""
        )
    parts = []
    if model.Outcome.REPRODUCED in counts:
        parts.append(
            f"**{counts[model.Outcome.REPRODUCED]} reproduced** (their output matches "
            f"{code(source.signature)})"
        )
    else:
        parts.append(f"**none reproduced** (no output matched {code(source.signature)})")
    words = {
        model.Outcome.PASSED: "passed (exit 0)",
        model.Outcome.FAILED: "failed otherwise",
        model.Outcome.TIMEOUT: "timed out",
        model.Outcome.FLAKY: "were flaky (repeated runs disagreed)",
        model.Outcome.ENV_ERROR: "could not be installed (env-error)",
        model.Outcome.UNAVAILABLE: "are unavailable (no release of that series by the date)",
        model.Outcome.NOT_RUN: "were not run",
    }
    parts += [f"{counts[o]} {text}" for o, text in words.items() if o in counts]
    day = result.started[:10]
    when = f" on {day}" if day else ""
    venvs = f" of {', '.join(result.venv_axes)}" if result.venv_axes else ""
    return (
        f"buglab ran {code(render.shown_command(result.command))}{when} in {chosen}; each cell "
        f"in a fresh folder with a clean environment, in a venv built for its combination{venvs}. "
        f"{_and_join(parts)}. Against the outcomes the scenario records as expected: "
        f"{render.verdict(result)}."
    )


def _and_join(parts: Sequence[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


TRIGGER_INTRO = (
    "**Trigger**: the smallest condition on the axes that holds on every reproduced cell and on "
    "no passed cell (failed, timeout, env-error, unavailable, flaky and not-run cells are "
    "evidence neither way)."
)


def trigger_lines(source: Source) -> tuple[str, list[tuple[str, list[str]]]]:
    """The introduction, then one line per trigger shown with its exceptions (markdown)."""
    finding, result = source.finding, source.result
    intro = TRIGGER_INTRO + (" It differs by toolchain date:" if finding.differs_by_date else "")
    quiet = tuple(t.scope for t in finding.per_date if t.reproduced == 0)
    lines = [_trigger_line(t, result, bool(finding.per_date), quiet) for t in finding.shown]
    return intro, lines


def trigger_section(source: Source) -> str:
    intro, lines = trigger_lines(source)
    out = [intro, ""]
    for line, exceptions in lines:
        out.append(f"- {line}")
        out += [f"  - {item}" for item in exceptions]
    return "\n".join(out)


def _trigger_line(
    found: trigger.Trigger,
    result: model.MatrixResult,
    dated: bool,
    quiet: tuple[tuple[tuple[str, str], ...], ...] = (),
) -> tuple[str, list[str]]:
    """``quiet``: the toolchain dates on which nothing reproduced (an overall trigger holds
    there only because nothing there contradicts it, which the line says)."""
    where = f"**On {facts.label_text(found.scope)}**: " if found.scope else ""
    ev = found.evidence
    counted = f"{ev.reproduced} reproduced, {ev.passed} passed, {ev.neutral} neither"
    if found.reproduced == 0:
        return f"{where}nothing reproduced ({counted}).", []
    assert found.condition is not None
    if found.passed == 0:
        return (
            f"{where}every cell with evidence reproduced; no passed cell to contrast ({counted}).",
            [],
        )
    if found.exact:
        text = f"{where}reproduces exactly when **{found.condition}** ({counted})"
        if found.uncovered:
            text = (
                f"{where}every reproduced cell and no passed cell has **{found.condition}** "
                f"({counted}), but not every cell under it reproduced: "
                + "; ".join(
                    f"{cause.count} cell{'s' if cause.count != 1 else ''} under it {verb}: "
                    + code(_short(cause.reason))
                    + (f" ({cause.place()})" if cause.place() else "")
                    for cause, verb in uncovered(found, result)
                )
            )
        if dated and not found.scope:
            text += "; it separates the cells of each toolchain date too"
            if quiet:
                dates = ", ".join(facts.label_text(scope) for scope in quiet)
                text += f" (on {dates} nothing reproduced: no evidence for it there)"
        if found.alternatives:
            text += "; just as small, and not told apart by these cells: " + "; ".join(
                f"**{alt}**" for alt in found.alternatives
            )
        return text + ".", []
    by_id = {c.id: c for c in result.cells}
    if found.unless is not None:
        return (
            f"{where}reproduces **unless {found.unless}** ({counted}). No condition of that "
            f"form separates the cells, but its negation does: every passed cell has "
            f"{found.unless}, and no reproduced cell does."
        ), []
    closest = "every cell" if not found.condition.terms else f"**{found.condition}**"
    text = (
        f"{where}no condition of that form separates them ({counted}). The closest, "
        f"{closest}, has {found.exceptions} exception{'s' if found.exceptions != 1 else ''}"
        + (" (searched greedily: fewer may exist)" if found.greedy else "")
        + ":"
    )
    items = [(cid, "reproduced outside it") for cid in found.missed]
    items += [(cid, "passed inside it") for cid in found.intruders]
    shown = [f"{cell_words(by_id[cid], found.scope)} ({why})" for cid, why in items]
    if len(shown) > EXCEPTIONS_SHOWN:
        shown = [*shown[:EXCEPTIONS_SHOWN], f"and {len(shown) - EXCEPTIONS_SHOWN} more"]
    return text, shown


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def tables_section(source: Source, trim: Trim) -> str:
    result, layout = source.result, source.layout
    caption = [f"Command: {code(render.shown_command(result.command))}."]
    if layout.fixed:
        caption.append(f"Every cell here has {facts.label_text(layout.fixed)}.")
    lines = [" ".join(caption), ""]
    for table in pivot.build(result, layout):
        if table.caption:
            lines += [f"**{facts.label_text(table.caption)}**", ""]
        lines += markdown_table(table, result.started, trim.table_rows)
        lines.append("")
    lines.append(legend(result))
    if trim.axes_list and source.axes:
        lines += ["", axes_meaning(source)]
    if trim.versions_table:
        lines += ["", versions_section(result)]
    return "\n".join(lines)


def markdown_table(table: pivot.Table, started: str, limit: int | None = None) -> list[str]:
    row_axes = [name for name, _ in table.rows[0]] if table.rows and table.rows[0] else []
    heads = [*row_axes, *(_column_title(col) for col in table.cols)]
    if not row_axes:
        heads.insert(0, "")
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    previous: tuple[tuple[str, str], ...] = ()
    rows = list(zip(table.rows, table.grid))
    for row, cells in rows[:limit] if limit is not None else rows:
        labels = grouped(row, previous) if row_axes else [""]
        previous = row
        symbols = [render.symbol(cell, started) for cell in cells]
        lines.append("| " + " | ".join([*labels, *symbols]) + " |")
    if limit is not None and len(rows) > limit:
        lines.append(
            f"| … {len(rows) - limit} more rows, left out to fit |" + " |" * (len(heads) - 1)
        )
    return lines


def _column_title(col: tuple[tuple[str, str], ...]) -> str:
    return "<br>".join(f"{name}={label}" for name, label in col) or "outcome"


def grouped(row: tuple[tuple[str, str], ...], previous: tuple[tuple[str, str], ...]) -> list[str]:
    """Row labels, each left blank while it and every label before it repeat the row above."""
    out, same = [], True
    for i, (_, label) in enumerate(row):
        same = same and i < len(previous) and previous[i][1] == label
        out.append("" if same else label)
    return out


def legend(result: model.MatrixResult) -> str:
    used = render.legend_outcomes(result)
    text = "Legend: " + ", ".join(f"{render.SYMBOLS[o]} {render.MEANINGS[o]}" for o in used) + "."
    if result.contradictions:
        text += (
            f" {render.SURPRISE} expected X: the scenario expected another outcome "
            f"({len(result.contradictions)} cells)."
        )
    if result.carried:
        text += f" {render.CARRIED}: not measured by this run, {render.carried_from(result)}."
    return text + " An empty cell is a combination the scenario excludes."


def axes_meaning(source: Source) -> str:
    """What each label does, so that the table reads without the scenario file."""
    present = {name: set(labels) for name, labels in source.result.axis_labels}
    lines = ["What the labels mean:"]
    for axis in source.axes:
        if axis.name not in present:
            continue
        values = [v for v in axis.values if v.label in present[axis.name]]
        meanings = "; ".join(f"{v.label} = {_meaning(v.payload)}" for v in values)
        lines.append(f"- `{axis.name}` ({axis.kind.value}): {meanings}")
    return "\n".join(lines)


def _meaning(payload: model.Payload) -> str:
    if isinstance(payload, model.Install):
        return {
            model.InstallMode.EDITABLE: "`pip install -e .`",
            model.InstallMode.NON_EDITABLE: "`pip install .`",
            model.InstallMode.NOT_INSTALLED: "not installed (files in the working folder only)",
        }[payload.mode]
    if isinstance(payload, model.Version):
        if not payload.specifier:
            return f"{code(payload.package)} unpinned (whatever the resolver picks)"
        return code(payload.requirement)
    if isinstance(payload, model.Date):
        return f"packages as of {payload.day}" if payload.day else "today's packages"
    if isinstance(payload, model.Python):
        return f"Python {payload.version}"
    if isinstance(payload, model.Requirements):
        return ", ".join(code(r) for r in payload.requirements) or "nothing more"
    if isinstance(payload, model.Flags):
        return code(" ".join(payload.argv)) if payload.argv else "no flags"
    return " ".join(code(f"{k}={v}") for k, v in payload.variables) or "no variables"


def versions_section(result: model.MatrixResult) -> str:
    found = facts.versions(result)
    same = ", ".join(f"{name} {version}" for name, version in found.same)
    lines = [f"Versions every venv agrees on: {same or 'none'}."]
    if found.varying:
        lines += ["", "| " + " | ".join([*found.key, "versions that vary"]) + " |"]
        lines.append("|" + "---|" * (len(found.key) + 1))
        for row in found.rows:
            text = ", ".join(f"{n} {v}" for n, v in row.versions) or row.note
            text = " ".join(text.replace("|", "\\|").split())  # an installer's | splits no column
            lines.append("| " + " | ".join([*(label for _, label in row.key), text]) + " |")
    return "\n".join(lines)


def environment_section(result: model.MatrixResult) -> str:
    meta = result.meta_map
    pythons = ", ".join(facts.pythons(result)) or "unknown"
    lines = [
        f"- OS: {meta.get('platform') or 'not recorded'}",
        f"- Python: {pythons}",
        f"- Installer: {meta.get('installer') or meta.get('backend') or 'not recorded'}, "
        f"driven by buglab {meta.get('buglab', '?')}",
    ]
    pins = facts.date_pins(result)
    if pins:
        lines.append("- Date pins: " + "; ".join(pins))
    lines.append(f"- Measured: {meta.get('started', '?')} to {meta.get('finished', '?')}")
    return "\n".join(lines)


def background_section(source: Source, trim: Trim) -> str:
    text = source.description.strip()
    if trim.description_paragraphs is not None:
        paragraphs = re.split(r"\n\s*\n", text)
        if len(paragraphs) > trim.description_paragraphs:
            text = "\n\n".join(paragraphs[: trim.description_paragraphs])
            text += "\n\n[… the rest of the scenario's description left out to fit]"
    lines = [text]
    if source.links:
        lines += ["", "Links:", *(f"- {link}" for link in source.links)]
    return "\n".join(lines)


def footer(source: Source, trim: Trim) -> str:
    result = source.result
    where = f" from {code(source.results_file)}" if source.results_file else ""
    text = f"Generated by buglab{where}, scenario {code(result.scenario)}, run of {result.started}."
    if trim.notes:
        text += " To stay within GitHub's comment limit: " + "; ".join(trim.notes) + "."
    return f"<sub>{text}</sub>"
