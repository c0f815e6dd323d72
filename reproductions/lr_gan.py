"""LR-GAN — Yang, Kannan, Batra & Parikh, "LR-GAN: Layered Recursive Generative Adversarial Networks
for Image Generation", ICLR 2017 (arXiv 1703.01560).

Read alongside the paper's section 3 (figure 2, eqs. 1-4) and the authors' code (jwyang/lr-gan.pytorch,
train.py `_netG`, `_netD`):

- Noise z_0, ..., z_{T-1} ~ N(0, I), one per step, run through an LSTM cell ("bottom" temporal
  connections, section 3.2): h_t = LSTM(z_t, h_{t-1}).
- Step 0, the background generator G_b: x_0 = G_b(z_0), a DCGAN decoder with a tanh output.
- Step t ≥ 1, the foreground generator G_f (eq. 2): from h_t, an appearance f_t (tanh, C channels) and
  a shape, the mask m_t (sigmoid, one channel), from one shared DCGAN trunk; the pose generator G_t
  (eq. 3): an affine transform a_t = Linear(h_t), 6 numbers, clamped to scales in [s, 2s] (s =
  `max_object_scale` 1.2, so an object covers at most 1/s of the image), rotation/shear terms in
  [-r, r] and translations in [-1, 1]; initialised to the scale-s identity.
- Eq. 4, compositing through a spatial transformer: x_t = ST(m_t, a_t) ⊙ ST(f_t, a_t) +
  (1 - ST(m_t, a_t)) ⊙ x_{t-1} (`composite`, with affine_grid / grid_sample; outside the warped
  object the mask is 0 and the canvas shows through). The image is x_{T-1}.
- D is DCGAN's; BCE losses; Adam lr 2e-4, β1 0.5, batch 64, T = 2 (one foreground) on CIFAR-10.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction

from reproductions.dcgan import Discriminator
from reproductions.parts.blocks import ladder
from reproductions.parts.losses import binary_accuracy, d_loss_gan, g_loss_nonsaturating


@dataclass(frozen=True)
class Hyperparameters:
    z_dim: int = 100  # nz
    g_width: int = 64  # ngf
    d_width: int = 64  # ndf
    max_object_scale: float = 1.2  # maxobjscale
    max_rotation: float = 0.1  # rot: 0.1 for CIFAR-10 (0.3 for the MNIST-ONE/TWO sets)
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    leaky_slope: float = 0.2


def clamp_pose(raw: torch.Tensor, scale: float, rotation: float) -> torch.Tensor:
    """The code's clampT: [x_s, x_r, x_t, y_r, y_s, y_t] → scales in [s, 2s], rotation/shear terms in
    [-r, r], translations in [-1, 1]; returned as (N, 2, 3) affine matrices."""
    lo = raw.new_tensor([scale, -rotation, -1.0, -rotation, scale, -1.0])
    hi = raw.new_tensor([2 * scale, rotation, 1.0, rotation, 2 * scale, 1.0])
    return torch.maximum(torch.minimum(raw, hi), lo).view(-1, 2, 3)


def composite(canvas: torch.Tensor, appearance: torch.Tensor, mask: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Eq. 4: warp appearance and mask by the affine transform theta (output → input coordinates, as
    affine_grid), then paste: ST(m) ⊙ ST(f) + (1 - ST(m)) ⊙ canvas. Outside the object, ST(m) = 0."""
    grid = F.affine_grid(theta, list(canvas.shape), align_corners=False)
    warped_f = F.grid_sample(appearance, grid, padding_mode="zeros", align_corners=False)
    warped_m = F.grid_sample(mask, grid, padding_mode="zeros", align_corners=False)
    return warped_m * warped_f + (1 - warped_m) * canvas


