"""The search as a pure function: fake probes over candidate lists, no disk, no processes.

Each case names its oracle as a string, one letter per candidate, oldest first: ``g`` passes,
``b`` reproduces, ``s`` cannot be judged (failed, env-error, flaky...).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from buglab.bisect.search import (
    Found,
    Inconsistent,
    NoContrast,
    Observation,
    Phase,
    Search,
    Verdict,
    WrongEnd,
    WrongEnds,
    probe_budget,
    rounds,
    run_search,
)

G, B, S = Verdict.GOOD, Verdict.BAD, Verdict.SKIP
LETTERS = {"g": G, "b": B, "s": S}
SETTINGS = settings(max_examples=300, deadline=None, database=None)


def oracle(text: str) -> Callable[[int], Verdict]:
    return lambda i: LETTERS[text[i]]


def probed(state: Search, phase: Phase | None = None) -> list[int]:
    return [o.index for o in state.observations if phase is None or o.phase is phase]


# -- monotone --------------------------------------------------------------------------------


def test_regression_finds_the_first_bad_and_confirms_both_sides() -> None:
    state, answer = run_search(10, oracle("ggggggbbbb"), oldest=G)
    assert answer == Found(last_old=5, first_new=6, looking_for=B)
    assert answer.exact
    assert probed(state, Phase.END) == [0, 9]
    assert probed(state, Phase.CONFIRM) == [5, 6]
    assert len(probed(state)) - 2 <= probe_budget(10)


def test_fix_finds_the_first_good() -> None:
    _, answer = run_search(7, oracle("bbbgggg"), oldest=B)
    assert answer == Found(last_old=2, first_new=3, looking_for=G)


def test_without_ends_called_the_ends_decide_the_direction() -> None:
    _, regression = run_search(6, oracle("gggbbb"))
    _, fix = run_search(6, oracle("bbbbgg"))
    assert regression == Found(2, 3, B)
    assert fix == Found(3, 4, G)


def test_two_candidates_are_the_boundary_themselves() -> None:
    state, answer = run_search(2, oracle("gb"), oldest=G)
    assert answer == Found(0, 1, B)
    assert probed(state) == [0, 1, 0, 1]


# -- skips -----------------------------------------------------------------------------------


def test_skip_at_the_boundary_leaves_a_range_naming_it() -> None:
    _, answer = run_search(10, oracle("ggggggsbbb"), oldest=G)
    assert answer == Found(last_old=5, first_new=7, looking_for=B, gap=(6,))
    assert not answer.exact


def test_skip_just_before_the_boundary_leaves_a_range_naming_it() -> None:
    _, answer = run_search(10, oracle("gggggsbbbb"), oldest=G)
    assert answer == Found(last_old=4, first_new=6, looking_for=B, gap=(5,))


def test_skips_away_from_the_boundary_change_nothing() -> None:
    _, answer = run_search(12, oracle("gsgsggbbsbsb"), oldest=G)
    assert answer == Found(5, 6, B)


def test_a_run_of_skips_is_named_whole() -> None:
    _, answer = run_search(10, oracle("gggsssbbbb"), oldest=G)
    assert answer == Found(2, 6, B, gap=(3, 4, 5))


def test_everything_skipped_between_the_ends() -> None:
    _, answer = run_search(6, oracle("gssssb"), oldest=G)
    assert answer == Found(0, 5, B, gap=(1, 2, 3, 4))


def test_all_skipped_names_no_boundary() -> None:
    state, answer = run_search(8, oracle("ssssssss"))
    assert answer == NoContrast(S, S)
    assert probed(state) == [0, 7]
    _, called = run_search(8, oracle("ssssssss"), oldest=G)
    assert called == WrongEnds((WrongEnd(0, G, S), WrongEnd(7, B, S)))


# -- ends that are not what they were called -------------------------------------------------


def test_good_end_that_fails_for_another_reason_stops_the_search() -> None:
    state, answer = run_search(20, oracle("s" + "g" * 9 + "b" * 10), oldest=G)
    assert answer == WrongEnds((WrongEnd(0, G, S),))
    assert probed(state) == [0, 19], "nothing is probed once an end is wrong"


def test_good_end_that_reproduces_is_wrong_too() -> None:
    _, answer = run_search(5, oracle("bbbbb"), oldest=G)
    assert answer == WrongEnds((WrongEnd(0, G, B),))


def test_bad_end_that_passes_is_wrong() -> None:
    _, answer = run_search(5, oracle("bbggg"), oldest=G)
    assert answer == WrongEnds((WrongEnd(0, G, B), WrongEnd(4, B, G)))


def test_ends_alike_without_ends_called() -> None:
    _, answer = run_search(9, oracle("ggggbgggg"))
    assert answer == NoContrast(G, G)


def test_one_candidate_is_probed_once() -> None:
    state, answer = run_search(1, oracle("b"))
    assert answer == NoContrast(B, B)
    assert probed(state) == [0]


# -- not one good block and one bad block ----------------------------------------------------


def flaky_on_second_probe(text: str, flips_at: int) -> Callable[[int], Verdict]:
    """``text``, except that ``flips_at`` answers the other way the second time it is asked."""
    asked: dict[int, int] = {}

    def probe(i: int) -> Verdict:
        asked[i] = asked.get(i, 0) + 1
        verdict = LETTERS[text[i]]
        return verdict.opposite if i == flips_at and asked[i] == 2 else verdict

    return probe


def test_a_side_that_changes_its_answer_on_confirmation_names_no_culprit() -> None:
    _, answer = run_search(10, flaky_on_second_probe("ggggggbbbb", 6), oldest=G)
    assert isinstance(answer, Inconsistent)
    assert [
        (f.before.index, f.before.verdict, f.after.index, f.after.verdict) for f in answer.flips
    ] == [(5, G, 6, B), (6, B, 6, G), (6, G, 9, B)]


def test_last_good_that_reproduces_on_confirmation_names_no_culprit() -> None:
    _, answer = run_search(10, flaky_on_second_probe("ggggggbbbb", 5), oldest=G)
    assert isinstance(answer, Inconsistent)
    assert any(f.before.index == f.after.index == 5 for f in answer.flips)


def test_a_confirmation_that_cannot_be_judged_is_reported_unconfirmed() -> None:
    asked: list[int] = []

    def probe(i: int) -> Verdict:
        asked.append(i)
        return S if asked.count(i) == 2 and i == 6 else LETTERS["ggggggbbbb"[i]]

    _, answer = run_search(10, probe, oldest=G)
    assert answer == Found(5, 6, B, unconfirmed=(6,))


def test_a_deterministic_non_monotone_oracle_gets_a_real_local_boundary() -> None:
    _, answer = run_search(9, oracle("gbgbgbgbb"), oldest=G)
    assert isinstance(answer, Found)
    assert "gbgbgbgbb"[answer.last_old] == "g" and "gbgbgbgbb"[answer.first_new] == "b"
    assert answer.first_new == answer.last_old + 1


# -- the state machine -----------------------------------------------------------------------


def test_record_refuses_a_candidate_out_of_turn() -> None:
    with pytest.raises(ValueError, match="not the one to probe"):
        Search(5).record(3, G)


def test_the_next_candidate_after_either_verdict_can_be_asked_in_advance() -> None:
    state = Search(9, G).record(0, G).record(8, B)
    at = state.next()
    assert at == 4
    assert state.record(at, G).next() == 6
    assert state.record(at, B).next() == 2
    assert state.next() == 4, "asking ahead changed nothing"


def test_answer_before_the_end_is_refused() -> None:
    with pytest.raises(ValueError, match="not over"):
        Search(3).answer()


# -- properties ------------------------------------------------------------------------------


@st.composite
def monotone(draw: st.DrawFn) -> tuple[str, Verdict]:
    size = draw(st.integers(min_value=2, max_value=3000))
    boundary = draw(st.integers(min_value=1, max_value=size - 1))
    old = draw(st.sampled_from([G, B]))
    letter = {G: "g", B: "b"}
    return letter[old] * boundary + letter[old.opposite] * (size - boundary), old


@SETTINGS
@given(monotone(), st.booleans())
def test_any_monotone_oracle_gives_the_true_boundary_in_few_probes(
    case: tuple[str, Verdict], called: bool
) -> None:
    text, old = case
    size = len(text)
    boundary = text.index(text[-1])
    state, answer = run_search(size, oracle(text), oldest=old if called else None)
    assert answer == Found(boundary - 1, boundary, old.opposite)
    searched = probed(state, Phase.END) + probed(state, Phase.SEARCH)
    assert len(searched) <= math.ceil(math.log2(size)) + 2
    assert len(set(probed(state))) <= math.ceil(math.log2(size)) + 3  # distinct = venvs built


@SETTINGS
@given(monotone(), st.data())
def test_skips_never_take_the_blame(case: tuple[str, Verdict], data: st.DataObject) -> None:
    text, old = case
    size = len(text)
    boundary = text.index(text[-1])
    inner = list(range(1, size - 1))
    skipped = set(data.draw(st.lists(st.sampled_from(inner), max_size=40))) if inner else set()
    letters = "".join("s" if i in skipped else c for i, c in enumerate(text))
    _, answer = run_search(size, oracle(letters), oldest=old)
    assert isinstance(answer, Found)
    assert answer.last_old < boundary <= answer.first_new
    assert answer.first_new not in skipped and answer.last_old not in skipped
    assert answer.gap == tuple(range(answer.last_old + 1, answer.first_new))
    assert set(answer.gap) <= skipped


@SETTINGS
@given(st.text(alphabet="gbs", min_size=1, max_size=400), st.sampled_from([G, B, None]))
def test_any_fixed_oracle_ends_with_an_honest_answer(text: str, oldest: Verdict | None) -> None:
    state, answer = run_search(len(text), oracle(text), oldest=oldest)
    assert max(map(probed(state).count, range(len(text)))) <= 2, "each probed once, plus confirm"
    if isinstance(answer, Found):
        assert LETTERS[text[answer.last_old]] is answer.looking_for.opposite
        assert LETTERS[text[answer.first_new]] is answer.looking_for
        assert all(text[i] == "s" for i in answer.gap)
    else:  # a fixed oracle never contradicts itself
        assert not isinstance(answer, Inconsistent)


# -- several candidates at once: a (k+1)-ary search ------------------------------------------


def batches(text: str, oldest: Verdict | None, width: int) -> tuple[Search, list[tuple[int, ...]]]:
    """The search ``width`` candidates at a time, and the batches it asked for."""
    state, asked = Search(len(text), oldest), []
    while batch := state.batch(width):
        assert len(batch) <= width and len(set(batch)) == len(batch)
        asked.append(batch)
        state = state.record_batch([(i, LETTERS[text[i]]) for i in reversed(batch)])
    return state, asked


def test_two_workers_probe_both_ends_then_split_the_range_in_three() -> None:
    state, asked = batches("gggggggggbbbbbbbbbbbbbbbbbbbbb", G, 2)
    assert asked[0] == (0, 29)
    assert asked[1] == (10, 19)  # 29 gaps in three parts
    assert state.answer() == Found(8, 9, B)
    assert asked[-1] == (8, 9), "both sides confirmed in one batch"


def test_one_worker_is_the_binary_search() -> None:
    text = "ggggggggggggggggbbbbbbbbbbbbbbbbbbbbbbbbb"
    one, asked = batches(text, G, 1)
    plain, _ = run_search(len(text), oracle(text), oldest=G)
    assert one.observations == plain.observations
    assert all(len(b) == 1 for b in asked)


def test_a_batch_out_of_turn_is_refused() -> None:
    state = Search(9, G).record_batch([(8, B), (0, G)])
    with pytest.raises(ValueError, match="not the one to probe"):
        state.record_batch([(4, G), (5, B)])
    assert state.batch(2) == (3, 5)


@SETTINGS
@given(monotone(), st.integers(min_value=1, max_value=8))
def test_k_workers_find_the_same_boundary_in_log_k_plus_1_rounds(
    case: tuple[str, Verdict], width: int
) -> None:
    text, old = case
    boundary = text.index(text[-1])
    state, asked = batches(text, old, width)
    assert state.answer() == Found(boundary - 1, boundary, old.opposite)
    confirmations = 1 if width >= 2 else 2
    assert len(asked) <= rounds(len(text), width) + confirmations
    assert len(set(probed(state))) <= width * rounds(len(text), width)


@SETTINGS
@given(monotone(), st.integers(min_value=2, max_value=6), st.data())
def test_k_workers_never_blame_a_skip(
    case: tuple[str, Verdict], width: int, data: st.DataObject
) -> None:
    text, old = case
    boundary = text.index(text[-1])
    inner = list(range(1, len(text) - 1))
    skipped = set(data.draw(st.lists(st.sampled_from(inner), max_size=40))) if inner else set()
    letters = "".join("s" if i in skipped else c for i, c in enumerate(text))
    state, _ = batches(letters, old, width)
    answer = state.answer()
    assert isinstance(answer, Found)
    assert answer.last_old < boundary <= answer.first_new
    assert set(answer.gap) <= skipped and answer.first_new not in skipped


def test_rounds_shrink_with_workers() -> None:
    assert [rounds(69, k) for k in (1, 2, 3)] == [2 + 7, 1 + 4, 1 + 4]
    assert rounds(1000, 1) == 12 and rounds(1000, 2) == 8


# -- a commit bisect: ends probed late, merges weighted by the commits they brought in --------


def late(text: str, oldest: Verdict, weights: tuple[int, ...] = ()) -> Search:
    state = Search(len(text), oldest, weights=weights, late_ends=True)
    while (i := state.next()) is not None:
        state = state.record(i, LETTERS[text[i]])
    return state


def test_late_ends_are_probed_only_as_sides_of_the_boundary() -> None:
    state = late("ggggggggbbbbbbbb", G)
    assert state.answer() == Found(7, 8, B)
    assert 0 not in probed(state) and 15 not in probed(state)
    at_the_end = late("gbbbbbbbbbbbbbbb", G)
    assert at_the_end.answer() == Found(0, 1, B)
    assert probed(at_the_end, Phase.END) == [0], "the end that is a side is probed, then confirmed"
    assert probed(at_the_end, Phase.CONFIRM) == [0, 1]


def test_a_late_end_that_is_not_what_it_was_called_is_said_so() -> None:
    assert late("bbbbbbbb", G).answer() == WrongEnds((WrongEnd(0, G, B),))
    assert late("gggggggg", G).answer() == WrongEnds((WrongEnd(7, B, G),))
    assert late("sbbbbbbb", G).answer() == WrongEnds((WrongEnd(0, G, S),))


@SETTINGS
@given(monotone())
def test_late_ends_build_at_most_log2_n_plus_one(case: tuple[str, Verdict]) -> None:
    text, old = case
    boundary = text.index(text[-1])
    state = late(text, old)
    assert state.answer() == Found(boundary - 1, boundary, old.opposite)
    both_ends = len(text) == 2  # then both sides are ends
    assert len(set(probed(state))) <= math.ceil(math.log2(len(text) - 1)) + 1 + both_ends
    assert sorted(probed(state, Phase.CONFIRM)) == [boundary - 1, boundary]


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[int], int]:
    """A first-parent line (the old end first, weight 1) of commits and merges, each merge
    weighing the commits it brought in plus itself; and the commit (of all of them, 0-based
    after the old end) that introduced the bug."""
    merges = st.sampled_from([1, 1, 1, 2, 3, 4, 6, 9, 21, 51, 201])
    weights = [1, *draw(st.lists(merges, min_size=1, max_size=60))]
    return weights, draw(st.integers(min_value=0, max_value=sum(weights[1:]) - 1))


@SETTINGS
@given(histories())
def test_first_parent_then_the_merge_builds_at_most_log2_n_plus_3(
    case: tuple[list[int], int],
) -> None:
    weights, culprit = case
    line = len(weights)
    # on the line: the merge (or commit) whose block holds the culprit, and where in it
    at, before = 1, culprit
    while before >= weights[at]:
        before, at = before - weights[at], at + 1
    text = "g" * at + "b" * (line - at)
    outer = late(text, G, tuple(weights))
    found = outer.answer()
    assert found == Found(at - 1, at, B)
    builds = len(set(probed(outer)))
    if weights[at] > 1:  # inside: the first parent, the merged commits, the merge itself
        size = weights[at] + 1
        ends = (Observation(0, G, Phase.END), Observation(size - 1, B, Phase.END))
        inner = Search(size, G, ends)
        inside = "g" * (before + 1) + "b" * (size - before - 1)
        while (i := inner.next()) is not None:
            inner = inner.record(i, LETTERS[inside[i]])
        assert inner.answer() == Found(before, before + 1, B)
        builds += len(set(probed(inner)) - {0, size - 1})
    commits = sum(weights[1:])
    assert builds <= math.ceil(math.log2(commits)) + 3
