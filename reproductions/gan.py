"""GAN — Goodfellow, Pouget-Abadie, Mirza, Xu, Warde-Farley, Ozair, Courville & Bengio, "Generative
Adversarial Nets", NIPS 2014 (arXiv 1406.2661).

Read alongside the paper's section 3 ("Adversarial nets"), Algorithm 1 and section 5 ("Experiments"),
and the released MNIST configuration (github.com/goodfeli/adversarial, `mnist.yaml`), which fixes what
the paper leaves out:

- Eq. 1, the value function: min_G max_D E_x[log D(x)] + E_z[log(1 - D(G(z)))].
- The released code's objective (`AdversaryCost2`): D minimises 0.5·(cross-entropy on the real
  batch + cross-entropy on the generated one), half of −eq. 1; G's non-saturating cost is not halved.
- Algorithm 1: k discriminator updates, then one generator update ("we used k = 1").
- Section 3: early in training log(1 - D(G(z))) saturates, so "rather than training G to minimize
  log(1 - D(G(z))) we can train G to maximize log D(G(z))". Both are here (`g_loss`).
- Section 5: G mixes rectifier and sigmoid units and gets noise only at its bottom layer; D uses
  maxout units and is trained with dropout. mnist.yaml: G 100 → 1200 ReLU → 1200 ReLU → 784 sigmoid,
  N(0, I) noise; D 784 → maxout 240×5 → maxout 240×5 → sigmoid; dropout keeps 0.8 of D's input and
  0.5 of its hidden units; SGD, batch 100, lr 0.1 decayed by 1.000004 per update down to 1e-6,
  momentum 0.5 → 0.7 over epochs 1-250; weights U(±0.05) in G and U(±0.005) in D.

The MLPs are sized from the dataset (C·H·W pixels), so CIFAR-10 gets the same nets on 3072 inputs.

On the 2D mixtures (ring8, grid25 and their PacGAN variants) the GAN is the baseline of VEEGAN's and
PacGAN's Table 1, each with that paper's nets; the registry's `per_dataset` block sets them through
the hyperparameters below (depths, widths, batch norm, ReLU or maxout, Adam, N(0, σ) init), so the
code has no per-dataset branch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Sequence

import torch
from torch import nn

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction

from reproductions.parts.blocks import Maxout, Rectifier
from reproductions.parts.losses import binary_accuracy, d_loss_gan, g_loss_minimax, g_loss_nonsaturating


@dataclass(frozen=True)
class Hyperparameters:
    z_dim: int = 100  # mnist.yaml: nvis 100
    # goodfeli/adversarial's AdversaryCost2 halves D's objective; the 2D baselines' code does not (1.0)
    d_objective_scale: float = 0.5
    g_hidden: int = 1200  # two rectifier layers of 1200 units
    g_layers: int = 2
    g_batchnorm: bool = False  # batch norm before each hidden ReLU (then those layers have no bias)
    # G ends in a sigmoid on [0, 1] pixels and D reads [0, 1] pixels (the paper's MNIST nets); False:
    # a linear output layer and D on the data as it is (2D points).
    sigmoid_pixels: bool = True
    d_units: int = 240  # two maxout layers of 240 units …
    d_pieces: int = 5  # … with 5 pieces each
    d_layers: int = 2
    d_activation: Literal["maxout", "relu"] = "maxout"  # relu: plain rectifier layers of d_units
    d_input_dropout: float = 0.2  # include probability 0.8 on D's input
    d_hidden_dropout: float = 0.5  # include probability 0.5 on D's hidden layers
    g_loss: Literal["nonsaturating", "minimax"] = "nonsaturating"  # section 3 vs eq. 1
    d_steps_per_g_step: int = 1  # Algorithm 1's k; "we used k = 1"
    optimizer: Literal["sgd", "adam"] = "sgd"  # sgd: the schedule below; adam: constant lr, betas (beta1, 0.999)
    beta1: float = 0.5
    # U(±range) or N(0, range) weights, or Glorot-uniform (tf.contrib.slim's default), zero biases
    init: Literal["uniform", "normal", "xavier"] = "uniform"
    bn_momentum: float = 0.1  # running-statistics update weight (PyTorch's convention)
    lr: float = 0.1
    lr_decay: float = 1.000004  # lr_t = lr / decay^t (pylearn2 ExponentialDecay) …
    min_lr: float = 1e-6  # … floored here
    momentum_start: float = 0.5
    momentum_end: float = 0.7
    # MomentumAdjustor(start=1, saturate=250) in epochs of 50,000 images at batch 100 = 500 updates.
    momentum_ramp_steps: int = 125_000
    g_init_range: float = 0.05  # irange .05
    d_init_range: float = 0.005  # irange .005


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, scale: float = 0.5) -> torch.Tensor:
    """AdversaryCost2's d_obj = 0.5 * (cost(1, D(x)) + cost(0, D(G(z)))): half of −eq. 1, which under
    plain SGD halves D's step size relative to the unhalved loss. `scale` 1 is −eq. 1 itself."""
    return scale * d_loss_gan(real_logits, fake_logits)


