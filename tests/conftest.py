"""Shared fixtures: tiny generated data, never downloaded."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch

from yomitori.data.mnist import write_idx


def make_tiny_digits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Learnable fake digits: class k is a bright 4×4 patch at one of 10 places, plus noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = (rng.random((n, 28, 28)) * 40).astype(np.uint8)
    for i, k in enumerate(labels):
        r, c = 3 + 5 * (k // 5) + int(rng.integers(0, 3)), 2 + 5 * (k % 5) + int(rng.integers(0, 2))
        images[i, r : r + 4, c : c + 4] = 255
    return images, labels


@pytest.fixture(scope="session")
def tiny_mnist_dir(tmp_path_factory) -> str:
    d = tmp_path_factory.mktemp("mnist")
    for split, n, seed in (("train", 256, 0), ("t10k", 128, 1)):
        images, labels = make_tiny_digits(n, seed)
        (d / f"{split}-images-idx3-ubyte.gz").write_bytes(gzip.compress(write_idx(images)))
        (d / f"{split}-labels-idx1-ubyte").write_bytes(write_idx(labels))  # raw, not gz: both accepted
    return str(d)


@pytest.fixture(autouse=True)
def _few_threads():
    torch.set_num_threads(1)
    yield
