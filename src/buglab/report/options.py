"""What a report, an export or a diff is asked, each option declared once (see
:mod:`buglab.option`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from buglab.lab import Located, only
from buglab.option import flag, positional
from buglab.report.templates import TEMPLATES


@dataclass(frozen=True)
class ReportOptions(Located):
    scenario: str = positional("the scenario whose stored results to report", required=True)
    rows: str | None = flag("--rows", metavar="AXES", help="axes down the table, a,b")
    cols: str | None = flag("--cols", metavar="AXES", help="axes across the table, a,b")
    only: tuple[str, ...] = only()
    template: str = flag(
        "--template",
        choices=TEMPLATES,
        default="generic",
        help="the bug-report form to fill (default: generic)",
    )
    out: Path | None = flag("--out", type=Path, help="write the comment here (default: stdout)")
    html: Path | None = flag(
        "--html", type=Path, help="the page (default: beside --out, else results/NAME.html)"
    )


@dataclass(frozen=True)
class ExportOptions(Located):
    scenario: str = positional("the scenario", required=True)
    cell: str = flag("--cell", required=True, metavar="ID", help="the cell to export")
    to: Path | None = flag(
        "--to", type=Path, metavar="DIR", help="the folder (default: exports/SCENARIO/ID)"
    )


@dataclass(frozen=True)
class DiffOptions:
    old: Path = positional("the earlier results file", required=True, type=Path)
    new: Path = positional("the later results file", required=True, type=Path)
