"""Per-family export specs: input names and shapes, dynamic axes, output names.

A family plugs into export, parity checks and every runtime by registering one
:class:`ExportSpec`; nothing downstream branches on the family name.

    classifiers (cnn, vgg, googlenet, resnet)  image (N, C, S, S)         -> logits (N, classes)
    crnn (line recognizers)                    image (N, 1, H, W), vertical (N,) int64
                                                                          -> logits (N, T, C+1)
    segmentation (layout)                      image (N, C, H, W)         -> per-pixel maps (N, K, H', W')

The example input comes from, in order: ``model.example_input`` or the registry factory's
``example_input`` (called with the matching keys of the model config), else the spec's
``default_shape`` filled from the config (``in_chans``, ``input_size``, ``height``).
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn


@dataclass(frozen=True)
class InputSpec:
    """One model input. ``optional`` inputs are filled with zeros when a caller omits them."""

    name: str
    dynamic: dict[int, str]  # axis -> symbolic name, e.g. {0: "N", 3: "W"}
    dtype: str = "float32"
    optional: bool = False
    param: str | None = None  # name of the forward() parameter, when it is not the first one


@dataclass(frozen=True)
class ExportSpec:
    family: str
    inputs: tuple[InputSpec, ...]
    output_names: tuple[str, ...] | None  # None: taken from the model (dict keys) or numbered
    output_dynamic: Callable[[int], dict[int, str]]  # output rank -> dynamic axes
    default_shape: Callable[[dict[str, Any]], tuple[int, ...]]  # config -> (1, C, H, W)
    # Second shape for parity checks, exercising the dynamic spatial axes: (N, C, H, W) -> shape.
    vary_shape: Callable[[tuple[int, ...]], tuple[int, ...]] = field(default=lambda s: s)


_SPECS: dict[str, ExportSpec] = {}


def register_export_spec(*families: str) -> Callable[[ExportSpec], ExportSpec]:
    def add(spec: ExportSpec) -> ExportSpec:
        for fam in families:
            if fam in _SPECS:
                raise ValueError(f"export spec for family {fam!r} is already registered")
            _SPECS[fam] = spec
        return spec

    return add


def _round_up(v: int, m: int) -> int:
    return -(-v // m) * m


def _classifier_shape(cfg: dict[str, Any]) -> tuple[int, ...]:
    s = int(cfg.get("input_size") or 28)
    return (1, int(cfg.get("in_chans", 1)), s, s)


for _fam in ("cnn", "vgg", "googlenet", "resnet"):
    register_export_spec(_fam)(ExportSpec(
        family=_fam,
        inputs=(InputSpec("image", {0: "N"}),),
        output_names=("logits",),
        output_dynamic=lambda rank: {0: "N"},
        default_shape=_classifier_shape,
    ))

register_export_spec("crnn")(ExportSpec(
    family="crnn",
    inputs=(InputSpec("image", {0: "N", 3: "W"}),
            InputSpec("vertical", {0: "N"}, dtype="int64", optional=True, param="vertical")),
    output_names=("logits",),
    output_dynamic=lambda rank: {0: "N", 1: "T"},
    default_shape=lambda cfg: (1, 1, int(cfg.get("height") or 32), 8 * int(cfg.get("height") or 32)),
    # A second width, not a multiple of the first, still a multiple of the width stride.
    vary_shape=lambda s: (*s[:3], _round_up(s[3] * 3 // 2 + 4, 4)),
))

register_export_spec("segmentation")(ExportSpec(
    family="segmentation",
    inputs=(InputSpec("image", {0: "N", 2: "H", 3: "W"}),),
    output_names=None,
    output_dynamic=lambda rank: {0: "N", 2: "H_out", 3: "W_out"} if rank == 4 else {0: "N"},
    default_shape=lambda cfg: (1, int(cfg.get("in_chans", 1)), int(cfg.get("input_size") or 256),
                               int(cfg.get("input_size") or 256)),
    vary_shape=lambda s: (*s[:2], s[2] + 64, max(32, s[3] - 32)),
))

_FALLBACK = ExportSpec(
    family="*",
    inputs=(InputSpec("input", {0: "N"}),),
    output_names=None,
    output_dynamic=lambda rank: {0: "N"},
    default_shape=_classifier_shape,
)


def get_export_spec(family: str | None) -> ExportSpec:
    """The family's spec; unknown families get batch-dynamic, single-input defaults."""
    return _SPECS.get(family or "", _FALLBACK)


