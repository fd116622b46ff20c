"""The evidence a maintainer can check: a reproduction to paste, and one output per outcome.

Pure. Each piece is data first (the HTML page lays it out its own way), then markdown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape

from buglab import model
from buglab.lab import render
from buglab.report import facts
from buglab.report.comment import Source, Trim, cell_words, code, fence


@dataclass(frozen=True)
class Output:
    """One representative cell of an outcome class."""

    cell: model.CellResult
    count: int  # cells of this class
    excerpt: str  # tidied, and trimmed when asked
    pins: tuple[str, ...]  # its venv, when shown

    @property
    def head(self) -> str:
        plural = "s" if self.count != 1 else ""
        return (
            f"{render.SYMBOLS[self.cell.outcome]} {self.cell.outcome.value}: {self.count} "
            f"cell{plural}; shown: {cell_words(self.cell)}"
        )

    @property
    def status(self) -> str:
        """``E AssertionError: ...`` (exit 2, 1.6 s): buglab's one-line detail, in markdown."""
        cell = self.cell
        if not cell.resolved:
            return f"Nothing ran: {code(cell.detail or 'the venv could not be built')}."
        if cell.returncode is None:
            return f"{code(cell.detail or 'no exit status')} ({cell.seconds:.1f} s)."
        where = f"exit {cell.returncode}, {cell.seconds:.1f} s"
        if not cell.detail or cell.detail == f"exit {cell.returncode}":
            return f"It ran in {cell.seconds:.1f} s and exited with {cell.returncode}."
        return f"{code(cell.detail)} ({where})."


def tidy_excerpt(excerpt: str) -> str:
    """Machine paths the lab left in an excerpt, shortened: the interpreter's own library as
    ``<python>``, a home folder as ``~``, pytest's ``../../..<venv>`` as ``<venv>``."""
    text = re.sub(r"(?:\.\./)*\.\.(?=<(?:venv|cell|home|store)>)", "", excerpt)
    text = re.sub(
        r"(?<![>\w.])/[^\s:'\"()]*?/lib/python(\d+\.\d+)/", r"<python>/lib/python\1/", text
    )
    return re.sub(r"(?<![>\w.~])/(?:root|home/[^/\s]+|Users/[^/\s]+)/", "~/", text)


def outputs(source: Source, trim: Trim) -> tuple[list[Output], list[model.Outcome]]:
    """One output per outcome class (the reproduction's cell and its contrast where they
    exist), and the classes left out to fit."""
    result = source.result
    picks: dict[model.Outcome, model.CellResult] = {}
    if source.reproduction is not None:
        for found in result.cells:
            if found.id == source.reproduction.cell:
                picks[model.Outcome.REPRODUCED] = found
    if source.contrast is not None:
        picks[model.Outcome.PASSED] = source.contrast.cell
    shown: list[Output] = []
    left = []
    for outcome, count in facts.by_class(result):
        if trim.outputs is not None and outcome not in trim.outputs:
            left.append(outcome)
            continue
        cell = picks.get(outcome) or facts.representative(result, outcome)
        assert cell is not None
        lines = tidy_excerpt(cell.excerpt).splitlines()
        if trim.excerpt_lines is not None and len(lines) > trim.excerpt_lines:
            cut = len(lines) - trim.excerpt_lines
            lines = [f"[… {cut} earlier lines left out to fit]", *lines[-trim.excerpt_lines :]]
        with_pins = trim.pins_for_all or outcome is model.Outcome.REPRODUCED
        pins = tuple(facts.pins(cell, source.project)) if with_pins else ()
        shown.append(Output(cell, count, "\n".join(lines), pins))
    return shown, left


def outputs_section(source: Source, trim: Trim) -> str:
    shown, left = outputs(source, trim)
    blocks = []
    for output in shown:
        summary = f"<summary>{escape(output.head, quote=False)}</summary>"
        lines = ["<details>", summary, "", output.status]
        if output.excerpt:
            lines += ["", "The lines of output that matter, as buglab kept them:", ""]
            lines.append(fence(output.excerpt, "text"))
        if output.pins:
            python = output.cell.versions.get("python", "?")
            same = [
                o for o in shown[: shown.index(output)] if o.cell.resolved == output.cell.resolved
            ]
            if same:
                lines += [
                    "",
                    f"Its venv: the same as the {same[0].cell.outcome.value} cell's above.",
                ]
            else:
                pins = fence("\n".join(output.pins), "text")
                lines += ["", f"Its venv (Python {python}):", "", pins]
        lines += ["", "</details>"]
        blocks.append("\n".join(lines))
    if left:
        blocks.append(f"(Outputs of {', '.join(o.value for o in left)} cells left out to fit.)")
    return "\n\n".join(blocks)


@dataclass(frozen=True)
class ReproductionText:
    intro: str  # markdown
    script: str  # the shell block
    after: str  # markdown: what to expect, and the passing contrast


def reproduction_text(source: Source) -> ReproductionText | None:
    reproduction = source.reproduction
    if reproduction is None:
        return None
    intro = (
        f"The cell {code(reproduction.cell)} ({reproduction.outcome.value}), with nothing but "
        f"{reproduction.interpreter} and pip: paste into a POSIX shell. It writes the files, "
        "builds a venv with the exact versions buglab's venv held and runs the command in a "
        "fresh folder with a clean environment, as buglab did."
    )
    after = f"Expected: the output contains {code(reproduction.signature)} (a regular expression)."
    contrast = source.contrast
    if contrast is not None:
        changes = ", ".join(f"{a} = {new}" for a, _, new in contrast.changed)
        where = "in the same venv" if contrast.same_venv else "in another venv"
        after += (
            f" With {changes} instead it passes ({where}: {code(contrast.command)}; cell "
            f"{code(contrast.cell.id)})."
        )
    return ReproductionText(intro, reproduction.script(), after)


def no_reproduction(source: Source) -> str:
    """Why there is no script: nothing reproduced, or no reproduced cell can be rebuilt."""
    if not any(c.outcome is model.Outcome.REPRODUCED for c in source.result.cells):
        return "No cell reproduced, so there is no reproduction to give."
    return (
        "No reproduced cell can be rebuilt from these results (none of them is a cell of the "
        "scenario as it stands now, with its versions recorded)."
    )


def reproduction_section(source: Source) -> str:
    text = reproduction_text(source)
    if text is None:
        return no_reproduction(source)
    return "\n\n".join([text.intro, fence(text.script, "sh"), text.after])
