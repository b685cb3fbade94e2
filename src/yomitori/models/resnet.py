"""ResNet (He et al. 2015) for small grayscale images: 3×3 stem, four stages of basic blocks."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from yomitori.models.registry import register_model


class BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Sequential()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                                          nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x), inplace=True)


class ResNet(nn.Module):
    """Stages at strides 1, 2, 2, 2 after a stride-1 stem (stride-2 stem at ≥ 48 px)."""

    def __init__(self, num_classes: int, in_chans: int = 1, input_size: int = 28,
                 widths: tuple[int, ...] = (64, 128, 256, 512), depths: tuple[int, ...] = (2, 2, 2, 2)) -> None:
        super().__init__()
        stem_stride = 2 if input_size >= 48 else 1
        self.stem = nn.Sequential(nn.Conv2d(in_chans, widths[0], 3, stem_stride, 1, bias=False),
                                  nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True))
        layers: list[nn.Module] = []
        c = widths[0]
        for i, (w, d) in enumerate(zip(widths, depths, strict=True)):
            for j in range(d):
                layers.append(BasicBlock(c, w, 2 if (i > 0 and j == 0) else 1))
                c = w
        self.layers = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, num_classes))
        self.out_channels = c

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(self.stem(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, H, W) -> (N, classes)
        return self.head(self.forward_features(x))


@register_model("resnet")
def resnet18(num_classes: int = 10, in_chans: int = 1, input_size: int = 28) -> nn.Module:
    """ResNet-18 layout (basic blocks 2-2-2-2), widths 32-64-128-256."""
    return ResNet(num_classes, in_chans, input_size, widths=(32, 64, 128, 256))


@register_model("resnet", tiny=True)
def resnet_tiny(num_classes: int = 10, in_chans: int = 1, input_size: int = 28) -> nn.Module:
    """Tiny ResNet for tests."""
    return ResNet(num_classes, in_chans, input_size, widths=(4, 8, 8, 8), depths=(1, 1, 1, 1))


class LineBackboneResNet(nn.Module):
    """A ResNet classifier whose first stages are the line recognizer's convolutional backbone.

    The CRNN backbone (strided 3×3 stem convolutions, then residual blocks, widths 32-64-96-160;
    stride 16 across the line, 4 along it) has read millions of characters in context; two more
    residual stages bring the along-line axis to the same resolution (stride 16 both ways) before
    global pooling and the classifier. ``backbone_weights`` warm-starts the shared stages from a
    line-model ``.safetensors`` (its ``backbone.*`` tensors); without it the network starts from
    scratch like any other model here.
    """

    def __init__(self, num_classes: int, in_chans: int = 1, input_size: int = 48,
                 widths: tuple[int, ...] = (32, 64, 96, 160), head_width: int = 256, dropout: float = 0.1,
                 backbone_weights: str | None = None) -> None:
        super().__init__()
        from yomitori.models.crnn import ResBlock, line_backbone

        self.backbone = line_backbone(in_chans, widths)
        self.stages = nn.Sequential(ResBlock(widths[-1], head_width, (1, 2)),
                                    ResBlock(head_width, head_width, (1, 2)))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout),
                                  nn.Linear(head_width, num_classes))
        self.out_channels = head_width
        if backbone_weights:
            self.load_backbone(backbone_weights)

    def load_backbone(self, path: str) -> None:
        from safetensors.torch import load_file

        tensors = {k[len("backbone."):]: v for k, v in load_file(path).items() if k.startswith("backbone.")}
        if not tensors:
            raise ValueError(f"{path}: no backbone.* tensors (not a line-recognizer weights file)")
        self.backbone.load_state_dict(tensors)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.backbone(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, H, W) -> (N, classes)
        return self.head(self.forward_features(x))


@register_model("resnet")
def resnet_lines(num_classes: int = 10, in_chans: int = 1, input_size: int = 48,
                 backbone_weights: str | None = None) -> nn.Module:
    """ResNet on the line recognizer's backbone (32-64-96-160) + two 256 stages; warm-startable from it."""
    return LineBackboneResNet(num_classes, in_chans, input_size, backbone_weights=backbone_weights)
