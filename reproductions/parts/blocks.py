"""Network pieces shared by several reproductions: the resolution ladder, DCGAN-style init, and the
pre-activation ResNet of Gulrajani et al. 2017 (WGAN-GP, appendix F) that Miyato et al. 2018 (SNGAN,
Tables 4 and 5, Figure 8) reuse.

Only architecture lives here; every objective and regulariser comes from `reproductions.parts.losses` /
`reproductions.parts.regularizers`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def ladder(resolution: int) -> tuple[int, int]:
    """(start size, number of 2x up-samplings) for a resolution of 4·2^k or 7·2^k pixels.

    The papers draw their generators for 32 px (4→8→16→32) or larger; a 28 px dataset starts at 7×7
    (7→14→28) and so has one up-sampling fewer.
    """
    for start in (4, 7):
        steps = math.log2(resolution / start)
        if steps >= 1 and steps.is_integer():
            return start, int(steps)
    raise ValueError(f"needs a resolution of 4·2^k or 7·2^k pixels (e.g. 28, 32, 64), got {resolution}")


def conv_out(size: int, kernel: int, stride: int, padding: int) -> int:
    """Spatial size after a convolution (used to size the final dense layer of a discriminator)."""
    return (size + 2 * padding - kernel) // stride + 1


def init_normal(module: nn.Module, std: float = 0.02, batchnorm: bool = True) -> None:
    """DCGAN's initialisation (Radford et al. 2016, section 4): weights N(0, std), biases 0, BN scale
    N(1, std). `batchnorm=False` initialises only the conv and dense layers and leaves batchnorm at
    PyTorch's default (scale 1, shift 0), as the AC-GAN and InfoGAN modules initialise."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, std)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif batchnorm and isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        nn.init.normal_(module.weight, 1.0, std)
        nn.init.zeros_(module.bias)


def init_normal_all(std: float, *nets: nn.Module, batchnorm: bool = True) -> None:
    """`init_normal` on every layer of each of `nets`, in that order (the order they draw random numbers in)."""
    for net in nets:
        net.apply(lambda m: init_normal(m, std, batchnorm))


class ConvThenDense(nn.Module):
    """A D of the DCGAN family: conv `features`, flattened, then one `dense` output per image (a
    logit or a critic value). Subclasses build the two; the forward pass is this one."""

    features: nn.Module
    dense: nn.Linear

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dense(self.features(x).flatten(1)).flatten()


class GBlock(nn.Module):
    """Generator ResBlock (SNGAN Figure 8): BN → ReLU → 2x nearest up → 3×3 conv → BN → ReLU → 3×3 conv,
    plus a shortcut of 2x up → 1×1 conv. WGAN-GP appendix F: "nearest-neighbor upsampling"."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.bn1, self.bn2 = nn.BatchNorm2d(c_in), nn.BatchNorm2d(c_out)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, 1, 1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1)
        self.shortcut = nn.Conv2d(c_in, c_out, 1, 1, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.interpolate(F.relu(self.bn1(x)), scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(self.bn2(self.conv1(h))))
        return h + self.shortcut(F.interpolate(x, scale_factor=2, mode="nearest"))


class DBlock(nn.Module):
    """Critic ResBlock: the generator block without BN (SNGAN Figure 8 caption; WGAN-GP appendix F: no
    normalisation in the critic), down-sampling by mean pooling after the second convolution.

    `first=True` is the block that sees the image: no ReLU before its first convolution, and its
    shortcut pools before the 1×1 convolution (the "optimized" first block of the authors' code).
    """

    def __init__(self, c_in: int, c_out: int, down: bool, first: bool = False):
        super().__init__()
        self.down, self.first = down, first
        self.conv1 = nn.Conv2d(c_in, c_out, 3, 1, 1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1)
        # A learnt shortcut only where the identity does not fit (channels or size change).
        self.shortcut = nn.Conv2d(c_in, c_out, 1, 1, 0) if (down or c_in != c_out) else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x if self.first else F.relu(x)
        h = self.conv2(F.relu(self.conv1(h)))
        if self.down:
            h = F.avg_pool2d(h, 2)
        if self.shortcut is None:
            return h + x
        if self.first:  # pool first: the 1×1 conv then runs on a quarter of the pixels
            return h + self.shortcut(F.avg_pool2d(x, 2))
        s = self.shortcut(x)
        return h + (F.avg_pool2d(s, 2) if self.down else s)


class ResNetGenerator(nn.Module):
    """z → dense → start×start×width → one up-block per doubling → BN → ReLU → 3×3 conv → tanh
    (WGAN-GP appendix F table; SNGAN Table 4(a))."""

    def __init__(self, z_dim: int, channels: int, resolution: int, width: int):
        super().__init__()
        start, ups = ladder(resolution)
        self.start, self.width = start, width
        self.dense = nn.Linear(z_dim, start * start * width)
        self.blocks = nn.Sequential(*[GBlock(width, width) for _ in range(ups)])
        self.out = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU(), nn.Conv2d(width, channels, 3, 1, 1), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.dense(z).view(z.shape[0], self.width, self.start, self.start)
        return self.out(self.blocks(h))


class ResNetDiscriminator(nn.Module):
    """ResBlock down ×2 → ResBlock ×2 → ReLU → global pooling → dense → 1 (WGAN-GP appendix F critic,
    SNGAN Table 4(b)). SNGAN pools by *sum*, the WGAN-GP code by *mean*; `pool` picks which."""

    def __init__(self, channels: int, width: int, pool: str = "sum"):
        super().__init__()
        if pool not in ("sum", "mean"):
            raise ValueError(f"pool must be 'sum' or 'mean', got {pool!r}")
        self.pool = pool
        self.blocks = nn.Sequential(
            DBlock(channels, width, down=True, first=True),
            DBlock(width, width, down=True),
            DBlock(width, width, down=False),
            DBlock(width, width, down=False),
        )
        self.dense = nn.Linear(width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.blocks(x))
        h = h.sum(dim=(2, 3)) if self.pool == "sum" else h.mean(dim=(2, 3))
        return self.dense(h).flatten()


class Maxout(nn.Module):
    """Maxout units (Goodfellow et al. 2013): each of `units` outputs is the max over `pieces` affine maps."""

    def __init__(self, in_features: int, units: int, pieces: int):
        super().__init__()
        self.linear = nn.Linear(in_features, units * pieces)
        self.units, self.pieces = units, pieces

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).view(x.shape[0], self.units, self.pieces).amax(dim=2)


class Rectifier(nn.Module):
    """A dense ReLU layer (the 2D papers' D), shaped like `Maxout` so either can fill a D layer."""

    def __init__(self, in_features: int, units: int):
        super().__init__()
        self.linear = nn.Linear(in_features, units)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.linear(x))
