"""LSGAN — Mao, Li, Xie, Lau, Wang & Smolley, "Least Squares Generative Adversarial Networks",
ICCV 2017 (arXiv 1611.04076).

Read alongside section 3.2 (the objective) and section 4 / Figure 3 (the architecture).

Section 3.2, eq. (2): with an a-b-c coding, D pulls its output on real data to b and on fakes to a,
and G pulls D's output on fakes to c:
    min_D ½ E_x[(D(x) − b)²] + ½ E_z[(D(G(z)) − a)²]
    min_G ½ E_z[(D(G(z)) − c)²]
Section 3.2.3 (parameters selection) gives two choices: b − c = 1 and b − a = 2 (e.g. a=−1, b=1,
c=0, eq. 8), under which minimising eq. (2) minimises the Pearson χ² divergence between p_d + p_g
and 2p_g; or c = b so that G tries to make fakes look real (the 0-1 coding a=0, b=1, c=1, eq. 9).
The paper reports the two perform alike and trains its models with eq. (9): our default is 0-1-1.

Figure 3: G = dense to 7×7×256 + BN + ReLU, then 3×3 deconvolutions (stride 2, and stride 1 after
the first two) with BN + ReLU, ending in a 3×3 deconvolution to the image; D = four 5×5 stride-2
convolutions (64, 128, 256, 512) with LeakyReLU and BN (none on the first), a dense layer to one
output, and the least-squares loss on that raw output (no sigmoid). The paper draws it for
112×112; we keep the last stages of G and all of D for 28 px (7→14→28) and 32 px (4→8→16→32).
These are not DCGAN's nets (reproductions.dcgan: no dense layers, 4×4 kernels, no stride-1 stages, a D
ending in a conv), so LSGAN keeps its own and shares DCGAN's initialisation only (and, with SNGAN's
and WGAN-GP's CNN critics, the conv-then-dense head of parts.blocks).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction, frozen

from reproductions.parts.blocks import ConvThenDense, conv_out, init_normal_all, ladder
from reproductions.parts.losses import d_loss_least_squares, g_loss_least_squares


@dataclass(frozen=True)
class Hyperparameters:
    a: float = 0.0  # label D gives fakes        } section 3.2.3, eq. (9): the 0-1-1 coding the
    b: float = 1.0  # label D gives real data    } experiments use; eq. (8) is a=-1, b=1, c=0
    c: float = 1.0  # value G wants D to believe for fakes
    z_dim: int = 1024  # Figure 3(a): z ∈ R^1024
    g_width: int = 256  # Figure 3(a): channels of the dense projection and of the first stages
    d_width: int = 64  # Figure 3(b): 64 → 128 → 256 → 512
    # The paper names no learning rate (WGAN-GP appendix E searched one for LSGAN for that reason);
    # we use DCGAN's Adam settings (Radford et al. 2016, section 4), as LSGAN builds on DCGAN.
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    leaky_slope: float = 0.2
    init_std: float = 0.02


# Figure 3(a) after the dense layer, as (channels relative to g_width, followed by a stride-1 deconv):
# two 256-channel stride-2 stages each followed by a stride-1 deconv, then 128 and 64 at stride 2.
_G_STAGES = ((1.0, True), (1.0, True), (0.5, False), (0.25, False))


def _deconv(c_in: int, c_out: int, stride: int) -> nn.ConvTranspose2d:
    """3×3 deconvolution that doubles the size at stride 2 (output_padding 1) and keeps it at stride 1."""
    return nn.ConvTranspose2d(c_in, c_out, 3, stride, 1, output_padding=stride - 1)


class Generator(nn.Module):
    def __init__(self, z_dim: int, channels: int, resolution: int, width: int):
        super().__init__()
        start, ups = ladder(resolution)
        stages = _G_STAGES[-ups:]  # the 112 px net has 4 doublings; smaller images keep the last ones
        c0 = width  # Figure 3(a): the dense layer projects to start×start×256 whatever follows
        self.shape = (c0, start, start)
        self.dense = nn.Sequential(nn.Linear(z_dim, c0 * start * start), nn.BatchNorm1d(c0 * start * start), nn.ReLU())
        layers: list[nn.Module] = []
        c_in = c0
        for scale, then_stride1 in stages:
            c_out = int(width * scale)
            layers += [_deconv(c_in, c_out, 2), nn.BatchNorm2d(c_out), nn.ReLU()]
            if then_stride1:
                layers += [_deconv(c_out, c_out, 1), nn.BatchNorm2d(c_out), nn.ReLU()]
            c_in = c_out
        layers += [_deconv(c_in, channels, 1), nn.Tanh()]  # images in [-1, 1]; no BN at the output
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.dense(z).view(z.shape[0], *self.shape))


class Discriminator(ConvThenDense):
    def __init__(self, channels: int, resolution: int, width: int, slope: float):
        super().__init__()
        widths = [width * 2**i for i in range(4)]
        layers: list[nn.Module] = []
        c_in, size = channels, resolution
        for i, c_out in enumerate(widths):
            layers.append(nn.Conv2d(c_in, c_out, 5, 2, 2))
            if i > 0:  # Figure 3(b): no BN on the first layer
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(slope))
            c_in, size = c_out, conv_out(size, 5, 2, 2)
        self.features = nn.Sequential(*layers)
        self.dense = nn.Linear(c_in * size * size, 1)  # the raw output the least-squares loss sees


class LSGAN(Reproduction):
    Hyperparameters = Hyperparameters

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        self.G = Generator(hp.z_dim, data.channels, data.resolution, hp.g_width).to(device)
        self.D = Discriminator(data.channels, data.resolution, hp.d_width, hp.leaky_slope).to(device)
        init_normal_all(hp.init_std, self.G, self.D)
        betas = (hp.beta1, hp.beta2)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=hp.lr, betas=betas)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=hp.lr, betas=betas)

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        hp = self.hp
        # D: eq. (2), first line — real outputs to b, fake outputs to a.
        for batch in real:
            with torch.no_grad():
                fake = self.G(self.noise(len(batch)))
            d_real, d_fake = self.D(batch.images), self.D(fake)
            loss_d = d_loss_least_squares(d_real, d_fake, a=hp.a, b=hp.b)
            self.update(self.opt_D, loss_d)

        # G: eq. (2), second line — D's outputs on fakes to c.
        with frozen(self.D):
            loss_g = g_loss_least_squares(self.D(self.G(self.noise(len(real[-1])))), c=hp.c)
            self.update(self.opt_G, loss_g)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(),
                "d_real": d_real.detach().mean(), "d_fake": d_fake.detach().mean()}


REPRODUCTION = LSGAN
