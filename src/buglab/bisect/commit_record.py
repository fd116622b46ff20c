"""What a commit bisect adds to the paragraph for the upstream issue: the commit and how it came
in (pull request, links), the last commit on the other side, and - last - the commands that
reproduce it outside the lab: a venv with the commit installed from git and every other
package pinned to what the probe's venv held, then the scenario's command. Pure."""

from __future__ import annotations

import shlex

from buglab.bisect.answer import Bisected
from buglab.bisect.search import Found, Verdict
from buglab.env import is_local
from buglab.lab import render
from buglab.model import InstallMode


def commit_sentences(b: Bisected, found: Found) -> list[str]:
    history = b.history
    if history is None:
        return []
    label = b.candidates[found.first_new]
    commit = history.commits[label]
    links = history.links(label)
    seen = f" ({', '.join(links)})" if links else ""
    side = "last good" if found.looking_for is Verdict.BAD else "last bad"
    other = history.commits[b.candidates[found.last_old]]
    return [
        f'The commit: `{commit.id}` "{commit.subject}" ({commit.author}, {commit.date}), which '
        f"came in by {history.came_in(label)}{seen}. The {side} commit: `{other.id}` "
        f'"{other.subject}" ({other.date}).'
    ]


def git_requirement(b: Bisected, commit_id: str) -> str:
    """``git+URL@COMMIT``, as pip takes it (old pips refuse ``NAME @ git+file:///...``)."""
    history = b.history
    assert history is not None
    if history.forge is not None:
        where = history.forge.url
    elif is_local(history.repository):
        where = f"file://{history.repository}"
    else:
        where = history.repository
    return f"git+{where}@{commit_id}"


def reproduction(b: Bisected, found: Found) -> list[str]:
    """The commands that show the answer without the lab, ending with the scenario's command."""
    history = b.history
    if history is None or not found.exact:
        return []
    label = b.candidates[found.first_new]
    probe = b.first_probe(found.first_new)
    pins = [
        f"{name}=={version}"
        for name, version in probe.resolved
        if name not in ("python", history.package, b.subject.scenario.project.name.lower())
    ]
    wanted = [*pins, git_requirement(b, history.commits[label].id)]
    cell = b.subject.cell
    steps = ["python -m venv venv && . venv/bin/activate", shlex.join(["pip", "install", *wanted])]
    if cell.venv.install is InstallMode.EDITABLE:
        steps.append("pip install -e ./project  # the scenario's project")
    elif cell.venv.install is InstallMode.NON_EDITABLE:
        steps.append("pip install ./project  # the scenario's project")
    env = [f"{name}={value}" for name, value in cell.env]
    command = render.shown_command(cell.argv)
    steps.append(f"{shlex.join(['env', *env])} {command}" if env else command)
    other = history.commits[b.candidates[found.last_old]].id
    files = ", ".join(f"`{p.name}`" for p in b.subject.scenario.project.files)
    return [
        "",
        f"To reproduce it without the lab, with Python {b.python}, in a folder holding the "
        f"scenario's files ({files}); with `@{other}` instead, the command "
        f"{'passes' if found.looking_for is Verdict.BAD else 'reproduces'}:",
        "",
        "```bash",
        *steps,
        "```",
    ]
