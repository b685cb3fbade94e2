"""CTC decoding in NumPy (runtime-agnostic: works on logits from torch, ONNX Runtime or OpenVINO).

Conventions: ``logits: (T, C + 1)`` for one line, class 0 is the blank, class ``k`` (k ≥ 1) is
charset index ``k - 1``. Decoders return :class:`Decoded`: label ids (charset indices), a
confidence per character and the frame span that emitted it, so callers can place characters
(frame ``t`` covers input columns ``[t * stride, (t + 1) * stride)``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

BLANK = 0


@dataclass
class Decoded:
    ids: list[int] = field(default_factory=list)  # charset indices
    confidences: list[float] = field(default_factory=list)  # per character, in [0, 1]
    spans: list[tuple[int, int]] = field(default_factory=list)  # frames [start, end) per character
    score: float = 0.0  # log-probability of the path (greedy) or prefix (beam)

    @property
    def confidence(self) -> float:
        """Line confidence: the lowest character confidence (1.0 for an empty line)."""
        return min(self.confidences) if self.confidences else 1.0


def log_softmax(logits: np.ndarray) -> np.ndarray:
    x = logits.astype(np.float64)
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def greedy_decode(logits: np.ndarray, length: int | None = None) -> Decoded:
    """Best path: argmax per frame, merge repeats, drop blanks."""
    lp = log_softmax(logits[:length] if length is not None else logits)
    best = lp.argmax(axis=1)
    probs = np.exp(lp[np.arange(len(best)), best])
    out = Decoded(score=float(lp[np.arange(len(best)), best].sum()))
    prev = BLANK
    for t, k in enumerate(best.tolist()):
        if k != BLANK and k != prev:
            out.ids.append(k - 1)
            out.confidences.append(float(probs[t]))
            out.spans.append((t, t + 1))
        elif k != BLANK and k == prev:
            s, _ = out.spans[-1]
            out.spans[-1] = (s, t + 1)
            out.confidences[-1] = max(out.confidences[-1], float(probs[t]))
        prev = k
    return out


def _logsumexp(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    m = max(a, b)
    return m + math.log1p(math.exp(-abs(a - b)))


class _Accumulator:
    """Adds path probability to a prefix of the next beam (and records its emission frames)."""

    def __init__(self, nxt: dict, nxt_emit: dict) -> None:
        self.nxt, self.nxt_emit = nxt, nxt_emit

    def __call__(self, prefix: tuple[int, ...], pb: float, pnb: float, frames: tuple[int, ...]) -> None:
        cur = self.nxt.setdefault(prefix, [-math.inf, -math.inf])
        cur[0], cur[1] = _logsumexp(cur[0], pb), _logsumexp(cur[1], pnb)
        self.nxt_emit.setdefault(prefix, frames)


def beam_decode(logits: np.ndarray, beam_width: int = 8, length: int | None = None,
                lm: Callable[[tuple[int, ...], int], float] | None = None, lm_weight: float = 0.3,
                prune: float = 1e-4) -> Decoded:
    """CTC prefix beam search (Hannun et al. 2014) with optional character LM shallow fusion.

    ``lm(prefix_ids, next_id) -> log P(next | prefix)``; its log-probability times ``lm_weight``
    is added when a prefix is extended. Characters outside a frame's ``prune`` mass are skipped.
    Confidences of the winning prefix come from the frames where each character was emitted.
    """
    lp = log_softmax(logits[:length] if length is not None else logits)
    T = lp.shape[0]
    # prefix -> (log p ending in blank, log p ending in non-blank)
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, -math.inf)}
    # bookkeeping for the output: prefix -> frames at which each char was (last) emitted
    emit: dict[tuple[int, ...], tuple[int, ...]] = {(): ()}
    log_prune = math.log(prune)
    for t in range(T):
        row = lp[t]
        candidates = np.nonzero(row > log_prune)[0].tolist() or [int(row.argmax())]
        nxt: dict[tuple[int, ...], list[float]] = {}
        nxt_emit: dict[tuple[int, ...], tuple[int, ...]] = {}
        add = _Accumulator(nxt, nxt_emit)
        for prefix, (pb, pnb) in beams.items():
            total = _logsumexp(pb, pnb)
            for k in candidates:
                p = float(row[k])
                if k == BLANK:
                    add(prefix, total + p, -math.inf, emit[prefix])
                    continue
                last = prefix[-1] if prefix else None
                ext = prefix + (k,)
                bonus = lm_weight * lm(tuple(c - 1 for c in prefix), k - 1) if lm else 0.0
                if k == last:
                    # repeat without a blank in between collapses into the same prefix
                    add(prefix, -math.inf, pnb + p, emit[prefix])
                    add(ext, -math.inf, pb + p + bonus, emit[prefix] + (t,))
                else:
                    add(ext, -math.inf, total + p + bonus, emit[prefix] + (t,))
        ranked = sorted(nxt.items(), key=lambda kv: _logsumexp(*kv[1]), reverse=True)[:beam_width]
        beams = {k: (v[0], v[1]) for k, v in ranked}
        emit = {k: nxt_emit[k] for k in beams}
    best, (pb, pnb) = max(beams.items(), key=lambda kv: _logsumexp(*kv[1]))
    probs = np.exp(lp)
    out = Decoded(score=_logsumexp(pb, pnb))
    for k, t in zip(best, emit[best], strict=True):
        # extend the span over the following frames where the same class keeps the argmax
        end = t + 1
        while end < T and probs[end].argmax() == k:
            end += 1
        out.ids.append(k - 1)
        out.confidences.append(float(probs[t:end, k].max()))
        out.spans.append((t, end))
    return out
