"""The search against real probes: ``jobs`` candidates at a time, each line printed as its
probe finishes, every probe kept in the order the search asked for it."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Protocol

from buglab import model
from buglab.bisect import answer
from buglab.bisect.probing import Probe
from buglab.bisect.search import Phase, Search, Verdict
from buglab.lab import Say


class Probes(Protocol):
    """What the search asks of the lab (a :class:`Prober`, or a fake one in tests)."""

    def prefetch(self, cells: Sequence[model.Cell]) -> None: ...

    def probe(self, candidate: str, cell: model.Cell, phase: Phase) -> Probe: ...

    def cancel(self) -> None: ...


@dataclass(frozen=True)
class Driven:
    """The search's last state, every probe in the order the search asked for it, and the
    number of rounds (batches of probes run at once)."""

    state: Search
    probes: tuple[Probe, ...]
    rounds: int


def drive(
    labels: Sequence[str],
    cells: Sequence[model.Cell],
    oldest: Verdict | None,
    prober: Probes,
    say: Say,
    *,
    jobs: int = 1,
    start: Search | None = None,
) -> Driven:
    """The search against real probes, ``jobs`` candidates at a time (each line printed as its
    probe finishes); while a batch runs, the candidates of every next batch are resolved."""
    state = start or Search(len(labels), oldest)
    probes: list[Probe] = []
    rounds = 0
    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="probe") as pool:
        while batch := state.batch(max(1, jobs)):
            rounds += 1
            ahead = sorted(_ahead(state, batch, jobs))
            prober.prefetch([cells[i] for i in ahead])
            phase = state.phase()
            found = _probe_batch(batch, labels, cells, phase, prober, pool, say)
            probes += [found[i] for i in batch]
            state = state.record_batch([(i, found[i].verdict) for i in batch])
    return Driven(state, tuple(probes), rounds)


def _probe_batch(
    batch: Sequence[int],
    labels: Sequence[str],
    cells: Sequence[model.Cell],
    phase: Phase,
    prober: Probes,
    pool: ThreadPoolExecutor,
    say: Say,
) -> dict[int, Probe]:
    if len(batch) == 1:  # in this thread: Ctrl-C reaches the probe's processes directly
        (at,) = batch
        probe = prober.probe(labels[at], cells[at], phase)
        say(answer.probe_line(probe))
        return {at: probe}
    futures = {pool.submit(prober.probe, labels[i], cells[i], phase): i for i in batch}
    found: dict[int, Probe] = {}
    try:
        for future in as_completed(futures):
            found[futures[future]] = future.result()
            say(answer.probe_line(found[futures[future]]))
    except BaseException:
        prober.cancel()  # the other probes' processes end now; the pool then joins them
        raise
    return found


def _ahead(state: Search, batch: Sequence[int], jobs: int) -> set[int]:
    """The candidates any outcome of ``batch`` could make the search ask for next."""
    if len(batch) <= 3:
        patterns = list(itertools.product((Verdict.GOOD, Verdict.BAD), repeat=len(batch)))
    else:  # a monotone range: the first j behave like the oldest end, the rest do not
        patterns = [
            (old,) * j + (old.opposite,) * (len(batch) - j)
            for old in (Verdict.GOOD, Verdict.BAD)
            for j in range(len(batch) + 1)
        ]
    following: set[int] = set()
    for pattern in patterns:
        following.update(state.record_batch(list(zip(batch, pattern))).batch(max(1, jobs)))
    return following - set(batch)
