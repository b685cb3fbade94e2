"""VGG for small grayscale images: 3×3 conv stacks with batch norm, max-pool between stages.

Sized for 28–64 px inputs: the number of pooling stages follows the input size so the last
feature map is about 3×3, then global average pooling and a small classifier (the original
4096-wide FC layers would dominate the parameters with thousands of classes).
"""

from __future__ import annotations

import torch
from torch import nn

from yomitori.models.registry import register_model


def _stages_for(input_size: int) -> int:
    stages, size = 0, input_size
    while size > 5 and stages < 5:
        size //= 2
        stages += 1
    return stages


class VGG(nn.Module):
    def __init__(
        self, num_classes: int, in_chans: int = 1, input_size: int = 28,
        widths: tuple[int, ...] = (64, 128, 256, 512, 512), convs_per_stage: tuple[int, ...] = (2, 2, 3, 3, 3),
        hidden: int = 1024, dropout: float = 0.3,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = in_chans
        for s in range(_stages_for(input_size)):
            for _ in range(convs_per_stage[s]):
                layers += [nn.Conv2d(c_in, widths[s], 3, padding=1, bias=False),
                           nn.BatchNorm2d(widths[s]), nn.ReLU(inplace=True)]
                c_in = widths[s]
            layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(c_in, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, H, W) -> (N, classes)
        return self.classifier(self.pool(self.features(x)))


@register_model("vgg")
def vgg(num_classes: int = 10, in_chans: int = 1, input_size: int = 28) -> nn.Module:
    """VGG-style (13 conv layers at 64 px, fewer stages for smaller inputs), BN, GAP head."""
    return VGG(num_classes, in_chans, input_size)


@register_model("vgg", tiny=True)
def vgg_tiny(num_classes: int = 10, in_chans: int = 1, input_size: int = 28) -> nn.Module:
    """Tiny VGG for tests."""
    return VGG(num_classes, in_chans, input_size, widths=(4, 8, 8, 8, 8),
               convs_per_stage=(1, 1, 1, 1, 1), hidden=16)
