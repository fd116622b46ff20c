"""Stage 8: the matrix as a table - markdown for upstream issues, rich for the terminal. Pure."""

from __future__ import annotations

import itertools
import shlex
from collections.abc import Mapping, Sequence

from rich.table import Table
from rich.text import Text

from buglab import model

SYMBOLS = {
    model.Outcome.PASSED: "✅",
    model.Outcome.REPRODUCED: "🐛",
    model.Outcome.FAILED: "❌",
    model.Outcome.TIMEOUT: "⏱️",
    model.Outcome.ENV_ERROR: "🧱",
    model.Outcome.UNAVAILABLE: "➖",
    model.Outcome.FLAKY: "🎲",
    model.Outcome.NOT_RUN: "⏸️",
}
MEANINGS = {
    model.Outcome.PASSED: "passed: exit 0, no signature",
    model.Outcome.REPRODUCED: "reproduced: the signature was seen",
    model.Outcome.FAILED: "failed: another failure",
    model.Outcome.TIMEOUT: "timeout: killed at the time limit",
    model.Outcome.ENV_ERROR: "env-error: the venv could not be built",
    model.Outcome.UNAVAILABLE: "unavailable: no release by that date",
    model.Outcome.FLAKY: "flaky: repeated runs disagreed (k/N reproduced)",
    model.Outcome.NOT_RUN: "not run: the run was interrupted",
}
STYLES = {
    model.Outcome.PASSED: "green",
    model.Outcome.REPRODUCED: "bold red",
    model.Outcome.FAILED: "yellow",
    model.Outcome.TIMEOUT: "magenta",
    model.Outcome.ENV_ERROR: "bold yellow",
    model.Outcome.UNAVAILABLE: "dim",
    model.Outcome.FLAKY: "bold magenta",
    model.Outcome.NOT_RUN: "dim",
}
SURPRISE = "❗"
CARRIED = "†"
CHANGED = "‡"  # kept from an earlier run whose inputs have changed since


class Grid:
    """Venv axes down, command axes across; each cell found by its labels."""

    def __init__(self, result: model.MatrixResult) -> None:
        labels = result.labels_by_axis
        self.rows = _combinations(result.venv_axes, labels)
        self.columns = _combinations(result.command_axes, labels)
        self.result = result
        self.cells = {c.labels: c for c in result.cells}
        names = [name for name, _ in result.axis_labels]
        self.order = names
        # combinations excluded everywhere are left out rather than shown empty
        self.present_rows = [r for r in self.rows if any(self.at(r, c) for c in self.columns)]
        self.columns = [c for c in self.columns if any(self.at(r, c) for r in self.present_rows)]

    def at(
        self, row: tuple[tuple[str, str], ...], column: tuple[tuple[str, str], ...]
    ) -> model.CellResult | None:
        found = dict(row + column)
        return self.cells.get(tuple((name, found[name]) for name in self.order))

    def resolved(self, row: tuple[tuple[str, str], ...]) -> str:
        """The versions that matter in this row: python and every requirement named."""
        for column in self.columns:
            cell = self.at(row, column)
            if cell and cell.resolved:
                return _short_versions(cell.resolved, self.result.meta)
        return ""

    def column_title(self, column: tuple[tuple[str, str], ...]) -> str:
        return " ".join(f"{k}={v}" for k, v in column) or "outcome"


def _combinations(
    axes: Sequence[str], labels: Mapping[str, tuple[str, ...]]
) -> list[tuple[tuple[str, str], ...]]:
    return [tuple(zip(axes, combo)) for combo in itertools.product(*(labels[a] for a in axes))]


def _short_versions(
    resolved: tuple[tuple[str, str], ...], meta: tuple[tuple[str, str], ...]
) -> str:
    shown = dict(meta).get("shown_packages", "")
    wanted = [name for name in shown.split(",") if name]
    versions = dict(resolved)
    parts = [f"py {versions['python']}"] if "python" in versions else []
    parts += [f"{name} {versions[name]}" for name in wanted if name in versions]
    return ", ".join(parts)


def symbol(
    cell: model.CellResult | None,
    started: str = "",
    names: Mapping[model.Outcome, str] = SYMBOLS,
    surprise: str = f"{SURPRISE} expected",
) -> str:
    """A cell as the table shows it (``names``: symbols here, words on the HTML page): its
    outcome, a flaky tally, † when kept from an earlier run, and what was expected instead."""
    if cell is None:
        return ""
    text = names[cell.outcome]
    if cell.outcome is model.Outcome.FLAKY:
        text += f" {tally(cell)}"
    if started and cell.ran and cell.measured and cell.measured != started:
        text += CHANGED if cell.inputs_changed else CARRIED
    if not cell.as_expected and cell.ran and cell.expected is not None:
        text += f" {surprise} {names[cell.expected]}"
    return text


def legend_outcomes(result: model.MatrixResult) -> list[model.Outcome]:
    """Every outcome a table of ``result`` shows, as found or as expected, in legend order."""
    shown = {c.outcome for c in result.cells} | {c.expected for c in result.cells if c.expected}
    return sorted(shown, key=list(SYMBOLS).index)


def tally(cell: model.CellResult) -> str:
    """``2/3``: how many of a flaky cell's runs reproduced."""
    bugs = sum(run is model.Outcome.REPRODUCED for run in cell.runs)
    return f"{bugs}/{len(cell.runs)}" if cell.runs else ""


