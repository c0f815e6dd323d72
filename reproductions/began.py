"""BEGAN — Berthelot, Schumm & Metz, "BEGAN: Boundary Equilibrium Generative Adversarial Networks"
(arXiv 1703.10717).

Read alongside section 3:
- 3.1-3.2: D is an autoencoder; L(v) = |v − D(v)|^η with η = 1, the pixel-wise L1 reconstruction loss.
  BEGAN matches the distributions of the autoencoder losses of real and generated images.
- 3.3-3.4: L_D = L(x) − k_t·L(G(z_D)), L_G = L(G(z_G)), k_{t+1} = k_t + λ_k(γL(x) − L(G(z_G))), k_t in
  [0, 1], k_0 = 0, λ_k = 0.001; γ = E[L(G(z))]/E[L(x)] the diversity ratio; M_global = L(x) + |γL(x) −
  L(G(z_G))| the convergence measure, logged every step (`reproductions.parts.equilibrium`).
- 3.5 (architecture): 3x3 convolutions with ELUs, each applied twice per scale; the encoder
  down-samples with stride-2 convolutions while its filters grow linearly (n, 2n, 3n, ...), and maps to
  an embedding h of N_h dims with a fully connected layer, no batch norm, no dropout; the decoder
  (and G, the same shape, from z) maps h to an 8x8xn tensor and alternates the conv pairs with
  nearest-neighbour up-sampling. z ~ U[−1, 1]^N_z, N_z = N_h = 64.
- 3.6 (training): Adam, learning rate 1e-4, batch 16.

The ladder starts at res/4 (7x7 for 28 px, 8x8 for 32 px: the paper's 8x8 start for 32 px images).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction

from reproductions.parts.equilibrium import EquilibriumController


@dataclass(frozen=True)
class Hyperparameters:
    gamma: float = 0.5  # γ, the diversity ratio (section 4.1 varies it; 0.5 the running example)
    lambda_k: float = 0.001  # λ_k (section 3.4)
    z_dim: int = 64  # N_z = N_h (section 3.5)
    width: int = 64  # n, the filters of the first scale
    lr: float = 1e-4  # section 3.6
    beta1: float = 0.5  # not stated in the paper
    beta2: float = 0.999


def _conv_pair(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, 1, 1), nn.ELU(), nn.Conv2d(c_out, c_out, 3, 1, 1), nn.ELU()]


class Decoder(nn.Module):
    """h (or z) → FC to start×start×n → [conv pair, ×2 nearest up-sampling]* → conv pair → 3x3 conv to C."""

    def __init__(self, z_dim: int, channels: int, resolution: int, width: int):
        super().__init__()
        if resolution % 4:
            raise ValueError(f"BEGAN's ladder here starts at res/4; {resolution} is not a multiple of 4")
        self.start, self.width = resolution // 4, width
        self.fc = nn.Linear(z_dim, width * self.start**2)
        layers: list[nn.Module] = []
        for _ in range(2):
            layers += [*_conv_pair(width, width), nn.Upsample(scale_factor=2, mode="nearest")]
        layers += [*_conv_pair(width, width), nn.Conv2d(width, channels, 3, 1, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(self.fc(h).view(h.shape[0], self.width, self.start, self.start))


class Encoder(nn.Module):
    """x → 3x3 conv to n → [conv pair, stride-2 conv to the next (linearly growing) width]* → conv pair → FC to h."""

    def __init__(self, channels: int, resolution: int, width: int, code: int):
        super().__init__()
        widths = [width * (i + 1) for i in range(3)]  # n, 2n, 3n
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 3, 1, 1), nn.ELU()]
        for c_in, c_out in zip(widths, widths[1:]):
            layers += [*_conv_pair(c_in, c_in), nn.Conv2d(c_in, c_out, 3, 2, 1), nn.ELU()]
        layers += [*_conv_pair(widths[-1], widths[-1]), nn.Flatten(), nn.Linear(widths[-1] * (resolution // 4) ** 2, code)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class AutoencoderDiscriminator(nn.Module):
    def __init__(self, channels: int, resolution: int, width: int, code: int):
        super().__init__()
        self.encoder = Encoder(channels, resolution, width, code)
        self.decoder = Decoder(code, channels, resolution, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))

    def reconstruction_loss(self, x: torch.Tensor) -> torch.Tensor:
        """L(v) = |v − D(v)| (η = 1), averaged over the batch and pixels."""
        return (self(x) - x).abs().mean()


class BEGAN(Reproduction):
    Hyperparameters = Hyperparameters

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        self.G = Decoder(hp.z_dim, data.channels, data.resolution, hp.width).to(device)
        self.D = AutoencoderDiscriminator(data.channels, data.resolution, hp.width, hp.z_dim).to(device)
        betas = (hp.beta1, hp.beta2)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=hp.lr, betas=betas)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=hp.lr, betas=betas)
        self.equilibrium = EquilibriumController(hp.gamma, hp.lambda_k, clamp=True, device=device)

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """z ~ U[−1, 1]^N_z (section 3.5)."""
        return torch.rand(n, self.hp.z_dim, device=self.device, generator=generator) * 2 - 1

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        control = self.equilibrium
        for batch in real:
            fake = self.G(self.noise(len(batch))).detach()  # z_D
            loss_real, loss_fake = self.D.reconstruction_loss(batch.images), self.D.reconstruction_loss(fake)
            loss_d = loss_real - control.k * loss_fake
            self.update(self.opt_D, loss_d)
        k_used = control.k.clone()
        loss_g = self.D.reconstruction_loss(self.G(self.noise(len(real[-1]))))  # z_G
        self.update(self.opt_G, loss_g)
        # eq. 5 with this step's L(x) and L(G(z_G)), both taken before the updates, as in the paper
        convergence = control.convergence(loss_real, loss_g)
        control.update(loss_real, loss_g)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "reconstruction_real": loss_real.detach(),
                "k": k_used, "m_global": convergence}

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """G(z), clipped to the image range: BEGAN's decoder ends in a linear convolution."""
        with self.sampling_mode(self.G):
            return self.G(self.noise(n, generator)).clamp(-1, 1)

    def extra_state(self) -> dict:
        return {"equilibrium": self.equilibrium.state_dict()}

    def load_extra_state(self, state: dict) -> None:
        self.equilibrium.load_state_dict(state["equilibrium"])


REPRODUCTION = BEGAN
