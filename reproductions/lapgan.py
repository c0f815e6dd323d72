"""LAPGAN — Denton, Chintala, Szlam & Fergus, "Deep Generative Image Models using a Laplacian Pyramid
of Adversarial Networks", NIPS 2015 (arXiv 1506.05751).

Read alongside the paper's Laplacian-pyramid and LAPGAN sections (Figures 1 and 2) and its "Model
Architecture & Training" section (the CIFAR10/STL paragraphs), with the released Torch code
(github.com/facebook/eyescream, `cifar/`) for what the text leaves out. Section titles are cited
rather than numbers, as the arXiv and NIPS versions number them differently.

The Laplacian pyramid:
- d(.) blurs and decimates a j×j image to j/2×j/2; u(.) smooths and expands it to 2j×2j. The Gaussian
  pyramid is I_0 = I, I_{k+1} = d(I_k), down to a coarsest level of at most 8×8 (K levels below I_0).
- The band-pass coefficients are h_k = I_k - u(I_{k+1}) for k < K, and h_K = I_K, the low-pass
  residual. The representation is invertible: I_k = u(I_{k+1}) + h_k, applied from K down to 0.

LAPGAN, one conditional GAN per level (the GAN value function and its conditional form, eq. 1-2):
- Coarsest level: a plain GAN, h̃_K = G_K(z_K); D_K sees h_K or h̃_K only.
- Every finer level k < K: G_k(z_k, l_k) generates the band-pass image h̃_k, conditioned on the
  low-pass image l_k = u(I_{k+1}); D_k sees h_k or h̃_k "along with the low-pass image l_k (which is
  explicitly added to h_k or h̃_k before the first convolution layer)", and judges real vs generated.
- Training (Figure 2): the pyramid of each *real* training image supplies l_k and h_k, so the levels
  are trained independently of one another; D's real/generated choice is made "with equal
  probability" (the released code: half a minibatch real, half generated).
- Sampling (Figure 1): Ĩ_{K} = G_K(z_K), then Ĩ_k = u(Ĩ_{k+1}) + G_k(z_k, u(Ĩ_{k+1})) down to Ĩ_0.

"Model Architecture & Training", CIFAR10 (3 levels, 8×8 → 16×16 → 32×32 here; 7 → 14 → 28 for 28 px):
- Initial scale: densely connected G_K and D_K with 2 hidden layers and ReLU; D_K uses dropout and
  has 600 units per layer against 1200 for G_K; z_K is 100-d, uniform in [-1, 1].
- Subsequent scales: G_k and D_k are convnets of 3 and 2 layers; z_k is "a 4th 'color plane'" next to
  l_k. Released code (train_cifar_coarse_to_fine.lua): G_k = conv 7×7 → ReLU → conv 7×7 → ReLU →
  conv 5×5, all 'same'-padded, 64 channels, linear output; D_k = (h + l) → conv 5×5 → ReLU → conv
  5×5 stride 2 → ReLU → dropout → linear → sigmoid, 64 channels.
- Class-conditional CC-LAPGAN (optional here, `class_conditional`): the one-hot label goes through a
  linear layer reshaped to one extra feature plane (released code: linear → ReLU → plane, joined to
  the input maps of the conv levels; at the dense coarsest level it is concatenated to the input).
- Optimisation: SGD, lr 0.02 decreased by a factor (1 + 4e-5) every epoch, momentum 0.5 rising by
  0.0008 per epoch to at most 0.8. Torch's optim.sgd dampens momentum by the momentum itself
  (v ← μ v + (1 - μ) g), which is reproduced with PyTorch's `dampening`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction

from reproductions.parts.blocks import conv_out
from reproductions.parts.losses import binary_accuracy, d_loss_gan, g_loss_nonsaturating


@dataclass(frozen=True)
class Hyperparameters:
    coarsest: int = 8  # K is chosen so the last level is at most 8×8 (32 → 16 → 8; 28 → 14 → 7)
    class_conditional: bool = False  # CC-LAPGAN; the unconditional model is the paper's main one
    # Initial scale (dense nets).
    z_dim: int = 100  # z_K: 100-d, uniform in [-1, 1]
    g_hidden: int = 1200  # G_K: 1200 units per hidden layer
    d_hidden: int = 600  # D_K: 600 units per hidden layer
    dropout: float = 0.5  # D's dropout (nn.Dropout's default p = 0.5 in the released code)
    g_init_std: float = 0.05  # released code's dense G: weights N(0, 0.05), biases 0
    d_init_std: float = 0.005  # released code's dense D: weights N(0, 0.005), biases 0
    # Subsequent scales (convnets): the released code's --hidden_G / --hidden_D.
    g_width: int = 64
    d_width: int = 64
    # Optimisation.
    d_steps_per_g_step: int = 1  # the released code's --K
    lr: float = 0.02
    lr_decay: float = 1.00004  # lr divided by this every epoch
    min_lr: float = 1e-6  # the released code's floor
    momentum_start: float = 0.5
    momentum_step: float = 0.0008  # added every epoch …
    momentum_max: float = 0.8  # … up to this
    # An epoch in images: the released code trains on CIFAR-10's first 45,000 images (5,000 held out).
    epoch_images: int = 45_000


# -- the Laplacian pyramid --------------------------------------------------------------------------
def downsample(image: torch.Tensor) -> torch.Tensor:
    """d(.): blur and decimate by 2 — the mean of each 2×2 block."""
    return F.avg_pool2d(image, 2)


def upsample(image: torch.Tensor) -> torch.Tensor:
    """u(.): smooth and expand by 2 — bilinear interpolation."""
    return F.interpolate(image, scale_factor=2, mode="bilinear", align_corners=False)


def level_sizes(resolution: int, coarsest: int = 8) -> list[int]:
    """Sides of I_0 … I_K: halve until the level is at most `coarsest` pixels (an even side halves exactly)."""
    sizes = [resolution]
    while sizes[-1] > coarsest:
        if sizes[-1] % 2:
            raise ValueError(f"LAPGAN halves the image down to ≤{coarsest} px; {resolution} px reaches odd {sizes[-1]}")
        sizes.append(sizes[-1] // 2)
    if len(sizes) < 2:
        raise ValueError(f"LAPGAN needs at least one band-pass level: {resolution} px is already ≤{coarsest} px")
    return sizes


def gaussian_pyramid(image: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """[I_0, …, I_K] with K = levels - 1: I_{k+1} = d(I_k)."""
    pyramid = [image]
    for _ in range(levels - 1):
        pyramid.append(downsample(pyramid[-1]))
    return pyramid


def laplacian_pyramid(image: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """[h_0, …, h_{K-1}, h_K]: h_k = I_k - u(I_{k+1}), and h_K = I_K, the low-pass residual."""
    gauss = gaussian_pyramid(image, levels)
    return [fine - upsample(coarse) for fine, coarse in pairwise(gauss)] + [gauss[-1]]


def reconstruct(pyramid: Sequence[torch.Tensor]) -> torch.Tensor:
    """I_0 from [h_0, …, h_K]: I_K = h_K, then I_k = u(I_{k+1}) + h_k."""
    image = pyramid[-1]
    for band in reversed(pyramid[:-1]):
        image = upsample(image) + band
    return image


# -- networks ------------------------------------------------------------------------------------
def uniform_noise(shape: Sequence[int], device: torch.device, generator: torch.Generator | None) -> torch.Tensor:
    """The paper's noise: uniform in [-1, 1]."""
    return torch.rand(*shape, device=device, generator=generator) * 2 - 1


