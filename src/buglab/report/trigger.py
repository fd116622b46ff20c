"""The trigger: the smallest condition on axis values that separates reproduced from passed cells.

Only ``reproduced`` and ``passed`` cells are evidence. A failure, a timeout, a venv that could
not be built or a flaky cell says nothing about the bug either way, so it neither needs to be
inside the condition nor outside it. Pure: no disk, no processes.

A condition is a conjunction of per-axis label sets ("install ∈ {editable, non-editable} and
warnings = on"). When one exists, the smallest is the one with the fewest axes: each axis it
names then takes exactly the labels seen on reproduced cells, which excludes as many passed
cells as that axis can. When none exists, the condition with the fewest exceptions (reproduced
cells outside it plus passed cells inside it) is given with those exceptions, and, when the
passed cells have an exact condition of their own, the bug is stated as its negation
("reproduces unless imports = present and downgrade = fixed").
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from buglab import model

POSITIVE = model.Outcome.REPRODUCED
NEGATIVE = model.Outcome.PASSED
EVIDENCE = (POSITIVE, NEGATIVE)
#: beyond this many conditions the search for the fewest exceptions becomes greedy
SEARCH_LIMIT = 200_000

AxisLabels = Sequence[tuple[str, Sequence[str]]]


@dataclass(frozen=True)
class Condition:
    """A conjunction: every named axis takes one of its labels; unnamed axes are free."""

    terms: tuple[tuple[str, tuple[str, ...]], ...]

    def holds(self, labels: Mapping[str, str]) -> bool:
        return all(labels.get(axis) in allowed for axis, allowed in self.terms)

    def __str__(self) -> str:
        if not self.terms:
            return "every cell"
        return " and ".join(
            f"{axis} = {labels[0]}" if len(labels) == 1 else f"{axis} ∈ {{{', '.join(labels)}}}"
            for axis, labels in self.terms
        )


@dataclass(frozen=True)
class Evidence:
    reproduced: int
    passed: int
    neutral: int  # cells that are evidence neither way


@dataclass(frozen=True)
class Trigger:
    """What the evidence in one scope (all cells, or one toolchain date) says."""

    scope: tuple[tuple[str, str], ...]  # axes held fixed, e.g. (("toolchain", "latest"),)
    evidence: Evidence
    condition: Condition | None  # None: nothing reproduced here
    exact: bool  # holds on every reproduced cell and on no passed cell
    missed: tuple[str, ...] = ()  # reproduced cells outside the condition (ids)
    intruders: tuple[str, ...] = ()  # passed cells inside the condition (ids)
    alternatives: tuple[Condition, ...] = ()  # other conditions just as small
    greedy: bool = False  # the exceptions were searched greedily: fewer may exist
    unless: Condition | None = None  # holds on every passed and no reproduced cell
    #: cells under an exact condition that ran and neither reproduced nor passed: while there
    #: are any, "exactly" would claim more than was measured
    uncovered: tuple[str, ...] = ()

    @property
    def reproduced(self) -> int:
        return self.evidence.reproduced

    @property
    def passed(self) -> int:
        return self.evidence.passed

    @property
    def exceptions(self) -> int:
        return len(self.missed) + len(self.intruders)

    def sentence(self) -> str:
        """One line a maintainer can act on."""
        if self.reproduced == 0:
            return "nothing reproduced" + (f" ({self.passed} passed)" if self.passed else "")
        assert self.condition is not None
        if self.passed == 0:
            return f"every cell that ran reproduced ({self.reproduced}); no passed cell to contrast"
        if self.exact and not self.uncovered:
            return f"reproduces exactly when {self.condition}"
        if self.exact:
            n = len(self.uncovered)
            return (
                f"every reproduced cell and no passed cell has {self.condition}; {n} "
                f"cell{'s' if n != 1 else ''} under it neither reproduced nor passed"
            )
        if self.unless is not None:
            return f"reproduces unless {self.unless}"
        plural = "s" if self.exceptions != 1 else ""
        if not self.condition.terms:
            return (
                f"no condition separates them; it reproduces everywhere but {self.exceptions} "
                f"exception{plural}"
            )
        return (
            f"no condition separates them; closest: {self.condition}, with "
            f"{self.exceptions} exception{plural}"
        )


@dataclass(frozen=True)
class Finding:
    """The trigger over all cells, and per toolchain date when the result has a date axis."""

    overall: Trigger
    per_date: tuple[Trigger, ...] = ()

    @property
    def differs_by_date(self) -> bool:
        """Whether the dates need a trigger each.

        An exact trigger over all cells (or its exact negation) separates the evidence of
        every date too, so it is given once. Otherwise the dates are shown apart when one of
        them has an exact trigger (the date explains the rest) or when their conditions differ.
        """
        overall = self.overall
        if not self.per_date or overall.exact or overall.unless or overall.reproduced == 0:
            return False
        if any(t.exact or t.unless is not None for t in self.per_date):
            return True
        return len({(t.condition, t.reproduced == 0) for t in self.per_date}) > 1

    @property
    def shown(self) -> tuple[Trigger, ...]:
        """Per date when the dates disagree; else the one trigger that holds for all."""
        return self.per_date if self.differs_by_date else (self.overall,)


def find(result: model.MatrixResult) -> Finding:
    """The trigger of a finished matrix, split by its date axes when their triggers differ."""
    axes = result.axis_labels
    overall = derive(result.cells, axes)
    dates = result.axes_of_kind(model.AxisKind.DATE)
    if not dates:
        return Finding(overall)
    per_date = []
    labels = dict(axes)
    for combo in itertools.product(*(labels[d] for d in dates)):
        scope = tuple(zip(dates, combo))
        cells = [c for c in result.cells if all(c.label_map.get(a) == v for a, v in scope)]
        if cells:
            free = [(name, values) for name, values in axes if name not in dates]
            per_date.append(derive(cells, free, scope))
    return Finding(overall, tuple(per_date))


def derive(
    cells: Iterable[model.CellResult],
    axes: AxisLabels,
    scope: tuple[tuple[str, str], ...] = (),
) -> Trigger:
    """The smallest condition over ``axes`` separating reproduced from passed ``cells``."""
    cells = list(cells)
    samples = [(c.label_map, c.id, c.outcome) for c in cells]
    positive = [(labels, cid) for labels, cid, o in samples if o is POSITIVE]
    negative = [(labels, cid) for labels, cid, o in samples if o is NEGATIVE]
    counts = Evidence(len(positive), len(negative), len(samples) - len(positive) - len(negative))
    if not positive:
        return Trigger(scope, counts, None, exact=False)
    order = {name: list(values) for name, values in axes}
    # an axis with one label among the evidence cannot tell cells apart
    useful = [
        name for name in order if len({labels.get(name) for labels, _ in positive + negative}) > 1
    ]
    found = _exact(positive, negative, useful, order)
    if found:
        first, *others = found
        uncovered = tuple(
            c.id for c in cells if c.ran and c.outcome not in EVIDENCE and first.holds(c.label_map)
        )
        return Trigger(scope, counts, first, True, alternatives=tuple(others), uncovered=uncovered)
    best, greedy = _fewest_exceptions(positive, negative, useful, order)
    missed = tuple(cid for labels, cid in positive if not best.holds(labels))
    intruders = tuple(cid for labels, cid in negative if best.holds(labels))
    unless = _exact(negative, positive, useful, order) if negative else []
    return Trigger(
        scope,
        counts,
        best,
        False,
        missed,
        intruders,
        greedy=greedy,
        unless=unless[0] if unless else None,
    )


Sample = tuple[Mapping[str, str], str]


@dataclass(frozen=True)
class Cover:
    """The smallest condition holding on every cell of a group (a cause, say) and on as few
    others as can be: ``exact`` when on none of them, else ``others`` names those it also holds
    on."""

    condition: Condition
    exact: bool
    others: tuple[str, ...] = ()  # ids of cells outside the group that the condition holds on


def cover(
    inside: Sequence[model.CellResult], outside: Sequence[model.CellResult], axes: AxisLabels
) -> Cover:
    """The smallest condition over ``axes`` that holds on all of ``inside`` and none of
    ``outside``; when none does, the tightest one that holds on all of ``inside`` (each axis
    taking the labels seen there), with the cells of ``outside`` it also holds on."""
    positive = [(c.label_map, c.id) for c in inside]
    negative = [(c.label_map, c.id) for c in outside]
    order = {name: list(values) for name, values in axes}
    useful = [
        name for name in order if len({labels.get(name) for labels, _ in positive + negative}) > 1
    ]
    if not negative:
        return Cover(Condition(()), True)
    found = _exact(positive, negative, useful, order)
    if found:
        return Cover(found[0], True)
    tight = {name: _tight(name, positive, order) for name in useful}
    condition = Condition(
        tuple((name, tight[name]) for name in useful if len(tight[name]) < len(order[name]))
    )
    return Cover(
        condition, False, tuple(cid for labels, cid in negative if condition.holds(labels))
    )


def _tight(
    name: str, positive: Sequence[Sample], order: Mapping[str, list[str]]
) -> tuple[str, ...]:
    seen = {labels.get(name) for labels, _ in positive}
    return tuple(label for label in order[name] if label in seen)


def _exact(
    positive: Sequence[Sample],
    negative: Sequence[Sample],
    useful: Sequence[str],
    order: Mapping[str, list[str]],
) -> list[Condition]:
    """Every smallest condition holding on all of ``positive`` and none of ``negative``, in
    axis order; empty when none exists.

    A set of axes works when each negative cell has, on one of them, a label no positive cell
    has: a set cover, searched by increasing size (scenarios have a handful of axes).
    """
    tight = {name: _tight(name, positive, order) for name in useful}
    everyone = (1 << len(negative)) - 1
    excludes = {}
    for name in useful:
        masks = _masks(negative, name)
        excludes[name] = _union(m for label, m in masks.items() if label not in tight[name])
    candidates = [name for name in useful if excludes[name]]
    for size in range(len(candidates) + 1):
        found = [
            Condition(tuple((name, tight[name]) for name in combo))
            for combo in itertools.combinations(candidates, size)
            if _union(excludes[name] for name in combo) == everyone
        ]
        if found:
            return found
    return []


def _masks(samples: Sequence[Sample], name: str) -> dict[str | None, int]:
    """For each label of axis ``name``, the bit mask of the samples that have it."""
    bits: dict[str | None, bytearray] = {}
    for i, (labels, _) in enumerate(samples):
        bitmap = bits.setdefault(labels.get(name), bytearray((len(samples) + 7) // 8))
        bitmap[i // 8] |= 1 << (i % 8)
    return {label: int.from_bytes(bitmap, "little") for label, bitmap in bits.items()}


def _union(masks: Iterable[int]) -> int:
    total = 0
    for mask in masks:
        total |= mask
    return total


def _ones(mask: int) -> int:
    return bin(mask).count("1")


def _fewest_exceptions(
    positive: Sequence[Sample],
    negative: Sequence[Sample],
    useful: Sequence[str],
    order: Mapping[str, list[str]],
) -> tuple[Condition, bool]:
    """The condition with the fewest exceptions, then the fewest axes: every combination of
    label sets when there are few enough, else greedy (one axis at a time, each set to its
    best labels given the others, until nothing improves)."""
    samples = [*positive, *negative]
    everything = (1 << len(samples)) - 1
    pos_mask = (1 << len(positive)) - 1
    neg_mask = everything ^ pos_mask
    has = {name: _masks(samples, name) for name in useful}
    labels_of = {name: [label for label in order[name] if label in has[name]] for name in useful}

    def inside(chosen: Mapping[str, tuple[str, ...]], skip: str = "") -> int:
        mask = everything
        for name, allowed in chosen.items():
            if name != skip:
                mask &= _union(has[name][label] for label in allowed)
        return mask

    def score(chosen: Mapping[str, tuple[str, ...]]) -> tuple[int, int]:
        mask = inside(chosen)
        return _ones(pos_mask & ~mask) + _ones(neg_mask & mask), len(chosen)

    size = 1
    for name in useful:
        size *= (1 << len(labels_of[name])) - 1  # proper non-empty subsets, and "free"
    best: dict[str, tuple[str, ...]] = {}
    best_score = score(best)
    if size <= SEARCH_LIMIT:
        options = [[None, *_subsets(labels_of[name])] for name in useful]
        for combo in itertools.product(*options):
            chosen = {name: allowed for name, allowed in zip(useful, combo) if allowed}
            found = score(chosen)
            if found < best_score:
                best, best_score = chosen, found
        return _condition(best, useful), False
    improved = True
    while improved:
        improved = False
        for name in useful:
            rest = inside(best, skip=name)
            gains = {
                label: _ones(rest & has[name][label] & pos_mask)
                - _ones(rest & has[name][label] & neg_mask)
                for label in labels_of[name]
            }
            allowed = tuple(label for label in labels_of[name] if gains[label] > 0)
            if not allowed:  # a condition holds somewhere: at least the least bad label
                allowed = (max(labels_of[name], key=lambda label: gains[label]),)
            trial = {k: v for k, v in best.items() if k != name}
            if allowed and len(allowed) < len(labels_of[name]):
                trial[name] = allowed
            found = score(trial)
            if found < best_score:
                best, best_score, improved = trial, found, True
    return _condition(best, useful), True


def _subsets(labels: Sequence[str]) -> list[tuple[str, ...]]:
    """Every non-empty proper subset of ``labels``, in label order."""
    return [
        tuple(label for j, label in enumerate(labels) if bits >> j & 1)
        for bits in range(1, (1 << len(labels)) - 1)
    ]


def _condition(chosen: Mapping[str, tuple[str, ...]], useful: Sequence[str]) -> Condition:
    return Condition(tuple((name, chosen[name]) for name in useful if name in chosen))
