"""IcGAN — Perarnau, van de Weijer, Raducanu & Álvarez, "Invertible Conditional GANs for image
editing", NIPS 2016 Workshop on Adversarial Training (arXiv 1611.06355).

Read alongside the paper's section 3 ("Invertible Conditional GANs") and section 4 (model design),
and the official Torch code (Guim3/IcGAN: trainGAN.lua, trainEncoder.lua, cfg/mainConfig.lua):

- Section 3.1, the cGAN: x' = G(z, y') with z ~ N(0, I) (100 dims) and a label vector y'; D(x, y)
  tells real pairs from generated ones. The networks are DCGAN's (section 4.1); y enters G at its
  input (concatenated with z) and D after its first convolution (section 4.2, "Optimal conditional
  position": the first layer of D works best), replicated over that layer's feature map.
  On MNIST y is a 10-dim vector with +1 at the class and -1 elsewhere (the code's labels).
- The code's D also sees real images with a mismatching label as fake ("trainWrongY"), and splits
  the fake side of its loss equally between those and generated pairs.
- Section 3.2, the encoders (the "IND" design the paper chooses): E_z maps an image to z, trained on
  generated images with L_ez = E_{z, y'} ||z - E_z(G(z, y'))||^2; E_y maps an image to y, trained on
  real labelled images with L_ey = E_{x, y} ||y - E_y(x)||^2. Each is a stack of 5x5 stride-2 convs
  (BN, ReLU), one hidden dense layer (BN, ReLU) and a linear output (trainEncoder.lua; the code's
  MSECriterion averages over the vector's entries).
- The order (README, "trained in four steps"): the cGAN first, then E_z on images of the trained G,
  then E_y. Here the last `encoder_fraction` of the budget's steps train both encoders with G and D
  held fixed (`plan`); the cGAN's steps before that never touch them.
- Editing (section 3, figure 1): x -> (E_z(x), E_y(x)) -> change y -> G(z, y). `reconstruct` does it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction

from reproductions.dcgan import Generator as DCGANGenerator
from reproductions.parts.blocks import conv_out, init_normal_all, ladder
from reproductions.parts.losses import binary_accuracy, g_loss_nonsaturating


@dataclass(frozen=True)
class Hyperparameters:
    z_dim: int = 100  # cfg/mainConfig.lua nz
    g_width: int = 64  # ngf
    d_width: int = 64  # ndf
    lr: float = 2e-4  # cGAN: Adam 2e-4, beta1 0.5 (DCGAN's)
    beta1: float = 0.5
    beta2: float = 0.999
    leaky_slope: float = 0.2
    init_std: float = 0.02
    wrong_label_term: bool = True  # trainWrongY: real images with a mismatching y count as fake
    # Encoders (cfg option 1 and 2): 5x5 stride-2 convs from `encoder_width` filters, doubling.
    encoder_width: int = 32  # nf
    encoder_convs: int = 4  # nConvLayers
    encoder_y_hidden: int = 512  # FCsz of E_y; E_z's hidden layer is as wide as its flattened input (FCsz nil)
    encoder_lr: float = 1e-4
    encoder_beta1: float = 0.1
    # Steps at the end of the budget that train E_z and E_y with G and D fixed: the code's 15 encoder
    # epochs on 39,600 images (66% split) after 25 cGAN epochs of 60,000, both at batch 64:
    # 9,281 / (23,438 + 9,281) of the paper's schedule.
    encoder_fraction: float = 0.284


def signed_one_hot(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """+1 at the class, -1 elsewhere: the MNIST label vectors of the code (donkey_mnist.lua)."""
    return F.one_hot(labels, num_classes).float() * 2 - 1


def encoder_losses(z: torch.Tensor, z_hat: torch.Tensor, y: torch.Tensor, y_hat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(L_ez, L_ey), section 3.2: squared errors of the encoded z and y, averaged over entries (MSECriterion)."""
    return F.mse_loss(z_hat, z), F.mse_loss(y_hat, y)


class Discriminator(nn.Module):
    """D(x, y): conv(x) -> LeakyReLU -> concat y replicated over the map -> DCGAN convs (BN) -> logit."""

    def __init__(self, channels: int, resolution: int, num_classes: int, width: int, slope: float):
        super().__init__()
        start, downs = ladder(resolution)
        self.first = nn.Sequential(nn.Conv2d(channels, width, 4, 2, 1, bias=False), nn.LeakyReLU(slope, inplace=True))
        layers: list[nn.Module] = []
        c_in = width + num_classes
        for i in range(1, downs):
            c_out = width * 2**i
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.LeakyReLU(slope, inplace=True)]
            c_in = c_out
        layers.append(nn.Conv2d(c_in, 1, start, 1, 0, bias=False))  # the sigmoid lives in the loss
        self.rest = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.first(x)
        y_map = y[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])
        return self.rest(torch.cat([h, y_map], dim=1)).flatten()


