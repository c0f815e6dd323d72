"""SNGAN — Miyato, Kataoka, Koyama & Yoshida, "Spectral Normalization for Generative Adversarial
Networks", ICLR 2018 (arXiv 1802.05957).

Read alongside section 2 (spectral normalisation), section 4 (the objectives) and appendix B.
Section 2.1: every weight W of D is replaced by W̄_SN = W / σ(W), σ the largest singular value,
estimated by one power iteration per update that reuses its vector u across steps (appendix A,
Algorithm 1); convolution kernels are treated as d_out × (d_in·h·w) matrices (section 4). That
makes every layer 1-Lipschitz. `reproductions.parts.regularizers.spectral_norm_all` does exactly this.

Objectives (section 4): the "standard" adversarial loss of eq. (15) for D with G's non-saturating
cost −E[log D(G(z))], or the hinge loss (eqs. 16-17)
    V_D = E[min(0, −1 + D(x))] + E[min(0, −1 − D(G(z)))],   V_G = −E[D(G(z))],
with which "SN-GANs performed even better" (Table 2, rows "Eq.(17)"); hinge is our default.

Architectures (`architecture`), each with the optimiser the paper pairs with it:
- "cnn": Table 3, the standard CNN (G: dense → 4×4×512, three 4×4 stride-2 deconvolutions with BN
  and ReLU, 3×3 conv, tanh — the dense layer too is followed by BN and ReLU, as in the authors'
  chainer-gan-lib `DCGANGenerator`: relu(bn0(l0(z))); D: seven 3×3/4×4 convolutions with LeakyReLU 0.1, dense). Adam setting
  C of Table 1 (α = 2·10⁻⁴, β1 = 0.5, β2 = 0.999, n_dis = 1), the setting of appendix C.1.
- "resnet": Table 4 (G: dense → 4×4×256, three up-ResBlocks of 256, BN, ReLU, conv, tanh; D: two
  down-ResBlocks and two ResBlocks of 128, ReLU, global sum pooling, dense), with appendix B.2's
  hyperparameters taken from WGAN-GP: α = 2·10⁻⁴, β1 = 0, β2 = 0.9, n_dis = 5. The authors'
  sngan_projection config for it (configs/sn_cifar10_unconditional.yml) also draws G's batch at
  twice D's (n_gen_samples 128 against batchsize 64) and decays α linearly to 0 over the run
  (LinearShift from iteration 0 to the last); both are the defaults here.
z ∈ R^128 ~ N(0, I) throughout ("we set d_z to 128 for all of our experiments").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple, Sequence

import torch
from torch import nn

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction, frozen

from reproductions.parts.blocks import ConvThenDense, ResNetDiscriminator, ResNetGenerator, conv_out, ladder
from reproductions.parts.losses import d_loss_gan, d_loss_hinge, g_loss_hinge, g_loss_nonsaturating
from reproductions.parts.regularizers import spectral_norm_all


class Setting(NamedTuple):
    lr: float
    beta1: float
    beta2: float
    n_dis: int
    g_batch_multiple: int  # G's batch as a multiple of D's
    lr_decay: bool  # linear decay of α to 0 over the planned G steps


PAPER_SETTINGS = {
    "cnn": Setting(2e-4, 0.5, 0.999, 1, 1, False),  # Table 1, setting C; chainer-gan-lib: one batch size, no decay
    "resnet": Setting(2e-4, 0.0, 0.9, 5, 2, True),  # appendix B.2; sngan_projection: G batch 128 vs 64, decay to 0
}
_LOSSES = {"hinge": (d_loss_hinge, g_loss_hinge), "standard": (d_loss_gan, g_loss_nonsaturating)}


@dataclass(frozen=True)
class Hyperparameters:
    architecture: Literal["cnn", "resnet"] = "cnn"
    loss: Literal["hinge", "standard"] = "hinge"  # eqs. (16)-(17), or eq. (15) with the non-saturating G
    z_dim: int = 128
    # None: the paper's setting for the architecture (PAPER_SETTINGS above).
    lr: float | None = None
    beta1: float | None = None
    beta2: float | None = None
    d_steps_per_g_step: int | None = None  # n_dis
    g_batch_multiple: int | None = None
    lr_decay: bool | None = None
    power_iterations: int = 1  # appendix A: "one round of power iteration was sufficient"
    leaky_slope: float = 0.1  # Table 3: "The slopes of all lReLU functions in the networks are set to 0.1"


class CNNGenerator(nn.Module):
    """Table 3(a). For 28 px the ladder starts at 7×7 and keeps the last two deconvolutions."""

    def __init__(self, z_dim: int, channels: int, resolution: int):
        super().__init__()
        start, ups = ladder(resolution)
        widths = [512, 256, 128, 64][-(ups + 1):]
        self.shape = (widths[0], start, start)
        features = widths[0] * start * start
        # chainer-gan-lib's DCGANGenerator: relu(bn0(l0(z))), bn0 over all bottom_width²·ch features.
        self.dense = nn.Sequential(nn.Linear(z_dim, features), nn.BatchNorm1d(features), nn.ReLU())
        layers: list[nn.Module] = []
        for c_in, c_out in zip(widths, widths[1:]):
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1), nn.BatchNorm2d(c_out), nn.ReLU()]
        layers += [nn.Conv2d(widths[-1], channels, 3, 1, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.dense(z).view(z.shape[0], *self.shape))


class CNNDiscriminator(ConvThenDense):
    """Table 3(b): (3×3 s1, 4×4 s2) pairs of 64, 128, 256 channels, a 3×3 conv of 512, dense → 1."""

    def __init__(self, channels: int, resolution: int, slope: float):
        super().__init__()
        spec = [(64, 3, 1), (64, 4, 2), (128, 3, 1), (128, 4, 2), (256, 3, 1), (256, 4, 2), (512, 3, 1)]
        layers: list[nn.Module] = []
        c_in, size = channels, resolution
        for c_out, kernel, stride in spec:
            layers += [nn.Conv2d(c_in, c_out, kernel, stride, 1), nn.LeakyReLU(slope)]
            c_in, size = c_out, conv_out(size, kernel, stride, 1)
        self.features = nn.Sequential(*layers)
        self.dense = nn.Linear(c_in * size * size, 1)


class SNGAN(Reproduction):
    Hyperparameters = Hyperparameters

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        if hp.architecture == "resnet":
            # Appendix B.2: "we doubled the feature map in the generator" (WGAN-GP's 128 → 256).
            G: nn.Module = ResNetGenerator(hp.z_dim, data.channels, data.resolution, width=256)
            D: nn.Module = ResNetDiscriminator(data.channels, width=128, pool="sum")
        else:
            G = CNNGenerator(hp.z_dim, data.channels, data.resolution)
            D = CNNDiscriminator(data.channels, data.resolution, hp.leaky_slope)
        self.G = G.to(device)
        # Section 2: spectral normalisation on every layer of D (all convolutions and the dense layer).
        self.D = spectral_norm_all(D, n_power_iterations=hp.power_iterations).to(device)
        paper = PAPER_SETTINGS[hp.architecture]
        self.setting = Setting(
            paper.lr if hp.lr is None else hp.lr,
            paper.beta1 if hp.beta1 is None else hp.beta1,
            paper.beta2 if hp.beta2 is None else hp.beta2,
            paper.n_dis if hp.d_steps_per_g_step is None else hp.d_steps_per_g_step,
            paper.g_batch_multiple if hp.g_batch_multiple is None else hp.g_batch_multiple,
            paper.lr_decay if hp.lr_decay is None else hp.lr_decay,
        )
        betas = (self.setting.beta1, self.setting.beta2)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=self.setting.lr, betas=betas)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=self.setting.lr, betas=betas)
        self.d_loss, self.g_loss = _LOSSES[hp.loss]
        self.total_g_steps: int | None = None  # set by plan(); until then α stays constant

    def plan(self, g_steps: int, batch_size: int) -> None:
        self.total_g_steps = g_steps

    def lr_factor(self, step: int) -> float:
        """sngan_projection's LinearShift of α from its value at step 0 to 0 at the last planned step."""
        if not self.setting.lr_decay or not self.total_g_steps:
            return 1.0
        return max(0.0, 1.0 - step / self.total_g_steps)

    def d_steps(self, step: int) -> int:
        return self.setting.n_dis

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        lr = self.setting.lr * self.lr_factor(step)
        for optimizer in (self.opt_G, self.opt_D):
            for group in optimizer.param_groups:
                group["lr"] = lr
        # n_dis updates of D, each of which also advances every layer's power iteration (Algorithm 1).
        for batch in real:
            with torch.no_grad():
                fake = self.G(self.noise(len(batch)))
            d_real, d_fake = self.D(batch.images), self.D(fake)
            loss_d = self.d_loss(d_real, d_fake)  # eq. (16) negated, or eq. (15) negated
            self.update(self.opt_D, loss_d)

        # One G update: eq. (17), or the non-saturating cost, on g_batch_multiple × D's batch.
        with frozen(self.D):
            loss_g = self.g_loss(self.D(self.G(self.noise(self.setting.g_batch_multiple * len(real[-1])))))
            self.update(self.opt_G, loss_g)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(),
                "d_real": d_real.detach().mean(), "d_fake": d_fake.detach().mean()}


REPRODUCTION = SNGAN
