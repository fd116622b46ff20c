"""bisect: since which release, day or commit a cell behaves differently - the pure search, the
candidates, probing through the lab, and the answer.

Other wings import what is named here, never a module of this wing directly.
"""

from buglab.bisect import answer
from buglab.bisect.options import BisectOptions
from buglab.bisect.search import Found
from buglab.bisect.workflow import answer_path, run_bisect

__all__ = ["BisectOptions", "Found", "answer", "answer_path", "run_bisect"]
