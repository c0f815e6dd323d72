"""AC-GAN — Odena, Olah & Shlens, "Conditional Image Synthesis with Auxiliary Classifier GANs",
ICML 2017 (arXiv 1610.09585).

Read alongside the paper's section 3 ("AC-GANs") and the appendix's CIFAR-10 architecture table:

- Every generated sample has a class c ~ p_c besides the noise z: X_fake = G(c, z).
- D gives both a distribution over sources and over classes: P(S | X), P(C | X) = D(X).
- Eq. 2: L_S = E[log P(S = real | X_real)] + E[log P(S = fake | X_fake)].
- Eq. 3: L_C = E[log P(C = c | X_real)] + E[log P(C = c | X_fake)].
- "D is trained to maximize L_S + L_C while G is trained to maximize L_C − L_S": the class term is
  applied to real AND generated images, for D as for G.
- Appendix, CIFAR-10: G is z (110 = 100 noise + 10 one-hot class) → linear 384 → three 5x5 stride-2
  transposed convs (192, 96, 3) with batchnorm + ReLU, tanh output; D is six 3x3 convs with strides
  2,1,2,1,2,1 and 16→512 channels, LeakyReLU 0.2, dropout 0.5, batchnorm except on the first, then one
  linear layer to 1 source logit + 10 class logits. Adam lr 2e-4, β1 0.5, batch 100, weights N(0, 0.02).

Scaling to the data: the linear layer projects to 384×s×s with s = 4 (32 px: three 2x up-samplings,
as in the paper) or s = 7 (28 px: two 2x up-samplings, the third transposed conv keeps stride 1).
D's strides take 32 px and 28 px alike to a 4x4 map.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction

from reproductions.parts.blocks import init_normal_all
from reproductions.parts.losses import binary_accuracy, d_loss_gan, g_loss_nonsaturating


@dataclass(frozen=True)
class Hyperparameters:
    z_dim: int = 100  # noise dims; the class one-hot is appended (110 for CIFAR-10)
    # G's last hidden width; the two layers before it double it (appendix: linear 384, convs 192, 96).
    g_width: int = 96
    # D's first width, doubling per conv (appendix: 16 → 32 → 64 → 128 → 256 → 512), one per stride.
    d_width: int = 16
    d_strides: tuple[int, ...] = (2, 1, 2, 1, 2, 1)
    dropout: float = 0.5
    leaky_slope: float = 0.2
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    init_std: float = 0.02
    class_weight: float = 1.0  # the paper weighs L_S and L_C equally


def _start_and_ups(resolution: int) -> tuple[int, int]:
    for start in (4, 7):
        for ups in (3, 2):
            if start * 2**ups == resolution:
                return start, ups
    raise ValueError(f"AC-GAN's generator is built for 28 or 32 px (or 56/64), got {resolution}")


class Generator(nn.Module):
    """G(c, z): [z, one-hot c] → linear 384·s·s → 5x5 transposed convs (BN, ReLU) → tanh."""

    def __init__(self, z_dim: int, num_classes: int, channels: int, resolution: int, width: int):
        super().__init__()
        widths = (4 * width, 2 * width, width)
        self.start, ups = _start_and_ups(resolution)
        self.num_classes, self.width = num_classes, widths[0]
        self.project = nn.Sequential(nn.Linear(z_dim + num_classes, widths[0] * self.start**2), nn.ReLU())
        layers: list[nn.Module] = []
        outs = [widths[1], widths[2], channels]
        c_in = widths[0]
        for i, c_out in enumerate(outs):
            stride = 2 if i < ups else 1  # 5x5 kernels: padding 2 (+1 output padding when doubling)
            layers.append(nn.ConvTranspose2d(c_in, c_out, 5, stride, 2, output_padding=stride - 1))
            layers += [nn.BatchNorm2d(c_out), nn.ReLU()] if i < len(outs) - 1 else [nn.Tanh()]
            c_in = c_out
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = self.project(torch.cat([z, F.one_hot(labels, self.num_classes).float()], dim=1))
        return self.net(h.view(z.shape[0], self.width, self.start, self.start))


class Discriminator(nn.Module):
    """X → six 3x3 convs (LeakyReLU, dropout; BN after the first) → linear → (source logit, class logits)."""

    def __init__(self, channels: int, resolution: int, num_classes: int, hp: Hyperparameters):
        super().__init__()
        layers: list[nn.Module] = []
        c_in, size = channels, resolution
        widths = [hp.d_width * 2**i for i in range(len(hp.d_strides))]
        for i, (c_out, stride) in enumerate(zip(widths, hp.d_strides)):
            layers.append(nn.Conv2d(c_in, c_out, 3, stride, 1))
            if i > 0:
                layers.append(nn.BatchNorm2d(c_out))
            layers += [nn.LeakyReLU(hp.leaky_slope), nn.Dropout(hp.dropout)]
            c_in, size = c_out, (size - 1) // stride + 1
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(c_in * size * size, 1 + num_classes)  # one layer, both outputs (appendix)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.head(self.body(x).flatten(1))
        return out[:, 0], out[:, 1:]


class ACGAN(Reproduction):
    Hyperparameters = Hyperparameters
    conditional = True

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        self.G = Generator(hp.z_dim, data.num_classes, data.channels, data.resolution, hp.g_width).to(device)
        self.D = Discriminator(data.channels, data.resolution, data.num_classes, hp).to(device)
        init_normal_all(hp.init_std, self.G, self.D, batchnorm=False)
        betas = (hp.beta1, hp.beta2)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=hp.lr, betas=betas)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=hp.lr, betas=betas)

    def discriminator_loss(self, real: tuple[torch.Tensor, torch.Tensor], labels: torch.Tensor,
                           fake: tuple[torch.Tensor, torch.Tensor], fake_labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(−(L_S + L_C), −L_C) from D's (source logit, class logits) on real and generated images.

        −L_S is eq. 2 negated (`d_loss_gan`); −L_C is eq. 3 negated: the class cross-entropy on real
        images with their labels AND on generated images with the classes they were drawn for.
        """
        loss_c = F.cross_entropy(real[1], labels) + F.cross_entropy(fake[1], fake_labels)
        return d_loss_gan(real[0], fake[0]) + self.hp.class_weight * loss_c, loss_c

    def generator_loss(self, generated: tuple[torch.Tensor, torch.Tensor], labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """G maximises L_C − L_S: the class cross-entropy on its samples plus the adversarial term in its
        non-saturating form (maximise log P(S = real | X_fake) rather than minimise log P(S = fake | ·))."""
        loss_c = F.cross_entropy(generated[1], labels)
        return g_loss_nonsaturating(generated[0]) + self.hp.class_weight * loss_c, loss_c

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        for batch in real:
            c = self.random_labels(len(batch))
            fake = self.G(self.noise(len(batch)), c).detach()
            out_real, out_fake = self.D(batch.images), self.D(fake)
            loss_d, loss_d_class = self.discriminator_loss(out_real, batch.labels, out_fake, c)
            self.update(self.opt_D, loss_d)

        c_gen = self.random_labels(len(real[-1]))
        out_gen = self.D(self.G(self.noise(len(c_gen)), c_gen))
        loss_g, loss_g_class = self.generator_loss(out_gen, c_gen)
        self.update(self.opt_G, loss_g)
        with torch.no_grad():  # how well the auxiliary classifier names real classes, and G's classes
            acc_real = (out_real[1].argmax(1) == batch.labels).float().mean()
            acc_gen = (out_gen[1].argmax(1) == c_gen).float().mean()
        return {"loss_d": loss_d.detach(), "loss_d_class": loss_d_class.detach(), "loss_g": loss_g.detach(),
                "loss_g_class": loss_g_class.detach(), "d_accuracy": binary_accuracy(out_real[0], out_fake[0]).detach(),
                "aux_accuracy_real": acc_real, "aux_accuracy_generated": acc_gen}


REPRODUCTION = ACGAN
