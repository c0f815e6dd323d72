"""Are GANs Created Equal? — Lucic, Kurach, Michalski, Gelly & Bousquet, "Are GANs Created Equal? A
Large-Scale Study", NeurIPS 2018 (arXiv 1711.10337); code: google/compare_gan (its first release,
`compare_gan/src/`, is the code the study ran).

The study's point is a neutral comparison: every loss trains the *same* network, at the same batch
(64) and latent size (64), on the same schedule, and is scored the same way. Read alongside section 4
(the losses of Table 1), section 5 (the setup) and the released code:

- Networks (`abstract_gan.py`, "based on InfoGAN"): D is 4x4 conv 64 stride 2, lReLU → 4x4 conv 128
  stride 2, [BN], lReLU → FC 1024, [BN], lReLU → FC 1 (logit); the brackets are the searched
  `discriminator_batchnorm` switch. G is FC 1024, BN, lReLU → FC 128·(H/4)·(W/4), BN, lReLU → 4x4
  up-conv 64 stride 2, BN, lReLU → 4x4 up-conv C stride 2 → sigmoid (unlike InfoGAN's G, every hidden
  unit is a leaky ReLU, slope 0.2). Weights N(0, 0.02) (truncated in the convolutions), zero biases;
  batch norm with TF's decay 0.999 and ε = 0.001 (`ops.py`). Both nets work on [0, 1] pixels.
- z ~ U(−1, 1)^64; Adam with one learning rate and β1 for both players; `disc_iters` D steps per G
  step, and G's step reuses the z of the last D step (`run_single_train_step`).
- Losses (`GAN.py`, `LSGAN.py`, `WGAN.py`, `WGAN_GP.py`): D minimises the sum (not the mean) of its
  two cross-entropies; MM GAN's G minimises log(1 − D(G(z))), NS GAN's −log D(G(z)); LSGAN squares the
  *sigmoid* outputs (D: ½(σ(r) − 1)² + ½σ(f)², G: ½(σ(f) − 1)²); WGAN clips every D weight to [−c, c]
  after each D step; WGAN-GP adds λ·E[(‖∇D(x̂)‖ − 1)²] on random interpolates; DRAGAN (`DRAGAN.py`)
  adds the same penalty on the *sigmoid* probability at perturbed real points (NS GAN's losses
  otherwise); BEGAN (`BEGAN.py`) makes D a small autoencoder (conv 64, conv 128 → FC 64 code [BN] →
  FC 128·(H/4)², [BN] → up-conv 64 [BN] → up-conv C, sigmoid; L(v) the mean absolute reconstruction
  error) with the equilibrium controller k_t, γ and λ_k, left unclamped in compare_gan.
- Schedule (`generate_tasks_lib.py` TuneParams): 20 epochs on MNIST / Fashion-MNIST, an epoch
  counted as 50,000 images, so 20·50,000/64 = 15,625 loop iterations, each one D step (G steps every
  `disc_iters`-th); scored by FID of 10,000 samples against 10,000 test images (`eval_gan_lib.py`),
  G sampled in test mode (running batch-norm statistics).

The losses are the entry's registry variants (`gans-created-equal@ns-gan`, ...), each with the
optimiser settings the entry states; `loss` names them here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import torch
from torch import nn

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction

from reproductions.parts.losses import (
    binary_accuracy, d_loss_gan, d_loss_least_squares, d_loss_wasserstein, g_loss_least_squares, g_loss_minimax,
    g_loss_nonsaturating, g_loss_wasserstein,
)
from reproductions.parts.equilibrium import EquilibriumController
from reproductions.parts.regularizers import clip_weights, gradient_penalty, perturbed_real_penalty

Loss = Literal["ns-gan", "mm-gan", "lsgan", "wgan", "wgan-gp", "dragan", "began"]


@dataclass(frozen=True)
class Hyperparameters:
    loss: Loss = "ns-gan"
    z_dim: int = 64  # gan_lib.create_gan: the same latent size for every GAN
    lr: float = 2e-4  # one rate for D and G; the study searched it (see the registry entry)
    beta1: float = 0.5
    beta2: float = 0.999  # TF's Adam default: the study never set it
    d_steps_per_g_step: int = 1  # disc_iters
    d_batchnorm: bool = True  # discriminator_batchnorm, one of the searched switches
    clip: float = 0.01  # WGAN: weight_clipping
    gp_weight: float = 10.0  # WGAN-GP and DRAGAN: lambda
    perturbation: float = 0.5  # DRAGAN: x + 0.5·std(x)·U[0, 1) (get_perturbed_batch)
    gamma: float = 0.75  # BEGAN: the diversity ratio γ
    lambda_k: float = 0.001  # BEGAN: k_t's gain λ_k
    clamp_k: bool = False  # BEGAN: compare_gan never clamps k_t (the BEGAN paper keeps it in [0, 1])
    leaky_slope: float = 0.2  # ops.lrelu
    init_std: float = 0.02
    bn_momentum: float = 0.001  # TF batch_norm decay 0.999 → PyTorch momentum 1 − 0.999
    bn_eps: float = 0.001


def _init(module: nn.Module, std: float) -> None:
    """ops.py: convolutions truncated normal (±2σ), up-convolutions and dense layers normal; zero biases."""
    if isinstance(module, nn.Conv2d):
        nn.init.trunc_normal_(module.weight, 0.0, std, -2 * std, 2 * std)
    elif isinstance(module, (nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, std)
    else:
        return
    nn.init.zeros_(module.bias)


class Generator(nn.Module):
    """z (64) → [0, 1] images: FC 1024 → FC 128·(H/4)² → up-conv 64 → up-conv C, sigmoid."""

    def __init__(self, z_dim: int, channels: int, resolution: int, hp: Hyperparameters):
        super().__init__()
        if resolution % 4:
            raise ValueError(f"the study's generator starts at res/4; {resolution} is not a multiple of 4")
        self.start = resolution // 4
        slope, bn = hp.leaky_slope, dict(momentum=hp.bn_momentum, eps=hp.bn_eps)
        self.dense = nn.Sequential(
            nn.Linear(z_dim, 1024), nn.BatchNorm1d(1024, **bn), nn.LeakyReLU(slope),
            nn.Linear(1024, 128 * self.start**2), nn.BatchNorm1d(128 * self.start**2, **bn), nn.LeakyReLU(slope),
        )
        self.up = nn.Sequential(
            nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64, **bn), nn.LeakyReLU(slope),
            nn.ConvTranspose2d(64, channels, 4, 2, 1), nn.Sigmoid(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.up(self.dense(z).view(z.shape[0], 128, self.start, self.start))


class Discriminator(nn.Module):
    """[0, 1] images → one logit: conv 64 → conv 128 [BN] → FC 1024 [BN] → FC 1 (InfoGAN's D without Q)."""

    def __init__(self, channels: int, resolution: int, hp: Hyperparameters):
        super().__init__()
        size = resolution // 4
        slope, bn = hp.leaky_slope, dict(momentum=hp.bn_momentum, eps=hp.bn_eps)

        def norm(layer: nn.Module) -> nn.Module:
            return layer if hp.d_batchnorm else nn.Identity()

        self.body = nn.Sequential(
            nn.Conv2d(channels, 64, 4, 2, 1), nn.LeakyReLU(slope),
            nn.Conv2d(64, 128, 4, 2, 1), norm(nn.BatchNorm2d(128, **bn)), nn.LeakyReLU(slope),
            nn.Flatten(), nn.Linear(128 * size * size, 1024), norm(nn.BatchNorm1d(1024, **bn)), nn.LeakyReLU(slope),
            nn.Linear(1024, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).flatten()


class AutoencoderDiscriminator(nn.Module):
    """BEGAN.py's D: [0, 1] images → their reconstruction in [0, 1], through a 64-dim code."""

    def __init__(self, channels: int, resolution: int, hp: Hyperparameters):
        super().__init__()
        self.start = resolution // 4
        slope, bn = hp.leaky_slope, dict(momentum=hp.bn_momentum, eps=hp.bn_eps)

        def norm(layer: nn.Module) -> nn.Module:
            return layer if hp.d_batchnorm else nn.Identity()

        cells = 128 * self.start**2
        self.encode = nn.Sequential(  # no activation after the second convolution, as in BEGAN.py
            nn.Conv2d(channels, 64, 4, 2, 1), nn.LeakyReLU(slope), nn.Conv2d(64, 128, 4, 2, 1),
            nn.Flatten(), nn.Linear(cells, 64), norm(nn.BatchNorm1d(64, **bn)), nn.LeakyReLU(slope),
            nn.Linear(64, cells), norm(nn.BatchNorm1d(cells, **bn)), nn.LeakyReLU(slope),
        )
        self.decode = nn.Sequential(
            nn.ConvTranspose2d(128, 64, 4, 2, 1), norm(nn.BatchNorm2d(64, **bn)), nn.LeakyReLU(slope),
            nn.ConvTranspose2d(64, channels, 4, 2, 1), nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x).view(x.shape[0], 128, self.start, self.start))

    def reconstruction_loss(self, x: torch.Tensor) -> torch.Tensor:
        """L(v) = mean |D(v) − v| over the batch and every pixel (BEGAN.py's recon_error)."""
        return (self(x) - x).abs().mean()


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """The harness's [-1, 1] pixels as the study's [0, 1] ones."""
    return (images + 1) / 2


class GansCreatedEqual(Reproduction):
    Hyperparameters = Hyperparameters
    sampling = "running-stats"  # eval_gan_lib builds G with is_training=False

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        self.G = Generator(hp.z_dim, data.channels, data.resolution, hp).to(device)
        began = hp.loss == "began"
        self.D = (AutoencoderDiscriminator if began else Discriminator)(data.channels, data.resolution, hp).to(device)
        self.equilibrium = EquilibriumController(hp.gamma, hp.lambda_k, clamp=hp.clamp_k, device=device) if began else None
        for net in (self.G, self.D):
            net.apply(lambda m: _init(m, hp.init_std))
        betas = (hp.beta1, hp.beta2)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=hp.lr, betas=betas)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=hp.lr, betas=betas)

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """z ~ U(−1, 1)^z_dim (AbstractGAN.z_generator)."""
        return torch.rand(n, self.hp.z_dim, device=self.device, generator=generator) * 2 - 1

    # -- the losses of Table 1, on D's logits -------------------------------------------------------
    def discriminator_loss(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """D's loss on [0, 1] real and (detached) generated images, and what to log beside it."""
        loss = self.hp.loss
        if loss == "began":
            return self.began_discriminator_loss(real, fake)
        d_real, d_fake = self.D(real), self.D(fake)  # two passes: batch norm never mixes real and fake
        logs = {"d_real": d_real.mean().detach(), "d_fake": d_fake.mean().detach()}
        if loss in ("ns-gan", "mm-gan", "dragan"):
            logs["d_accuracy"] = binary_accuracy(d_real, d_fake).detach()
            if loss != "dragan":
                return d_loss_gan(d_real, d_fake), logs
            penalty = perturbed_real_penalty(self.D, real, self.hp.perturbation, activation=torch.sigmoid)
            logs["gradient_penalty"] = penalty.detach()
            return d_loss_gan(d_real, d_fake) + self.hp.gp_weight * penalty, logs
        if loss == "lsgan":
            return d_loss_least_squares(torch.sigmoid(d_real), torch.sigmoid(d_fake)), logs
        wasserstein = d_loss_wasserstein(d_real, d_fake)
        logs["wasserstein_estimate"] = -wasserstein.detach()
        if loss == "wgan":
            return wasserstein, logs
        penalty = gradient_penalty(self.D, real, fake)
        logs["gradient_penalty"] = penalty.detach()
        return wasserstein + self.hp.gp_weight * penalty, logs

    def began_discriminator_loss(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """L_D = L(x) − k_t·L(G(z)); k_t then moves by λ_k(γL(x) − L(G(z))), from these same losses."""
        control = self.equilibrium
        loss_real, loss_fake = self.D.reconstruction_loss(real), self.D.reconstruction_loss(fake)
        loss_d = loss_real - control.k * loss_fake
        logs = {"reconstruction_real": loss_real.detach(), "reconstruction_fake": loss_fake.detach(),
                "k": control.k.clone(), "m_global": control.convergence(loss_real, loss_fake)}
        control.update(loss_real, loss_fake)
        return loss_d, logs

    def generator_loss(self, d_gen: torch.Tensor) -> torch.Tensor:
        """G's loss on D's logits for G(z) (every loss but BEGAN's, whose G minimises L(G(z)))."""
        loss = self.hp.loss
        if loss in ("ns-gan", "dragan"):
            return g_loss_nonsaturating(d_gen)
        if loss == "mm-gan":
            return g_loss_minimax(d_gen)
        if loss == "lsgan":
            return g_loss_least_squares(torch.sigmoid(d_gen))
        return g_loss_wasserstein(d_gen)

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        for batch in real:
            z = self.noise(len(batch))
            with torch.no_grad():  # G runs in training mode, as in the study's D step (its BN statistics move)
                fake = self.G(z)
            loss_d, logs = self.discriminator_loss(to_unit(batch.images), fake)
            self.update(self.opt_D, loss_d)
            if self.hp.loss == "wgan":
                clip_weights(self.D, self.hp.clip)
        # G's step reuses the last D step's z, as run_single_train_step feeds batch_z to both.
        generated = self.G(z)
        loss_g = (self.D.reconstruction_loss(generated) if self.hp.loss == "began"
                  else self.generator_loss(self.D(generated)))
        self.update(self.opt_G, loss_g)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), **logs}

    def extra_state(self) -> dict:
        return {"equilibrium": self.equilibrium.state_dict()} if self.equilibrium is not None else {}

    def load_extra_state(self, state: dict) -> None:
        if self.equilibrium is not None:
            self.equilibrium.load_state_dict(state["equilibrium"])

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        with self.sampling_mode(self.G):
            return self.G(self.noise(n, generator)) * 2 - 1


REPRODUCTION = GansCreatedEqual
