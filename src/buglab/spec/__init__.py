"""spec: reading and validating scenarios and their axes, and the plan of cells they expand to.

Pure once the files are read: nothing here builds a venv, asks the index or starts a process.
Other wings import what is named here, never a module of this wing directly.
"""

from buglab.spec import plan
from buglab.spec.checks import did_you_mean, which_cell
from buglab.spec.plan import Selection, Shard, cell_id, expand, select, shard, venv_groups
from buglab.spec.scenario import SCENARIO_FILE, discover, load, load_scenarios

__all__ = [
    "SCENARIO_FILE",
    "Selection",
    "Shard",
    "cell_id",
    "did_you_mean",
    "discover",
    "expand",
    "load",
    "load_scenarios",
    "plan",
    "select",
    "shard",
    "venv_groups",
    "which_cell",
]
