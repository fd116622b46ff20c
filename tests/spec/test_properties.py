"""Property tests of expansion, selection and sharding on random small scenarios.

Scenarios are generated as plain specs (axes of mixed kinds, a few values each, random
exclusions), turned into :class:`buglab.model.Scenario` values directly, and once through
``scenario.toml`` text, and checked against oracles written independently of ``plan``:
inclusion-exclusion for the cell count, a hand-written predicate for ``--only``, and the
balance bound of greedy sharding. No venv is built; the only files are in a temp folder.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from buglab import model
from buglab.errors import ScenarioError
from buglab.spec import plan, scenario

SRC = Path(__file__).resolve().parents[2] / "src"
NOWHERE = Path("/nonexistent/repo")
#: modest, and no example database in the work tree (nothing on disk beyond a temp folder)
SETTINGS = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.filter_too_much],
)

#: label pools per kind; every label is valid in scenario.toml, and distinct labels of one axis
#: always give distinct payloads (so distinct venvs for the kinds that shape one)
LABELS: dict[model.AxisKind, tuple[str, ...]] = {
    model.AxisKind.INSTALL: ("editable", "non-editable", "not-installed"),
    model.AxisKind.DATE: ("2023-12-10", "latest", "2022-01-31", "2024-02-29"),
    model.AxisKind.VERSION: ("1.4", "2.0", "2.0.1", "3"),
    model.AxisKind.FLAGS: ("on", "off", "a", "b", "c"),
    model.AxisKind.ENV: ("default", "x", "y", "z"),
}
KINDS = tuple(LABELS)


@dataclass(frozen=True)
class AxisSpec:
    name: str
    kind: model.AxisKind
    labels: tuple[str, ...]


Conditions = tuple[tuple[str, frozenset[str]], ...]


@dataclass(frozen=True)
class Spec:
    """A scenario as data: what the generator draws and the oracles read."""

    axes: tuple[AxisSpec, ...]
    excludes: tuple[Conditions, ...]

    def axis(self, name: str) -> AxisSpec:
        return next(a for a in self.axes if a.name == name)


# -- generation ------------------------------------------------------------------------------


def _one_of_each(kinds: list[model.AxisKind]) -> bool:
    """The format allows one install axis and one date axis at most."""
    return all(kinds.count(k) <= 1 for k in (model.AxisKind.INSTALL, model.AxisKind.DATE))


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=4).filter(_one_of_each))
    axes = []
    for i, kind in enumerate(kinds):
        pool = LABELS[kind]
        labels = draw(
            st.lists(st.sampled_from(pool), min_size=1, max_size=min(4, len(pool)), unique=True)
        )
        name = "install" if kind is model.AxisKind.INSTALL else f"{kind.value}{i}"
        axes.append(AxisSpec(name, kind, tuple(labels)))
    rules = []
    for _ in range(draw(st.integers(0, 3))):
        chosen = draw(st.lists(st.sampled_from(axes), min_size=1, unique=True))
        rules.append(
            tuple(
                (
                    a.name,
                    frozenset(draw(st.lists(st.sampled_from(a.labels), min_size=1, unique=True))),
                )
                for a in chosen
            )
        )
    return Spec(tuple(axes), tuple(rules))


def _payload(axis: AxisSpec, index: int, label: str) -> model.Payload:
    kind = axis.kind
    if kind is model.AxisKind.INSTALL:
        return model.Install(model.InstallMode(label))
    if kind is model.AxisKind.DATE:
        return model.Date(None if label == "latest" else label)
    if kind is model.AxisKind.VERSION:
        exact = label.count(".") >= 2
        return model.Version(f"pkg{index}", f"=={label}" if exact else f"=={label}.*")
    if kind is model.AxisKind.FLAGS:
        return model.Flags(() if label == "off" else (f"--{axis.name}={label}",))
    return model.Env(() if label == "default" else ((f"VAR_{index}", label),))


MINIMAL = """\
title = "random"
description = "random"
requirements = ["pytest"]
command = ["prog", "{flags}"]
signature = "boom"
timeout = 10
"""


@functools.cache
def template() -> model.Scenario:
    """A loaded scenario with no axes: build() swaps in axes and rules, keeping every other
    field as the loader fills it, so new fields of the model need no change here."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "scenarios" / "random"
        folder.mkdir(parents=True)
        (folder / "scenario.toml").write_text(MINIMAL, encoding="utf-8")
        loaded = scenario.load(folder / "scenario.toml", Path(tmp))
    return replace(loaded, project=model.Project("package", NOWHERE, ()))


