import math

import numpy as np
import pytest

from yomitori.recognition.ctc import beam_decode, greedy_decode


def one_hot_logits(path: list[int], classes: int = 5, peak: float = 10.0) -> np.ndarray:
    x = np.zeros((len(path), classes))
    x[np.arange(len(path)), path] = peak
    return x


@pytest.mark.parametrize(
    "path, ids",
    [
        ([0, 1, 1, 0, 2, 0], [0, 1]),
        ([1, 1, 0, 1, 1], [0, 0]),  # a blank separates a doubled character
        ([1, 1, 1, 1], [0]),  # repeats merge
        ([0, 0, 0], []),
        ([3, 2, 3, 2], [2, 1, 2, 1]),
    ],
)
def test_greedy_and_beam_on_hand_made_paths(path, ids):
    logits = one_hot_logits(path)
    g = greedy_decode(logits)
    assert g.ids == ids
    assert all(0.9 < c <= 1.0 for c in g.confidences)
    b = beam_decode(logits, beam_width=4)
    assert b.ids == ids


def test_greedy_spans_cover_emitting_frames():
    g = greedy_decode(one_hot_logits([0, 1, 1, 0, 2, 2, 2, 0]))
    assert g.spans == [(1, 3), (4, 7)]


def test_beam_beats_greedy_when_mass_is_split():
    # Classic example: best path is blank-blank (empty), but "a" has more total probability.
    p = np.array([[0.4, 0.6 - 1e-9, 1e-9 / 2, 1e-9 / 2], [0.4, 0.6 - 1e-9, 1e-9 / 2, 1e-9 / 2]])
    p = p[:, [1, 0, 2, 3]]  # blank 0.6, 'a' 0.4 at both frames
    logits = np.log(p)
    assert greedy_decode(logits).ids == []
    b = beam_decode(logits, beam_width=4)
    # P(empty) = .36; P(a) = .4*.4 + .4*.6 + .6*.4 = .64
    assert b.ids == [0]
    assert math.isclose(math.exp(b.score), 0.64, rel_tol=1e-6)


def test_length_truncates_padding_frames():
    logits = one_hot_logits([1, 0, 2, 3, 3])
    assert greedy_decode(logits, length=3).ids == [0, 1]
    assert beam_decode(logits, length=3).ids == [0, 1]


def test_lm_fusion_changes_a_close_call():
    # frame probabilities favour 'b' (2) slightly over 'a' (1); an LM that loves 'a' flips it
    p = np.array([[0.05, 0.45, 0.5, 0.0 + 1e-9]])
    logits = np.log(p + 1e-12)
    assert beam_decode(logits).ids == [1]

    def lm(prefix, nxt):
        return 0.0 if nxt == 0 else -5.0

    assert beam_decode(logits, lm=lm, lm_weight=1.0).ids == [0]


def _collapse(path: tuple[int, ...]) -> tuple[int, ...]:
    out, prev = [], 0
    for k in path:
        if k and k != prev:
            out.append(k - 1)
        prev = k
    return tuple(out)


@pytest.mark.parametrize("seed", range(6))
def test_wide_beam_finds_the_most_probable_labelling(seed):
    # brute force over every path of a tiny problem: P(labelling) = sum of its paths' probabilities;
    # frames where only the blank survives pruning come in runs (the decoder's shortcut for them)
    import itertools

    rng = np.random.default_rng(seed)
    T, C = 7, 3
    logits = rng.normal(0, 2.0, (T, C + 1))
    logits[[2, 3, 5], 0] += 12.0  # blank-only frames, two in a row
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    totals: dict[tuple[int, ...], float] = {}
    for path in itertools.product(range(C + 1), repeat=T):
        prob = float(np.prod(p[np.arange(T), path]))
        key = _collapse(path)
        totals[key] = totals.get(key, 0.0) + prob
    want = max(totals, key=totals.get)
    got = beam_decode(logits, beam_width=200, prune=1e-4)
    assert tuple(got.ids) == want
    assert math.isclose(math.exp(got.score), totals[want], rel_tol=1e-3)


def test_a_shared_lm_cache_gives_the_same_result():
    # the LM's answers, kept across lines by the caller, change nothing but the time taken
    rng = np.random.default_rng(3)
    calls = []

    def lm(prefix, nxt):
        calls.append((prefix[-2:], nxt))
        return -0.3 * ((sum(prefix[-2:]) + 3 * nxt) % 7)

    lines = [rng.normal(0, 3.0, (30, 9)) for _ in range(5)]
    alone = [beam_decode(x, beam_width=6, lm=lm, lm_weight=0.5, insertion_bonus=0.5) for x in lines]
    n_alone, calls[:] = len(calls), []
    cache: dict = {}
    shared = [beam_decode(x, beam_width=6, lm=lm, lm_weight=0.5, insertion_bonus=0.5, cache=cache) for x in lines]
    for a, b in zip(alone, shared, strict=True):
        assert (a.ids, a.spans, a.confidences, a.score) == (b.ids, b.spans, b.confidences, b.score)
    assert len(calls) < n_alone and len(calls) == len(cache)
