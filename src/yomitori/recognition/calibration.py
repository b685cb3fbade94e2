"""Calibrated confidences: temperature scaling (Guo et al. 2017) and expected calibration error.

A classifier's softmax is usually over-confident; the pipeline decides with these numbers (which
characters of a line to re-check, which boxes to flag), so they should mean what they say. One
scalar ``T`` divides the logits, ``p = softmax(z / T)``; it changes no argmax, hence no accuracy.

*Fitting.* ``T`` minimises the negative log-likelihood on held-out logits. The NLL is convex in
``β = 1/T`` (log-sum-exp of a linear function of β, minus a linear term), so
:func:`fit_temperature` does an exact 1-D golden-section search on ``log β``. Inside a
(possibly distributed) evaluation pass, logits are not kept: :func:`grid_stats` sums the NLL at
a fixed grid of temperatures and the ECE bin statistics, which all-reduce like any other sum;
:func:`temperature_from_stats` then picks the grid minimum and refines it with a parabola.

*ECE.* 15 equal-width bins over the top-1 confidence, ``Σ_b (n_b / N) |acc_b − conf_b|``.

*Storage.* Shipped weights carry ``"temperature": T`` in their JSON (and ``"calibration"``: the
split it was fitted on and the ECE before and after); consumers compute
``softmax(logits / meta.get("temperature", 1.0))`` (:func:`calibrated_probs`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

N_BINS = 15
# temperatures for the in-evaluation grid: 0.1 ... 10, 6 % apart (the parabola refines between)
T_GRID = np.exp(np.linspace(math.log(0.1), math.log(10.0), 81))


def _as_tensors(logits: Any, labels: Any) -> tuple[torch.Tensor, torch.Tensor]:
    z = torch.as_tensor(logits).float()
    y = torch.as_tensor(labels).long()
    if z.ndim != 2 or y.shape != (z.shape[0],):
        raise ValueError(f"expected logits (N, C) and labels (N,), got {tuple(z.shape)} and {tuple(y.shape)}")
    return z, y


def nll(logits: Any, labels: Any, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of ``labels`` under ``softmax(logits / temperature)``."""
    z, y = _as_tensors(logits, labels)
    return float(F.cross_entropy(z / temperature, y))


def ece_bins(confidence: torch.Tensor, correct: torch.Tensor, n_bins: int = N_BINS) -> torch.Tensor:
    """(n_bins, 3) sums per bin: count, confidence, correct. Bin b holds (b/n, (b+1)/n]."""
    idx = (confidence * n_bins).ceil().long().clamp(1, n_bins) - 1
    out = torch.zeros(n_bins, 3, dtype=torch.float64)
    out[:, 0].index_add_(0, idx, torch.ones_like(confidence, dtype=torch.float64))
    out[:, 1].index_add_(0, idx, confidence.double())
    out[:, 2].index_add_(0, idx, correct.double())
    return out


def ece_from_bins(bins: torch.Tensor | np.ndarray) -> float:
    b = torch.as_tensor(bins, dtype=torch.float64)
    n = b[:, 0].sum()
    if n <= 0:
        return 0.0
    return float((b[:, 1] - b[:, 2]).abs().sum() / n)


def expected_calibration_error(logits: Any, labels: Any, temperature: float = 1.0,
                               n_bins: int = N_BINS) -> float:
    """ECE (equal-width bins over the top-1 confidence) of ``softmax(logits / temperature)``."""
    z, y = _as_tensors(logits, labels)
    conf, pred = torch.softmax(z / temperature, dim=1).max(dim=1)
    return ece_from_bins(ece_bins(conf, pred == y, n_bins))


def fit_temperature(logits: Any, labels: Any, lo: float = 0.05, hi: float = 20.0, iters: int = 60) -> float:
    """The temperature in [lo, hi] that minimises the NLL: golden-section search on log(1/T)."""
    z, y = _as_tensors(logits, labels)
    if len(y) == 0:
        return 1.0

    def loss(log_beta: float) -> float:
        return float(F.cross_entropy(z * math.exp(log_beta), y))

    a, b = math.log(1.0 / hi), math.log(1.0 / lo)
    g = (math.sqrt(5.0) - 1.0) / 2.0
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = loss(c), loss(d)
    for _ in range(iters):
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = loss(c)
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = loss(d)
    return float(1.0 / math.exp((a + b) / 2.0))