def build(spec: Spec) -> model.Scenario:
    """The Scenario that scenario.load makes of the spec as TOML (a property checks it)."""
    axes = tuple(
        model.Axis(
            a.name,
            a.kind,
            tuple(model.AxisValue(label, _payload(a, i, label)) for label in a.labels),
        )
        for i, a in enumerate(spec.axes)
    )
    excludes = tuple(model.Rule(conditions) for conditions in spec.excludes)
    return replace(template(), axes=axes, excludes=excludes, expects=())


def to_toml(spec: Spec) -> str:
    lines = [MINIMAL, "[project]", 'name = "package"']
    for i, a in enumerate(spec.axes):
        lines += [f"[axes.{a.name}]", f'kind = "{a.kind.value}"']
        if a.kind is model.AxisKind.VERSION:
            lines += [f'package = "pkg{i}"', f"values = {json.dumps(list(a.labels))}"]
        elif a.kind in (model.AxisKind.FLAGS, model.AxisKind.ENV):
            payloads = {label: _payload(a, i, label) for label in a.labels}
            values = {
                label: list(p.argv) if isinstance(p, model.Flags) else dict(p.variables)
                for label, p in payloads.items()
                if isinstance(p, (model.Flags, model.Env))
            }
            body = ", ".join(f"{json.dumps(k)} = {_inline(v)}" for k, v in values.items())
            lines.append(f"values = {{ {body} }}")
        else:
            lines.append(f"values = {json.dumps(list(a.labels))}")
    for conditions in spec.excludes:
        lines.append("[[exclude]]")
        lines += [f"{name} = {json.dumps(sorted(labels))}" for name, labels in conditions]
    return "\n".join(lines) + "\n"


def _inline(value: list[str] | dict[str, str]) -> str:
    if isinstance(value, list):
        return json.dumps(value)
    return "{ " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in value.items()) + " }"


# -- oracles ---------------------------------------------------------------------------------


def expected_count(spec: Spec) -> int:
    """Product of axis sizes minus the union of the exclusions, by inclusion-exclusion."""
    total = 1
    for a in spec.axes:
        total *= len(a.labels)
    union = 0
    for r in range(1, len(spec.excludes) + 1):
        for rules in itertools.combinations(spec.excludes, r):
            size = 1
            for a in spec.axes:
                allowed = set(a.labels)
                for conditions in rules:
                    allowed &= dict(conditions).get(a.name, allowed)
                size *= len(allowed)
            union += (-1) ** (r + 1) * size
    return total - union


def position(spec: Spec, cell: model.Cell) -> tuple[int, ...]:
    """Where a cell stands in the declared product: first axis slowest."""
    assert [name for name, _ in cell.labels] == [a.name for a in spec.axes]
    return tuple(a.labels.index(label) for a, (_, label) in zip(spec.axes, cell.labels))


def in_plan_order(spec: Spec, cells: Sequence[model.Cell]) -> bool:
    places = [position(spec, c) for c in cells]
    return all(a < b for a, b in zip(places, places[1:]))


def cells_of(spec: Spec) -> tuple[model.Cell, ...]:
    """The cells of a spec that has some (specs whose exclusions cover everything are skipped)."""
    assume(expected_count(spec) > 0)
    return plan.expand(build(spec))


def satisfies(cell: model.Cell, wanted: dict[str, set[str]]) -> bool:
    """``--only`` as documented: every named axis holds; a missing install axis is not-installed."""
    labels = cell.label_map
    for axis, values in wanted.items():
        label = labels.get(axis, "not-installed" if axis == "install" else None)
        if label not in values:
            return False
    return True


