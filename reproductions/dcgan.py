"""DCGAN — Radford, Metz & Chintala, "Unsupervised Representation Learning with Deep Convolutional
Generative Adversarial Networks", ICLR 2016 (arXiv 1511.06434).

Read alongside the paper's section 3 ("Approach and model architecture") and section 4 ("Details of
adversarial training"). The architecture guidelines of section 3:

1. Replace pooling with strided convolutions (D) and fractional-strided convolutions (G).
2. Use batchnorm in both G and D — except the G output layer and the D input layer.
3. No fully connected hidden layers.
4. G: ReLU everywhere except the output, which is Tanh.
5. D: LeakyReLU everywhere (slope 0.2, section 4).

Section 4: minibatch SGD with batch 128, weights from N(0, 0.02), Adam with lr 0.0002 and β1 0.5.
The paper's G is drawn for 64x64 (4→8→16→32→64); we build the same ladder for 32 px (4→…→32) and
for 28 px (7→14→28) by starting from a 7x7 projection.

Where the paper and the reference code differ we follow the code (pytorch/examples dcgan/main.py and
soumith/dcgan.torch main.lua, whose schedule our `paper` budget uses): z ~ N(0, I) and ngf = 64, so
the 64 px G is 512→256→128→64 channels. The paper draws z from "a uniform noise distribution" and
its fig. 1 G is twice as wide (1024→…→128): `--set z_distribution=uniform --set g_width=128`.
The mode-collapse papers' "DCGAN" baseline on Stacked MNIST (Unrolled GAN's appendix; PacGAN Table 3,
"D is 1/4 size of G") is a much smaller DCGAN-style pair with 3x3 kernels; `architecture: small-dc`
selects those nets (`reproductions.parts.mode_nets`, shared with PacGAN) from the registry's per-dataset
settings, with that code's own learning rates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import torch
from torch import nn

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction

from reproductions.parts.blocks import init_normal_all, ladder
from reproductions.parts.losses import binary_accuracy, d_loss_gan, g_loss_nonsaturating
from reproductions.parts.mode_nets import SmallDCDiscriminator, SmallDCGenerator


@dataclass(frozen=True)
class Hyperparameters:
    z_dim: int = 100  # fig. 1: 100 dims
    # "normal": N(0, I), as pytorch/examples and dcgan.torch (noise = 'normal'); "uniform": the
    # paper's "uniform noise distribution", U(-1, 1) as dcgan.torch's uniform option draws it.
    z_distribution: Literal["normal", "uniform"] = "normal"
    g_width: int = 64  # ngf of the reference code: width of G's last hidden layer, doubling towards the input (fig. 1: 128)
    d_width: int = 64
    lr: float = 2e-4  # section 4: "0.001 was too high, using 0.0002 instead"
    beta1: float = 0.5  # section 4: "0.9 resulted in training oscillation and instability"
    beta2: float = 0.999
    leaky_slope: float = 0.2
    init_std: float = 0.02
    resolution: int | None = None  # None: the dataset's native size
    # "radford": the nets above. "small-dc": Metz et al.'s Stacked MNIST nets (28 px only), with
    # d_width the D's first width (2: D is 1/4 the size of G) and g_width G's last (8).
    architecture: Literal["radford", "small-dc"] = "radford"
    g_lr: float | None = None  # G's own learning rate where a paper sets one (None: lr for both)


class Generator(nn.Module):
    """z → project to a start×start map → fractional-strided convs, each halving the channels → Tanh."""

    def __init__(self, z_dim: int, channels: int, resolution: int, width: int):
        super().__init__()
        start, ups = ladder(resolution)
        widths = [width * 2 ** (ups - 1 - i) for i in range(ups)]  # e.g. 512, 256, 128, 64 for 64 px
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(z_dim, widths[0], start, 1, 0, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(inplace=True),
        ]
        for c_in, c_out in zip(widths, widths[1:]):
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
        layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1, bias=False), nn.Tanh()]  # no BN at the output
        self.net = nn.Sequential(*layers)
        self.z_dim = z_dim

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(z.shape[0], self.z_dim, 1, 1))


class Discriminator(nn.Module):
    """Strided convs, each doubling the channels, down to start×start → one logit. No BN on the input layer."""

    def __init__(self, channels: int, resolution: int, width: int, slope: float):
        super().__init__()
        start, downs = ladder(resolution)
        widths = [width * 2**i for i in range(downs)]  # e.g. 64, 128, 256, 512 for 64 px
        layers: list[nn.Module] = [nn.Conv2d(channels, widths[0], 4, 2, 1, bias=False), nn.LeakyReLU(slope, inplace=True)]
        for c_in, c_out in zip(widths, widths[1:]):
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.LeakyReLU(slope, inplace=True)]
        layers += [nn.Conv2d(widths[-1], 1, start, 1, 0, bias=False)]  # the logit; the sigmoid lives in the loss
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()


class DCGAN(Reproduction):
    Hyperparameters = Hyperparameters
    # pytorch/examples and dcgan.torch never switch G to eval mode: samples use batch statistics.
    sampling = "batch-stats"

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        if hp.architecture == "small-dc":
            if data.resolution != 28:
                raise ValueError(f"the small-dc nets are drawn for 28x28 Stacked MNIST, not {data.resolution} px")
            self.G = SmallDCGenerator(hp.z_dim, data.channels, hp.g_width).to(device)
            self.D = SmallDCDiscriminator(data.channels, hp.d_width, hp.leaky_slope).to(device)
        else:
            self.G = Generator(hp.z_dim, data.channels, data.resolution, hp.g_width).to(device)
            self.D = Discriminator(data.channels, data.resolution, hp.d_width, hp.leaky_slope).to(device)
        init_normal_all(hp.init_std, self.G, self.D)  # section 4: N(0, 0.02)
        betas = (hp.beta1, hp.beta2)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=hp.lr if hp.g_lr is None else hp.g_lr, betas=betas)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=hp.lr, betas=betas)

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        if self.hp.z_distribution == "uniform":
            return torch.rand(n, self.hp.z_dim, device=self.device, generator=generator) * 2 - 1
        return super().noise(n, generator)

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        # D: maximise log D(x) + log(1 - D(G(z))). Real and fake go through D as separate batches,
        # as in the reference code, so batchnorm statistics are never mixed across the two.
        for batch in real:
            fake = self.G(self.noise(len(batch))).detach()
            d_real, d_fake = self.D(batch.images), self.D(fake)
            loss_d = d_loss_gan(d_real, d_fake)
            self.update(self.opt_D, loss_d)

        # G: the non-saturating objective, maximise log D(G(z)).
        fake = self.G(self.noise(len(real[-1])))
        loss_g = g_loss_nonsaturating(self.D(fake))
        self.update(self.opt_G, loss_g)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "d_accuracy": binary_accuracy(d_real, d_fake).detach()}


REPRODUCTION = DCGAN
