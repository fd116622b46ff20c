"""The bisection itself: a pure state machine over ordered candidates. No disk, no processes.

Candidates are indices ``0 .. size-1``, oldest first. Each probe gives a :class:`Verdict`;
``skip`` (an outcome that is neither ``reproduced`` nor ``passed``) is never blamed, like
``git bisect skip``. The state is a frozen value: ``next()`` names the candidate to probe,
``record()`` returns the state after its verdict. Because nothing is mutated, a driver can ask
what it would probe after either verdict (to prepare both) before the probe has finished.

Phases, in order: both ends; binary search between the last "old" and first "new" verdicts;
then the two sides of the boundary once more, to confirm them.

With ``k`` workers, ``batch(k)`` names up to ``k`` candidates to probe at once (both ends
together, ``k`` points splitting the range into ``k + 1`` equal parts, both confirmations
together): a ``(k + 1)``-ary search, about ``ceil(log_(k+1) n)`` rounds instead of
``ceil(log2 n)``. ``batch(1)`` is the plain binary search.

``weights`` (one per candidate, default 1) split the range by weight instead of by count: a
commit bisect gives each merge on the first-parent line the weight of the commits it brought
in, which are searched next if it turns out to be the boundary, so that the whole search costs
about ``log2`` of the number of commits, not ``log2`` of the line plus ``log2`` of the merge.

``late_ends`` takes the ends as called and probes each only if it turns out to be a side of the
boundary (then confirms it like the other side): an end that is not what it was called is
still found out wherever it matters, and a commit bisect builds neither end unless it must.
"""

from __future__ import annotations

import enum
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Union


class Verdict(str, enum.Enum):
    GOOD = "good"
    BAD = "bad"
    SKIP = "skip"

    @property
    def opposite(self) -> Verdict:
        return {Verdict.GOOD: Verdict.BAD, Verdict.BAD: Verdict.GOOD}[self]

    def __str__(self) -> str:
        return self.value


class Phase(str, enum.Enum):
    END = "end"
    SEARCH = "search"
    CONFIRM = "confirm"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Observation:
    index: int
    verdict: Verdict
    phase: Phase


@dataclass(frozen=True)
class Found:
    """The boundary: ``last_old`` still behaves like the oldest end, ``first_new`` like the newest.

    ``gap`` holds the skipped candidates between them: the change happened at one of them or at
    ``first_new``. ``unconfirmed`` names boundary sides whose second run_search could not be judged.
    """

    last_old: int
    first_new: int
    looking_for: Verdict  # BAD: a regression (first bad); GOOD: a fix (first good)
    gap: tuple[int, ...] = ()
    unconfirmed: tuple[int, ...] = ()

    @property
    def exact(self) -> bool:
        return not self.gap


@dataclass(frozen=True)
class WrongEnd:
    """An end the user named is not what they called it: no boundary can be claimed."""

    index: int
    called: Verdict
    got: Verdict


@dataclass(frozen=True)
class WrongEnds:
    ends: tuple[WrongEnd, ...]


@dataclass(frozen=True)
class NoContrast:
    """Without ``--good``/``--bad``, the ends did not give one good and one bad verdict."""

    oldest: Verdict
    newest: Verdict


@dataclass(frozen=True)
class Flip:
    before: Observation
    after: Observation


@dataclass(frozen=True)
class Inconsistent:
    """The verdicts do not split into one old block and one new block (or a candidate gave two
    different verdicts): no single culprit."""

    flips: tuple[Flip, ...]


Answer = Union[Found, WrongEnds, NoContrast, Inconsistent]


