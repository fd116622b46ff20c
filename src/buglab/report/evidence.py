"""The evidence a maintainer can check: a reproduction to paste, and one output per outcome.

Pure. Each piece is data first (the HTML page lays it out its own way), then markdown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape

from buglab import model
from buglab.lab import render
from buglab.report import causes, facts
from buglab.report.comment import Source, Trim, cell_words, code, fence


@dataclass(frozen=True)
class Output:
    """One representative cell of a cause: an outcome and the reason its cells share."""

    cell: model.CellResult
    cause: causes.Cause
    excerpt: str  # tidied, and trimmed when asked
    pins: tuple[str, ...]  # its venv, when shown

    @property
    def count(self) -> int:
        return self.cause.count

    @property
    def head(self) -> str:
        plural = "s" if self.count != 1 else ""
        why = ""
        if self.cell.outcome not in (model.Outcome.REPRODUCED, model.Outcome.PASSED):
            why = f" ({short(self.cause.reason)})"
        return (
            f"{render.SYMBOLS[self.cell.outcome]} {self.cell.outcome.value}{why}: {self.count} "
            f"cell{plural}; shown: {cell_words(self.cell)}"
        )

    @property
    def where(self) -> str:
        """Which cells share this cause, in words (markdown)."""
        place = self.cause.place()
        every = f"all {self.count}" if self.count != 1 else "the one"
        if not place or self.cause.outcome in causes.ONE_CAUSE:
            return ""
        if self.cause.where.exact:
            return f"Where: {every} exactly where **{place}**."
        return f"Where: {every} {place}."

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


def short(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def outputs(source: Source, trim: Trim) -> tuple[list[Output], list[causes.Cause]]:
    """One output per cause (the reproduction's cell and its contrast where they exist), and
    the causes left out to fit: beyond ``trim.causes`` blocks, or of outcomes not kept."""
    result = source.result
    picks: dict[model.Outcome, str] = {}
    if source.reproduction is not None:
        picks[model.Outcome.REPRODUCED] = source.reproduction.cell
    if source.contrast is not None:
        picks[model.Outcome.PASSED] = source.contrast.cell.id
    shown: list[Output] = []
    left = []
    for cause in source.causes:
        kept = trim.outputs is None or cause.outcome in trim.outputs
        if not kept or (trim.causes is not None and len(shown) >= trim.causes):
            left.append(cause)
            continue
        ids = {c.id for c in cause.cells}
        pick = picks.get(cause.outcome)
        cell = next((c for c in cause.cells if c.id == pick), None) if pick in ids else None
        cell = cell or facts.representative(result, cause.outcome, ids) or cause.cells[0]
        lines = tidy_excerpt(cell.excerpt).splitlines()
        if trim.excerpt_lines is not None and len(lines) > trim.excerpt_lines:
            cut = len(lines) - trim.excerpt_lines
            lines = [f"[… {cut} earlier lines left out to fit]", *lines[-trim.excerpt_lines :]]
        with_pins = trim.pins_for_all or cause.outcome is model.Outcome.REPRODUCED
        pins = tuple(facts.pins(cell, source.project)) if with_pins else ()
        shown.append(Output(cell, cause, "\n".join(lines), pins))
    return shown, left


#: causes left out are listed one line each, up to this many
FOLDED_LISTED = 30


def folded(left: list[causes.Cause]) -> str:
    """The causes without a block of their own, one line each, so that none goes unsaid."""
    if not left:
        return ""
    cells = sum(c.count for c in left)
    head = f"{len(left)} more cause{'s' if len(left) != 1 else ''} ({cells} cells), folded to fit"
    items = []
    for cause in left[:FOLDED_LISTED]:
        place = cause.place()
        items.append(
            f"- {render.SYMBOLS[cause.outcome]} {cause.outcome.value}: {cause.count} × "
            f"{code(short(cause.reason, 160))}" + (f" ({place})" if place else "")
        )
    if len(left) > FOLDED_LISTED:
        items.append(f"- and {len(left) - FOLDED_LISTED} more, in the results file")
    return "\n".join(
        [
            "<details>",
            f"<summary>{escape(head, quote=False)}</summary>",
            "",
            *items,
            "",
            "</details>",
        ]
    )


def outputs_section(source: Source, trim: Trim) -> str:
    shown, left = outputs(source, trim)
    blocks = []
    for output in shown:
        summary = f"<summary>{escape(output.head, quote=False)}</summary>"
        lines = ["<details>", summary, "", output.status]
        if output.where:
            lines += ["", output.where]
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
        blocks.append(folded(left))
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
