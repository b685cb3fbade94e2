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
