"""Page layout segmentation: a ResNet encoder (the zoo's basic blocks) with a feature-pyramid decoder.

One forward pass gives every map the layout post-processing needs, at half the input resolution::

    image (N, 1, H, W) -> maps (N, K + 2, H/2, W/2)
      channels 0..K-1  region-class logits (yomitori.layout.maps.LAYOUT_CLASSES, 0 = background)
      channel  K       text-line *kernel* logit: each line's box shrunk across and along its length
      channel  K + 1   writing-direction logit on line kernels (> 0: vertical)

H and W must be multiples of 32 (the pipeline pads). The input is ink darkness in [0, 1]
(``1 - grey / 255``), so zero padding is blank paper. The decoder works at 1/4 resolution and
a sub-pixel (pixel-shuffle) head produces the 1/2-resolution maps: line kernels a few pixels
apart stay separate without paying for convolutions at 1/2 resolution.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from yomitori.layout.maps import LAYOUT_CLASSES
from yomitori.models.registry import register_model
from yomitori.models.resnet import BasicBlock


def _conv_bn(c_in: int, c_out: int, k: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, stride, k // 2, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


class LayoutNet(nn.Module):
    """Encoder strides 4, 8, 16, 32 (BasicBlock stages); FPN-style top-down decoder at 1/4."""

    output_names = ("maps",)

    def __init__(self, num_classes: int = len(LAYOUT_CLASSES), in_chans: int = 1,
                 widths: tuple[int, ...] = (24, 48, 96, 128), depths: tuple[int, ...] = (1, 1, 2, 1),
                 stem: int = 16, decoder: int = 32, head_convs: int = 2, input_size: int = 256) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.stem = nn.Sequential(_conv_bn(in_chans, stem, 3, 2), _conv_bn(stem, widths[0], 3, 2))
        stages, c = [], widths[0]
        for i, (w, d) in enumerate(zip(widths, depths, strict=True)):
            blocks = [BasicBlock(c, w, 1 if i == 0 else 2)] + [BasicBlock(w, w, 1) for _ in range(d - 1)]
            stages.append(nn.Sequential(*blocks))
            c = w
        self.stages = nn.ModuleList(stages)
        self.lateral = nn.ModuleList(nn.Conv2d(w, decoder, 1) for w in widths)
        # page context for region classes (headers sit apart, titles are big): a global summary
        # added to every position before the decoder's convolutions
        self.context = nn.Sequential(nn.Conv2d(widths[-1], decoder, 1), nn.ReLU(inplace=True))
        self.smooth = nn.Sequential(*(_conv_bn(decoder, decoder, 3) for _ in range(head_convs)))
        self.head = nn.Conv2d(decoder, (num_classes + 2) * 4, 1)  # x4 for the 2x pixel shuffle
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = []
        h = self.stem(x)  # (N, w0, H/4, W/4)
        for stage in self.stages:
            h = stage(h)
            feats.append(h)
        top = self.lateral[-1](feats[-1])
        for i in range(len(feats) - 2, -1, -1):
            skip = self.lateral[i](feats[i])
            top = skip + F.interpolate(top, size=skip.shape[-2:], mode="nearest")
        ctx = self.context(feats[-1].mean(dim=(2, 3), keepdim=True))  # (N, D, 1, 1) page summary
        p = self.smooth(top + ctx)  # (N, D, H/4, W/4)
        return self.shuffle(self.head(p))  # (N, K + 2, H/2, W/2)


def _warm_start(model: nn.Module, init_weights: str | None) -> nn.Module:
    """Start from the tensors of a ``.safetensors`` file (training in stages); None: random init."""
    if init_weights:
        from safetensors.torch import load_file

        model.load_state_dict(load_file(init_weights))
    return model


@register_model("segmentation")
def layoutnet_resnet_small(num_classes: int = len(LAYOUT_CLASSES), in_chans: int = 1,
                           input_size: int = 256, init_weights: str | None = None) -> nn.Module:
    """Layout segmentation: ResNet 24-48-96-128 encoder, FPN decoder (32), region + line-kernel + direction maps."""
    return _warm_start(LayoutNet(num_classes, in_chans, input_size=input_size), init_weights)


@register_model("segmentation")
def layoutnet_resnet_base(num_classes: int = len(LAYOUT_CLASSES), in_chans: int = 1,
                          input_size: int = 256, init_weights: str | None = None) -> nn.Module:
    """Wider layout segmentation: ResNet 32-64-128-192 encoder, decoder 48."""
    return _warm_start(LayoutNet(num_classes, in_chans, widths=(32, 64, 128, 192), depths=(2, 2, 2, 1), stem=16,
                                 decoder=48, input_size=input_size), init_weights)


@register_model("segmentation", tiny=True)
def layoutnet_resnet_tiny(num_classes: int = len(LAYOUT_CLASSES), in_chans: int = 1,
                          input_size: int = 64) -> nn.Module:
    """Tiny layout network for tests."""
    return LayoutNet(num_classes, in_chans, widths=(8, 8, 16, 16), depths=(1, 1, 1, 1), stem=8, decoder=16,
                     head_convs=1, input_size=input_size)