def model_family(model: nn.Module) -> str | None:
    from yomitori.models import get_entry

    name = getattr(model, "yomitori_name", None)
    if name is None:
        return getattr(model, "yomitori_family", None)
    try:
        return get_entry(name).family
    except KeyError:
        return None


def spec_for(model: nn.Module) -> ExportSpec:
    """The spec of the model's family, keeping only the inputs its ``forward`` accepts."""
    spec = get_export_spec(model_family(model))
    params = inspect.signature(model.forward).parameters
    kept = tuple(i for i in spec.inputs if i.param is None or i.param in params)
    return spec if kept == spec.inputs else dataclasses.replace(spec, inputs=kept)


def _factory(model: nn.Module) -> Callable[..., nn.Module] | None:
    from yomitori.models import get_entry

    try:
        return get_entry(model.yomitori_name).factory if hasattr(model, "yomitori_name") else None
    except KeyError:
        return None


def model_config(model: nn.Module) -> dict[str, Any]:
    """The factory's defaults overlaid with the kwargs the model was built with."""
    factory = _factory(model)
    cfg: dict[str, Any] = {}
    if factory is not None:
        cfg = {k: p.default for k, p in inspect.signature(factory).parameters.items()
               if p.default is not inspect.Parameter.empty}
    cfg.update(getattr(model, "yomitori_config", {}) or {})
    return cfg


def example_shape(model: nn.Module) -> tuple[int, ...]:
    """Shape (1, C, H, W) of one example input for ``model``."""
    cfg = model_config(model)
    fn = getattr(model, "example_input", None) or getattr(_factory(model), "example_input", None)
    if callable(fn):
        params = inspect.signature(fn).parameters
        x = fn(**{k: v for k, v in cfg.items() if k in params and v is not None})
        return (1, *tuple(x.shape[1:]))
    return spec_for(model).default_shape(cfg)


def make_inputs(model: nn.Module, batch: int = 2, vary: bool = False,
                generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """Random inputs for every spec input: images ~ N(0, 1), integer inputs in {0, 1}."""
    spec = spec_for(model)
    shape = example_shape(model)
    if vary:
        shape = spec.vary_shape(shape)
    shape = (batch, *shape[1:])
    out: dict[str, torch.Tensor] = {}
    for i, inp in enumerate(spec.inputs):
        if i == 0:
            out[inp.name] = torch.randn(shape, generator=generator)
        else:
            out[inp.name] = torch.randint(0, 2, (batch,), generator=generator)
    return out


def forward_args(model: nn.Module, inputs: dict[str, torch.Tensor]) -> tuple[tuple, dict]:
    """Positional and keyword arguments for ``model(...)`` from named spec inputs."""
    spec = spec_for(model)
    first, *rest = spec.inputs
    kwargs = {i.param or i.name: inputs[i.name] for i in rest if i.name in inputs}
    return (inputs[first.name],), kwargs


def output_names_for(model: nn.Module, outputs: Any) -> tuple[str, ...]:
    """Names for the model's outputs: the spec's, dict keys, or ``output``/``output_i``."""
    spec = spec_for(model)
    if isinstance(outputs, dict):
        return tuple(outputs)
    n = len(outputs) if isinstance(outputs, (tuple, list)) else 1
    if spec.output_names and len(spec.output_names) == n:
        return spec.output_names
    named = getattr(model, "output_names", None)
    if named and len(named) == n:
        return tuple(named)
    return ("output",) if n == 1 else tuple(f"output_{i}" for i in range(n))
