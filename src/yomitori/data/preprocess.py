"""Turn a user's picture into the tensor a classifier of a given task expects.

``PREPROCESSORS[task](pil_image) -> (C, H, W) float tensor``. Tasks register here so that
``yomitori predict`` and the reading pipeline share one preprocessing per model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

PREPROCESSORS: dict[str, Callable[..., torch.Tensor]] = {}


def register_preprocessor(task: str) -> Callable:
    def deco(fn: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
        if task in PREPROCESSORS:
            raise ValueError(f"preprocessor for {task!r} already registered")
        PREPROCESSORS[task] = fn
        return fn

    return deco


@register_preprocessor("mnist")
def preprocess_digit(img: Any, meta: dict | None = None) -> torch.Tensor:
    from yomitori.data.mnist import MEAN, STD, to_mnist_style

    x = torch.from_numpy(to_mnist_style(img))[None]
    return (x - MEAN) / STD


def get_preprocessor(task: str) -> Callable[..., torch.Tensor]:
    if task not in PREPROCESSORS:
        try:  # tasks defined elsewhere register on import
            import yomitori.data.char_preprocess  # noqa: F401
        except ImportError:
            pass
    if task not in PREPROCESSORS:
        raise KeyError(f"no image preprocessing for task {task!r}")
    return PREPROCESSORS[task]