def sgd_schedule(step: int, hp: Any) -> tuple[float, float]:
    """(learning rate, momentum) at update `step`: exponential lr decay and a linear momentum ramp."""
    lr = max(hp.lr / hp.lr_decay**step, hp.min_lr)
    ramp = min(1.0, step / max(1, hp.momentum_ramp_steps))
    return lr, hp.momentum_start + (hp.momentum_end - hp.momentum_start) * ramp


def set_sgd(optimizer: torch.optim.SGD, lr: float, momentum: float) -> None:
    for group in optimizer.param_groups:
        group["lr"], group["momentum"] = lr, momentum


def uniform_init(module: nn.Module, bound: float) -> None:
    """pylearn2's `irange`: weights U(-bound, bound), biases 0."""
    if isinstance(module, nn.Linear):
        nn.init.uniform_(module.weight, -bound, bound)
        nn.init.zeros_(module.bias)


def normal_init(module: nn.Module, std: float) -> None:
    """blocks' IsotropicGaussian(std) weights and Constant(0) biases; batch norm keeps scale 1, shift 0."""
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, 0.0, std)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def xavier_init(module: nn.Module, _unused: float = 0.0) -> None:
    """tf.contrib.slim's fully_connected default: Glorot-uniform weights, zero biases."""
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


INITS = {"uniform": uniform_init, "normal": normal_init, "xavier": xavier_init}


def identity(x: torch.Tensor) -> torch.Tensor:
    return x


def to_unit_interval(images: torch.Tensor) -> torch.Tensor:
    """The harness's [-1, 1] pixels → the [0, 1] pixels the paper's MLPs were tuned on."""
    return (images + 1) / 2


def from_unit_interval(pixels: torch.Tensor) -> torch.Tensor:
    """A sigmoid layer's [0, 1] output → the harness's [-1, 1] images."""
    return pixels * 2 - 1


class Generator(nn.Module):
    """z → `layers` × (`hidden` ReLU units) → one example; mnist.yaml: 1200 → 1200 → C·H·W sigmoid.

    The paper's nets live on pixels in [0, 1]; the harness's images are in [-1, 1], so the sigmoid's
    output is stretched to [-1, 1] here and D squeezes its input back (`Discriminator.forward`). With
    tanh outputs and D on [-1, 1] inputs, the same SGD (lr 0.1) sees a dense, twice-as-large input and
    diverges within a few hundred updates on MNIST. With `sigmoid_pixels` off the output layer is
    linear, in the data's own coordinates (2D points)."""

    def __init__(self, z_dim: int, hidden: int, shape: tuple[int, ...], layers: int = 2, batchnorm: bool = False,
                 sigmoid_pixels: bool = True, bn_momentum: float = 0.1):
        super().__init__()
        self.shape = shape
        modules, width = [], z_dim
        for _ in range(layers):
            modules.append(nn.Linear(width, hidden, bias=not batchnorm))  # BN's shift replaces the bias
            if batchnorm:
                modules.append(nn.BatchNorm1d(hidden, momentum=bn_momentum))
            modules.append(nn.ReLU())
            width = hidden
        modules.append(nn.Linear(width, math.prod(shape)))
        if sigmoid_pixels:
            modules.append(nn.Sigmoid())
        self.net = nn.Sequential(*modules)
        self.to_data = from_unit_interval if sigmoid_pixels else identity

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.to_data(self.net(z)).view(z.shape[0], *self.shape)


