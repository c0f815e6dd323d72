"""PacGAN — Lin, Khetan, Fanti & Oh, "PacGAN: The power of two samples in generative adversarial
networks", NeurIPS 2018 (arXiv 1712.04086).

Read alongside section 2 ("PacGAN: a novel framework for mitigating mode collapse"), section 3
("Experiments") and the authors' code (github.com/fjxmlzn/PacGAN):

- Section 2: the packed discriminator D(x_1, ..., x_m) sees m samples that are all real or all
  generated, "concatenated" at its input; the rest of the GAN is unchanged. m = 1 is the baseline GAN
  (PacGAN's Table 1 "GAN" row is this code with packing 1).
- Packing (the code): fully connected D's get the m points side by side (input m·2,
  `LinearMaxout(input_dim=num_xdim * num_packing)`); convolutional D's get the m images stacked along
  channels (`c_dim = 3 * packing_num`, `tf.concat(G_sep, 3)`). G is applied to each of the m noise
  batches separately (`for z in zs: decoder.apply(z)`), so batchnorm statistics are per batch, and the
  j-th pack holds the j-th sample of every batch. Real packs are m independent draws.
- Objective: eq. 1's D loss; G's non-saturating loss (pacgan/bricks.py: softplus(-D(G(z))), plus a
  data term constant in G).
- 2D nets (synthetic_data_experiments/2DRing_GAN&PacGAN/pacgan_task.py and config.py): G 2 -> 4x400
  (Linear without bias, BN, ReLU) -> 2; D 3 maxout layers (200 units, 5 pieces) -> 1; weights
  N(0, 0.02); Adam lr 1e-4, β1 0.8; batch 100 packs; 400 epochs of 100,000 points; D and G updated
  together from the same parameters (ALI's `ali_algorithm`).
- Stacked MNIST, Table 3 (stacked_MNIST_experiments/unrolled_GAN_experiment/D=0.25G): Metz et al.'s
  small conv nets (reproductions.parts.mode_nets), D lr 2e-4, G lr 1e-4, β = (0.5, 0.99), batch 128, D then G
  each iteration on the same noise. Table 2 packs the DCGAN of `reproductions.dcgan` (architecture=dcgan).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal, Sequence

import torch
from torch import nn

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction

from reproductions import dcgan
from reproductions.parts.losses import binary_accuracy, d_loss_gan, g_loss_nonsaturating
from reproductions.parts.mode_nets import (Activation, Init, MaxoutMLP, SmallDCDiscriminator, SmallDCGenerator,
                                           adams, initialise_on, mlp)


@dataclass(frozen=True)
class Hyperparameters:
    packing: int = 2  # m: samples per D input (1 = the unpacked GAN baseline)
    architecture: Literal["mlp", "dcgan", "small-dc"] = "mlp"
    z_dim: int = 2
    g_hidden: int = 400  # mlp G
    g_layers: int = 4
    g_batchnorm: bool = True
    bn_momentum: float = 0.05  # running statistics = 0.05 * batch + 0.95 * running (pacgan_task.py bn_updates)
    g_activation: Activation = "relu"
    d_units: int = 200  # mlp maxout D
    d_pieces: int = 5
    d_layers: int = 3
    d_width: int = 2  # small-dc D's first width (2: "D is 1/4 the size of G"); dcgan: its d_width
    g_width: int = 64  # dcgan G's g_width
    init: Init = "normal"
    init_scale: float = 0.02
    g_lr: float = 1e-4
    d_lr: float = 1e-4
    beta1: float = 0.8
    beta2: float = 0.999
    simultaneous_updates: bool = True  # the 2D code (ali_algorithm); the Stacked MNIST code alternates


def pack(samples: torch.Tensor, m: int) -> torch.Tensor:
    """(n·m + r, *shape) -> (n, m·shape[0], *shape[1:]): consecutive groups of m samples become one D
    input, side by side along the first feature axis (points' coordinates, images' channels). A batch
    counts samples, so the paper's 100 packs are a batch of 100·m; r < m left-over samples are unused."""
    packs = samples.shape[0] // m
    if packs == 0:
        raise ValueError(f"a batch of {samples.shape[0]} samples holds no pack of {m}")
    return samples[: packs * m].reshape(packs, m * samples.shape[1], *samples.shape[2:])


