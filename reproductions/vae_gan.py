"""VAE-GAN — Larsen, Sønderby, Larochelle & Winther, "Autoencoding beyond pixels using a learned
similarity metric", ICML 2016 (arXiv 1512.09300).

A VAE whose decoder is also a GAN's generator, and whose reconstruction error is measured in the
feature space of the GAN's discriminator instead of pixel by pixel.

Read alongside the paper (recalled, not re-read in this session: its section numbers and Algorithm 1 as
below; the released code's `model/aegan.py` agrees with the updates — no GAN gradient into the encoder,
none of the reconstruction error into D, a weighted sum for the decoder):
- Section 2.1 (VAE): L_prior = D_KL(q(z|x) ‖ p(z)), p(z) = N(0, I), with the reparameterised sample
  z = μ + σ ⊙ ε (`reproductions.parts.autoencoders`).
- Section 2 (learned similarity): the pixel-wise likelihood is replaced by a Gaussian observation
  model on the l-th layer of D, p(Dis_l(x) | z) = N(Dis_l(x) | Dis_l(x̃), I), x̃ = Dec(z), so
  L_llike^Dis_l = −E_q[log p(Dis_l(x) | z)] = ½‖Dis_l(x̃) − Dis_l(x)‖² + const (summed over features).
- Section 2: L = L_prior + L_llike^Dis_l + L_GAN, with
  L_GAN = log Dis(x) + log(1 − Dis(x̃)) + log(1 − Dis(Dec(z_p))), z_p ~ p(z): both the
  reconstructions and samples of the prior are D's negatives.
- Algorithm 1 (the per-network updates, all from the same batch, simultaneously):
    θ_Enc ← −∇(L_prior + L_llike^Dis_l)        (the encoder never sees L_GAN),
    θ_Dec ← −∇(γ·L_llike^Dis_l − L_GAN)        (γ weights content against style),
    θ_Dis ← −∇(−L_GAN)                          (D never learns from L_llike).
  The decoder's GAN term is the minimax one (it minimises the log(1 − Dis(·)) terms).
- The released code (github.com/andersbll/autoencoding_beyond_pixels, `model/aegan.py`) states γ
  as `recon_vs_gan_weight` w (decoder gradient w·∇L_llike − (1 − w)·∇L_GAN, so γ = w / (1 − w);
  w = 5e-5 by default), sums both losses over the batch (here: both averaged, the same ratio) and uses
  RMSProp. Its MNIST nets (`architectures.mnist`) are MLPs of two 1,024-unit BN-ReLU layers for the
  encoder, decoder and discriminator; Dis_l here is D's first hidden layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction

from reproductions.parts.autoencoders import gaussian_kl, reparameterise
from reproductions.parts.losses import binary_accuracy, d_loss_gan, g_loss_minimax


@dataclass(frozen=True)
class Hyperparameters:
    z_dim: int = 32  # our choice for MNIST (the code's CelebA model: 128)
    hidden: int = 1024  # `architectures.mnist`: n_units
    hidden_layers: int = 2
    similarity_layer: int = 1  # l: Dis_l is the output of D's l-th hidden layer (1 .. hidden_layers)
    gamma: float = 5e-5 / (1 - 5e-5)  # γ = w / (1 − w), the code's default recon_vs_gan_weight w = 5e-5
    lr: float = 3e-4  # RMSProp
    rmsprop_alpha: float = 0.9


def bn_relu_layers(in_features: int, hidden: int, layers: int) -> list[nn.Module]:
    """`layers` × (dense, batch norm, ReLU): the code's MNIST `block`."""
    modules: list[nn.Module] = []
    width = in_features
    for _ in range(layers):
        modules += [nn.Linear(width, hidden), nn.BatchNorm1d(hidden), nn.ReLU()]
        width = hidden
    return modules


class Encoder(nn.Module):
    def __init__(self, features: int, hidden: int, layers: int, z_dim: int):
        super().__init__()
        self.body = nn.Sequential(*bn_relu_layers(features, hidden, layers))
        self.mean, self.log_variance = nn.Linear(hidden, z_dim), nn.Linear(hidden, z_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x.flatten(1))
        return self.mean(h), self.log_variance(h)