class ClassPlane(nn.Module):
    """CC-LAPGAN: the one-hot label → linear → ReLU → one size×size feature map (the released code)."""

    def __init__(self, num_classes: int, size: int):
        super().__init__()
        self.num_classes, self.size = num_classes, size
        self.linear = nn.Linear(num_classes, size * size)

    def forward(self, labels: torch.Tensor) -> torch.Tensor:
        plane = F.relu(self.linear(F.one_hot(labels, self.num_classes).float()))
        return plane.view(labels.shape[0], 1, self.size, self.size)


class CoarseGenerator(nn.Module):
    """G_K (initial scale): z_K [+ one-hot class] → 1200 ReLU → 1200 ReLU → the C×s×s low-pass image.

    The output layer is tanh: the low-pass image of a picture in [-1, 1] stays in [-1, 1] (d(.) averages)."""

    def __init__(self, z_dim: int, hidden: int, channels: int, size: int, num_classes: int):
        super().__init__()
        self.shape, self.num_classes = (channels, size, size), num_classes
        self.net = nn.Sequential(
            nn.Linear(z_dim + num_classes, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, channels * size * size), nn.Tanh(),
        )

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.num_classes:
            z = torch.cat([z, F.one_hot(labels, self.num_classes).float()], dim=1)
        return self.net(z).view(z.shape[0], *self.shape)