@dataclass(frozen=True)
class Search:
    size: int
    oldest: Verdict | None = None  # what the user called the oldest candidate; None: find out
    observations: tuple[Observation, ...] = ()
    weights: tuple[int, ...] = ()  # how much lies behind each candidate; () is all 1
    late_ends: bool = False  # the ends as called; probed only as sides of the boundary

    def __post_init__(self) -> None:
        if self.late_ends and self.oldest is None:
            raise ValueError("late ends need the oldest end called good or bad")
        if self.size < 1:
            raise ValueError("a search needs at least one candidate")
        if self.weights and (len(self.weights) != self.size or min(self.weights) < 1):
            raise ValueError("one weight of at least 1 per candidate")
        if self.oldest is Verdict.SKIP:
            raise ValueError("the oldest end is called good or bad, never skip")

    # -- what has been seen ------------------------------------------------------------------

    def _seen(self, phase: Phase) -> tuple[Observation, ...]:
        return tuple(o for o in self.observations if o.phase is phase)

    def _end(self, index: int) -> Verdict | None:
        return next((o.verdict for o in self._seen(Phase.END) if o.index == index), None)

    @property
    def ends_done(self) -> bool:
        if self.late_ends:
            return True
        return self._end(0) is not None and self._end(self.size - 1) is not None

    def _wrong_ends(self) -> tuple[WrongEnd, ...]:
        """Ends probed and found not to be what they were called."""
        if self.oldest is None or self.size < 2:
            return ()
        return tuple(
            WrongEnd(index, called, got)
            for index, called in ((0, self.oldest), (self.size - 1, self.oldest.opposite))
            if (got := self._end(index)) is not None and got is not called
        )

    @property
    def old_verdict(self) -> Verdict | None:
        """The verdict of the old block, once the ends allow a search at all."""
        if self.late_ends:
            return None if self.size < 2 or self._wrong_ends() else self.oldest
        if not self.ends_done or self.size < 2:
            return None
        first, last = self._end(0), self._end(self.size - 1)
        if Verdict.SKIP in (first, last) or first is last:
            return None
        if self.oldest is not None and first is not self.oldest:
            return None
        return first

    def bounds(self) -> tuple[int, int]:
        """(last candidate with the old verdict, first with the new one), searched so far."""
        old = self.old_verdict
        assert old is not None
        lo, hi = 0, self.size - 1
        for o in self._seen(Phase.SEARCH):
            if o.verdict is old:
                lo = max(lo, o.index)
            elif o.verdict is old.opposite:
                hi = min(hi, o.index)
        return lo, hi

    def _skipped(self) -> set[int]:
        return {o.index for o in self._seen(Phase.SEARCH) if o.verdict is Verdict.SKIP}

    # -- what to do next ---------------------------------------------------------------------

    def next(self) -> int | None:
        """The candidate to probe now, or None when the search is over."""
        found = self.batch(1)
        return found[0] if found else None

    def batch(self, width: int) -> tuple[int, ...]:
        """Up to ``width`` candidates to probe at once (in this order), () when the search is
        over. Every one of them is worth probing whatever the others give."""
        if width < 1:
            raise ValueError("a batch holds at least one candidate")
        ends = tuple(i for i in dict.fromkeys((0, self.size - 1)) if self._end(i) is None)
        if ends and not self.late_ends:
            return ends[:width]
        if self.old_verdict is None:
            return ()
        lo, hi = self.bounds()
        tried = {o.index for o in self._seen(Phase.SEARCH)}
        untested = [i for i in range(lo + 1, hi) if i not in tried]
        if untested:
            # the weight up to and including each candidate after lo: probing i leaves the
            # weight up to i (i new) or the rest (i old)
            upto = list(itertools.accumulate(self._weight(i) for i in range(lo + 1, hi + 1)))
            chosen: list[int] = []
            for part in range(1, width + 1):
                target = upto[-1] * part / (width + 1)
                left = [i for i in untested if i not in chosen]
                if left:
                    chosen.append(min(left, key=lambda i: (abs(upto[i - lo - 1] - target), i)))
            return tuple(sorted(chosen))
        late = self._late_sides(lo, hi)
        if late:
            return late[:width]
        confirmed = {o.index for o in self._seen(Phase.CONFIRM)}
        return tuple(i for i in dict.fromkeys((lo, hi)) if i not in confirmed)[:width]

    def _weight(self, index: int) -> int:
        return self.weights[index] if self.weights else 1

    def _late_sides(self, lo: int, hi: int) -> tuple[int, ...]:
        """Sides of the boundary that are ends not probed yet (``late_ends`` only)."""
        if not self.late_ends:
            return ()
        return tuple(i for i in (lo, hi) if i in (0, self.size - 1) and not self._seen_at(i))

    def _seen_at(self, index: int) -> bool:
        return any(o.index == index for o in self.observations)

    def phase(self) -> Phase:
        if not self.ends_done:
            return Phase.END
        if self.old_verdict is None:
            return Phase.CONFIRM
        lo, hi = self.bounds()
        tried = {o.index for o in self._seen(Phase.SEARCH)}
        if any(i not in tried for i in range(lo + 1, hi)):
            return Phase.SEARCH
        return Phase.END if self._late_sides(lo, hi) else Phase.CONFIRM

    def record(self, index: int, verdict: Verdict) -> Search:
        return self.record_batch(((index, verdict),))

    def record_batch(self, verdicts: Sequence[tuple[int, Verdict]]) -> Search:
        """The state after the verdicts of one batch (``batch(len(verdicts))``, any order)."""
        wanted = self.batch(max(1, len(verdicts)))
        if sorted(i for i, _ in verdicts) != sorted(wanted):
            given = [i for i, _ in verdicts]
            raise ValueError(f"candidates {given}: not the one to probe now ({list(wanted)})")
        phase = self.phase()
        seen = tuple(Observation(i, v, phase) for i, v in verdicts)
        return replace(self, observations=(*self.observations, *seen))

    # -- the answer --------------------------------------------------------------------------

    def answer(self) -> Answer:
        if self.next() is not None:
            raise ValueError("the search is not over")
        wrong = self._wrong_ends()
        if wrong:
            return WrongEnds(wrong)
        old = self.old_verdict
        if old is None:
            first, last = self._end(0), self._end(self.size - 1)
            assert first is not None and last is not None
            return NoContrast(first, last)
        flips = find_flips(self.observations)
        if len(flips) > 1 or any(f.before.index == f.after.index for f in flips):
            return Inconsistent(flips)
        lo, hi = self.bounds()
        unconfirmed = tuple(o.index for o in self._seen(Phase.CONFIRM) if o.verdict is Verdict.SKIP)
        gap = tuple(sorted(i for i in self._skipped() if lo < i < hi))
        return Found(lo, hi, old.opposite, gap, unconfirmed)


