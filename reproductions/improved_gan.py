"""Improved-GAN — Salimans, Goodfellow, Zaremba, Cheung, Radford & Chen, "Improved Techniques for Training
GANs", NeurIPS 2016 / arXiv 1606.03498: the semi-supervised MNIST model of section 5, as the official code
trains it (openai/improved-gan, mnist_svhn_cifar10/train_mnist_feature_matching.py and nn.py).

Read alongside the paper:
- Section 5, semi-supervised learning: D is a classifier with K+1 outputs, the (K+1)-th meaning "generated";
  its logit is fixed at 0, so D(x) = Z(x)/(Z(x)+1) with Z(x) = Σ_k exp l_k(x). D's loss is the supervised
  cross-entropy on the labelled batch plus the GAN value on an unlabelled batch and a generated one
  (parts.improved_techniques.k_plus_one_*); the test prediction is the argmax of the K logits.
- Section 3.1, feature matching: G minimises the squared distance between the batch means of D's last
  hidden layer (250 units) on real and generated data — the objective the paper uses for its Table 1.
- Section 5.1 / the code: D is a 5-hidden-layer MLP (1000-500-250-250-250, ReLU) with weight normalisation
  and Gaussian noise (σ 0.3 on the input, 0.5 after every hidden layer), initialised data-dependently;
  G maps z ~ U[0, 1)^100 through two 500-unit softplus layers with batch normalisation to a
  weight-normalised sigmoid output. Adam (lr 0.003, β1 0.5) for both; batch 100 unlabelled, 100 labelled
  (the 100 labels tiled); 300 epochs of 600 steps. The test error is that of D's parameters averaged
  over training (a ← a + 10⁻⁴(θ − a) after every D step).
- The other techniques of section 3, as switches (off by default, as in this script): minibatch
  discrimination before D's last layer (`minibatch_kernels`), historical averaging of both players
  (`historical_averaging`, the penalty's weight), one-sided label smoothing of the real target
  (`real_target`, 0.9 in the paper's CIFAR-10 models), virtual batch normalisation in G (`g_norm`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Literal, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction, frozen

from reproductions.gan import from_unit_interval, to_unit_interval
from reproductions.parts.improved_techniques import (GaussianNoise, HistoricalAverage, MinibatchDiscrimination,
                                                     VirtualBatchNorm, WeightNormDense, data_dependent_init,
                                                     feature_matching_loss, k_plus_one_labelled_loss,
                                                     k_plus_one_unlabelled_loss)


@dataclass(frozen=True)
class Hyperparameters:
    z_dim: int = 100  # noise = theano_rng.uniform(size=(batch, 100))
    g_width: int = 500  # G's two hidden layers
    d_widths: tuple[int, ...] = (1000, 500, 250, 250, 250)
    input_noise: float = 0.3  # GaussianNoiseLayer(sigma=0.3) on D's input
    hidden_noise: float = 0.5  # ... and sigma=0.5 after every hidden layer
    lr: float = 0.003  # the script's constant lr (no decay in the MNIST script)
    beta1: float = 0.5  # adam_updates(mom1=0.5)
    beta2: float = 0.999
    unlabelled_weight: float = 1.0  # --unlabeled_weight
    labelled_batch_size: int = 100  # a batch of the (tiled) labelled subset per D step
    test_average_rate: float = 1e-4  # disc_avg_updates: a ← a + 1e-4 (θ − a); 0: test the current D
    # Section 3's other techniques, off as in train_mnist_feature_matching.py:
    feature_matching: bool = True  # False: G minimises −log D(G(z)) of the K+1 D instead
    minibatch_kernels: int = 0  # minibatch discrimination before D's last layer: B kernels (0: off)
    minibatch_kernel_dim: int = 5  # C, nn.py MinibatchLayer's dim_per_kernel
    historical_averaging: float = 0.0  # weight of ||θ − mean θ||² on both players (0: off)
    real_target: float = 1.0  # one-sided label smoothing: α for the real class (1: none)
    g_norm: Literal["batch", "virtual"] = "batch"  # G's normalisation: batch norm, or virtual batch norm


class Generator(nn.Module):
    """z → [dense → norm (shift only: nn.batch_norm(g=None)) → softplus] × 2 → weight-normed dense → sigmoid."""

    def __init__(self, z_dim: int, width: int, features: int, norm: str):
        super().__init__()
        layers: list[nn.Module] = []
        for fan_in in (z_dim, width):
            dense = nn.Linear(fan_in, width, bias=False)
            nn.init.xavier_uniform_(dense.weight)  # lasagne's default GlorotUniform
            normalise = (VirtualBatchNorm(width, eps=1e-6, affine=False) if norm == "virtual"
                         else nn.BatchNorm1d(width, eps=1e-6, affine=False))
            layers += [dense, normalise, Shift(width), nn.Softplus()]
        self.hidden = nn.Sequential(*layers)
        self.out = WeightNormDense(width, features, relu=False, train_scale=True)  # nn.l2normalize(DenseLayer)
        nn.init.xavier_uniform_(self.out.theta)
        self.virtual = norm == "virtual"
        if self.virtual:  # the fixed reference batch of section 3.5
            self.register_buffer("z_reference", torch.rand(100, z_dim))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if self.virtual:
            with VirtualBatchNorm.reference_pass(self.hidden):
                self.hidden(self.z_reference)
        return torch.sigmoid(self.out(self.hidden(z)))


class Shift(nn.Module):
    """The learned shift b of nn.py BatchNormLayer (its scale g is None in G)."""

    def __init__(self, features: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.bias


class Discriminator(nn.Module):
    """Gaussian noise, then five weight-normalised ReLU layers each followed by noise, then K logits."""

    def __init__(self, features: int, widths: Sequence[int], classes: int, input_noise: float, hidden_noise: float,
                 minibatch_kernels: int = 0, minibatch_kernel_dim: int = 5):
        super().__init__()
        layers: list[nn.Module] = [GaussianNoise(input_noise)]
        fan_in = features
        for width in widths:
            layers += [WeightNormDense(fan_in, width), GaussianNoise(hidden_noise)]
            fan_in = width
        self.body = nn.Sequential(*layers)
        self.minibatch = None
        if minibatch_kernels:
            self.minibatch = MinibatchDiscrimination(fan_in, minibatch_kernels, minibatch_kernel_dim)
            fan_in += minibatch_kernels
        self.head = WeightNormDense(fan_in, classes, relu=False, train_scale=True)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(the K real-class logits, the last hidden layer's output that feature matching uses)."""
        hidden = self.body[:-1](x.flatten(1))  # layers[-3] of the code: before the last noise layer
        top = self.body[-1](hidden)
        return self.head(self.minibatch(top) if self.minibatch is not None else top), hidden

    def layers(self) -> list[nn.Module]:
        return [*self.body, *([self.minibatch] if self.minibatch is not None else []), self.head]