def _trunk(z_dim: int, resolution: int, first: int, bias: bool) -> tuple[nn.Sequential, int]:
    """A DCGAN decoder from a 1x1 code to half the resolution, `first` channels halving per doubling."""
    start, ups = ladder(resolution)
    layers: list[nn.Module] = [nn.ConvTranspose2d(z_dim, first, start, 1, 0, bias=bias), nn.BatchNorm2d(first), nn.ReLU(True)]
    c_in = first
    for _ in range(ups - 1):
        layers += [nn.ConvTranspose2d(c_in, c_in // 2, 4, 2, 1, bias=bias), nn.BatchNorm2d(c_in // 2), nn.ReLU(True)]
        c_in //= 2
    return nn.Sequential(*layers), c_in


class Generator(nn.Module):
    """G_b, the LSTM, G_f (appearance and mask heads on one trunk) and G_t, composited over 2 layers."""

    def __init__(self, hp: Hyperparameters, channels: int, resolution: int):
        super().__init__()
        self.hp = hp
        self.lstm = nn.LSTMCell(hp.z_dim, hp.z_dim)
        trunk, width = _trunk(hp.z_dim, resolution, 4 * hp.g_width, bias=True)
        self.background = nn.Sequential(trunk, nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Tanh())
        self.foreground, width = _trunk(hp.z_dim, resolution, 8 * hp.g_width, bias=False)
        self.appearance = nn.Sequential(nn.ConvTranspose2d(width, channels, 4, 2, 1, bias=False), nn.Tanh())
        self.mask = nn.Sequential(nn.ConvTranspose2d(width, 1, 4, 2, 1), nn.Sigmoid())
        self.pose = nn.Linear(hp.z_dim, 6)

    def reset_pose(self) -> None:
        """The code's init of G_t: zero weights, bias the scale-s identity (called after any global init)."""
        nn.init.zeros_(self.pose.weight)
        with torch.no_grad():
            self.pose.bias.copy_(torch.tensor([self.hp.max_object_scale, 0, 0, 0, self.hp.max_object_scale, 0]))

    def layers(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        """z: (N, 2, z_dim), one code per step. Returns the background, the foreground's appearance,
        mask and pose, and the composited image."""
        z0, z1 = z[:, 0], z[:, 1]
        h, c = self.lstm(z0)  # h_0 from zero states
        h, c = self.lstm(z1, (h, c))  # h_1: the foreground's code
        background = self.background(z0[:, :, None, None])  # the code feeds z_0 itself to G_b
        trunk = self.foreground(h[:, :, None, None])
        appearance, mask = self.appearance(trunk), self.mask(trunk)
        theta = clamp_pose(self.pose(h), self.hp.max_object_scale, self.hp.max_rotation)
        return {"background": background, "appearance": appearance, "mask": mask, "theta": theta,
                "image": composite(background, appearance, mask, theta)}

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.layers(z)["image"]


class LRGAN(Reproduction):
    Hyperparameters = Hyperparameters
    sampling = "batch-stats"  # train.py draws its sample grids from netG in training mode

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        self.G = Generator(hp, data.channels, data.resolution).to(device)
        self.D = Discriminator(data.channels, data.resolution, hp.d_width, hp.leaky_slope).to(device)
        self.G.reset_pose()  # every other layer keeps PyTorch's default init (train.py's weights_init is commented out)
        betas = (hp.beta1, hp.beta2)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=hp.lr, betas=betas)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=hp.lr, betas=betas)

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """One z per layer: (n, 2, z_dim), N(0, I)."""
        return torch.randn(n, 2, self.hp.z_dim, device=self.device, generator=generator)

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        for batch in real:
            fake = self.G(self.noise(len(batch)))
            d_real, d_fake = self.D(batch.images), self.D(fake.detach())
            loss_d = d_loss_gan(d_real, d_fake)
            self.update(self.opt_D, loss_d)

        # G: the same composited images, scored by the updated D (train.py reuses `fake`).
        loss_g = g_loss_nonsaturating(self.D(fake))
        self.update(self.opt_G, loss_g)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "d_accuracy": binary_accuracy(d_real, d_fake).detach()}


REPRODUCTION = LRGAN
