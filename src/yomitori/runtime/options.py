"""Runtime choices as one typed value, and the CLI flags that fill it (``read``, ``serve``...).

    add_runtime_arguments(parser)                 # --backend --precision --threads --inference-precision
    options = RuntimeOptions.from_args(args)
    model = options.load("src/yomitori/weights/lines.safetensors")
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from yomitori.runtime.base import (
    PRECISIONS,
    InferenceModel,
    backend_names,
    default_backend,
    get_backend,
)


@dataclass(frozen=True)
class RuntimeOptions:
    backend: str = "auto"  # auto: default_backend(precision), the fastest installed
    precision: str = "fp32"
    threads: int | None = None  # None: the runtime's default (all cores)
    inference_precision: str = "f32"  # OpenVINO compute precision: f32 | bf16

    def load(self, weights: str | Path) -> InferenceModel:
        backend = get_backend(default_backend(self.precision) if self.backend == "auto" else self.backend)
        options = {"inference_precision": self.inference_precision} if backend.name == "openvino" else {}
        return backend.load(weights, precision=self.precision, threads=self.threads, **options)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> RuntimeOptions:
        return cls(args.backend, args.precision, args.threads, args.inference_precision)


def add_runtime_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("runtime")
    g.add_argument("--backend", default="auto", choices=("auto", *backend_names()),
                   help="inference runtime (default auto: the fastest installed)")
    g.add_argument("--precision", default="fp32", choices=PRECISIONS,
                   help="model precision: fp32, fp16 or int8 (exported runtimes only)")
    g.add_argument("--threads", type=int, default=None, help="inference threads (default: all cores)")
    g.add_argument("--inference-precision", default="f32", choices=("f32", "bf16"),
                   help="OpenVINO compute precision (default f32; bf16 is faster on CPUs with bf16, less exact)")
