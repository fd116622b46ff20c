"""Stages 2 and 3: expand a scenario into cells, then select and shard them. All pure."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from buglab import model
from buglab.errors import ScenarioError, UsageError
from buglab.spec.checks import did_you_mean

#: the most combinations of axis values a scenario may have: more is refused up front, in one
#: line, rather than expanded for minutes (a million cells took 93 s and 922 MB)
MAX_CELLS = 50_000


def expand(scenario: model.Scenario) -> tuple[model.Cell, ...]:
    """Every combination of axis values, minus exclusions, in axis order (first axis slowest)."""
    axes = scenario.axes
    combinations = math.prod(len(axis.values) for axis in axes)
    if combinations > MAX_CELLS:
        raise ScenarioError(
            scenario.source,
            "axes",
            f"{' × '.join(str(len(a.values)) for a in axes)} = {combinations:,} combinations, "
            f"more than the lab expands ({MAX_CELLS:,}); split the scenario or narrow an axis",
        )
    combos = []
    for combo in itertools.product(*(axis.values for axis in axes)):
        labels = tuple((axis.name, value.label) for axis, value in zip(axes, combo))
        if not any(rule.matches(dict(labels)) for rule in scenario.excludes):
            combos.append((labels, combo))
    if not combos:
        raise ScenarioError(scenario.source, "exclude", "the exclusions leave no cell to run")
    expected = expectations(scenario, [labels for labels, _ in combos])
    cells = []
    for (labels, combo), outcome in zip(combos, expected):
        payloads = [value.payload for value in combo]
        cells.append(
            model.Cell(
                scenario=scenario.name,
                id=cell_id(labels),
                labels=labels,
                venv=_venv_spec(scenario, payloads),
                argv=_argv(scenario, combo),
                env=scenario.env
                + tuple(pair for p in payloads if isinstance(p, model.Env) for pair in p.variables),
                expected=outcome,
            )
        )
    return tuple(cells)


def cell_id(labels: Sequence[tuple[str, str]]) -> str:
    return ",".join(f"{axis}={label}" for axis, label in labels) or "default"


def _venv_spec(scenario: model.Scenario, payloads: Sequence[model.Payload]) -> model.VenvSpec:
    python, date, install = scenario.python, None, model.InstallMode.NOT_INSTALLED
    requirements = list(scenario.requirements)
    pins = []
    for payload in payloads:
        if isinstance(payload, model.Python):
            python = payload.version
        elif isinstance(payload, model.Date):
            date = payload.day
        elif isinstance(payload, model.Install):
            install = payload.mode
        elif isinstance(payload, model.Version):
            requirements.append(payload.requirement)
            pins.append(payload)
        elif isinstance(payload, model.Requirements):
            requirements.extend(payload.requirements)
    return model.VenvSpec(
        python=python,
        requirements=tuple(requirements),
        date=date,
        install=install,
        project=scenario.project if install.installs_project else None,
        pins=tuple(pins),
    )


def _argv(scenario: model.Scenario, combo: Sequence[model.AxisValue]) -> tuple[str, ...]:
    flags = {
        axis.name: value.payload.argv
        for axis, value in zip(scenario.axes, combo)
        if isinstance(value.payload, model.Flags)
    }
    placed = {arg[1:-1] for arg in scenario.command if arg[1:-1] in flags}
    rest = [arg for name, argv in flags.items() if name not in placed for arg in argv]
    argv: list[str] = []
    for arg in scenario.command:
        if arg == "{flags}":
            argv.extend(rest)
            rest = []
        elif arg.startswith("{") and arg[1:-1] in flags:
            argv.extend(flags[arg[1:-1]])
        else:
            argv.append(arg)
    return (*argv, *rest)


def expectations(
    scenario: model.Scenario, cells: Sequence[tuple[tuple[str, str], ...]]
) -> list[model.Outcome | None]:
    """Each cell's expected outcome: the narrowest rule that matches it wins.

    Rules layer: a rule whose cells are a strict subset of another's overrides it where both
    match (a broad ``reproduced`` and, inside it, a narrower ``unavailable``). Two rules that
    disagree and overlap without one containing the other are rejected, naming what they both
    claim. The default rule (no axis keys) covers every cell, so any other rule is narrower.
    """
    maps = [dict(labels) for labels in cells]
    rules = list(scenario.expects)
    claims = [frozenset(i for i, labels in enumerate(maps) if r.matches(labels)) for r in rules]
    for a, b in itertools.combinations(range(len(rules)), 2):
        both = claims[a] & claims[b]
        nested = claims[a] < claims[b] or claims[b] < claims[a]
        if both and not nested and rules[a].outcome is not rules[b].outcome:
            first = cell_id(cells[min(both)])
            raise ScenarioError(
                scenario.source,
                "expect",
                f"expect[{a}] ({rules[a].outcome}) and expect[{b}] ({rules[b].outcome}) both "
                f"claim {len(both)} cell(s), e.g. {first!r}, and neither is narrower than the "
                "other: narrow one of them, or make them agree",
            )
    out: list[model.Outcome | None] = []
    for i in range(len(maps)):
        matching = [k for k in range(len(rules)) if i in claims[k]]
        narrowest = [k for k in matching if not any(claims[j] < claims[k] for j in matching)]
        out.append(rules[narrowest[0]].outcome if narrowest else None)
    return out


# -- selection -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """``--only AXIS=VALUE`` filters: values of one axis are alternatives, axes must all hold."""

    wanted: tuple[tuple[str, frozenset[str]], ...] = ()

    @classmethod
    def parse(cls, items: Iterable[str]) -> Selection:
        wanted: dict[str, set[str]] = {}
        for item in items:
            axis, sep, value = item.partition("=")
            if not sep or not axis.strip() or not value.strip():
                raise UsageError(f"--only {item!r}: expected AXIS=VALUE, e.g. install=editable")
            wanted.setdefault(axis.strip(), set()).update(v.strip() for v in value.split(","))
        return cls(tuple((axis, frozenset(values)) for axis, values in sorted(wanted.items())))

    def validate(self, scenarios: Sequence[model.Scenario]) -> None:
        """An axis or value no selected scenario knows is a usage error, with a did-you-mean."""
        known: dict[str, set[str]] = {}
        for scenario in scenarios:
            for axis in scenario.axes:
                known.setdefault(axis.name, set()).update(axis.labels)
        if "install" not in known:  # answered by every scenario (see _implicit)
            known["install"] = {mode.value for mode in model.InstallMode}
        names = ", ".join(s.name for s in scenarios)
        self.check({axis: sorted(labels) for axis, labels in sorted(known.items())}, names)

    def check(self, known: Mapping[str, Sequence[str]], where: str) -> None:
        """Every wanted axis and value is among ``known`` (axis -> its labels, as listed)."""
        for axis, values in self.wanted:
            if axis not in known:
                raise UsageError(
                    f"--only {axis}=...: no axis {axis!r} in {where}"
                    f"{did_you_mean(axis, list(known))}"
                )
            for value in sorted(values - set(known[axis])):
                raise UsageError(
                    f"--only {axis}={value}: {value!r} is not a value of axis {axis!r} "
                    f"({', '.join(known[axis])}){did_you_mean(value, list(known[axis]))}"
                )

    def keeps(self, cell: model.Cell) -> bool:
        labels = cell.label_map
        return all(
            labels.get(axis, _implicit(cell, axis)) in values for axis, values in self.wanted
        )


def _implicit(cell: model.Cell, axis: str) -> str | None:
    """``install`` is answered by every scenario: by its install axis, whatever its name."""
    if axis == "install":
        return cell.venv.install.value
    return None


def select(cells: Sequence[model.Cell], selection: Selection) -> tuple[model.Cell, ...]:
    return tuple(cell for cell in cells if selection.keeps(cell))


# -- grouping and sharding -------------------------------------------------------------------


def venv_groups(cells: Sequence[model.Cell]) -> tuple[tuple[model.Cell, ...], ...]:
    """Cells that share a venv, in order of first appearance."""
    groups: dict[model.VenvSpec, list[model.Cell]] = {}
    for cell in cells:
        groups.setdefault(cell.venv, []).append(cell)
    return tuple(tuple(group) for group in groups.values())


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        k, sep, n = text.partition("/")
        if not sep or not k.isdigit() or not n.isdigit() or not 1 <= int(k) <= int(n):
            raise UsageError(f"--shard {text!r}: expected K/N with 1 <= K <= N, e.g. 2/4")
        return cls(int(k), int(n))

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def shard(cells: Sequence[model.Cell], which: Shard) -> tuple[model.Cell, ...]:
    """The K-th of N shards, balanced by cell count; cells that share a venv stay together.

    Greedy longest-first assignment over venv groups: deterministic, since groups come in
    plan order and ties go to the lowest shard.
    """
    groups = venv_groups(cells)
    loads = [0] * which.count
    owner: dict[int, int] = {}
    order = sorted(range(len(groups)), key=lambda i: (-len(groups[i]), i))
    for i in order:
        target = min(range(which.count), key=lambda s: (loads[s], s))
        owner[i] = target
        loads[target] += len(groups[i])
    keep = {
        cell.id for i, group in enumerate(groups) if owner[i] == which.index - 1 for cell in group
    }
    return tuple(cell for cell in cells if cell.id in keep)
