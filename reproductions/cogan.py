"""CoGAN — Liu & Tuzel, "Coupled Generative Adversarial Networks", NIPS 2016 (arXiv 1606.07536).

Read alongside section 3 (eqs. 1-4) and section 5's digit experiments ("Digits": digits/edges and
digits/negative images of MNIST). CoGAN learns a *joint* distribution of two domains from samples of
each marginal only — no pair of corresponding images is ever shown:

- Two GANs, one per domain. G1 and G2 both read the same z; the first (high-level) layers of the two
  generators share their weights, only the last layer(s) are their own (section 3, "Generators").
  Shared high-level decoding makes the pair (G1(z), G2(z)) a pair of corresponding images.
- The discriminators mirror this: their first layers (low-level features) are their own, their last
  layers share weights (section 3, "Discriminators").
- Objective (eq. 4): the sum of the two GAN games,
      max_g min_f  V = E_x1[-log f1(x1)] + E_z[-log(1 - f1(g1(z)))] + E_x2[-log f2(x2)] + E_z[-log(1 - f2(g2(z)))],
  subject to the weight-sharing constraints; both games use the same z, and G takes the
  non-saturating step (the authors' code flips the fake labels for the G update).

Architecture: the supplementary material's MNIST table, as both official implementations build it
(mingyuliutw/CoGAN: the Caffe net of cogan/scripts/run_mnist.edge.cogan.sh and its PyTorch port,
cogan_pytorch/src/net_cogan_mnistedge.py):
- G: z (100) → FCONV 4×4 to 1024·4·4 → 3×3 stride-2 deconvs 512 → 256 → 128 (4→7→13→25), each with
  batch norm and PReLU, all four layers shared → per-domain 6×6 deconv to 28×28 + sigmoid.
- D: per-domain 5×5 conv 20 + 2×2 max-pool → shared 5×5 conv 50 + max-pool → FC 500 + PReLU → FC to
  one logit (the code's 2-way softmax is the same model). As in the table and both codes, the convs
  have no activation: max-pooling is their only non-linearity.

Training, where the two codes differ, follows the PyTorch port (trainer_cogan_mnistedge.py), the
one we could check trains: Adam lr 2e-4, β = (0.5, 0.999), weight decay 5e-4 on every parameter;
z ~ N(0, I); Xavier-uniform weights with gain √2 and biases 0.1; no dropout. The Caffe net instead
draws z ~ U[-1, 1], initialises with MSRA (whose 6×6 output deconv starts with pre-sigmoid std ≈ 10,
so the output is saturated and in our CPU runs D won within 100 steps and G collapsed) and has
dropout 0.5 after FC-500: `init="msra"`, `noise="uniform"`, `d_dropout=0.5` select those.
The `paper` budget is the Caffe solver's: 50,000 alternating D/G iterations = 25,000 G steps at 128
images of each domain (the port runs 5,000 at 64).

`g_shared_layers` / `d_shared_layers` set how many layers are shared (section 5, Figure 3 varies them).

Sampling for the harness: `labels` are domain indices. A call whose labels alternate (0,1,0,1,… or
1,0,1,0,…) returns coupled pairs: samples 2k and 2k+1 share one z, so the sample grid shows the
joint distribution. Any other call (e.g. all 0 or all 1, as the per-domain scoring uses) draws one z
per sample. `pixel_agreement` is the paper's digit-experiment measure of how well the pairs correspond.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

import torch
from torch import nn

from harness.batches import Batch, to_uint8, to_unit_range
from harness.reproduction import DataSpec, Reproduction
from harness.two_domain import edges, negatives

from reproductions.parts.losses import binary_accuracy, d_loss_gan, g_loss_nonsaturating

G_LAYERS = 5  # the supplementary table's generator: four shareable layers and the output layer
D_LAYERS = 4  # and its discriminator: conv, conv, FC 500, the output FC


@dataclass(frozen=True)
class Hyperparameters:
    z_dim: int = 100  # both codes' 100-dim noise
    noise: Literal["normal", "uniform"] = "normal"  # the port's torch.randn; the Caffe net's U[-1, 1]
    g_width: int = 128  # channels of G's last hidden layer; doubling towards z: 1024, 512, 256, 128
    d_conv1: int = 20  # D's first (per-domain) conv, then the shared conv and FC: 20, 50, 500
    d_conv2: int = 50
    d_hidden: int = 500
    d_dropout: float = 0.0  # the port has none; the Caffe net drops 0.5 after the FC-500 PReLU
    g_shared_layers: int = 4  # of G's 5: all but the output layer (the supplementary table)
    d_shared_layers: int = 3  # of D's 4: all but the first conv
    lr: float = 2e-4  # both codes: Adam, fixed rate 0.0002
    beta1: float = 0.5
    beta2: float = 0.999
    weight_decay: float = 5e-4  # both codes (the port on every parameter)
    init: Literal["xavier", "msra"] = "xavier"  # the port's xavier_weights_init; the Caffe net's "msra" filler


def generator_layers(hp: Hyperparameters, channels: int) -> list[nn.Module]:
    """The five layers of one generator, from z (as a 1×1 map) to the image: 1 → 4 → 7 → 13 → 25 → 28 px.

    Hidden layers: deconv → batch norm (no learnt scale or shift, as in the port) → PReLU. Their
    deconvs have no bias: the batch norm after them would remove it (the codes' biases there do nothing)."""
    w = hp.g_width
    widths = [hp.z_dim, 8 * w, 4 * w, 2 * w, w]  # z, 1024, 512, 256, 128
    layers: list[nn.Module] = []
    for i, (c_in, c_out) in enumerate(pairwise(widths)):
        if i == 0:  # the table's FCONV 4x4 from the 1x1 z
            deconv = nn.ConvTranspose2d(c_in, c_out, 4, 1, 0, bias=False)
        else:
            deconv = nn.ConvTranspose2d(c_in, c_out, 3, 2, 1, bias=False)
        layers.append(nn.Sequential(deconv, nn.BatchNorm2d(c_out, affine=False), nn.PReLU()))
    layers.append(nn.Sequential(nn.ConvTranspose2d(w, channels, 6, 1, 1), UnitToSigned()))
    return layers


def discriminator_layers(hp: Hyperparameters, channels: int) -> list[nn.Module]:
    """The four layers of one discriminator, from the image to the logit: 28 → 24 → 12 → 8 → 4 → 1.
    The two FC layers act on a 4×4 map and a 1×1 map, so they are written as 4×4 and 1×1 convs, as
    in the port (the same layers as the table's FC-500 and FC-1)."""
    return [
        nn.Sequential(nn.Conv2d(channels, hp.d_conv1, 5), nn.MaxPool2d(2)),
        nn.Sequential(nn.Conv2d(hp.d_conv1, hp.d_conv2, 5), nn.MaxPool2d(2)),
        nn.Sequential(nn.Conv2d(hp.d_conv2, hp.d_hidden, 4), nn.PReLU(), nn.Dropout(hp.d_dropout)),
        nn.Conv2d(hp.d_hidden, 1, 1),  # the logit; the sigmoid lives in the loss
    ]


class UnitToSigned(nn.Module):
    """The paper's sigmoid output on [0, 1], mapped onto the harness's [-1, 1]: 2σ(a) − 1."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(x).mul(2).sub(1)


class CoupledGenerator(nn.Module):
    """g1, g2 (section 3, eq. 1-2): a shared trunk of the first `shared` layers — one set of weights, run
    once on z — then each domain's own remaining layers."""

    def __init__(self, hp: Hyperparameters, channels: int, shared: int):
        super().__init__()
        layers = generator_layers(hp, channels)
        self.shared = nn.Sequential(*layers[:shared])
        # Each domain gets its own, freshly built copy of the layers that are not shared.
        self.heads = nn.ModuleList([nn.Sequential(*layers[shared:]),
                                    nn.Sequential(*generator_layers(hp, channels)[shared:])])

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A coupled pair of images (g1(z), g2(z)) from the same z."""
        h = self.trunk(z)
        return self.heads[0](h), self.heads[1](h)

    def trunk(self, z: torch.Tensor) -> torch.Tensor:
        return self.shared(z.view(z.shape[0], -1, 1, 1))

    def domain(self, z: torch.Tensor, index: int) -> torch.Tensor:
        return self.heads[index](self.trunk(z))


class CoupledDiscriminator(nn.Module):
    """f1, f2 (section 3): each domain's own first layers, then the last `shared` layers with one set of
    weights. Both domains' features go through the shared layers as one batch, as in the Caffe net
    (D has no batch norm, so this changes nothing but speed)."""

    def __init__(self, hp: Hyperparameters, channels: int, shared: int):
        super().__init__()
        own = D_LAYERS - shared
        self.stems = nn.ModuleList([nn.Sequential(*discriminator_layers(hp, channels)[:own]) for _ in range(2)])
        self.shared = nn.Sequential(*discriminator_layers(hp, channels)[own:])

    def forward(self, x_a: torch.Tensor, x_b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits (f1(x_a), f2(x_b)), shape (len(x_a),) and (len(x_b),)."""
        h = torch.cat([self.stems[0](x_a), self.stems[1](x_b)])
        logits = self.shared(h).flatten()
        return logits[: len(x_a)], logits[len(x_a):]


def init_weights(module: nn.Module, scheme: str) -> None:
    """"xavier": the port's xavier_weights_init — Xavier-uniform with gain √2, biases 0.1.
    "msra": the Caffe net's filler — N(0, 2/fan_in), biases 0 (PyTorch's fan_in of a ConvTranspose2d
    weight (in, out, k, k) is out·k·k, the count Caffe's filler uses too)."""
    if not isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        return
    if scheme == "xavier":
        nn.init.xavier_uniform_(module.weight, gain=math.sqrt(2))
        bias = 0.1
    else:
        nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
        bias = 0.0
    if module.bias is not None:
        nn.init.constant_(module.bias, bias)


# ------------------------------------------------------------------------------- pixel agreement
def _on_uint8(transform: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda images: to_unit_range(transform(to_uint8(images)))


# The images of domain 1 as the harness makes them from digits, for images in [-1, 1].
DOMAIN_TRANSFORMS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "edges": _on_uint8(edges),
    "negative": _on_uint8(negatives),
}


def pixel_agreement(images_a: torch.Tensor, images_b: torch.Tensor,
                    transform: Callable[[torch.Tensor], torch.Tensor], threshold: float = 0.0) -> torch.Tensor:
    """Section 5's measure for the digit tasks: apply the known domain transform (edge detection or
    negation) to each domain-1 image g1(z) and count how many pixels agree with its partner g2(z).

    Images are in [-1, 1]. Pixels are compared after binarising at `threshold` (the paper's exact
    comparison is not restated here; binarising makes the ratio insensitive to grey-level rounding).
    Returns the agreement ratio averaged over pixels and pairs, a scalar in [0, 1].
    """
    if images_a.shape != images_b.shape:
        raise ValueError(f"image pairs must have one shape, got {tuple(images_a.shape)} and {tuple(images_b.shape)}")
    expected = transform(images_a) > threshold
    return (expected == (images_b > threshold)).float().mean()


class CoGAN(Reproduction):
    Hyperparameters = Hyperparameters
    conditional = True  # labels are domain indices: each domain is scored on its own

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        if len(data.domains) != 2:
            raise ValueError(f"CoGAN needs a two-domain dataset (like mnist-edges), got {data.name!r} "
                             f"with domains {data.domains}")
        if data.resolution != 28:
            raise ValueError(f"CoGAN's digit networks are built for 28x28 images, got {data.resolution}")
        if not (0 <= hp.g_shared_layers < G_LAYERS and 0 <= hp.d_shared_layers < D_LAYERS):
            raise ValueError(f"g_shared_layers must be in 0..{G_LAYERS - 1} and d_shared_layers in 0..{D_LAYERS - 1}")
        super().__init__(data, hp, device)
        self.G = CoupledGenerator(hp, data.channels, hp.g_shared_layers).to(device)
        self.D = CoupledDiscriminator(hp, data.channels, hp.d_shared_layers).to(device)
        for net in (self.G, self.D):
            net.apply(lambda m: init_weights(m, hp.init))
        # parameters() yields a shared layer's weights once, so each optimiser step moves them once.
        betas = (hp.beta1, hp.beta2)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=hp.lr, betas=betas, weight_decay=hp.weight_decay)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=hp.lr, betas=betas, weight_decay=hp.weight_decay)

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """z ~ N(0, I) (the port) or U[-1, 1] (the Caffe net's uniform noise layer)."""
        if self.hp.noise == "uniform":
            return torch.rand(n, self.hp.z_dim, device=self.device, generator=generator).mul_(2).sub_(1)
        return torch.randn(n, self.hp.z_dim, device=self.device, generator=generator)

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        # The losses are the average of the two GANs' losses, half of eq. 4's sum, as the port's
        # cross-entropy over both domains' outputs normalises them. Adam ignores that scale except
        # against the weight decay, which this keeps as the port trains it.
        for batch in real:
            x_a, x_b = batch.domain(0), batch.domain(1)
            with torch.no_grad():
                fake_a, fake_b = self.G(self.noise(len(x_a)))  # one z per coupled pair
            real_a, real_b = self.D(x_a, x_b)
            out_a, out_b = self.D(fake_a, fake_b)
            loss_d = 0.5 * (d_loss_gan(real_a, out_a) + d_loss_gan(real_b, out_b))
            self.update(self.opt_D, loss_d)

        # G: both generators in one step, non-saturating (fakes labelled real). The shared trunk gets
        # the gradients of both domains' games, summed — this is what couples the two GANs.
        fake_a, fake_b = self.G(self.noise(len(real[-1].domain(0))))
        g_a, g_b = self.D(fake_a, fake_b)
        loss_g = 0.5 * (g_loss_nonsaturating(g_a) + g_loss_nonsaturating(g_b))
        self.update(self.opt_G, loss_g)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(),
                "d_accuracy": binary_accuracy(torch.cat([real_a, real_b]), torch.cat([out_a, out_b])).detach()}

    @staticmethod
    def _alternating(labels: torch.Tensor) -> bool:
        return len(labels) >= 2 and bool((labels[1:] != labels[:-1]).all())

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """Image i of domain labels[i]. Alternating labels give coupled pairs (2k and 2k+1 share z);
        otherwise each image has its own z. No labels: coupled pairs, domain 0 first."""
        if labels is None:
            labels = torch.arange(n, device=self.device) % 2
        labels = labels.to(self.device)
        if self._alternating(labels):
            z = self.noise((n + 1) // 2, generator).repeat_interleave(2, dim=0)[:n]
        else:
            z = self.noise(n, generator)
        images = torch.empty(n, self.data.channels, self.data.resolution, self.data.resolution, device=self.device)
        with self.sampling_mode(self.G):
            h = self.G.trunk(z)
            for index in (0, 1):
                rows = labels == index
                if rows.any():
                    images[rows] = self.G.heads[index](h[rows])
        return images

    @torch.no_grad()
    def coupled_agreement(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Pixel agreement of n generated pairs under the transform that defines domain 1 (section 5)."""
        transform = DOMAIN_TRANSFORMS[self.data.domains[1]]
        pairs = self.sample(2 * n, torch.arange(2 * n, device=self.device) % 2, generator)
        return pixel_agreement(pairs[0::2], pairs[1::2], transform)


REPRODUCTION = CoGAN