def calibrated_probs(logits: torch.Tensor, meta: dict[str, Any] | None) -> torch.Tensor:
    """``softmax(logits / T)`` with ``T`` from a weights JSON (1.0 when absent)."""
    t = float((meta or {}).get("temperature", 1.0) or 1.0)
    return torch.softmax(logits.float() / t, dim=-1)


# ---- additive statistics for an evaluation pass (all-reducible) --------------------------------

def grid_stats(logits: torch.Tensor, labels: torch.Tensor, prefix: str, *, nll_sums: bool = False,
               bins: bool = False) -> dict[str, float]:
    """Sums over a batch at every grid temperature: ``{prefix}nll{g}`` and/or ECE bin sums.

    The key set depends only on the flags (never on the data, an empty batch included), so that
    every rank of a distributed evaluation all-reduces the same keys in the same order.

    Keys: ``{prefix}n`` (count), ``{prefix}nll{g}`` (summed NLL at ``T_GRID[g]``),
    ``{prefix}b{g}_{k}_{c|p|a}`` (count, confidence and correct sums of bin k at ``T_GRID[g]``).
    """
    z, y = _as_tensors(logits.detach().cpu(), labels.detach().cpu())
    out: dict[str, float] = {f"{prefix}n": float(len(y))}
    for g, t in enumerate(T_GRID.tolist()):  # one temperature at a time: (N, C) memory, not (G, N, C)
        logp = torch.log_softmax(z / t, dim=1)
        if nll_sums:
            out[f"{prefix}nll{g}"] = float(-logp.gather(1, y[:, None]).sum())
        if bins:
            conf, pred = logp.max(dim=1)
            b = ece_bins(conf.exp(), pred == y).tolist()
            for k in range(N_BINS):  # every key, even empty: ranks all-reduce the same key set
                out[f"{prefix}b{g}_{k}_c"], out[f"{prefix}b{g}_{k}_p"], out[f"{prefix}b{g}_{k}_a"] = b[k]
    return out


def temperature_from_stats(sums: dict[str, float], prefix: str) -> float:
    """Temperature minimising the summed grid NLL, refined by a parabola in log T."""
    values = np.array([sums.get(f"{prefix}nll{g}", np.nan) for g in range(len(T_GRID))])
    if not np.isfinite(values).all() or sums.get(f"{prefix}n", 0) <= 0:
        return 1.0
    g = int(np.argmin(values))
    x = np.log(T_GRID)
    if 0 < g < len(T_GRID) - 1:
        y0, y1, y2 = values[g - 1:g + 2]
        denom = y0 - 2 * y1 + y2
        if denom > 0:
            step = 0.5 * (y0 - y2) / denom
            return float(math.exp(x[g] + step * (x[g + 1] - x[g])))
    return float(T_GRID[g])


def ece_from_stats(sums: dict[str, float], prefix: str, temperature: float) -> float:
    """ECE at the grid temperature nearest ``temperature``, from :func:`grid_stats` sums."""
    g = int(np.argmin(np.abs(np.log(T_GRID) - math.log(temperature))))
    b = np.zeros((N_BINS, 3))
    for k in range(N_BINS):
        b[k] = [sums.get(f"{prefix}b{g}_{k}_{c}", 0.0) for c in "cpa"]
    return ece_from_bins(b)


def write_temperature(weights: str | Path, temperature: float, report: dict[str, Any] | None = None) -> None:
    """Set ``temperature`` (and ``calibration``: how it was fitted) in a weights JSON, atomically."""
    from yomitori.atomic import atomic_write_text
    from yomitori.models.io import meta_path, read_meta

    meta = read_meta(weights)
    meta["temperature"] = float(temperature)
    if report is not None:
        meta["calibration"] = report
    atomic_write_text(meta_path(weights), json.dumps(meta, ensure_ascii=False, indent=2) + "\n")
