"""Triple-GAN — Li, Xu, Zhu & Zhang, "Triple Generative Adversarial Nets", NeurIPS 2017 / arXiv 1703.02291.

Three players (`reproductions.parts.pairs`): a classifier C gives p_c(y|x), a conditional generator G
gives p_g(x|y), and a discriminator D(x, y) tells pairs of the data p(x, y) from C's pairs (x, ŷ) on
unlabelled images and G's pairs (G(y, z), y):

- Section 3.1, eq. 2: U(C, G, D) = E_p log D + α E_{p_c} log(1 − D) + (1 − α) E_{p_g} log(1 − D),
  α = 1/2; D maximises U, C and G minimise it.
- Section 3.2: the supervised loss R_L (cross-entropy of C on the labelled data) keeps C's
  distribution on the data's; the pseudo-discriminative loss R_P (C's cross-entropy on G's pairs,
  weight α_P = 0.1) lets G's class-conditional samples teach C, switched on late in training.
- Section 4 / the released MNIST code (zhenxuan00/triple-gan, x2y_yz2x_xy2p_ssl_mnist.py), which fixes
  what the paper leaves to it and which we follow: C a 5-conv-layer CNN with batch normalisation and
  dropout, first pretrained for 30 epochs on the labelled cross-entropy plus an entropy and a
  class-balance term on unlabelled data (kept, with other weights, in the game); G an MLP of two
  500-unit softplus layers with the label appended to every layer's input; D an MLP on pairs with the
  label appended to every layer, Gaussian noise and weight normalisation; C's adversarial gradient by
  the argmax approximation (D sees (x, argmax p_c), the loss weighted by p_c(ŷ|x)); D also counts
  C's pseudo-labelled pairs on a separate unlabelled batch as data; Adam 1e-3 (β1 0.5) for all
  three, annealed by 0.995 per epoch from epoch 300 of 1,000; C scored by an exponential moving average
  of its weights.

A step of the harness's budget is one iteration of the released code's loop: during pretraining one
C update, afterwards one D, one G and one C update. The paper's schedule is in epochs of 600 iterations;
`plan` scales it to a shorter budget (see `deviations`). An unlabelled run is refused: the game needs
labelled pairs.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction, frozen

from reproductions.gan import from_unit_interval, to_unit_interval
from reproductions.parts.entropy import conditional_entropy, cross_entropy_to_uniform_of_mean
from reproductions.parts.pairs import (ConcatLabels, NormalisedLinear, PairDiscriminator, triple_c_adversarial_loss,
                                       triple_d_loss, triple_g_loss)


@dataclass(frozen=True)
class Hyperparameters:
    alpha: float = 0.5  # eq. 2's weight of C's pairs against G's
    z_dim: int = 100  # z ~ U[0, 1)^100
    g_width: int = 500
    d_widths: tuple[int, ...] = (1000, 500, 250, 250, 250)
    d_input_noise: float = 0.3
    d_hidden_noise: float = 0.5
    c_dropout: float = 0.5
    # Batches of the released code: the harness batch (500 unlabelled images) is split into C's 100
    # and D's 400; C sees 100 labelled examples and D one; G draws 200 samples, 20 of each class.
    c_unlabelled_fraction: float = 0.2
    labelled_batch_size: int = 100
    d_labelled_batch_size: int = 1
    g_batch_size: int = 200
    # C's losses: R_L and the unlabelled regularisers, in pretraining and in the game.
    entropy_weight: float = 0.3
    balance_weight: float = 0.001
    pretrain_balance_weight: float = 0.3
    weight_decay: float = 0.0001  # on the weights of C's last layer (sum of squares)
    pseudo_weight: float = 0.1  # α_P of R_P
    # Schedule, in the released code's epochs (600 iterations; pretraining 120 iterations of 500 unlabelled).
    pretrain_epochs: int = 30
    pretrain_iterations_per_epoch: int = 120
    epochs: int = 1000
    iterations_per_epoch: int = 600
    pseudo_from_epoch: int = 300
    anneal_from_epoch: int = 300
    anneal_factor: float = 0.995
    lr: float = 0.001
    beta1: float = 0.5
    beta2: float = 0.999
    pretrain_lr: float = 0.0003
    pretrain_beta1: float = 0.9
    average_rate: float = 0.01  # C_average ← C_average + rate · (C − C_average) after every C update


def _conv(c_in: int, c_out: int, kernel: int, padding: int) -> list[nn.Module]:
    conv = nn.Conv2d(c_in, c_out, kernel, padding=padding, bias=False)  # the batchnorm's shift is the bias
    nn.init.normal_(conv.weight, std=0.05)
    return [conv, nn.BatchNorm2d(c_out, eps=1e-4), nn.ReLU()]


class Classifier(nn.Module):
    """C: 5×5 conv 32 → pool → dropout → 3×3 conv 64 → 3×3 conv 64 (valid) → pool → dropout →
    3×3 conv 128 → 3×3 conv 128 → global mean pool → dense K (the released MNIST classifier)."""

    def __init__(self, channels: int, num_classes: int, dropout: float):
        super().__init__()
        self.features = nn.Sequential(
            *_conv(channels, 32, 5, 0), nn.MaxPool2d(2), nn.Dropout(dropout),
            *_conv(32, 64, 3, 1), *_conv(64, 64, 3, 0), nn.MaxPool2d(2), nn.Dropout(dropout),
            *_conv(64, 128, 3, 1), *_conv(128, 128, 3, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.out = nn.Linear(128, num_classes)
        nn.init.normal_(self.out.weight, std=0.01)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(x))


class ConditionalGenerator(nn.Module):
    """G(z, y): [z, y] → dense 500 → BN → softplus → [·, y] → dense 500 → BN → softplus → [·, y] →
    weight-normalised dense → sigmoid pixels."""

    def __init__(self, z_dim: int, width: int, num_classes: int, shape: tuple[int, ...]):
        super().__init__()
        k, features = num_classes, int(torch.Size(shape).numel())
        self.concat = ConcatLabels(k)
        self.hidden = nn.ModuleList([nn.Linear(z_dim + k, width, bias=False), nn.Linear(width + k, width, bias=False)])
        self.norms = nn.ModuleList([nn.BatchNorm1d(width, eps=1e-4), nn.BatchNorm1d(width, eps=1e-4)])
        self.out = NormalisedLinear(width + k, features, std=0.05, learn_scale=True)
        self.shape = shape

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = z
        for layer, norm in zip(self.hidden, self.norms):
            h = F.softplus(norm(layer(self.concat(h, y))))
        return torch.sigmoid(self.out(self.concat(h, y))).view(-1, *self.shape)


class TripleGAN(Reproduction):
    Hyperparameters = Hyperparameters
    semi_supervised = True
    conditional = True

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        if not data.labels:
            raise ValueError("Triple-GAN needs labelled pairs: run it semi-supervised (--labels N)")
        k = data.num_classes
        self.C = Classifier(data.channels, k, hp.c_dropout).to(device)
        self.G = ConditionalGenerator(hp.z_dim, hp.g_width, k, data.shape).to(device)
        self.D = PairDiscriminator(data.features, k, hp.d_widths, hp.d_input_noise, hp.d_hidden_noise).to(device)
        self.C_average = copy.deepcopy(self.C).requires_grad_(False)  # what `classify` scores
        adam = lambda net, lr, b1: torch.optim.Adam(net.parameters(), lr=lr, betas=(b1, hp.beta2))  # noqa: E731
        self.opt_C_pretrain = adam(self.C, hp.pretrain_lr, hp.pretrain_beta1)
        self.opt_C, self.opt_G, self.opt_D = adam(self.C, hp.lr, hp.beta1), adam(self.G, hp.lr, hp.beta1), adam(self.D, hp.lr, hp.beta1)
        self.plan(hp.pretrain_epochs * hp.pretrain_iterations_per_epoch + hp.epochs * hp.iterations_per_epoch, 0)

    # -- schedule ------------------------------------------------------------------------------------
    def plan(self, g_steps: int, batch_size: int) -> None:
        """The paper's epochs as steps; a budget shorter than the paper's is given the same proportions
        (an epoch may then be a fraction of a step's worth: boundaries are rounded, never the epoch)."""
        hp = self.hp
        pretrain = hp.pretrain_epochs * hp.pretrain_iterations_per_epoch
        full = pretrain + hp.epochs * hp.iterations_per_epoch
        scale = min(1.0, g_steps / full)
        self.pretrain_steps = round(pretrain * scale)
        self.epoch_length = hp.iterations_per_epoch * scale  # steps per game epoch
        self.pseudo_from = self.pretrain_steps + round((hp.pseudo_from_epoch - 1) * self.epoch_length)  # epochs count from 1
        self.anneal_from = self.pretrain_steps + round(hp.anneal_from_epoch * self.epoch_length)

    def learning_rate(self, step: int) -> float:
        """lr, times 0.995 for every epoch completed from epoch 300 on (the released code's annealing)."""
        if step < self.anneal_from:
            return self.hp.lr
        return self.hp.lr * self.hp.anneal_factor ** (int((step - self.anneal_from) / self.epoch_length) + 1)

    # -- the players' losses -------------------------------------------------------------------------
    def classifier_regularised_loss(self, labelled: Batch, unlabelled_logits: torch.Tensor, balance_weight: float) -> torch.Tensor:
        """R_L (cross-entropy on labelled data) + entropy and class-balance terms on unlabelled data +
        weight decay on C's last layer: the released code's `categorical_crossentropy_ssl_separated`."""
        hp = self.hp
        supervised = F.cross_entropy(self.C(to_unit_interval(labelled.images)), labelled.labels)
        return (supervised + hp.entropy_weight * conditional_entropy(unlabelled_logits)
                + balance_weight * cross_entropy_to_uniform_of_mean(unlabelled_logits)
                + hp.weight_decay * self.C.out.weight.square().sum())

    def generator_labels(self) -> torch.Tensor:
        k = self.data.num_classes
        return torch.arange(k, device=self.device).repeat_interleave(max(1, self.hp.g_batch_size // k))

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.rand(n, self.hp.z_dim, device=self.device, generator=generator)

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        batch = real[-1]
        if batch.labelled is None:
            raise ValueError("Triple-GAN needs labelled pairs: run it semi-supervised (gan-bench run triple-gan --labels N)")
        hp, labelled = self.hp, batch.labelled
        x_u = to_unit_interval(batch.images)
        if step < self.pretrain_steps:  # pretraining C on all 500 unlabelled images of the batch
            loss = self.classifier_regularised_loss(labelled, self.C(x_u), hp.pretrain_balance_weight)
            self.update(self.opt_C_pretrain, loss)
            self.update_average()
            return {"loss_c": loss.detach()}
        for opt in (self.opt_C, self.opt_G, self.opt_D):
            for group in opt.param_groups:
                group["lr"] = self.learning_rate(step)
        n_c = max(1, round(len(x_u) * hp.c_unlabelled_fraction))
        x_c, x_d = x_u[:n_c], x_u[n_c:] if len(x_u) > n_c else x_u
        y_g = self.generator_labels()

        # D: data pairs (labelled, and C's argmax pseudo-labels on D's unlabelled batch) against C's and G's.
        with torch.no_grad():
            y_d, y_c = self.C(x_d).argmax(1), self.C(x_c).argmax(1)
            x_g = self.G(self.noise(len(y_g)), y_g)
        x_l = to_unit_interval(labelled.images[: hp.d_labelled_batch_size])
        d_data = self.D(torch.cat([x_l, x_d]), torch.cat([labelled.labels[: hp.d_labelled_batch_size], y_d]))
        loss_d = triple_d_loss(d_data, self.D(x_c, y_c), self.D(x_g, y_g), hp.alpha)
        self.update(self.opt_D, loss_d)

        # G: its pairs should pass for data (through a fixed D).
        with frozen(self.D):
            loss_g = triple_g_loss(self.D(self.G(self.noise(len(y_g)), y_g), y_g), hp.alpha)
        self.update(self.opt_G, loss_g)

        # C: its pairs should pass for data, plus R_L and the regularisers, plus R_P once switched on.
        logits = self.C(x_c)
        confidence, y_hat = F.softmax(logits, dim=1).max(dim=1)
        with torch.no_grad():
            d_classified = self.D(x_c, y_hat)
        loss_c = triple_c_adversarial_loss(d_classified, confidence, hp.alpha)
        loss_c = loss_c + self.classifier_regularised_loss(labelled, logits, hp.balance_weight)
        logs = {}
        if step >= self.pseudo_from:
            with torch.no_grad():
                x_p = self.G(self.noise(len(y_g)), y_g)
            pseudo = F.cross_entropy(self.C(x_p), y_g)
            loss_c = loss_c + hp.pseudo_weight * pseudo
            logs["pseudo_ce"] = pseudo.detach()
        self.update(self.opt_C, loss_c)
        self.update_average()
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "loss_c": loss_c.detach(), **logs}

    @torch.no_grad()
    def update_average(self) -> None:
        rate = self.hp.average_rate
        for average, current in zip(self.C_average.state_dict().values(), self.C.state_dict().values()):
            if average.is_floating_point():
                average.add_(current - average, alpha=rate)
            else:
                average.copy_(current)

    def classify(self, images: torch.Tensor) -> torch.Tensor:
        """The moving average of C's weights, in eval mode (the released code evaluates this average)."""
        return self.C_average(to_unit_interval(images))

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        z = self.noise(n, generator)
        labels = self.random_labels(n, generator) if labels is None else labels.to(self.device)
        with self.sampling_mode(self.G):
            return from_unit_interval(self.G(z, labels))


REPRODUCTION = TripleGAN
