"""CRNN line recognizers: a convolutional backbone, a sequence head, CTC over the charset.

Input ``(N, 1, H, W)`` with a fixed height ``H`` (the line's cross axis) and any width ``W``
(padded per batch). Output ``logits: (N, T, C + 1)`` with ``T = W // 4`` and class 0 the CTC
blank; class ``i + 1`` is charset index ``i``.

Vertical lines are rotated 90° clockwise by the caller (``yomitori.recognition.prepare_line``)
so that top-to-bottom reading becomes left-to-right; a learned direction embedding added to
the sequence tells the head which way the glyphs lie. One network serves both directions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from yomitori.models.registry import register_model


class ConvBNReLU(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, stride: tuple[int, int] = (1, 1)) -> None:
        super().__init__(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


class ResBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: tuple[int, int] = (1, 1)) -> None:
        super().__init__()
        self.conv1 = ConvBNReLU(c_in, c_out, stride)
        self.conv2 = nn.Sequential(nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out))
        self.short = nn.Identity() if stride == (1, 1) and c_in == c_out else nn.Sequential(
            nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv2(self.conv1(x)) + self.short(x), inplace=True)


def line_backbone(in_chans: int = 1, widths: tuple[int, ...] = (32, 64, 96, 160)) -> nn.Sequential:
    """Strided 3×3 stem convolutions, then two residual blocks: stride 16 across, 4 along the line.

    Shared by :class:`CRNN` and the character classifier that warm-starts from it
    (``resnet_lines``): the same layout gives the same ``backbone.*`` tensor names.
    """
    w0, w1, w2, w3 = widths
    return nn.Sequential(
        ConvBNReLU(in_chans, w0, (2, 2)),  # H/2, W/2
        ConvBNReLU(w0, w1, (2, 2)),  # H/4, W/4
        ResBlock(w1, w2, (2, 1)),  # H/8
        ResBlock(w2, w3, (2, 1)),  # H/16
    )


class CRNN(nn.Module):
    """ResNet-style backbone (width stride 4, height collapsed) + BiLSTM or transformer + linear."""

    def __init__(self, num_classes: int, height: int = 32, widths: tuple[int, ...] = (32, 64, 96, 160),
                 hidden: int = 128, layers: int = 2, head: str = "lstm", dropout: float = 0.1,
                 bottleneck: int | None = 96) -> None:
        super().__init__()
        w3 = widths[-1]
        self.height, self.num_classes = height, num_classes
        # Profiled on this CPU (32 × 400 line): a first design with max-pools and 128/192-wide
        # blocks cost 0.91 GFLOP per line, 39 % of it in the 7,000-way classifier, and max-pool
        # with indices was slow on CPU. Strided convolutions replace the pools, the blocks are
        # narrower and a bottleneck feeds the classifier: about half the cost, same stride 4
        # (a narrow Latin "ll" needs three frames; stride 8 would drop it).
        self.backbone = line_backbone(1, widths)
        feat_h = -(-height // 16)
        self.collapse = nn.Conv2d(w3, w3, (feat_h, 1), bias=False)  # (N, w3, 1, T)
        self.collapse_bn = nn.BatchNorm1d(w3)
        self.direction = nn.Embedding(2, w3)  # 0 horizontal, 1 vertical (rotated)
        nn.init.zeros_(self.direction.weight)
        self.head_kind = head
        if head == "lstm":
            self.seq = nn.LSTM(w3, hidden, num_layers=layers, bidirectional=True, batch_first=True,
                               dropout=dropout if layers > 1 else 0.0)
            out = 2 * hidden
        elif head == "transformer":
            self.proj = nn.Linear(w3, hidden)
            enc = nn.TransformerEncoderLayer(hidden, nhead=4, dim_feedforward=4 * hidden, dropout=dropout,
                                             batch_first=True, norm_first=True)
            self.seq = nn.TransformerEncoder(enc, layers, enable_nested_tensor=False)
            out = hidden
        else:
            raise ValueError(f"unknown head {head!r}")
        self.dropout = nn.Dropout(dropout)
        self.bottleneck = nn.Linear(out, bottleneck) if bottleneck else nn.Identity()
        self.classifier = nn.Linear(bottleneck or out, num_classes + 1)

    def forward(self, x: torch.Tensor, vertical: torch.Tensor | None = None) -> torch.Tensor:
        # x: (N, 1, H, W) -> logits (N, T, C+1), T = W // 4
        f = self.backbone(x)  # (N, c, H/16, W/4)
        f = F.relu(self.collapse_bn(self.collapse(f).squeeze(2)))  # (N, c, T)
        f = f.transpose(1, 2)  # (N, T, c)
        if vertical is not None:
            f = f + self.direction(vertical.long())[:, None, :]
        if self.head_kind == "lstm":
            f, _ = self.seq(f)
        else:
            f = self.seq(self.proj(f))
        return self.classifier(self.bottleneck(self.dropout(f)))


def _example(height: int = 32, width: int = 256) -> torch.Tensor:
    return torch.zeros(1, 1, height, width)


def _crnn(num_classes: int, height: int, **kw) -> CRNN:
    return CRNN(num_classes, height, **kw)


@register_model("crnn")
def crnn_resnet_small(num_classes: int = 7000, height: int = 32, input_size: int | None = None, **_) -> nn.Module:
    """CRNN: strided conv + ResNet backbone (32-160), 2-layer BiLSTM 128, bottleneck 96, CTC; stride 4."""
    return _crnn(num_classes, height)


@register_model("crnn")
def crnn_resnet_transformer(num_classes: int = 7000, height: int = 32, input_size: int | None = None,
                            **_) -> nn.Module:
    """CRNN with a 4-layer transformer encoder head instead of the BiLSTM."""
    return _crnn(num_classes, height, hidden=192, layers=3, head="transformer")


@register_model("crnn", tiny=True)
def crnn_tiny(num_classes: int = 50, height: int = 32, input_size: int | None = None, **_) -> nn.Module:
    """Tiny CRNN for tests."""
    return _crnn(num_classes, height, widths=(8, 16, 16, 32), hidden=32, layers=1, bottleneck=None)


for _f in (crnn_resnet_small, crnn_resnet_transformer, crnn_tiny):
    _f.example_input = _example  # type: ignore[attr-defined]
