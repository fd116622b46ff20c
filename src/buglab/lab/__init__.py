"""lab: the matrix - its stages strung together, run in parallel, classified, stored, rendered.

Other wings import what is named here, never a module of this wing directly.
"""

from buglab.lab import classify, render, store
from buglab.lab.execute import Execution, Interrupted, Job, Say, terminate_as_interrupt
from buglab.lab.options import Located, MatrixOptions, RunOptions, only
from buglab.lab.persist import Plan, assemble
from buglab.lab.runner import FIXED_ENV, SYSTEM_PATH, cell_env
from buglab.lab.workflow import Report, make_plans, results_path, run_matrix

__all__ = [
    "FIXED_ENV",
    "SYSTEM_PATH",
    "Execution",
    "Interrupted",
    "Job",
    "Located",
    "MatrixOptions",
    "Plan",
    "Report",
    "RunOptions",
    "Say",
    "assemble",
    "cell_env",
    "classify",
    "make_plans",
    "only",
    "render",
    "results_path",
    "run_matrix",
    "store",
    "terminate_as_interrupt",
]
