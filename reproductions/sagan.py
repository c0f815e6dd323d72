"""SAGAN — Zhang, Goodfellow, Metaxas & Odena, "Self-Attention Generative Adversarial Networks",
ICML 2019 (arXiv 1805.08318).

Read alongside section 3 (the self-attention block, `reproductions/parts/attention.py`), section 4
("Techniques to stabilize the training of GANs") and section 5 (experiments):

- Eqs. 1-3: self-attention in both G and D, y = γ·o + x with γ initialised to 0.
- Section 4.1: spectral normalisation "for both generator and discriminator" (every conv / linear,
  the attention's 1×1 convs included), one power iteration per step.
- Section 4.2: TTUR — "learning rate 0.0004 for the discriminator and 0.0001 for the generator",
  Adam β1 = 0, β2 = 0.9, one D step per G step.
- Eq. 4: the hinge version of the adversarial loss,
      L_D = E[max(0, 1 − D(x, y))] + E[max(0, 1 + D(G(z), y))],   L_G = −E[D(G(z), y)].
- Section 5: class-conditional — "conditional batch normalization in the generator and projection
  in the discriminator" (`reproductions/parts/conditional.py`).
- Where the attention goes: Table 1 compares attention at feat8/16/32/64 of the 128 px model;
  middle-to-high maps win, and the released model puts one block on the 32×32 map of G (after the
  third up-block) and of D (after the second down-block), i.e. at a quarter of the image side.
  Scaled to our images that is the 8×8 map at 32 px and the 7×7 map at 28 px (`attention_resolution`).

The paper reports ImageNet 128 px only. At 32/28 px we use the ResNet widths of SNGAN's CIFAR-10
model (Miyato et al. 2018, Table 4), on which SAGAN builds: G 256 channels, D 128.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction, frozen

from reproductions.parts.attention import SelfAttention
from reproductions.parts.blocks import ladder
from reproductions.parts.conditional import ConditionalBatchNorm2d, ConditionalGBlock, ProjectionDiscriminator
from reproductions.parts.losses import d_loss_hinge, g_loss_hinge
from reproductions.parts.regularizers import spectral_norm_all


@dataclass(frozen=True)
class Hyperparameters:
    z_dim: int = 128  # the released code's z size
    g_width: int = 256  # SNGAN CIFAR ResNet widths (the paper's 128 px nets go 1024 → 64)
    d_width: int = 128
    g_lr: float = 1e-4  # section 4.2 (TTUR)
    d_lr: float = 4e-4
    beta1: float = 0.0
    beta2: float = 0.9
    d_steps_per_g_step: int = 1  # TTUR lets SAGAN use 1:1 updates (section 4.2)
    attention_resolution: int | None = None  # None: a quarter of the image side (feat32 at 128 px)
    power_iterations: int = 1


class Generator(nn.Module):
    """z → dense → start×start → conditional up-ResBlocks (+ attention on one map) → BN → ReLU → conv → tanh."""

    def __init__(self, z_dim: int, channels: int, resolution: int, width: int, num_classes: int,
                 attention_resolution: int):
        super().__init__()
        start, ups = ladder(resolution)
        self.start, self.width = start, width
        self.dense = nn.Linear(z_dim, start * start * width)
        layers: list[nn.Module] = []
        norm = lambda c: ConditionalBatchNorm2d(c, num_classes=num_classes)  # noqa: E731
        sizes = [start * 2**i for i in range(ups + 1)]  # the map after the dense layer and after each block
        for i, size in enumerate(sizes):
            if size == attention_resolution:  # attend on this map (the released code: after the 32×32 block)
                layers.append(SelfAttention(width))
            if i < ups:
                layers.append(ConditionalGBlock(width, width, norm))
        if attention_resolution not in sizes:
            raise ValueError(f"no generator feature map of size {attention_resolution} at {resolution} px")
        self.layers = nn.ModuleList(layers)
        # The released code ends with an unconditional BN before the output convolution.
        self.out = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU(), nn.Conv2d(width, channels, 3, 1, 1), nn.Tanh())

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.dense(z).view(z.shape[0], self.width, self.start, self.start)
        for layer in self.layers:
            h = layer(h) if isinstance(layer, SelfAttention) else layer(h, y)
        return self.out(h)


class SAGAN(Reproduction):
    Hyperparameters = Hyperparameters
    conditional = True

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        attention = hp.attention_resolution or data.resolution // 4
        G = Generator(hp.z_dim, data.channels, data.resolution, hp.g_width, data.num_classes, attention)
        D = ProjectionDiscriminator(data.channels, data.resolution, hp.d_width, data.num_classes, attention)
        # Section 4.1: spectral normalisation in G as well as in D.
        self.G = spectral_norm_all(G, hp.power_iterations).to(device)
        self.D = spectral_norm_all(D, hp.power_iterations).to(device)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=hp.g_lr, betas=(hp.beta1, hp.beta2))
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=hp.d_lr, betas=(hp.beta1, hp.beta2))

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        for batch in real:
            y_fake = self.random_labels(len(batch))
            with torch.no_grad():
                fake = self.G(self.noise(len(batch)), y_fake)
            d_real, d_fake = self.D(batch.images, batch.labels), self.D(fake, y_fake)
            loss_d = d_loss_hinge(d_real, d_fake)  # eq. 4, L_D
            self.update(self.opt_D, loss_d)

        with frozen(self.D):
            y = self.random_labels(len(real[-1]))
            loss_g = g_loss_hinge(self.D(self.G(self.noise(len(y)), y), y))  # eq. 4, L_G
            self.update(self.opt_G, loss_g)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(),
                "d_real": d_real.detach().mean(), "d_fake": d_fake.detach().mean()}


REPRODUCTION = SAGAN
