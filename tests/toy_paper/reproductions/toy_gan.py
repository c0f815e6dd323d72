"""A two-layer MLP GAN with the hinge loss: the smallest complete reproduction module."""

from dataclasses import dataclass

import torch
from torch import nn

from harness.reproduction import Reproduction

from reproductions.parts.losses import d_loss_hinge, g_loss_hinge


@dataclass(frozen=True)
class Hyperparameters:
    z_dim: int = 8
    hidden: int = 16
    lr: float = 1e-3
    d_steps_per_g_step: int = 2


class ToyGAN(Reproduction):
    Hyperparameters = Hyperparameters

    def __init__(self, data, hp, device):
        super().__init__(data, hp, device)
        pixels = data.channels * data.resolution**2
        self.G = nn.Sequential(nn.Linear(hp.z_dim, hp.hidden), nn.ReLU(), nn.Linear(hp.hidden, pixels), nn.Tanh()).to(device)
        self.D = nn.Sequential(nn.Flatten(), nn.Linear(pixels, hp.hidden), nn.ReLU(), nn.Linear(hp.hidden, 1)).to(device)
        self.opt_G = torch.optim.Adam(self.G.parameters(), hp.lr)
        self.opt_D = torch.optim.Adam(self.D.parameters(), hp.lr)

    def _fake(self, n, generator=None):
        z = torch.randn(n, self.hp.z_dim, device=self.device, generator=generator)
        return self.G(z).view(n, self.data.channels, self.data.resolution, self.data.resolution)

    def train_step(self, real, step):
        for batch in real:
            loss_d = d_loss_hinge(self.D(batch.images), self.D(self._fake(len(batch)).detach()))
            self.opt_D.zero_grad()
            loss_d.backward()
            self.opt_D.step()
        loss_g = g_loss_hinge(self.D(self._fake(len(real[0]))))
        self.opt_G.zero_grad()
        loss_g.backward()
        self.opt_G.step()
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach()}

    @torch.no_grad()
    def sample(self, n, labels=None, generator=None):
        return self._fake(n, generator)


REPRODUCTION = ToyGAN