class CoarseDiscriminator(nn.Module):
    """D_K (initial scale): h_K [+ one-hot class] → 600 ReLU → dropout → 600 ReLU → dropout → one logit."""

    def __init__(self, hidden: int, channels: int, size: int, num_classes: int, dropout: float):
        super().__init__()
        self.num_classes = num_classes
        self.net = nn.Sequential(
            nn.Linear(channels * size * size + num_classes, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, 1),  # the sigmoid lives in the loss
        )

    def forward(self, h: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        x = h.flatten(1)
        if self.num_classes:
            x = torch.cat([x, F.one_hot(labels, self.num_classes).float()], dim=1)
        return self.net(x).flatten()


class BandPassGenerator(nn.Module):
    """G_k (subsequent scales): [l_k, z_k plane (, class plane)] → conv 7×7 → ReLU → conv 7×7 → ReLU →
    conv 5×5 → h̃_k. 'Same' padding keeps the level's size; the output is linear, as a band-pass image
    is signed and small (the released code has no output non-linearity)."""

    def __init__(self, channels: int, width: int, size: int, num_classes: int):
        super().__init__()
        self.class_plane = ClassPlane(num_classes, size) if num_classes else None
        extra = 1 + (1 if num_classes else 0)
        self.net = nn.Sequential(
            nn.Conv2d(channels + extra, width, 7, padding=3), nn.ReLU(),
            nn.Conv2d(width, width, 7, padding=3), nn.ReLU(),
            nn.Conv2d(width, channels, 5, padding=2),
        )

    def forward(self, z: torch.Tensor, low: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        maps = [z] + ([self.class_plane(labels)] if self.class_plane is not None else []) + [low]
        return self.net(torch.cat(maps, dim=1))


class BandPassDiscriminator(nn.Module):
    """D_k (subsequent scales): (h_k + l_k) [+ class plane] → conv 5×5 → ReLU → conv 5×5 stride 2 → ReLU →
    dropout → linear → one logit. The low-pass image is added before the first convolution, so D_k
    judges the image at level k that h_k would complete."""

    def __init__(self, channels: int, width: int, size: int, num_classes: int, dropout: float):
        super().__init__()
        self.class_plane = ClassPlane(num_classes, size) if num_classes else None
        extra = 1 if num_classes else 0
        side = conv_out(conv_out(size, 5, 1, 0), 5, 2, 0)
        self.net = nn.Sequential(
            nn.Conv2d(channels + extra, width, 5), nn.ReLU(),
            nn.Conv2d(width, width, 5, stride=2), nn.ReLU(),
            nn.Flatten(), nn.Dropout(dropout), nn.Linear(width * side * side, 1),
        )

    def forward(self, h: torch.Tensor, low: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        x = h + low
        if self.class_plane is not None:
            x = torch.cat([x, self.class_plane(labels)], dim=1)
        return self.net(x).flatten()


class LaplacianGenerator(nn.Module):
    """The generators G_0 … G_K. `forward` runs every level on given low-pass images (training: each
    level on the real pyramid); `chain` runs them coarse to fine, each on the one above (sampling)."""

    def __init__(self, hp: Hyperparameters, channels: int, sizes: Sequence[int], num_classes: int):
        super().__init__()
        self.sizes = list(sizes)
        self.levels = nn.ModuleList(
            [BandPassGenerator(channels, hp.g_width, s, num_classes) for s in sizes[:-1]]
            + [CoarseGenerator(hp.z_dim, hp.g_hidden, channels, sizes[-1], num_classes)]
        )

    def forward(self, noises: Sequence[torch.Tensor], lows: Sequence[torch.Tensor],
                labels: torch.Tensor | None = None) -> list[torch.Tensor]:
        """[h̃_0, …, h̃_K]: h̃_k = G_k(z_k, l_k) for k < K and h̃_K = G_K(z_K)."""
        *bands, coarse = self.levels
        return [g(z, low, labels) for g, z, low in zip(bands, noises, lows)] + [coarse(noises[-1], labels)]

    def chain(self, noises: Sequence[torch.Tensor], labels: torch.Tensor | None = None) -> torch.Tensor:
        """Figure 1: Ĩ_K = G_K(z_K); Ĩ_k = u(Ĩ_{k+1}) + G_k(z_k, u(Ĩ_{k+1})); returns Ĩ_0."""
        image = self.levels[-1](noises[-1], labels)
        for k in reversed(range(len(self.levels) - 1)):
            low = upsample(image)
            image = low + self.levels[k](noises[k], low, labels)
        return image


class LaplacianDiscriminator(nn.Module):
    """The discriminators D_0 … D_K, one logit vector per level: D_k(h_k, l_k) and D_K(h_K)."""

    def __init__(self, hp: Hyperparameters, channels: int, sizes: Sequence[int], num_classes: int):
        super().__init__()
        self.levels = nn.ModuleList(
            [BandPassDiscriminator(channels, hp.d_width, s, num_classes, hp.dropout) for s in sizes[:-1]]
            + [CoarseDiscriminator(hp.d_hidden, channels, sizes[-1], num_classes, hp.dropout)]
        )

    def forward(self, bands: Sequence[torch.Tensor], lows: Sequence[torch.Tensor],
                labels: torch.Tensor | None = None) -> list[torch.Tensor]:
        *fine, coarse = self.levels
        return [d(h, low, labels) for d, h, low in zip(fine, bands, lows)] + [coarse(bands[-1], labels)]


def init_dense(module: nn.Module, std: float) -> None:
    """The released code's dense nets: weights N(0, std), biases 0 (conv levels keep Torch's default,
    U(±1/√fan_in), which is also PyTorch's)."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            nn.init.normal_(layer.weight, 0.0, std)
            nn.init.zeros_(layer.bias)


def sgd_schedule(epoch: int, hp: Hyperparameters) -> tuple[float, float]:
    """(lr, momentum) after `epoch` whole epochs: lr / (1 + 4e-5)^epoch, momentum 0.5 + 0.0008·epoch ≤ 0.8."""
    lr = max(hp.lr / hp.lr_decay**epoch, hp.min_lr)
    return lr, min(hp.momentum_start + hp.momentum_step * epoch, hp.momentum_max)


def set_torch7_sgd(optimizer: torch.optim.SGD, lr: float, momentum: float) -> None:
    """Torch's optim.sgd: dampening defaults to the momentum, v ← μv + (1 - μ)g (the first step takes g)."""
    for group in optimizer.param_groups:
        group["lr"], group["momentum"], group["dampening"] = lr, momentum, momentum


class LAPGAN(Reproduction):
    Hyperparameters = Hyperparameters

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        if hp.class_conditional and data.num_classes < 2:
            raise ValueError("CC-LAPGAN needs a labelled dataset (num_classes ≥ 2)")
        self.conditional = hp.class_conditional  # scored on uniformly drawn labels when set
        self.num_classes = data.num_classes if hp.class_conditional else 0
        self.sizes = level_sizes(data.resolution, hp.coarsest)
        self.G = LaplacianGenerator(hp, data.channels, self.sizes, self.num_classes).to(device)
        self.D = LaplacianDiscriminator(hp, data.channels, self.sizes, self.num_classes).to(device)
        init_dense(self.G.levels[-1], hp.g_init_std)
        init_dense(self.D.levels[-1], hp.d_init_std)
        # One SGD per player over all its levels: SGD updates each parameter from its own gradient only,
        # and each level's parameters get gradients from that level's loss only, so this is exactly
        # K + 1 independent optimisers sharing the paper's schedule.
        lr, momentum = sgd_schedule(0, hp)
        self.opt_G = torch.optim.SGD(self.G.parameters(), lr=lr, momentum=momentum, dampening=momentum)
        self.opt_D = torch.optim.SGD(self.D.parameters(), lr=lr, momentum=momentum, dampening=momentum)
        self._batch_size: int | None = None

    @property
    def levels(self) -> int:
        return len(self.sizes)

    def plan(self, g_steps: int, batch_size: int) -> None:
        self._batch_size = batch_size  # the global batch, to count epochs in images

    def noise(self, n: int, generator: torch.Generator | None = None) -> list[torch.Tensor]:
        """[z_0, …, z_K]: one noise plane per band-pass level (its "4th color plane") and the 100-d z_K."""
        planes = [uniform_noise((n, 1, s, s), self.device, generator) for s in self.sizes[:-1]]
        return planes + [uniform_noise((n, self.hp.z_dim), self.device, generator)]

    def _schedule(self, step: int, images_per_step: int) -> None:
        epoch = step * images_per_step // self.hp.epoch_images  # the code updates at each epoch's end
        lr, momentum = sgd_schedule(epoch, self.hp)
        set_torch7_sgd(self.opt_G, lr, momentum)
        set_torch7_sgd(self.opt_D, lr, momentum)

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        self._schedule(step, (self._batch_size or len(real[0])) * len(real))
        labels = None
        # D: for every level at once, h_k and l_k from the real images' own pyramids against h̃_k generated
        # on the low-pass images of *other* real images: the released code (conditional_adversarial.lua)
        # fills the generated half's cond_inputs from freshly drawn random images, here a random
        # permutation of the batch. Real and generated examples share one minibatch, as in that code;
        # its BCECriterion averages over all of them, which is half of d_loss_gan (a mean over each half).
        for batch in real:
            n = len(batch)
            labels = batch.labels if self.conditional else None
            bands = laplacian_pyramid(batch.images, self.levels)
            lows = [upsample(coarse) for coarse in gaussian_pyramid(batch.images, self.levels)[1:]]
            others = torch.randperm(n, device=self.device)
            fake_lows = [low[others] for low in lows]
            fake_labels = None if labels is None else labels[others]
            with torch.no_grad():
                fakes = self.G(self.noise(n), fake_lows, fake_labels)
            both = [torch.cat([r, f]) for r, f in zip(bands, fakes)]
            logits = self.D(both, [torch.cat([low, fake_low]) for low, fake_low in zip(lows, fake_lows)],
                            None if labels is None else torch.cat([labels, fake_labels]))
            d_real, d_fake = [x[:n] for x in logits], [x[n:] for x in logits]
            d_losses = [0.5 * d_loss_gan(r, f) for r, f in zip(d_real, d_fake)]
            self.update(self.opt_D, torch.stack(d_losses).sum())

        # G: the released code's G step uses a whole minibatch (2n) of generated examples, each
        # conditioned on a real low-pass image (here the last batch's, each twice with fresh noise),
        # and maximises log D(G(z)) (BCE towards "real").
        lows2 = [torch.cat([low, low]) for low in lows]
        labels2 = None if labels is None else torch.cat([labels, labels])
        fakes = self.G(self.noise(2 * n), lows2, labels2)
        g_losses = [g_loss_nonsaturating(x) for x in self.D(fakes, lows2, labels2)]
        self.update(self.opt_G, torch.stack(g_losses).sum())

        out = {"loss_d": torch.stack(d_losses).sum().detach(), "loss_g": torch.stack(g_losses).sum().detach(),
               "d_accuracy": torch.stack([binary_accuracy(r, f) for r, f in zip(d_real, d_fake)]).mean().detach()}
        for k, (ld, lg) in enumerate(zip(d_losses, g_losses)):
            out[f"loss_d_{k}"], out[f"loss_g_{k}"] = ld.detach(), lg.detach()
        return out

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """Figure 1's coarse-to-fine chain, clamped to [-1, 1] (the sum u(Ĩ_1) + h̃_0 is unbounded)."""
        noises = self.noise(n, generator)
        if self.conditional:
            if labels is None:
                labels = torch.randint(self.data.num_classes, (n,), device=self.device, generator=generator)
            labels = labels.to(self.device)
        else:
            labels = None
        return self.G.chain(noises, labels).clamp(-1, 1)


REPRODUCTION = LAPGAN
