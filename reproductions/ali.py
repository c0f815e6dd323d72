"""ALI / BiGAN — Dumoulin et al., "Adversarially Learned Inference", ICLR 2017 (arXiv 1606.00704), and
Donahue, Krähenbühl & Darrell, "Adversarial Feature Learning", ICLR 2017 (arXiv 1605.09782).

The two papers propose the same game (ALI section 2, eq. 1-2; BiGAN section 3, eq. 2): an encoder
E: x -> z beside the generator G: z -> x, and a discriminator on joint pairs that tells (x, E(x)),
x ~ p(x), from (G(z), z), z ~ p(z):
    min_{G,E} max_D  E_x[log D(x, E(x))] + E_z[log(1 - D(G(z), z))].
They differ in the encoder: ALI's is stochastic (section 2.2, the reparametrisation z = E(x, ε); the
authors' 2D bricks use `COVConditional`, E applied to concat(x, ε) with ε ~ N(0, I) of x's size),
BiGAN's is deterministic (section 3). Here that is the `stochastic_encoder` setting, and the
registry's `ali` and `bigan` entries point at this one module.

Both train G and E on the "inverted labels" (ALI's code, `generator_loss = softplus(D(x, E(x))) +
softplus(-D(G(z), z))`; BiGAN section 3.4), with D and (G, E) updated together from the same parameters
(ALI's `ali_algorithm`). The 2D nets are those of ALI's code as PacGAN runs it for its Table 1
(fjxmlzn/PacGAN synthetic_data_experiments/2DRing_ALI): E concat(x, ε) -> 2x400 BN-ReLU -> z (2),
G z -> 4x400 BN-ReLU -> x, D concat(x, z) -> 3 maxout layers of 200 x 5 -> logit; N(0, 0.02) weights;
Adam lr 1e-4, β1 0.8; batch 100.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction

from reproductions.parts.losses import binary_accuracy, d_loss_gan
from reproductions.parts.mode_nets import Activation, Init, MaxoutMLP, initialise_on, mlp


@dataclass(frozen=True)
class Hyperparameters:
    stochastic_encoder: bool = True  # ALI: E(x, ε); BiGAN (bigan.yaml sets False): E(x)
    z_dim: int = 2
    g_hidden: int = 400
    g_layers: int = 4
    e_hidden: int = 400
    e_layers: int = 2
    batchnorm: bool = True  # in G and E (ALI's bricks)
    bn_momentum: float = 0.05  # running statistics = 0.05 * batch + 0.95 * running (the 2D code's bn_updates)
    activation: Activation = "relu"
    g_output: Literal["linear", "tanh"] = "linear"  # points: linear; images in [-1, 1]: tanh
    d_units: int = 200
    d_pieces: int = 5
    d_layers: int = 3
    init: Init = "normal"
    init_scale: float = 0.02
    lr: float = 1e-4
    beta1: float = 0.8
    beta2: float = 0.999


class JointDiscriminator(nn.Module):
    """D(x, z): maxout layers on concat(x, z) (ALI's XZJointDiscriminator with identity x/z branches)."""

    def __init__(self, x_features: int, z_features: int, units: int, pieces: int, layers: int):
        super().__init__()
        self.net = MaxoutMLP(x_features + z_features, units, pieces, layers)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([x.flatten(1), z], dim=1)).flatten()


class ALI(Reproduction):
    Hyperparameters = Hyperparameters
    data_kinds: ClassVar[tuple[str, ...]] = ("points", "images")

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        x_features = data.features  # ALI's E reads concat(x, ε) with ε of x's size, BiGAN's E x alone
        e_in = x_features * (2 if hp.stochastic_encoder else 1)
        self.E = mlp(e_in, hp.e_hidden, hp.e_layers, hp.z_dim, hp.activation, hp.batchnorm, hp.bn_momentum)
        self.G = mlp(hp.z_dim, hp.g_hidden, hp.g_layers, x_features, hp.activation, hp.batchnorm, hp.bn_momentum)
        self.D = JointDiscriminator(x_features, hp.z_dim, hp.d_units, hp.d_pieces, hp.d_layers)
        initialise_on(device, hp.init, hp.init_scale, self.E, self.G, self.D)
        betas = (hp.beta1, hp.beta2)
        # ALI's generator_parameters are G's and E's together: one objective, one optimiser.
        self.opt_GE = torch.optim.Adam([*self.G.parameters(), *self.E.parameters()], lr=hp.lr, betas=betas)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=hp.lr, betas=betas)

    stackable_seeds: ClassVar[bool] = True  # tests/test_stacked_seeds.py

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        out = self.G(z)
        return (torch.tanh(out) if self.hp.g_output == "tanh" else out).view(z.shape[0], *self.data.shape)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.flatten(1)
        if self.hp.stochastic_encoder:  # ALI section 2.2: z = E(x, ε), ε ~ N(0, I)
            flat = torch.cat([flat, torch.randn_like(flat)], dim=1)
        return self.E(flat)

    def predictions(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(D(x, E(x)), D(G(z), z)): the data pairs and the sample pairs of eq. 1."""
        z = self.noise(len(x))
        return self.D(x, self.encode(x)), self.D(self.generate(z), z)

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        data_preds, sample_preds = self.predictions(real[-1].images)
        loss_d = d_loss_gan(data_preds, sample_preds)
        # G and E minimise the inverted-label loss; D the usual one; both gradients from one forward.
        loss_ge = F.softplus(data_preds).mean() + F.softplus(-sample_preds).mean()
        ge_params = [p for group in self.opt_GE.param_groups for p in group["params"]]
        grads_d = torch.autograd.grad(loss_d, list(self.D.parameters()), retain_graph=True)
        grads_ge = torch.autograd.grad(loss_ge, ge_params)
        for params, grads, opt in ((list(self.D.parameters()), grads_d, self.opt_D), (ge_params, grads_ge, self.opt_GE)):
            for p, g in zip(params, grads):
                p.grad = g
            opt.step()
        return {"loss_d": loss_d.detach(), "loss_g": loss_ge.detach(),
                "d_accuracy": binary_accuracy(data_preds, sample_preds).detach()}

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        with self.sampling_mode(self.G):  # batchnorm from running statistics
            return self.generate(self.noise(n, generator))


REPRODUCTION = ALI
