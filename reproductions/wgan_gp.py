"""WGAN-GP — Gulrajani, Ahmed, Arjovsky, Dumoulin & Courville, "Improved Training of Wasserstein
GANs", NeurIPS 2017 (arXiv 1704.00028).

Read alongside section 4 and Algorithm 1. Instead of clipping the critic's weights (WGAN), penalise
its gradient norm on random interpolates x̂ = εx + (1 − ε)x̃, ε ~ U[0, 1]:
    L = E[D(x̃)] − E[D(x)] + λ E[(‖∇_x̂ D(x̂)‖₂ − 1)²]                              (eq. 3)
with λ = 10 in all experiments; G minimises −E[D(G(z))] (Algorithm 1, line 12). Algorithm 1's
defaults: n_critic = 5, Adam α = 0.0001, β1 = 0, β2 = 0.9. "No critic batch normalization"
(section 4): the penalty is per example, so the critic has no normalisation, or layer norm.

Two architectures (`architecture`):
- "resnet": appendix F, the CIFAR-10 model of Table 3 (IS 7.86): pre-activation ResBlocks of 128
  channels, BN in G only, Adam α = 2·10⁻⁴ decayed linearly to 0 over 100k G steps, batch 64;
  the authors' gan_cifar_resnet.py draws G's batch at twice the critic's (GEN_BS_MULTIPLE = 2).
  The registry makes it the CIFAR-10 default.
- "cnn": the DCGAN-like network of the authors' gan_cifar.py (dense → 5×5 stride-2 deconvolutions
  with BN in G; 5×5 stride-2 convolutions with LeakyReLU and no BN in the critic; DIM 128, and 64
  in their gan_mnist.py), with Algorithm 1's optimiser defaults (those scripts use β1 = 0.5; we
  follow the paper). Cheap enough for CPU; the default for MNIST and Fashion-MNIST.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import torch
from torch import nn

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction, frozen

from reproductions.parts.blocks import ConvThenDense, ResNetDiscriminator, ResNetGenerator, conv_out, ladder
from reproductions.parts.losses import d_loss_wasserstein, g_loss_wasserstein
from reproductions.parts.regularizers import gradient_penalty

# Per-architecture optimiser settings: (learning rate, G steps of linear decay to 0; 0 = constant).
_PAPER_LR = {"cnn": (1e-4, 0), "resnet": (2e-4, 100_000)}  # Algorithm 1 / appendix F
# G's batch as a multiple of the critic's: gan_cifar.py uses one batch size, gan_cifar_resnet.py 2.
_GEN_BS_MULTIPLE = {"cnn": 1, "resnet": 2}


@dataclass(frozen=True)
class Hyperparameters:
    architecture: Literal["cnn", "resnet"] = "cnn"
    z_dim: int = 128  # both released models draw z ~ N(0, I) of 128 dims
    g_width: int = 128  # cnn: DIM of gan_cifar.py (gan_mnist.py uses 64); resnet: appendix F's 128 channels
    d_width: int = 128  # the critic's, likewise (the released code has one DIM for both)
    gp_weight: float = 10.0  # λ, section 4: "All experiments in this paper use λ = 10"
    d_steps_per_g_step: int = 5  # n_critic
    lr: float | None = None  # None: the architecture's setting (cnn 1e-4, Algorithm 1; resnet 2e-4, app. F)
    lr_decay_g_steps: int | None = None  # None: the architecture's (cnn: none; resnet: linear to 0 over 100k)
    g_batch_multiple: int | None = None  # None: the architecture's (_GEN_BS_MULTIPLE)
    beta1: float = 0.0  # Algorithm 1
    beta2: float = 0.9
    critic_norm: Literal["none", "layer"] = "none"  # cnn only; section 4 recommends layer norm if any
    leaky_slope: float = 0.2


class CNNGenerator(nn.Module):
    """gan_cifar.py's G: dense → start×start×(width·2^k) + BN + ReLU → 5×5 stride-2 deconvs halving the
    channels, BN + ReLU → last deconv to the image, tanh."""

    def __init__(self, z_dim: int, channels: int, resolution: int, width: int):
        super().__init__()
        start, ups = ladder(resolution)
        widths = [width * 2 ** (ups - 1 - i) for i in range(ups)]  # 4·DIM, 2·DIM, DIM for 32 px
        self.shape = (widths[0], start, start)
        self.dense = nn.Sequential(nn.Linear(z_dim, widths[0] * start * start), nn.BatchNorm1d(widths[0] * start * start), nn.ReLU())
        layers: list[nn.Module] = []
        for c_in, c_out in zip(widths, widths[1:]):
            layers += [nn.ConvTranspose2d(c_in, c_out, 5, 2, 2, output_padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]
        layers += [nn.ConvTranspose2d(widths[-1], channels, 5, 2, 2, output_padding=1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.dense(z).view(z.shape[0], *self.shape))


class CNNCritic(ConvThenDense):
    """gan_cifar.py's critic: three 5×5 stride-2 convs (DIM, 2·DIM, 4·DIM) with LeakyReLU, then dense → 1.
    No batchnorm (section 4); optional layer norm where DCGAN would put BN."""

    def __init__(self, channels: int, resolution: int, width: int, slope: float, norm: str):
        super().__init__()
        layers: list[nn.Module] = []
        c_in, size = channels, resolution
        for i, c_out in enumerate((width, 2 * width, 4 * width)):
            layers.append(nn.Conv2d(c_in, c_out, 5, 2, 2))
            if norm == "layer" and i > 0:  # GroupNorm with one group = layer norm over (C, H, W) per example
                layers.append(nn.GroupNorm(1, c_out))
            layers.append(nn.LeakyReLU(slope))
            c_in, size = c_out, conv_out(size, 5, 2, 2)
        self.features = nn.Sequential(*layers)
        self.dense = nn.Linear(c_in * size * size, 1)


class WGANGP(Reproduction):
    Hyperparameters = Hyperparameters
    # improved_wgan_training's tflib/ops/batchnorm.py always runs the training branch: batch statistics.
    sampling = "batch-stats"

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        if hp.architecture == "resnet":
            self.G = ResNetGenerator(hp.z_dim, data.channels, data.resolution, hp.g_width).to(device)
            self.D = ResNetDiscriminator(data.channels, hp.d_width, pool="mean").to(device)  # released code: mean pool
        else:
            self.G = CNNGenerator(hp.z_dim, data.channels, data.resolution, hp.g_width).to(device)
            self.D = CNNCritic(data.channels, data.resolution, hp.d_width, hp.leaky_slope, hp.critic_norm).to(device)
        paper_lr, paper_decay = _PAPER_LR[hp.architecture]
        lr = paper_lr if hp.lr is None else hp.lr
        decay = paper_decay if hp.lr_decay_g_steps is None else hp.lr_decay_g_steps
        betas = (hp.beta1, hp.beta2)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=lr, betas=betas)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=lr, betas=betas)
        # Appendix F: "decayed linearly to 0 over 100K generator iterations" — one scheduler step per G step.
        factor = (lambda g_step: max(0.0, 1.0 - g_step / decay)) if decay > 0 else (lambda g_step: 1.0)
        self.sched_G = torch.optim.lr_scheduler.LambdaLR(self.opt_G, factor)
        self.sched_D = torch.optim.lr_scheduler.LambdaLR(self.opt_D, factor)
        self.g_batch_multiple = _GEN_BS_MULTIPLE[hp.architecture] if hp.g_batch_multiple is None else hp.g_batch_multiple

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        # Algorithm 1, lines 2-10: n_critic critic updates on eq. (3).
        for batch in real:
            with torch.no_grad():
                fake = self.G(self.noise(len(batch)))  # line 5
            wasserstein = d_loss_wasserstein(self.D(batch.images), self.D(fake))  # D(x̃) − D(x)
            penalty = gradient_penalty(self.D, batch.images, fake)  # lines 4, 6-7: x̂ on random interpolates
            loss_d = wasserstein + self.hp.gp_weight * penalty
            self.update(self.opt_D, loss_d)

        # Lines 11-12: one generator update on −D(G(z)), on g_batch_multiple × the critic's batch.
        with frozen(self.D):
            loss_g = g_loss_wasserstein(self.D(self.G(self.noise(self.g_batch_multiple * len(real[-1])))))
            self.update(self.opt_G, loss_g)
        self.sched_G.step()
        self.sched_D.step()
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "gradient_penalty": penalty.detach(),
                "wasserstein_estimate": -wasserstein.detach()}


REPRODUCTION = WGANGP
