"""``yomitori models``: the registered architectures with parameter counts and FLOPs."""

from __future__ import annotations

import argparse

HELP = "list models"
DESCRIPTION = "List registered architectures with parameters and FLOPs at a given input size."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input-size", type=int, default=28, help="square input side in pixels (default 28)")
    p.add_argument("--num-classes", type=int, default=10)
    p.add_argument("--family", help="only this family (cnn, vgg, googlenet, resnet, crnn, ...)")
    p.add_argument("--no-tiny", action="store_true", help="hide the tiny test variants")


def run(args: argparse.Namespace) -> int:
    import torch

    from yomitori.models import count_flops, count_parameters, create_model, list_models

    print(f"{'model':<22} {'family':<12} {'params':>12} {'MFLOPs':>10}  description")
    for e in list_models(args.family, include_tiny=not args.no_tiny):
        example_fn = getattr(e.factory, "example_input", None)
        try:
            m = create_model(e.name, num_classes=args.num_classes, input_size=args.input_size)
            x = example_fn(args.input_size) if example_fn else torch.zeros(1, 1, args.input_size, args.input_size)
            flops = f"{count_flops(m, x) / 1e6:10.1f}"
        except TypeError:  # families with other constructor signatures (lines, layout)
            m, flops = create_model(e.name), f"{'-':>10}"
        print(f"{e.name:<22} {e.family:<12} {count_parameters(m):>12,} {flops}  {e.description}")
    return 0
