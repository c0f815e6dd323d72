"""Class conditioning for generator and discriminator, written once for SAGAN and BigGAN.

Both papers condition G through conditional batch normalisation and D through a projection:
- Conditional BN (de Vries et al. 2017; Dumoulin et al. 2017): normalise without a learnt affine,
  then scale and shift with per-sample gains and biases that depend on the condition. SAGAN
  (Zhang et al. 2019, section 5: "conditional batch normalization in the generator") learns one
  gain/bias vector per class; BigGAN (Brock et al. 2019, section 3) instead projects a conditioning
  vector — a shared class embedding, concatenated with a chunk of z — linearly to each layer's gains
  and biases. `ConditionalBatchNorm2d` does either, chosen by `num_classes` or `cond_dim`.
- Projection discriminator (Miyato & Koyama 2018, eq. 3): D(x, y) = ψ(φ(x)) + embed(y)ᵀ φ(x), the
  unconditional logit plus an inner product of the pooled features with a learnt class embedding.

`ConditionalGBlock` is the up-sampling ResBlock both generators are built of (SAGAN's released code
`block`; BigGAN appendix B, Figure 15(b)): CBN → ReLU → 2× up → 3×3 conv → CBN → ReLU → 3×3 conv,
plus an up-sampled 1×1-conv shortcut. `ProjectionDiscriminator` is the shared 32/28 px ResNet critic
(SNGAN's Table 4(b) layout; BigGAN-PyTorch `D_arch[32]`) with a projection head and, optionally,
self-attention at one feature-map size. Spectral normalisation is left to the caller.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from reproductions.parts.attention import SelfAttention
from reproductions.parts.blocks import DBlock


class ConditionalBatchNorm2d(nn.Module):
    """BN without affine, then x̂·γ(y) + β(y).

    `num_classes`: y are integer labels and γ, β are rows of per-class tables (γ initialised to 1,
    β to 0, so the layer starts as plain BN). Kept as plain parameters, not layers, so spectral
    normalisation of the network never touches them (SAGAN's released code normalises convs only).
    `cond_dim`: y are float vectors and γ = 1 + W_γ y, β = W_β y (BigGAN: "linearly projected to
    each layer's gains and biases"; the 1 + · keeps the initial gain near one).
    """

    def __init__(self, channels: int, num_classes: int | None = None, cond_dim: int | None = None,
                 eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        if (num_classes is None) == (cond_dim is None):
            raise ValueError("give exactly one of num_classes (per-class tables) or cond_dim (linear projection)")
        self.bn = nn.BatchNorm2d(channels, affine=False, eps=eps, momentum=momentum)
        self.by_class = num_classes is not None
        if self.by_class:
            self.class_gain = nn.Parameter(torch.ones(num_classes, channels))
            self.class_bias = nn.Parameter(torch.zeros(num_classes, channels))
        else:
            self.gain = nn.Linear(cond_dim, channels, bias=False)
            self.bias = nn.Linear(cond_dim, channels, bias=False)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.by_class:
            gain, bias = self.class_gain[y], self.class_bias[y]
        else:
            gain, bias = 1.0 + self.gain(y), self.bias(y)
        return self.bn(x) * gain[:, :, None, None] + bias[:, :, None, None]


class ConditionalGBlock(nn.Module):
    """Pre-activation up-sampling ResBlock whose two BNs are conditional; `y` goes to both."""

    def __init__(self, c_in: int, c_out: int, norm: Callable[[int], nn.Module]):
        super().__init__()
        self.bn1, self.bn2 = norm(c_in), norm(c_out)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, 1, 1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1)
        self.shortcut = nn.Conv2d(c_in, c_out, 1, 1, 0)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = F.interpolate(F.relu(self.bn1(x, y)), scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(self.bn2(self.conv1(h), y)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2, mode="nearest"))


class ProjectionHead(nn.Module):
    """Miyato & Koyama 2018, eq. 3: ψ(φ) + embed(y)ᵀ φ on pooled features φ."""

    def __init__(self, features: int, num_classes: int):
        super().__init__()
        self.linear = nn.Linear(features, 1)
        self.embed = nn.Embedding(num_classes, features)

    def forward(self, phi: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.linear(phi).flatten() + (self.embed(y) * phi).sum(dim=1)


class ProjectionDiscriminator(nn.Module):
    """ResBlock down ×2 → ResBlock ×2 → ReLU → global sum pooling → projection head.

    `attention_resolution`: insert `SelfAttention` after the first block whose output has that side
    length (None: no attention). At 32 px the maps are 16, 8, 8, 8; at 28 px 14, 7, 7, 7.
    """

    def __init__(self, channels: int, resolution: int, width: int, num_classes: int,
                 attention_resolution: int | None = None):
        super().__init__()
        layout = [(True, True), (True, False), (False, False), (False, False)]  # (down, first)
        layers: list[nn.Module] = []
        size, c_in, attended = resolution, channels, False
        for down, first in layout:
            layers.append(DBlock(c_in, width, down=down, first=first))
            c_in, size = width, size // 2 if down else size
            if size == attention_resolution and not attended:
                layers.append(SelfAttention(width))
                attended = True
        if attention_resolution is not None and not attended:
            raise ValueError(f"no discriminator feature map of size {attention_resolution} at {resolution} px")
        self.blocks = nn.Sequential(*layers)
        self.head = ProjectionHead(width, num_classes)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        phi = F.relu(self.blocks(x)).sum(dim=(2, 3))  # sum pooling, as SNGAN and BigGAN
        return self.head(phi, y)
