"""Two runs of one scenario compared: the cells whose outcome changed, and what changed in
their venvs. The answer to "is it fixed yet?". Pure."""

from __future__ import annotations

from dataclasses import dataclass

from buglab import model
from buglab.errors import UsageError
from buglab.lab import render


@dataclass(frozen=True)
class CellChange:
    before: model.CellResult
    after: model.CellResult
    versions: tuple[tuple[str, str, str], ...]  # (package, before, after); "" where absent

    @property
    def id(self) -> str:
        return self.after.id


@dataclass(frozen=True)
class Comparison:
    scenario: str
    old_run: str
    new_run: str
    compared: int  # cells in both
    changed: tuple[CellChange, ...]
    added: tuple[model.CellResult, ...]  # only in the new run
    removed: tuple[model.CellResult, ...]  # only in the old run

    @property
    def any(self) -> bool:
        return bool(self.changed or self.added or self.removed)


def compare(old: model.MatrixResult, new: model.MatrixResult) -> Comparison:
    """Cells matched by id; a cell whose outcome is the same is not listed, whatever its
    versions did."""
    if old.scenario != new.scenario:
        raise UsageError(f"cannot compare {old.scenario!r} with {new.scenario!r}: two scenarios")
    before = {c.id: c for c in old.cells}
    after = {c.id: c for c in new.cells}
    changed = tuple(
        CellChange(before[cid], cell, version_changes(before[cid], cell))
        for cid, cell in after.items()
        if cid in before and before[cid].outcome is not cell.outcome
    )
    return Comparison(
        scenario=new.scenario,
        old_run=old.started,
        new_run=new.started,
        compared=sum(cid in before for cid in after),
        changed=changed,
        added=tuple(c for cid, c in after.items() if cid not in before),
        removed=tuple(c for cid, c in before.items() if cid not in after),
    )


def version_changes(
    before: model.CellResult, after: model.CellResult
) -> tuple[tuple[str, str, str], ...]:
    old, new = before.versions, after.versions
    names = sorted(set(old) | set(new))
    return tuple(
        (name, old.get(name, ""), new.get(name, ""))
        for name in names
        if old.get(name) != new.get(name)
    )


def _outcome_text(cell: model.CellResult) -> str:
    return f"{render.SYMBOLS[cell.outcome]} {cell.outcome.value}"


def _version_changes(change: CellChange) -> str:
    if not change.before.resolved or not change.after.resolved:
        side = "before" if not change.before.resolved else "now"
        return f"no venv {side}"
    if not change.versions:
        return "same versions"
    return ", ".join(
        f"{name} {old or '(none)'} → {new or '(none)'}" for name, old, new in change.versions
    )


def changes_markdown(comparison: Comparison) -> str:
    c = comparison
    head = (
        f"{c.scenario}: run of {c.old_run or '?'} → run of {c.new_run or '?'}: "
        f"{len(c.changed)} of {c.compared} cells changed outcome"
    )
    extra = []
    if c.added:
        extra.append(f"{len(c.added)} new")
    if c.removed:
        extra.append(f"{len(c.removed)} gone")
    lines = [head + (f" ({', '.join(extra)})" if extra else "") + "."]
    if c.changed:
        lines += ["", "| cell | before | now | versions that changed |", "|---|---|---|---|"]
        lines += [
            f"| {ch.id} | {_outcome_text(ch.before)} | {_outcome_text(ch.after)} "
            f"| {_version_changes(ch)} |"
            for ch in c.changed
        ]
    for title, cells in (("New cells", c.added), ("Cells no longer in the matrix", c.removed)):
        if cells:
            lines += ["", f"{title}:", *(f"- {cell.id}: {_outcome_text(cell)}" for cell in cells)]
    return "\n".join(lines) + "\n"
