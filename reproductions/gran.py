"""GRAN — Im, Kim, Jiang & Memisevic, "Generating images with recurrent adversarial networks",
arXiv 1602.05110 (2016).

Read alongside the paper's section 3 ("Model", figure 2 and its equations) and the authors' Theano
code (jiwoongim/GRAN: recGenI28.py, recGenI32.py, convnet_cuda28.py, gran.py, main_granI_cifar10.py):

- G is a recurrent feedback loop over T steps writing onto a canvas. At step t a decoder g maps
  [h_z, h_{c,t}] to an increment ΔC_t, with h_z = tanh(BN(W z)) the code of the noise and h_{c,t}
  the code of the previous increment, h_{c,t} = f(ΔC_{t-1}) (h_{c,1} = 0), f an encoder.
- The image is the canvas after T steps: x = σ(Σ_t ΔC_t) (`canvas`). The code feeds the same z to
  every step (get_samples: Z = Zs[0]).
- g (the code's `forward`): a dense layer with batch norm and ReLU to a start×start map, then
  transposed convs (ReLU, then a linear output) doubling the size: DCGAN's decoder. f (`backward`):
  strided convs with batch norm and ReLU, then a dense layer with batch norm and tanh to z's size.
- D is a DCGAN-style convnet (convnet_cuda28.py): strided 5x5 convs with batch norm and ReLU, a tanh
  dense layer, one sigmoid output; its loss is BCE on real and generated images plus an L2 weight
  decay (λ 5e-6); G minimises -log D(G(z)) (eq. 2). Adam, lr 4e-5 for D and 1e-4 for G, batch 100.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction

from reproductions.gan import from_unit_interval, to_unit_interval
from reproductions.parts.blocks import ladder
from reproductions.parts.losses import binary_accuracy, d_loss_gan, g_loss_nonsaturating


@dataclass(frozen=True)
class Hyperparameters:
    z_dim: int = 100  # num_z
    canvas_steps: int = 5  # T (num_steps of main_granI_cifar10.py)
    g_width: int = 128  # the decoder's last hidden width, doubling towards its input (28 px: 256 → 128, ckern 32)
    d_width: int = 10  # D's convs have 8, 4 (, 2) × d_width channels (convnet_cuda28: ckern 10 → 80, 40)
    d_hidden: int = 100  # conv_num_hid: D's tanh dense layer
    lr: float = 4e-5  # epsilon_dis
    g_lr: float = 1e-4  # epsilon_gen
    weight_decay: float = 5e-6  # lam: λ · 0.5 ||W||² on D's weights in D's cost


def canvas(deltas: Sequence[torch.Tensor]) -> torch.Tensor:
    """Section 3: the image after T steps, σ(Σ_t ΔC_t), returned on [-1, 1] (the nets' σ lives on [0, 1])."""
    return from_unit_interval(torch.sigmoid(torch.stack(list(deltas)).sum(dim=0)))


class Decoder(nn.Module):
    """g: [h_z, h_c] → dense (BN, ReLU) → start×start map → 5x5 transposed convs (ReLU; the last linear) → ΔC_t."""

    def __init__(self, z_dim: int, channels: int, resolution: int, width: int):
        super().__init__()
        self.start, ups = ladder(resolution)
        widths = [width * 2 ** (ups - 1 - i) for i in range(ups)]
        self.first = widths[0]
        self.dense = nn.Sequential(nn.Linear(2 * z_dim, widths[0] * self.start**2), nn.BatchNorm1d(widths[0] * self.start**2), nn.ReLU())
        layers: list[nn.Module] = []
        for c_in, c_out in zip(widths, widths[1:] + [channels]):
            layers += [nn.ConvTranspose2d(c_in, c_out, 5, 2, 2, output_padding=1), nn.ReLU()]
        self.deconvs = nn.Sequential(*layers[:-1])  # the last transposed conv is linear

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.deconvs(self.dense(h).view(len(h), self.first, self.start, self.start))


class Encoder(nn.Module):
    """f: ΔC_t → 5x5 stride-2 convs (BN, ReLU) → dense (BN, tanh) → h_c of z's size."""

    def __init__(self, z_dim: int, channels: int, resolution: int, width: int):
        super().__init__()
        start, downs = ladder(resolution)
        widths = [width * 2**i for i in range(downs)]
        layers: list[nn.Module] = []
        c_in = channels
        for c_out in widths:
            layers += [nn.Conv2d(c_in, c_out, 5, 2, 2), nn.BatchNorm2d(c_out), nn.ReLU()]
            c_in = c_out
        self.convs = nn.Sequential(*layers)
        self.dense = nn.Sequential(nn.Linear(c_in * start**2, z_dim), nn.BatchNorm1d(z_dim), nn.Tanh())

    def forward(self, delta: torch.Tensor) -> torch.Tensor:
        return self.dense(self.convs(delta).flatten(1))


class Generator(nn.Module):
    """The recurrent canvas generator; `increments(z)` returns ΔC_1..ΔC_T, `forward(z)` the image."""

    def __init__(self, hp: Hyperparameters, channels: int, resolution: int):
        super().__init__()
        self.steps = hp.canvas_steps
        self.noise_code = nn.Sequential(nn.Linear(hp.z_dim, hp.z_dim), nn.BatchNorm1d(hp.z_dim), nn.Tanh())
        self.g = Decoder(hp.z_dim, channels, resolution, hp.g_width)
        self.f = Encoder(hp.z_dim, channels, resolution, hp.g_width)

    def increments(self, z: torch.Tensor) -> list[torch.Tensor]:
        h_z = self.noise_code(z)  # the same z at every step
        h_c = torch.zeros_like(h_z)  # h_{c,1} = 0
        deltas = []
        for _ in range(self.steps):
            delta = self.g(torch.cat([h_z, h_c], dim=1))
            h_c = self.f(delta)  # h_{c,t+1} = f(ΔC_t)
            deltas.append(delta)
        return deltas

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return canvas(self.increments(z))


class Discriminator(nn.Module):
    """convnet_cuda28: 5x5 stride-2 convs (BN, ReLU) of 8·d, 4·d (, 2·d) channels → tanh dense → one logit."""

    def __init__(self, channels: int, resolution: int, width: int, hidden: int):
        super().__init__()
        start, downs = ladder(resolution)
        layers: list[nn.Module] = []
        c_in = channels
        for i in range(downs):
            c_out = width * 2 ** (3 - i)
            layers += [nn.Conv2d(c_in, c_out, 5, 2, 2), nn.BatchNorm2d(c_out), nn.ReLU()]
            c_in = c_out
        self.convs = nn.Sequential(*layers)
        self.dense = nn.Sequential(nn.Linear(c_in * start**2, hidden), nn.Tanh(), nn.Linear(hidden, 1))  # the sigmoid lives in the loss

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dense(self.convs(to_unit_interval(x)).flatten(1)).flatten()  # the code's D sees [0, 1] pixels


class GRAN(Reproduction):
    Hyperparameters = Hyperparameters
    sampling = "batch-stats"  # the code's get_samples runs its batch-norm layers with testF=False

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        if hp.canvas_steps < 1:
            raise ValueError(f"canvas_steps must be at least 1, got {hp.canvas_steps}")
        self.G = Generator(hp, data.channels, data.resolution).to(device)
        self.D = Discriminator(data.channels, data.resolution, hp.d_width, hp.d_hidden).to(device)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=hp.g_lr)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=hp.lr)

    def d_weight_decay(self) -> torch.Tensor:
        """0.5 Σ ||W||² over D's conv and dense weights (biases and batch-norm parameters excluded)."""
        weights = [m.weight for m in self.D.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
        return 0.5 * sum(w.pow(2).sum() for w in weights)

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        for batch in real:
            fake = self.G(self.noise(len(batch))).detach()
            d_real, d_fake = self.D(batch.images), self.D(fake)
            # gran.py cost_dis: mean BCE on real plus mean BCE on fake, plus λ · weight decay
            loss_d = d_loss_gan(d_real, d_fake) + self.hp.weight_decay * self.d_weight_decay()
            self.update(self.opt_D, loss_d)

        loss_g = g_loss_nonsaturating(self.D(self.G(self.noise(len(real[-1])))))
        self.update(self.opt_G, loss_g)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "d_accuracy": binary_accuracy(d_real, d_fake).detach()}


REPRODUCTION = GRAN