class PacGAN(Reproduction):
    Hyperparameters = Hyperparameters
    data_kinds: ClassVar[tuple[str, ...]] = ("points", "images")

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        m = hp.packing
        if m < 1:
            raise ValueError(f"packing must be >= 1, got {m}")
        if hp.architecture == "mlp":
            self.G = mlp(hp.z_dim, hp.g_hidden, hp.g_layers, data.features, hp.g_activation, hp.g_batchnorm,
                         hp.bn_momentum)
            self.D = MaxoutMLP(m * data.features, hp.d_units, hp.d_pieces, hp.d_layers)
        elif hp.architecture == "small-dc":
            self.G = SmallDCGenerator(hp.z_dim, data.channels)
            self.D = SmallDCDiscriminator(m * data.channels, hp.d_width)
        else:
            self.G = dcgan.Generator(hp.z_dim, data.channels, data.resolution, hp.g_width)
            self.D = dcgan.Discriminator(m * data.channels, data.resolution, hp.d_width, 0.2)
        initialise_on(device, hp.init, hp.init_scale, self.G, self.D)
        self.opt_G, self.opt_D = adams((hp.g_lr, hp.d_lr), (hp.beta1, hp.beta2), self.G, self.D)

    # Seeds stack (harness.stacked_seeds) when each seed's batch is whole packs: tests/test_stacked_seeds.py
    stackable_seeds: ClassVar[bool] = True

    def check_stackable(self, batch_size: int) -> None:
        if batch_size % self.hp.packing:  # the left-over samples would pack with the next seed's
            raise ValueError(f"a batch of {batch_size} is not whole packs of {self.hp.packing}")

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        return self.G(z).view(z.shape[0], *self.data.shape)

    def discriminate(self, packs: torch.Tensor) -> torch.Tensor:
        return self.D(packs.flatten(1) if self.hp.architecture == "mlp" else packs).flatten()

    def packed_fakes(self, packs: int) -> torch.Tensor:
        """m separate G batches of `packs` samples; pack j holds sample j of each (the authors' layout)."""
        batches = [self.generate(self.noise(packs)) for _ in range(self.hp.packing)]
        return torch.cat(batches, dim=1)

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        x = pack(real[-1].images, self.hp.packing)  # the harness's batch holds packs x m points
        fake = self.packed_fakes(len(x))
        d_real, d_fake = self.discriminate(x), self.discriminate(fake.detach())
        loss_d = d_loss_gan(d_real, d_fake)
        if self.hp.simultaneous_updates:
            # G's gradient through the D that D's gradient is taken at (ali_algorithm).
            loss_g = g_loss_nonsaturating(self.discriminate(fake))
            grads_g = torch.autograd.grad(loss_g, list(self.G.parameters()))
            self._step(self.opt_D, self.D, torch.autograd.grad(loss_d, list(self.D.parameters())))
            self._step(self.opt_G, self.G, grads_g)
        else:
            self._step(self.opt_D, self.D, torch.autograd.grad(loss_d, list(self.D.parameters())))
            loss_g = g_loss_nonsaturating(self.discriminate(fake))  # the same noise, the updated D
            self._step(self.opt_G, self.G, torch.autograd.grad(loss_g, list(self.G.parameters())))
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(),
                "d_accuracy": binary_accuracy(d_real, d_fake).detach()}

    @staticmethod
    def _step(opt: torch.optim.Optimizer, net: nn.Module, grads: Sequence[torch.Tensor]) -> None:
        for p, g in zip(net.parameters(), grads):
            p.grad = g
        opt.step()

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        with self.sampling_mode(self.G):  # batchnorm from running statistics: no sample depends on its batch-mates
            return self.generate(self.noise(n, generator))


REPRODUCTION = PacGAN
