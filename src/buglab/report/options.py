"""What a report, an export or a diff is asked, each option declared once (see
:mod:`buglab.option`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from buglab.lab import Located, only
from buglab.option import flag, positional
from buglab.report.templates import TEMPLATES


@dataclass(frozen=True)
class Posting(Located):
    """How a comment reaches GitHub: shared by ``report --post`` and ``watch``."""

    dry_run: bool = flag(
        "--dry-run",
        action="store_true",
        default=False,
        help="print the requests that would post the comment; send nothing",
    )
    api_url: str | None = flag(
        "--api-url",
        metavar="URL",
        help="GitHub's REST API, for GitHub Enterprise: https://HOST/api/v3 "
        "(default: GITHUB_API_URL, else the gh CLI's GH_HOST, else api.github.com)",
    )


@dataclass(frozen=True)
class ReportOptions(Posting):
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
    post: str | None = flag(
        "--post",
        metavar="OWNER/REPO#N",
        help="post the comment to this GitHub issue, or update the lab's earlier one there "
        "(token: GH_TOKEN, GITHUB_TOKEN or `gh auth token`)",
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