class Discriminator(nn.Module):
    """Dis_l = the first `similarity_layer` hidden layers; the rest and the logit head follow."""

    def __init__(self, features: int, hidden: int, layers: int, similarity_layer: int):
        super().__init__()
        if not 1 <= similarity_layer <= layers:
            raise ValueError(f"similarity_layer must be in 1..{layers}, got {similarity_layer}")
        blocks = bn_relu_layers(features, hidden, layers)
        self.lower = nn.Sequential(*blocks[: 3 * similarity_layer])
        self.upper = nn.Sequential(*blocks[3 * similarity_layer:], nn.Linear(hidden, 1))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.lower(x.flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.upper(self.features(x)).flatten()


class VAEGAN(Reproduction):
    Hyperparameters = Hyperparameters

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        self.encoder = Encoder(data.features, hp.hidden, hp.hidden_layers, hp.z_dim).to(device)
        shape = data.shape
        self.G = nn.Sequential(*bn_relu_layers(hp.z_dim, hp.hidden, hp.hidden_layers), nn.Linear(hp.hidden, data.features),
                               nn.Tanh(), nn.Unflatten(1, shape)).to(device)  # Dec, on [-1, 1] images
        self.D = Discriminator(data.features, hp.hidden, hp.hidden_layers, hp.similarity_layer).to(device)
        rmsprop = lambda net: torch.optim.RMSprop(net.parameters(), lr=hp.lr, alpha=hp.rmsprop_alpha)  # noqa: E731
        self.opt_E, self.opt_G, self.opt_D = rmsprop(self.encoder), rmsprop(self.G), rmsprop(self.D)

    def losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Algorithm 1's forward pass on one batch: L_prior, L_llike^Dis_l and D's three logits."""
        mean, log_variance = self.encoder(x)
        x_tilde = self.G(reparameterise(mean, log_variance))
        x_p = self.G(self.noise(len(x)))
        features_x = self.D.features(x)
        features_tilde = self.D.features(x_tilde)
        return {
            "prior": gaussian_kl(mean, log_variance).mean(),
            "llike": 0.5 * (features_tilde - features_x).pow(2).sum(1).mean(),
            "d_real": self.D.upper(features_x).flatten(),
            "d_tilde": self.D.upper(features_tilde).flatten(),
            "d_prior": self.D(x_p),
        }

    def network_losses(self, out: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """What each network descends (Algorithm 1); −L_GAN is D's binary cross-entropy on the three sets."""
        minus_gan = d_loss_gan(out["d_real"], out["d_tilde"]) + F.softplus(out["d_prior"]).mean()
        decoder_gan = g_loss_minimax(out["d_tilde"]) + g_loss_minimax(out["d_prior"])  # −L_GAN's part through Dec
        return {"encoder": out["prior"] + out["llike"], "decoder": self.hp.gamma * out["llike"] + decoder_gan,
                "discriminator": minus_gan}

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        out = self.losses(real[-1].images)
        loss = self.network_losses(out)
        # Each network's gradient of its own loss only, then the three steps together (Algorithm 1).
        plan = [(self.opt_E, self.encoder, loss["encoder"]), (self.opt_G, self.G, loss["decoder"]),
                (self.opt_D, self.D, loss["discriminator"])]
        for i, (optimizer, net, objective) in enumerate(plan):
            params = list(net.parameters())
            grads = torch.autograd.grad(objective, params, retain_graph=i < len(plan) - 1, allow_unused=True)
            for p, g in zip(params, grads):
                p.grad = g
        for optimizer, _, _ in plan:
            optimizer.step()
        return {"prior": out["prior"].detach(), "llike": out["llike"].detach(), "loss_d": loss["discriminator"].detach(),
                "loss_g": loss["decoder"].detach(), "d_accuracy": binary_accuracy(out["d_real"], out["d_prior"]).detach()}


REPRODUCTION = VAEGAN