def venv_key(spec: Spec, cell: model.Cell) -> tuple[str, ...]:
    """What should decide a cell's venv: its labels on the axes that shape one."""
    return tuple(label for a, (_, label) in zip(spec.axes, cell.labels) if a.kind.shapes_venv)


# -- expansion -------------------------------------------------------------------------------


@SETTINGS
@given(specs())
def test_expansion_is_the_product_minus_exclusions(spec: Spec) -> None:
    """Count, uniqueness, order and the exclusions themselves, against the oracles."""
    count = expected_count(spec)
    if count == 0:
        with pytest.raises(ScenarioError) as caught:
            plan.expand(build(spec))
        assert caught.value.key == "exclude"
        return
    cells = plan.expand(build(spec))
    assert len(cells) == count
    assert len({c.id for c in cells}) == len(cells)
    assert in_plan_order(spec, cells)
    for cell in cells:
        labels = cell.label_map
        assert not any(all(labels[a] in allowed for a, allowed in rule) for rule in spec.excludes)
        assert cell.id == ",".join(f"{a}={v}" for a, v in cell.labels)


@SETTINGS
@given(specs())
def test_expansion_is_stable_and_follows_declaration_order(spec: Spec) -> None:
    """Two expansions agree; declaring values in another order moves cells, changes none."""
    cells = cells_of(spec)
    assert plan.expand(build(spec)) == cells
    flipped = replace(spec, axes=tuple(replace(a, labels=a.labels[::-1]) for a in spec.axes))
    again = plan.expand(build(flipped))
    assert in_plan_order(flipped, again)
    assert {c.id: c for c in again} == {c.id: c for c in cells}


@SETTINGS
@given(specs())
def test_cells_share_a_venv_exactly_when_their_venv_axes_agree(spec: Spec) -> None:
    """flags and env axes change the command only; every other kind makes its own venv."""
    cells = cells_of(spec)
    for a, b in itertools.combinations(cells, 2):
        assert (a.venv == b.venv) == (venv_key(spec, a) == venv_key(spec, b))


@settings(SETTINGS, max_examples=50)
@given(specs())
def test_toml_text_and_model_values_expand_alike(spec: Spec) -> None:
    """The generator's direct Scenario is what scenario.load makes of the same spec as TOML."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "scenarios" / "random"
        folder.mkdir(parents=True)
        (folder / "scenario.toml").write_text(to_toml(spec), encoding="utf-8")
        loaded = scenario.load(folder / "scenario.toml", Path(tmp))
    direct = build(spec)
    assert [(a.name, a.kind, a.values) for a in loaded.axes] == [
        (a.name, a.kind, a.values) for a in direct.axes
    ]
    assert loaded.excludes == direct.excludes
    if expected_count(spec) > 0:
        from_text, from_model = plan.expand(loaded), plan.expand(direct)
        assert [c.id for c in from_text] == [c.id for c in from_model]
        assert [c.argv for c in from_text] == [c.argv for c in from_model]


# -- selection -------------------------------------------------------------------------------


@st.composite
def only_items(draw: st.DrawFn, spec: Spec) -> list[str]:
    """``--only`` arguments naming the spec's axes, or an absent install axis, some values bogus."""
    pools = {a.name: a.labels for a in spec.axes}
    pools.setdefault("install", LABELS[model.AxisKind.INSTALL])
    items = []
    for _ in range(draw(st.integers(0, 3))):
        axis = draw(st.sampled_from(sorted(pools)))
        values = draw(
            st.lists(st.sampled_from((*pools[axis], "bogus")), min_size=1, max_size=3, unique=True)
        )
        items.append(f"{axis}={','.join(values)}")
    return items


@SETTINGS
@given(st.data())
def test_select_keeps_exactly_the_matching_cells_in_order(data: st.DataObject) -> None:
    spec = data.draw(specs())
    cells = cells_of(spec)
    items = data.draw(only_items(spec))
    wanted: dict[str, set[str]] = {}
    for item in items:
        axis, _, values = item.partition("=")
        wanted.setdefault(axis, set()).update(values.split(","))

    kept = plan.select(cells, plan.Selection.parse(items))

    ids = [c.id for c in cells]
    assert set(kept) <= set(cells)
    assert [ids.index(c.id) for c in kept] == sorted(ids.index(c.id) for c in kept)
    assert all(satisfies(c, wanted) for c in kept)
    assert not any(satisfies(c, wanted) for c in cells if c not in kept)


