"""GoogLeNet (Inception v1) for small grayscale images.

The 3×3 stem keeps full resolution (no 7×7 stride-2 stem at 28 px); inception blocks as in
Szegedy et al. 2014 (1×1, 1×1→3×3, 1×1→5×5 (as two 3×3), pool→1×1 branches concatenated).
"""

from __future__ import annotations

import torch
from torch import nn

from yomitori.models.registry import register_model


def _conv(c_in: int, c_out: int, k: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class Inception(nn.Module):
    def __init__(self, c_in: int, c1: int, c3r: int, c3: int, c5r: int, c5: int, cp: int) -> None:
        super().__init__()
        self.b1 = _conv(c_in, c1, 1)
        self.b3 = nn.Sequential(_conv(c_in, c3r, 1), _conv(c3r, c3, 3))
        self.b5 = nn.Sequential(_conv(c_in, c5r, 1), _conv(c5r, c5, 3), _conv(c5, c5, 3))
        self.bp = nn.Sequential(nn.MaxPool2d(3, 1, 1), _conv(c_in, cp, 1))
        self.out_channels = c1 + c3 + c5 + cp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.bp(x)], 1)


class GoogLeNet(nn.Module):
    def __init__(self, num_classes: int, in_chans: int = 1, input_size: int = 28, w: float = 1.0,
                 dropout: float = 0.3) -> None:
        super().__init__()

        def s(c: int) -> int:
            return max(2, int(c * w))

        self.stem = nn.Sequential(_conv(in_chans, s(64), 3), _conv(s(64), s(128), 3))
        if input_size >= 48:  # bring 48-64 px down to the 24-32 px the blocks were sized for
            self.stem.append(nn.MaxPool2d(2))
        cfg3 = [(s(64), s(96), s(128), s(16), s(32), s(32)), (s(128), s(128), s(192), s(32), s(96), s(64))]
        cfg4 = [(s(192), s(96), s(208), s(16), s(48), s(64)), (s(160), s(112), s(224), s(24), s(64), s(64)),
                (s(128), s(128), s(256), s(24), s(64), s(64))]
        cfg5 = [(s(256), s(160), s(320), s(32), s(128), s(128)), (s(384), s(192), s(384), s(48), s(128), s(128))]
        blocks: list[nn.Module] = []
        c = s(128)
        for i, stage in enumerate((cfg3, cfg4, cfg5)):
            for args in stage:
                block = Inception(c, *args)
                blocks.append(block)
                c = block.out_channels
            if i < 2:
                blocks.append(nn.MaxPool2d(3, 2, 1))
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout),
                                  nn.Linear(c, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, H, W) -> (N, classes)
        return self.head(self.blocks(self.stem(x)))


@register_model("googlenet")
def googlenet(num_classes: int = 10, in_chans: int = 1, input_size: int = 28) -> nn.Module:
    """GoogLeNet / Inception v1 (7 inception blocks, width ×0.5 of the original)."""
    return GoogLeNet(num_classes, in_chans, input_size, w=0.5)


@register_model("googlenet", tiny=True)
def googlenet_tiny(num_classes: int = 10, in_chans: int = 1, input_size: int = 28) -> nn.Module:
    """Tiny GoogLeNet for tests."""
    return GoogLeNet(num_classes, in_chans, input_size, w=0.0625)