class Encoder(nn.Module):
    """trainEncoder.lua's getEncoder: 5x5 stride-2 convs (BN, ReLU) -> dense (BN, ReLU) -> linear output."""

    def __init__(self, channels: int, resolution: int, width: int, convs: int, hidden: int | None, out: int):
        super().__init__()
        layers: list[nn.Module] = []
        c_in, size = channels, resolution
        for i in range(convs):
            layers += [nn.Conv2d(c_in, width * 2**i, 5, 2, 2), nn.BatchNorm2d(width * 2**i), nn.ReLU(inplace=True)]
            c_in, size = width * 2**i, conv_out(size, 5, 2, 2)
        flat = c_in * size * size
        hidden = flat if hidden is None else hidden
        layers += [nn.Flatten(), nn.Linear(flat, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True), nn.Linear(hidden, out)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class IcGAN(Reproduction):
    Hyperparameters = Hyperparameters
    conditional = True
    sampling = "batch-stats"  # DCGAN's Torch code, on which this one is built, never switches G to eval mode

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        if not 0.0 <= hp.encoder_fraction < 1.0:
            raise ValueError(f"encoder_fraction must be in [0, 1), got {hp.encoder_fraction}")
        k = data.num_classes
        self.G = DCGANGenerator(hp.z_dim + k, data.channels, data.resolution, hp.g_width).to(device)
        self.D = Discriminator(data.channels, data.resolution, k, hp.d_width, hp.leaky_slope).to(device)
        self.E_z = Encoder(data.channels, data.resolution, hp.encoder_width, hp.encoder_convs, None, hp.z_dim).to(device)
        self.E_y = Encoder(data.channels, data.resolution, hp.encoder_width, hp.encoder_convs, hp.encoder_y_hidden, k).to(device)
        init_normal_all(hp.init_std, self.G, self.D)  # the DCGAN code's weights_init; the encoders keep Torch's defaults
        betas = (hp.beta1, hp.beta2)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=hp.lr, betas=betas)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=hp.lr, betas=betas)
        encoder_betas = (hp.encoder_beta1, hp.beta2)
        self.opt_E_z = torch.optim.Adam(self.E_z.parameters(), lr=hp.encoder_lr, betas=encoder_betas)
        self.opt_E_y = torch.optim.Adam(self.E_y.parameters(), lr=hp.encoder_lr, betas=encoder_betas)
        self.encoder_start: int | None = None  # set by `plan`; without one, every step trains the cGAN

    def plan(self, g_steps: int, batch_size: int) -> None:
        self.encoder_start = g_steps - round(self.hp.encoder_fraction * g_steps)

    def generate(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.G(torch.cat([z, signed_one_hot(labels, self.data.num_classes)], dim=1))

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        z = self.noise(n, generator)
        labels = self.random_labels(n, generator) if labels is None else labels.to(self.device)
        with self.sampling_mode(self.G):
            return self.generate(z, labels)

    @torch.no_grad()
    def reconstruct(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Figure 1: z = E_z(x), y = E_y(x) (or the given labels, to edit), then G(z, y)."""
        with self.sampling_mode(self.G, self.E_z, self.E_y):
            z, y = self.E_z(images), self.E_y(images)
            if labels is not None:
                y = signed_one_hot(labels.to(self.device), self.data.num_classes)
            return self.G(torch.cat([z, y], dim=1))

    def discriminator_loss(self, real: torch.Tensor, wrong: torch.Tensor | None, fake: torch.Tensor) -> torch.Tensor:
        """trainGAN.lua fDx: BCE(real pairs, 1) + BCE(fake pairs, 0), the fake side shared equally between
        generated pairs and real images with a mismatching y when `wrong` is given; halved."""
        bce = F.binary_cross_entropy_with_logits
        loss_real = bce(real, torch.ones_like(real))
        loss_fake = bce(fake, torch.zeros_like(fake))
        if wrong is not None:
            loss_fake = 0.5 * loss_fake + 0.5 * bce(wrong, torch.zeros_like(wrong))
        return 0.5 * (loss_real + loss_fake)

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        if self.encoder_start is not None and step >= self.encoder_start:
            return self.encoder_step(real[-1])
        k = self.data.num_classes
        for batch in real:
            y_real = signed_one_hot(batch.labels, k)
            # a mismatching label: shifted by 1..K-1 classes, so never the true one
            shift = torch.randint(1, k, batch.labels.shape, device=self.device)
            y_wrong = signed_one_hot((batch.labels + shift) % k, k)
            y_fake = self.random_labels(len(batch))
            fake = self.generate(self.noise(len(batch)), y_fake)
            d_real, d_fake = self.D(batch.images, y_real), self.D(fake.detach(), signed_one_hot(y_fake, k))
            d_wrong = self.D(batch.images, y_wrong) if self.hp.wrong_label_term else None
            loss_d = self.discriminator_loss(d_real, d_wrong, d_fake)
            self.update(self.opt_D, loss_d)

        # G: the non-saturating BCE on the same generated pairs (fGx reuses fDx's z and y), D updated.
        loss_g = g_loss_nonsaturating(self.D(fake, signed_one_hot(y_fake, k)))
        self.update(self.opt_G, loss_g)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "d_accuracy": binary_accuracy(d_real, d_fake).detach()}

    def encoder_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Section 3.2: E_z on a fresh batch of the (now fixed) G's images, E_y on the real labelled batch."""
        with torch.no_grad(), self.sampling_mode(self.G):
            z, y_gen = self.noise(len(batch)), self.random_labels(len(batch))
            generated = self.generate(z, y_gen)
        y_real = signed_one_hot(batch.labels, self.data.num_classes)
        y_hat = self.E_y(batch.images)
        loss_ez, loss_ey = encoder_losses(z, self.E_z(generated), y_real, y_hat)
        self.update(self.opt_E_z, loss_ez)
        self.update(self.opt_E_y, loss_ey)
        accuracy = (y_hat.argmax(1) == batch.labels).float().mean()
        return {"loss_ez": loss_ez.detach(), "loss_ey": loss_ey.detach(), "ey_accuracy": accuracy.detach()}


REPRODUCTION = IcGAN