# -- sharding --------------------------------------------------------------------------------


@SETTINGS
@given(st.data())
def test_shards_partition_keep_venvs_together_and_balance(data: st.DataObject) -> None:
    spec = data.draw(specs())
    cells = cells_of(spec)
    count = data.draw(st.integers(1, 6), label="shards")

    shards = [plan.shard(cells, plan.Shard(k, count)) for k in range(1, count + 1)]

    ids = [c.id for part in shards for c in part]
    assert len(ids) == len(set(ids)), "shards overlap"
    assert set(ids) == {c.id for c in cells}, "shards miss cells"
    owner = {c.id: k for k, part in enumerate(shards) for c in part}
    groups: dict[model.VenvSpec, list[str]] = {}
    for cell in cells:
        groups.setdefault(cell.venv, []).append(cell.id)
    for members in groups.values():
        assert len({owner[i] for i in members}) == 1, "a venv is split across shards"
    sizes = [len(part) for part in shards]
    assert max(sizes) - min(sizes) <= max(len(m) for m in groups.values())
    assert all(in_plan_order(spec, part) for part in shards)
    assert [plan.shard(cells, plan.Shard(k, count)) for k in range(1, count + 1)] == shards


# -- determinism across processes ------------------------------------------------------------


SEEDED = textwrap.dedent("""
    title = "hash seeds"
    description = "exclusions and --only values are sets; ids must not follow their order"
    command = ["prog", "{flags}"]
    signature = "boom"
    [axes.alpha]
    kind = "flags"
    values = { a = ["-a"], b = ["-b"], c = [], d = ["-d"] }
    [axes.beta]
    kind = "env"
    values = { p = {}, q = { Q = "1" }, r = { R = "1" } }
    [axes.gamma]
    kind = "version"
    package = "pkg"
    values = ["1.0", "2.0", "3.0"]
    [axes.delta]
    kind = "date"
    values = ["latest", "2023-12-10"]
    [[exclude]]
    alpha = ["d", "a"]
    gamma = ["3.0", "1.0"]
    [[expect]]
    outcome = "passed"
    [[expect]]
    outcome = "reproduced"
    beta = ["r", "q"]
""")

PROBE = textwrap.dedent("""
    import sys
    from pathlib import Path
    from buglab.spec import plan, scenario
    root = Path(sys.argv[1])
    s = scenario.load(root / "scenarios" / "seeded" / "scenario.toml", root)
    cells = plan.select(plan.expand(s), plan.Selection.parse(["beta=r,q,p", "alpha=c,b,a"]))
    for k in (1, 2, 3):
        print(k, [c.id for c in plan.shard(cells, plan.Shard(k, 3))])
    for c in cells:
        print(c.id, c.expected, c.argv, c.env)
""")


def test_ids_and_order_do_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    """Sets and frozensets order by hash; nothing the plan prints may follow them."""
    folder = tmp_path / "scenarios" / "seeded"
    folder.mkdir(parents=True)
    (folder / "scenario.toml").write_text(SEEDED, encoding="utf-8")
    outputs = set()
    for seed in ("0", "1", "4242", "99999"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(SRC)}
        done = subprocess.run(
            [sys.executable, "-c", PROBE, str(tmp_path)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        outputs.add(done.stdout)
    assert len(outputs) == 1
    # 72 combinations - 24 excluded = 48; --only alpha=c,b,a drops the 6 left with alpha=d
    assert outputs.pop().count("\n") == 3 + 42


def test_only_install_respects_an_install_axis_of_another_name() -> None:
    spec = Spec((AxisSpec("mode", model.AxisKind.INSTALL, ("editable", "non-editable")),), ())
    cells = plan.expand(build(spec))
    kept = plan.select(cells, plan.Selection.parse(["install=non-editable"]))
    assert [c.id for c in kept] == ["mode=non-editable"]
    assert plan.select(cells, plan.Selection.parse(["install=not-installed"])) == ()
