"""An explicit model registry: ``@register_model`` on a factory, ``create_model(name, **cfg)``.

Factories take keyword arguments only (``num_classes``, ``in_chans``, ``input_size`` and their own
options) so that a checkpoint can store ``(name, kwargs)`` and rebuild the exact model.
Registering a name twice raises: a silent override would make checkpoints ambiguous.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class ModelEntry:
    name: str
    factory: Callable[..., nn.Module]
    family: str
    tiny: bool
    description: str


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(family: str, tiny: bool = False) -> Callable:
    """Decorator registering a factory under its function name."""

    def deco(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        name = fn.__name__
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is already registered")
        doc = (fn.__doc__ or "").strip().splitlines()
        _REGISTRY[name] = ModelEntry(name, fn, family, tiny, doc[0] if doc else "")
        return fn

    return deco


def _ensure_loaded() -> None:
    # Importing the family modules runs their @register_model decorators (explicitly, once).
    from yomitori.models import cnn, googlenet, resnet, vgg  # noqa: F401

    try:
        from yomitori.models import crnn  # noqa: F401
    except ImportError:  # pragma: no cover - optional family not yet present
        pass
    try:
        from yomitori.models import segmentation  # noqa: F401
    except ImportError:  # pragma: no cover
        pass


def list_models(family: str | None = None, include_tiny: bool = True) -> list[ModelEntry]:
    _ensure_loaded()
    return [
        e
        for e in _REGISTRY.values()
        if (family is None or e.family == family) and (include_tiny or not e.tiny)
    ]


def get_entry(name: str) -> ModelEntry:
    _ensure_loaded()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise KeyError(f"unknown model {name!r}; known: {known}") from None


def create_model(name: str, **kwargs) -> nn.Module:
    """Build a registered model; ``kwargs`` are stored on it as ``model.yomitori_config``."""
    model = get_entry(name).factory(**kwargs)
    model.yomitori_name = name  # type: ignore[attr-defined]
    model.yomitori_config = dict(kwargs)  # type: ignore[attr-defined]
    return model


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_flops(model: nn.Module, example: torch.Tensor) -> int:
    """Multiply-accumulate count x2 (FLOPs) of one forward pass, via torch's FLOP counter."""
    from torch.utils.flop_counter import FlopCounterMode

    was_training = model.training
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(example)
    model.train(was_training)
    return int(counter.get_total_flops())
