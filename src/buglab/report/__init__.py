"""report: what the stored results say, for a maintainer - the issue comment and its pieces
(evidence, facts, trigger, pivot, templates), the HTML page, reproductions and exports, diffs
and history. Reads results; runs nothing.

Other wings import what is named here, never a module of this wing directly.
"""

from buglab.report import diff, export, history, html, post, templates, watch
from buglab.report.gather import gather
from buglab.report.options import DiffOptions, ExportOptions, Posting, ReportOptions

__all__ = [
    "DiffOptions",
    "ExportOptions",
    "Posting",
    "ReportOptions",
    "diff",
    "export",
    "gather",
    "history",
    "html",
    "post",
    "templates",
    "watch",
]
