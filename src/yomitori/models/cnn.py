"""The classic two-conv CNN of the PyTorch MNIST example, generalised to any input size."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from yomitori.models.registry import register_model


class ClassicCNN(nn.Module):
    """conv(32,3) → ReLU → conv(64,3) → ReLU → maxpool 2 → dropout → fc(128) → dropout → fc(classes).

    Exactly the PyTorch MNIST example at 28 px (1.2 M parameters); at other sizes an adaptive
    pool brings the feature map to 12 × 12 so the classifier keeps its shape.
    """

    def __init__(
        self, num_classes: int = 10, in_chans: int = 1, input_size: int = 28, width: int = 32,
        hidden: int = 128,
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_chans, width, 3, 1)
        self.conv2 = nn.Conv2d(width, 2 * width, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.pool_size = 12
        self.fc1 = nn.Linear(2 * width * self.pool_size**2, hidden)
        self.fc2 = nn.Linear(hidden, num_classes)
        self.input_size = input_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (N, C, H, W) -> logits (N, classes)
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        if x.shape[-1] == 2 * self.pool_size and x.shape[-2] == 2 * self.pool_size:
            x = F.max_pool2d(x, 2)
        else:
            x = F.adaptive_max_pool2d(x, self.pool_size)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = self.dropout2(x)
        return self.fc2(x)


@register_model("cnn")
def cnn(num_classes: int = 10, in_chans: int = 1, input_size: int = 28) -> nn.Module:
    """Classic MNIST-example CNN (two convs, one hidden FC layer)."""
    return ClassicCNN(num_classes, in_chans, input_size)


@register_model("cnn", tiny=True)
def cnn_tiny(num_classes: int = 10, in_chans: int = 1, input_size: int = 28) -> nn.Module:
    """Tiny CNN for tests."""
    return ClassicCNN(num_classes, in_chans, input_size, width=4, hidden=16)
