"""Conditional GAN — Mirza & Osindero, "Conditional Generative Adversarial Nets", 2014 (arXiv 1411.1784).

Read alongside the paper's section 3.2 (eq. 2) and section 4.1 ("Unimodal", the MNIST experiment):

- Eq. 2: min_G max_D E_x[log D(x|y)] + E_z[log(1 - D(G(z|y)))] — both players see the label y,
  "feeding y into both the discriminator and generator as additional input layer".
- Section 4.1, G: z (100 dims, uniform in the unit hypercube) → 200 ReLU; y (one-hot) → 1000 ReLU;
  both → joint 1200 ReLU → 784 sigmoid.
- Section 4.1, D: x → maxout 240 units × 5 pieces; y → maxout 50 units × 5 pieces; both → joint maxout
  240 units × 4 pieces → sigmoid.
- Section 4.1, training: SGD, minibatch 100, lr 0.1 decayed exponentially by 1.00004 down to 1e-6,
  momentum 0.5 increased to 0.7, dropout 0.5 in both G and D.

The GAN paper's building blocks (maxout, SGD schedule, uniform init) come from `reproductions.gan`,
the code this paper was built on. Sizes follow the DataSpec: C·H·W pixels, `num_classes` labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction

from reproductions.gan import discriminator_loss, from_unit_interval, set_sgd, sgd_schedule, to_unit_interval, uniform_init
from reproductions.parts.blocks import Maxout
from reproductions.parts.losses import binary_accuracy, g_loss_nonsaturating


@dataclass(frozen=True)
class Hyperparameters:
    z_dim: int = 100
    g_z_hidden: int = 200
    g_y_hidden: int = 1000
    g_joint: int = 1200
    d_x_units: int = 240
    d_x_pieces: int = 5
    d_y_units: int = 50
    d_y_pieces: int = 5
    d_joint_units: int = 240
    d_joint_pieces: int = 4
    dropout: float = 0.5  # "Dropout with probability of 0.5 was applied to both the generator and discriminator"
    d_steps_per_g_step: int = 1
    lr: float = 0.1
    lr_decay: float = 1.00004  # "exponentially decreased down to .000001 with decay factor of 1.00004"
    min_lr: float = 1e-6
    momentum_start: float = 0.5
    momentum_end: float = 0.7
    momentum_ramp_steps: int = 125_000  # not stated; the GAN code's 250 epochs of 500 updates
    init_range: float = 0.05  # not stated; the GAN code's generator irange


class Generator(nn.Module):
    """G(z|y): separate ReLU layers for z and y, a joint ReLU layer, then the image (sigmoid units).

    As in `reproductions.gan`, the nets work on [0, 1] pixels (tanh outputs on [-1, 1] diverge under
    the paper's SGD at lr 0.1); the harness's [-1, 1] convention is met at the edges."""

    def __init__(self, hp: Hyperparameters, num_classes: int, shape: tuple[int, int, int]):
        super().__init__()
        self.shape, self.num_classes = shape, num_classes
        self.z_path = nn.Sequential(nn.Linear(hp.z_dim, hp.g_z_hidden), nn.ReLU(), nn.Dropout(hp.dropout))
        self.y_path = nn.Sequential(nn.Linear(num_classes, hp.g_y_hidden), nn.ReLU(), nn.Dropout(hp.dropout))
        self.joint = nn.Sequential(
            nn.Linear(hp.g_z_hidden + hp.g_y_hidden, hp.g_joint), nn.ReLU(), nn.Dropout(hp.dropout),
            nn.Linear(hp.g_joint, shape[0] * shape[1] * shape[2]), nn.Sigmoid(),
        )

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        y = F.one_hot(labels, self.num_classes).float()
        h = torch.cat([self.z_path(z), self.y_path(y)], dim=1)
        return from_unit_interval(self.joint(h)).view(z.shape[0], *self.shape)


class Discriminator(nn.Module):
    """D(x|y): maxout on x and on y, a joint maxout layer, one logit (the sigmoid lives in the loss)."""

    def __init__(self, hp: Hyperparameters, num_classes: int, pixels: int):
        super().__init__()
        self.num_classes = num_classes
        self.x_path = nn.Sequential(Maxout(pixels, hp.d_x_units, hp.d_x_pieces), nn.Dropout(hp.dropout))
        self.y_path = nn.Sequential(Maxout(num_classes, hp.d_y_units, hp.d_y_pieces), nn.Dropout(hp.dropout))
        self.joint = nn.Sequential(
            Maxout(hp.d_x_units + hp.d_y_units, hp.d_joint_units, hp.d_joint_pieces), nn.Dropout(hp.dropout),
            nn.Linear(hp.d_joint_units, 1),
        )

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        y = F.one_hot(labels, self.num_classes).float()
        return self.joint(torch.cat([self.x_path(to_unit_interval(x.flatten(1))), self.y_path(y)], dim=1)).flatten()


class ConditionalGAN(Reproduction):
    Hyperparameters = Hyperparameters
    conditional = True

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        shape = (data.channels, data.resolution, data.resolution)
        self.G = Generator(hp, data.num_classes, shape).to(device)
        self.D = Discriminator(hp, data.num_classes, shape[0] * shape[1] * shape[2]).to(device)
        for net in (self.G, self.D):
            net.apply(lambda m: uniform_init(m, hp.init_range))
        self.opt_G = torch.optim.SGD(self.G.parameters(), lr=hp.lr, momentum=hp.momentum_start)
        self.opt_D = torch.optim.SGD(self.D.parameters(), lr=hp.lr, momentum=hp.momentum_start)

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Section 4.1: "noise prior z … drawn from a uniform distribution within the unit hypercube"."""
        return torch.rand(n, self.hp.z_dim, device=self.device, generator=generator)

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        lr, momentum = sgd_schedule(step, self.hp)
        set_sgd(self.opt_D, lr, momentum)
        set_sgd(self.opt_G, lr, momentum)

        # D ascends eq. 2: real pairs (x, y) from the data, fake pairs (G(z|y), y) for labels drawn
        # uniformly, as the paper's MNIST samples are generated "conditioned on one-hot class labels".
        for batch in real:
            y_fake = self.random_labels(len(batch))
            fake = self.G(self.noise(len(batch)), y_fake).detach()
            d_real, d_fake = self.D(batch.images, batch.labels), self.D(fake, y_fake)
            loss_d = discriminator_loss(d_real, d_fake)  # halved, as in the GAN code it is built on
            self.update(self.opt_D, loss_d)

        # G: the non-saturating form of eq. 2's G objective (GAN paper, section 3).
        y_fake = self.random_labels(len(real[-1]))
        loss_g = g_loss_nonsaturating(self.D(self.G(self.noise(len(y_fake)), y_fake), y_fake))
        self.update(self.opt_G, loss_g)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(),
                "d_accuracy": binary_accuracy(d_real, d_fake).detach()}


REPRODUCTION = ConditionalGAN