def markdown(result: model.MatrixResult) -> str:
    grid = Grid(result)
    head = [*result.venv_axes, "resolved", *(grid.column_title(c) for c in grid.columns)]
    lines = [
        f"### {result.title}",
        "",
        f"Scenario `{result.scenario}`, command: `{shown_command(result.command)}`",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for row in grid.present_rows:
        cells = [label for _, label in row] + [grid.resolved(row)]
        cells += [symbol(grid.at(row, column), result.started) for column in grid.columns]
        lines.append("| " + " | ".join(cells) + " |")
    legend = ", ".join(f"{SYMBOLS[o]} {MEANINGS[o]}" for o in legend_outcomes(result))
    lines += ["", f"Legend: {legend}."]
    surprises = result.contradictions
    if surprises:
        lines.append(
            f"{SURPRISE} marks {len(surprises)} cell(s) that contradict the "
            "scenario's expectations."
        )
    if result.carried:
        changed = sum(c.inputs_changed for c in result.carried)
        lines.append(
            f"{CARRIED} marks {len(result.carried) - changed} cell(s) not measured by this run "
            f"({result.started}): {carried_from(result)}."
            if changed < len(result.carried)
            else f"Cells not measured by this run ({result.started}): {carried_from(result)}."
        )
        if changed:
            lines.append(
                f"{CHANGED} marks {changed} of them measured with inputs that have changed since "
                "(the command, signature, requirements or files): what was measured then, not "
                "what the scenario gives now."
            )
    lines += ["", summary(result), ""]
    return "\n".join(lines)


def shown_command(command: Sequence[str]) -> str:
    return " ".join(arg if arg.startswith("{") else shlex.quote(arg) for arg in command)


def summary(result: model.MatrixResult) -> str:
    """Counts by outcome, then a verdict that claims nothing about cells it did not check."""
    counts: dict[model.Outcome, int] = {}
    for cell in result.cells:
        counts[cell.outcome] = counts.get(cell.outcome, 0) + 1
    parts = [
        f"{n} {o.value}" for o, n in sorted(counts.items(), key=lambda i: list(SYMBOLS).index(i[0]))
    ]
    cells = len(result.cells)
    return f"{cells} cell{'s' if cells != 1 else ''}: {', '.join(parts)}; {verdict(result)}."


def verdict(result: model.MatrixResult) -> str:
    wrong = len(result.contradictions)
    kept = {c.id for c in result.carried}
    carried = len(kept)
    ran = [c for c in result.cells if c.ran and c.id not in kept]
    checked = sum(1 for c in ran if c.expected is not None)
    unexpected = len(ran) - checked
    missing = sum(1 for c in result.cells if not c.ran)
    pieces = []
    if wrong:
        pieces.append(f"{wrong} contradict{'s' if wrong == 1 else ''} expectations")
    elif checked == len(result.cells):
        return "all as expected"
    elif checked:
        pieces.append(f"{checked} as expected")
    if unexpected:
        pieces.append(
            "no expectations recorded"
            if unexpected == len(result.cells)
            else f"{unexpected} with no expectation recorded"
        )
    if carried:
        changed = sum(c.inputs_changed for c in result.carried)
        since = f" ({changed} with inputs changed since)" if changed else ""
        pieces.append(f"{carried} kept from earlier runs{since}")
    if missing == len(result.cells):
        return "none ran"
    if missing:
        pieces.append(f"{missing} not run")
    return ", ".join(pieces)


def carried_from(result: model.MatrixResult) -> str:
    """``kept from the run of 2026-11-22T10:00:00Z`` (or of several runs)."""
    dates = sorted({c.measured for c in result.carried})
    if len(dates) == 1:
        return f"kept from the run of {dates[0]}"
    return f"kept from {len(dates)} earlier runs, {dates[0]} to {dates[-1]}"


#: beyond this many command-axis columns the terminal gets one line per cell instead
WIDE = 6


def terminal(result: model.MatrixResult) -> Table:
    """The grid in the terminal; a matrix too wide for it is listed one cell per line."""
    grid = Grid(result)
    table = Table(
        title=f"{result.scenario}: {result.title}", caption=summary(result), show_lines=False
    )
    for name in result.venv_axes:
        table.add_column(name, style="cyan", no_wrap=True)
    if len(grid.columns) > WIDE:
        for name in result.command_axes:
            table.add_column(name, style="cyan", no_wrap=True)
        table.add_column("outcome")
        for row in grid.present_rows:
            for column in grid.columns:
                cell = grid.at(row, column)
                if cell is not None:
                    table.add_row(*(label for _, label in row + column), _word(cell))
        return table
    table.add_column("resolved", style="dim")
    for column in grid.columns:
        table.add_column(grid.column_title(column), justify="center")
    for row in grid.present_rows:
        items: list[str | Text] = [label for _, label in row]
        items.append(grid.resolved(row))
        items += [_word(grid.at(row, column)) for column in grid.columns]
        table.add_row(*items)
    return table


def _word(cell: model.CellResult | None) -> Text:
    if cell is None:
        return Text("")
    text = Text(cell.outcome.value, style=STYLES[cell.outcome])
    if cell.outcome is model.Outcome.FLAKY:
        text.append(f" {tally(cell)}")
    if not cell.as_expected and cell.ran:
        assert cell.expected is not None
        text.append(f" (expected {cell.expected.value})", style="bold magenta")
    return text