class ImprovedGAN(Reproduction):
    Hyperparameters = Hyperparameters
    semi_supervised = True
    sampling = "batch-stats"  # gen_dat = get_output(gen_layers[-1], deterministic=False): G always batch-normalises

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        if data.num_classes < 2:
            raise ValueError("Improved-GAN's K+1 discriminator needs a labelled dataset")
        if hp.minibatch_kernels < 0 or not 0 < hp.real_target <= 1:
            raise ValueError("minibatch_kernels must be ≥ 0 and real_target in (0, 1]")
        self.G = Generator(hp.z_dim, hp.g_width, data.features, hp.g_norm).to(device)
        self.D = Discriminator(data.features, hp.d_widths, data.num_classes, hp.input_noise, hp.hidden_noise,
                               hp.minibatch_kernels, hp.minibatch_kernel_dim).to(device)
        adam = lambda net: torch.optim.Adam(net.parameters(), lr=hp.lr, betas=(hp.beta1, hp.beta2))  # noqa: E731
        self.opt_D, self.opt_G = adam(self.D), adam(self.G)
        # The test-time average of D's trainable parameters, starting at zero as disc_param_avg does.
        self.D_average = copy.deepcopy(self.D).requires_grad_(False)
        for p in self.D_average.parameters():
            p.zero_()
        self.average_steps = 0
        self.initialised = False
        self.history = {"D": HistoricalAverage(self.D), "G": HistoricalAverage(self.G)}

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """z ~ U[0, 1)^100, as theano_rng.uniform draws it."""
        return torch.rand(n, self.hp.z_dim, device=self.device, generator=generator)

    # -- one step: D on labelled, unlabelled and generated data, then G by feature matching ------------
    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        hp = self.hp
        batch = real[-1]
        if batch.labelled is None:
            raise ValueError("Improved-GAN trains semi-supervised: run it with --labels N")
        x_unl = to_unit_interval(batch.images).flatten(1)
        x_lab, y_lab = to_unit_interval(batch.labelled.images).flatten(1), batch.labelled.labels
        if not self.initialised:  # init_param(trainx[:500]): data-dependent init before the first update
            data_dependent_init(self.D.layers(), torch.cat([x_unl, x_lab]))
            self.initialised = True
        logits_lab, _ = self.D(x_lab)
        logits_unl, _ = self.D(x_unl)
        with torch.no_grad():
            fake = self.G(self.noise(len(x_unl)))
        logits_fake, _ = self.D(fake)
        loss_lab = k_plus_one_labelled_loss(logits_lab, y_lab)
        loss_unl = k_plus_one_unlabelled_loss(logits_unl, logits_fake, hp.real_target)
        self.update(self.opt_D, loss_lab + hp.unlabelled_weight * loss_unl + self._history_penalty("D"))
        self._average_D()

        with frozen(self.D):
            fake = self.G(self.noise(len(x_unl)))
            fake_logits, fake_features = self.D(fake)
            if hp.feature_matching:
                _, real_features = self.D(x_unl)
                loss_g = feature_matching_loss(real_features, fake_features)
            else:  # −log D(G(z)) = softplus(LSE) − LSE
                lse = torch.logsumexp(fake_logits, dim=1)
                loss_g = (F.softplus(lse) - lse).mean()
            self.update(self.opt_G, loss_g + self._history_penalty("G"))
        train_error = (logits_lab.argmax(1) != y_lab).float().mean()
        return {"loss_lab": loss_lab.detach(), "loss_unl": loss_unl.detach(), "loss_g": loss_g.detach(),
                "train_error": train_error.detach()}

    def _history_penalty(self, player: str) -> torch.Tensor | float:
        if not self.hp.historical_averaging:
            return 0.0
        return self.hp.historical_averaging * self.history[player].penalty()

    def update(self, optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        super().update(optimizer, loss)
        if self.hp.historical_averaging:
            self.history["D" if optimizer is self.opt_D else "G"].update()

    @torch.no_grad()
    def _average_D(self) -> None:
        rate = self.hp.test_average_rate
        self.average_steps += 1
        for average, p in zip(self.D_average.parameters(), self.D.parameters()):
            average.add_(rate * (p - average))

    # -- the classifier the semi-supervised protocol scores ---------------------------------------------
    def classify(self, images: torch.Tensor) -> torch.Tensor:
        """The K real-class logits of D with its averaged parameters (test_batch's givens), noise off.
        The zero-started average is divided by 1 − (1 − rate)^t, its weight so far (see deviations)."""
        x = to_unit_interval(images).flatten(1)
        rate = self.hp.test_average_rate
        if not rate or not self.average_steps:
            return self.D(x)[0]
        weight = 1 - (1 - rate) ** self.average_steps
        params = {name: p / weight for name, p in self.D_average.named_parameters()}
        params.update(dict(self.D.named_buffers()))  # the fixed scales the data-dependent init set
        return functional_call(self.D, params, (x,))[0]

    @torch.no_grad()
    def sample(self, n: int, labels=None, generator: torch.Generator | None = None) -> torch.Tensor:
        z = self.noise(n, generator)
        with self.sampling_mode(self.G):
            return from_unit_interval(self.G(z)).view(n, *self.data.shape)

    # -- checkpointing ----------------------------------------------------------------------------------
    def extra_state(self) -> dict:
        return {"average_steps": self.average_steps, "initialised": self.initialised,
                "history": {k: h.state_dict() for k, h in self.history.items()}}

    def load_extra_state(self, state: dict) -> None:
        self.average_steps, self.initialised = int(state["average_steps"]), bool(state["initialised"])
        for key, history in self.history.items():
            history.load_state_dict(state["history"][key])


REPRODUCTION = ImprovedGAN