def find_flips(observations: Sequence[Observation]) -> tuple[Flip, ...]:
    """Where the verdict changes, walking candidates oldest first (each one's verdicts in the
    order they were seen); skips are left out. One good/bad split has exactly one flip."""
    judged = [o for o in observations if o.verdict is not Verdict.SKIP]
    walk = sorted(judged, key=lambda o: o.index)  # stable: a candidate's verdicts keep order
    return tuple(Flip(a, b) for a, b in zip(walk, walk[1:]) if a.verdict is not b.verdict)


def run_search(
    size: int, probe: Callable[[int], Verdict], oldest: Verdict | None = None, width: int = 1
) -> tuple[Search, Answer]:
    """The whole search against ``probe``: what a driver does, without the printing."""
    state = Search(size, oldest)
    while batch := state.batch(width):
        state = state.record_batch([(index, probe(index)) for index in batch])
    return state, state.answer()


def rounds(size: int, width: int) -> int:
    """Most batches the ends and the search take on a monotone oracle with no skips, ``width``
    candidates at a time (the confirmations come on top: one batch for ``width`` >= 2)."""
    if size < 2:
        return 1
    ends = 1 if width >= 2 else 2
    return ends + math.ceil(math.log(size - 1, width + 1) - 1e-9)


def probe_budget(size: int) -> int:
    """Most probes the ends and the search take on a monotone oracle with no skips (the two
    confirmations come on top, and reuse what was built)."""
    return math.ceil(math.log2(size)) + 2 if size > 1 else 1