class Discriminator(nn.Module):
    """x → dropout → (maxout or ReLU layer → dropout) × `layers` → one logit (the sigmoid lives in the loss)."""

    def __init__(self, pixels: int, units: int, pieces: int, input_dropout: float, hidden_dropout: float,
                 layers: int = 2, activation: str = "maxout", sigmoid_pixels: bool = True):
        super().__init__()
        modules, width = [nn.Dropout(input_dropout)], pixels
        for _ in range(layers):
            modules.append(Maxout(width, units, pieces) if activation == "maxout" else Rectifier(width, units))
            modules.append(nn.Dropout(hidden_dropout))
            width = units
        modules.append(nn.Linear(units, 1))
        self.net = nn.Sequential(*modules)
        self.from_data = to_unit_interval if sigmoid_pixels else identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.from_data(x.flatten(1))).flatten()


class GAN(Reproduction):
    Hyperparameters = Hyperparameters
    data_kinds: ClassVar[tuple[str, ...]] = ("images", "points")

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        self.G = Generator(hp.z_dim, hp.g_hidden, data.shape, hp.g_layers, hp.g_batchnorm, hp.sigmoid_pixels,
                           hp.bn_momentum).to(device)
        self.D = Discriminator(data.features, hp.d_units, hp.d_pieces, hp.d_input_dropout, hp.d_hidden_dropout,
                               hp.d_layers, hp.d_activation, hp.sigmoid_pixels).to(device)
        init = INITS[hp.init]
        self.G.apply(lambda m: init(m, hp.g_init_range))
        self.D.apply(lambda m: init(m, hp.d_init_range))
        self.opt_G, self.opt_D = (self._optimizer(net) for net in (self.G, self.D))

    stackable_seeds: ClassVar[bool] = True  # on its MLPs; tests/test_stacked_seeds.py

    def _optimizer(self, net: nn.Module) -> torch.optim.Optimizer:
        if self.hp.optimizer == "adam":
            return torch.optim.Adam(net.parameters(), lr=self.hp.lr, betas=(self.hp.beta1, 0.999))
        return torch.optim.SGD(net.parameters(), lr=self.hp.lr, momentum=self.hp.momentum_start)

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        """Eq. 1's min_G log(1 - D(G(z))) ("minimax") or section 3's max_G log D(G(z)) ("nonsaturating")."""
        if self.hp.g_loss == "minimax":
            return g_loss_minimax(fake_logits)
        return g_loss_nonsaturating(fake_logits)

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        if self.hp.optimizer == "sgd":
            lr, momentum = sgd_schedule(step, self.hp)
            set_sgd(self.opt_D, lr, momentum)
            set_sgd(self.opt_G, lr, momentum)

        # Algorithm 1, inner loop: k steps ascending eq. 1 in D, each on a fresh minibatch of m
        # noise samples and m examples.
        for batch in real:
            fake = self.G(self.noise(len(batch))).detach()
            d_real, d_fake = self.D(batch.images), self.D(fake)
            loss_d = discriminator_loss(d_real, d_fake, self.hp.d_objective_scale)
            self.update(self.opt_D, loss_d)

        # Algorithm 1, outer step: one G update through D (dropout on, as in the released code).
        loss_g = self.generator_loss(self.D(self.G(self.noise(len(real[-1])))))
        self.update(self.opt_G, loss_g)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(),
                "d_accuracy": binary_accuracy(d_real, d_fake).detach()}

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        training = self.G.training
        self.G.eval()  # batch norm (the PacGAN nets) samples with its running statistics
        try:
            return self.G(self.noise(n, generator))
        finally:
            self.G.train(training)


REPRODUCTION = GAN
