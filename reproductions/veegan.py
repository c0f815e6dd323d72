"""VEEGAN — Srivastava, Valkov, Russell, Gutmann & Sutton, "VEEGAN: Reducing Mode Collapse in GANs
using Implicit Variational Learning", NeurIPS 2017 (arXiv 1705.07761).

Read alongside section 3 ("Method"), Algorithm 1 and section 5.1 ("Synthetic dataset"), and the
authors' 2D notebook (github.com/akashgit/VEEGAN, VEEGAN_2D_RING.ipynb), which fixes the nets:

- A reconstructor F_θ: x -> z that should both invert G_γ and map the data distribution to p0 = N(0, I);
  p_θ(z|x) = N(F_θ(x), I) (the notebook's `generative_network`, a unit-variance Normal on F's output).
- Eq. 8 / the objective Ô (section 3): Ô(ω, γ, θ) = 1/N Σ_i D_ω(z^i, x_g^i) + 1/N Σ_i d(z^i, x_g^i), the
  density-ratio estimate of KL[q_γ(x|z)p0(z) ‖ p_θ(z|x)p(x)] plus the autoencoder loss in z-space,
  d(z, x_g) = ‖z - F_θ(x_g)‖²/2 (= -log p_θ(z|x_g) + const, the notebook's Normal log-likelihood).
- Algorithm 1: z ~ p0; x_g ~ q_γ(x|z); x ~ p(x); z_g ~ p_θ(z|x). Line 7: D minimises
  -log σ(D(z, x_g)) - log(1 - σ(D(z_g, x))) (O_LR, eq. 9) — the generated pair carries the "1" label;
  line 9: F descends ∇_θ of the d term; line 11: G descends ∇_γ Ô; line 13: the three SGD updates
  are taken together from the same parameters.
- The notebook: noise z of 254 dims, plus one extra N(0, 1) input ε to G (x_g ~ q_γ(x|z) is
  stochastic); G and F 2x128 ReLU; D = concat(x, z) -> one hidden layer of 128 ReLU -> logit (its
  `data_network` builds one layer although it is passed n_layers=2); Adam lr 1e-3, β1 0.5, batch 500,
  100 x 1,000 updates; 2,500 samples scored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Sequence

import torch
from torch import nn

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction

from reproductions.parts.losses import binary_accuracy, d_loss_gan
from reproductions.parts.mode_nets import Activation, Init, adams, initialise_on, mlp


@dataclass(frozen=True)
class Hyperparameters:
    z_dim: int = 254  # the notebook's input_dim: the noise that F reconstructs
    eps_dim: int = 1  # extra noise into G only (the notebook's eps_dim)
    hidden: int = 128  # G's and F's hidden width
    layers: int = 2  # G's and F's hidden layers
    d_hidden: int = 128
    d_layers: int = 1  # see the module docstring: the notebook's D has one hidden layer
    activation: Activation = "relu"
    reconstructor_std: float = 1.0  # p_θ(z|x) = N(F(x), std² I); the notebook's unit variance
    init: Init = "xavier"  # tf.contrib.slim's default initialiser
    init_scale: float = 1.0
    lr: float = 1e-3
    beta1: float = 0.5
    beta2: float = 0.999


def reconstruction_loss(z: torch.Tensor, z_reconstructed: torch.Tensor) -> torch.Tensor:
    """d(z, x_g) of eq. 8 averaged over the batch: ‖z - F(G(z))‖²/2, summed over the latent dimensions."""
    return 0.5 * (z - z_reconstructed).pow(2).sum(dim=1).mean()


class JointDiscriminator(nn.Module):
    """D_ω(z, x): an MLP on the concatenation of the data point and the code."""

    def __init__(self, x_features: int, z_features: int, hidden: int, layers: int, activation: Activation):
        super().__init__()
        self.net = mlp(x_features + z_features, hidden, layers, 1, activation)

    def forward(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([x.flatten(1), z], dim=1)).flatten()


class VEEGAN(Reproduction):
    Hyperparameters = Hyperparameters
    data_kinds: ClassVar[tuple[str, ...]] = ("points",)

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        self.G = mlp(hp.z_dim + hp.eps_dim, hp.hidden, hp.layers, data.features, hp.activation)
        self.F = mlp(data.features, hp.hidden, hp.layers, hp.z_dim, hp.activation)  # the reconstructor
        self.D = JointDiscriminator(data.features, hp.z_dim, hp.d_hidden, hp.d_layers, hp.activation)
        initialise_on(device, hp.init, hp.init_scale, self.G, self.F, self.D)
        self.opt_G, self.opt_F, self.opt_D = adams((hp.lr,) * 3, (hp.beta1, hp.beta2), self.G, self.F, self.D)

    stackable_seeds: ClassVar[bool] = True  # tests/test_stacked_seeds.py

    def generate(self, z: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """x_g ~ q_γ(x|z): G on z and its own extra noise ε (Algorithm 1, line 4)."""
        eps = torch.randn(z.shape[0], self.hp.eps_dim, device=self.device, generator=generator)
        return self.G(torch.cat([z, eps], dim=1)).view(z.shape[0], *self.data.shape)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """z_g ~ p_θ(z|x) = N(F_θ(x), std² I) (Algorithm 1, line 6)."""
        mean = self.F(x.flatten(1))
        return mean + self.hp.reconstructor_std * torch.randn_like(mean)

    def losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        z = self.noise(len(x))
        x_g = self.generate(z)
        d_generated = self.D(z, x_g)  # D(z^i, x_g^i)
        d_data = self.D(self.reconstruct(x).detach(), x)  # D(z_g^i, x^i); F gets no gradient from O_LR
        reconstruction = reconstruction_loss(z, self.F(x_g.flatten(1)))
        return {
            # Algorithm 1, line 7 (O_LR): the generated pair is D's positive class.
            "loss_d": d_loss_gan(d_generated, d_data),
            # Line 11 (Ô): the ratio estimate on generated pairs plus the z-space autoencoder loss.
            "loss_g": d_generated.mean() + reconstruction,
            "reconstruction": reconstruction,
            "d_generated": d_generated,
            "d_data": d_data,
        }

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        losses = self.losses(real[-1].images)
        # Lines 7-11: every gradient from the same parameters, then line 13's three updates together.
        # Each gradient is taken w.r.t. its own network only, so O_LR never reaches G.
        d_params, g_params, f_params = (list(n.parameters()) for n in (self.D, self.G, self.F))
        grads_d = torch.autograd.grad(losses["loss_d"], d_params, retain_graph=True)
        grads_g = torch.autograd.grad(losses["loss_g"], g_params, retain_graph=True)
        grads_f = torch.autograd.grad(losses["reconstruction"], f_params)  # line 9: only d depends on θ
        for params, grads, opt in ((d_params, grads_d, self.opt_D), (g_params, grads_g, self.opt_G),
                                   (f_params, grads_f, self.opt_F)):
            for p, g in zip(params, grads):
                p.grad = g
            opt.step()
        return {"loss_d": losses["loss_d"].detach(), "loss_g": losses["loss_g"].detach(),
                "reconstruction": losses["reconstruction"].detach(),
                "d_accuracy": binary_accuracy(losses["d_generated"], losses["d_data"]).detach()}

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.generate(self.noise(n, generator), generator)


REPRODUCTION = VEEGAN
