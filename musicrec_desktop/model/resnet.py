"""2-D ResNets over a one-channel CQT image (He et al. 2016), written here so that torchvision is
not needed. ``resnet50`` (bottleneck blocks, 2048-d) is the full encoder, ``resnet18`` (basic
blocks, 512-d) the CPU and quick-mode one.

Batch norm layers are ``SplitBatchNorm2d`` so that MoCo can keep query and key statistics apart on
one device (see ``model/splitbn.py``); with one split they are plain batch norm.
"""

from __future__ import annotations

import torch
from torch import nn

from musicrec_desktop.model.splitbn import SplitBatchNorm2d


def _conv3x3(c_in: int, c_out: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, c_in: int, width: int, stride: int = 1) -> None:
        super().__init__()
        c_out = width * self.expansion
        self.conv1 = _conv3x3(c_in, width, stride)
        self.bn1 = SplitBatchNorm2d(width)
        self.conv2 = _conv3x3(width, c_out)
        self.bn2 = SplitBatchNorm2d(c_out)
        self.shortcut = _shortcut(c_in, c_out, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, c_in: int, width: int, stride: int = 1) -> None:
        super().__init__()
        c_out = width * self.expansion
        self.conv1 = nn.Conv2d(c_in, width, 1, bias=False)
        self.bn1 = SplitBatchNorm2d(width)
        self.conv2 = _conv3x3(width, width, stride)  # stride on the 3x3, as in "ResNet v1.5"
        self.bn2 = SplitBatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, c_out, 1, bias=False)
        self.bn3 = SplitBatchNorm2d(c_out)
        self.shortcut = _shortcut(c_in, c_out, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = torch.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return torch.relu(out + self.shortcut(x))


def _shortcut(c_in: int, c_out: int, stride: int) -> nn.Module:
    if stride == 1 and c_in == c_out:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), SplitBatchNorm2d(c_out))


POOLINGS = ("mean", "meanstd")


class ResNet2d(nn.Module):
    """(N, 1, bins, frames) float -> (N, embedding_dim) float, after global pooling: the mean over
    bins and frames (``mean``), or the mean over bins and then the mean and standard deviation over
    frames (``meanstd``, twice the channels: how much each feature varies in time, too)."""

    def __init__(self, block: type[BasicBlock] | type[Bottleneck], layers: tuple[int, ...],
                 width: int = 64, pooling: str = "mean") -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}: one of {', '.join(POOLINGS)}")
        self.pooling = pooling
        self.stem = nn.Sequential(
            nn.Conv2d(1, width, 7, stride=2, padding=3, bias=False),
            SplitBatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2, padding=1),
        )
        stages, c_in = [], width
        for i, blocks in enumerate(layers):
            stage_width = width * 2**i
            for j in range(blocks):
                stride = 2 if i > 0 and j == 0 else 1
                stages.append(block(c_in, stage_width, stride))
                c_in = stage_width * block.expansion
        self.stages = nn.Sequential(*stages)
        self.embedding_dim = c_in * (2 if pooling == "meanstd" else 1)
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        # Zero the last norm of each residual branch: every block starts as the identity, which
        # makes early training steadier (Goyal et al. 2017).
        for m in self.modules():
            if isinstance(m, Bottleneck):
                nn.init.zeros_(m.bn3.weight)
            elif isinstance(m, BasicBlock):
                nn.init.zeros_(m.bn2.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stages(self.stem(x))  # N x C x bins/32 x frames/32
        if self.pooling == "mean":
            return x.mean(dim=(2, 3))  # N x C
        over_time = x.mean(dim=2)  # N x C x frames/32
        spread = over_time.std(dim=2) if over_time.shape[2] > 1 else torch.zeros_like(over_time[..., 0])
        return torch.cat([over_time.mean(dim=2), spread], dim=1)  # N x 2C


def build_backbone(name: str, width: int = 64, pooling: str = "mean") -> ResNet2d:
    """``resnet50`` -> 2048-d (at width 64), ``resnet18`` -> 512-d; twice that with ``meanstd``."""
    if name == "resnet50":
        return ResNet2d(Bottleneck, (3, 4, 6, 3), width, pooling)
    if name == "resnet18":
        return ResNet2d(BasicBlock, (2, 2, 2, 2), width, pooling)
    raise ValueError(f"unknown backbone {name!r}: resnet50 or resnet18")
