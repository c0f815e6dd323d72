"""BigGAN — Brock, Donahue & Simonyan, "Large Scale GAN Training for High Fidelity Natural Image
Synthesis", ICLR 2019 (arXiv 1809.11096).

Read alongside section 3 ("Scaling up GANs"), section 3.1 (truncation trick, orthogonal
regularisation) and appendix B (architecture):

- Baseline (section 3): SAGAN — ResNet G and D, self-attention, spectral normalisation in G and D,
  hinge loss; "class information to G with class-conditional BatchNorm and to D with projection".
- Shared embedding (section 3): "instead of having a separate layer for each embedding, we opt to
  use a shared embedding, which is linearly projected to each layer's gains and biases".
- Hierarchical latent (section 3, appendix B): z is split into one chunk per resolution; the first
  chunk feeds the dense layer, every other chunk is concatenated with the shared embedding and
  conditions one ResBlock's BNs (`reproductions/parts/conditional.py`, `cond_dim` mode).
- Eq. 3: orthogonal regularisation R_β(W) = β‖WᵀW ⊙ (1 − I)‖²_F on G's weights, β = 10⁻⁴, added to
  G's loss (`reproductions.parts.regularizers.orthogonal_regularisation`; the shared embedding is exempt). The
  authors' `utils.ortho` adds 2β(WWᵀ ⊙ (1 − I))W to the gradient, half the gradient of eq. 3 as
  written (4β(…)W), so G's objective carries R_β/2: the released code's regulariser.
- Sampling uses an exponential moving average of G's weights with decay 0.9999 (the paper's
  experimental details), started after some steps (`reproductions.parts.regularizers.EMA`); as the authors'
  `utils.ema` runs over G's whole state dict, the BN running statistics are averaged too.
- Section 3.1, truncation trick: z ~ N(0, I) with every value whose magnitude exceeds a threshold
  resampled (`truncated_normal`); `truncation=None` keeps the untruncated prior used for scores.

CIFAR-10 setting. The paper gives CIFAR-10 results but no CIFAR architecture; we take the authors'
own 32 px configuration from their released BigGAN-PyTorch (`G_arch[32]`/`D_arch[32]`: three up-blocks
of 4·ch channels, D blocks down/down/same/same of 4·ch, ch = 64: our g_width and d_width;
`scripts/launch_cifar_ema.sh`: batch 50, 4 D steps per G step, lr 2·10⁻⁴ for G and D, Adam
β = (0, 0.999), EMA from step 1000, no attention at 32 px). That script switches off the shared
embedding, the hierarchical z and the orthogonal regulariser; we keep all three, since they are the
paper's method. Attention: off by default at 32 px as in that script; `attention_resolution` puts
the shared SAGAN block on one map of G and of D. Weights: orthogonal initialisation (Saxe et al.
2014), the paper's choice for its ImageNet models (the CIFAR script uses N(0, 0.02)).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction, frozen

from reproductions.parts.attention import SelfAttention
from reproductions.parts.blocks import ladder
from reproductions.parts.conditional import ConditionalBatchNorm2d, ConditionalGBlock, ProjectionDiscriminator
from reproductions.parts.losses import d_loss_hinge, g_loss_hinge
from reproductions.parts.regularizers import EMA, orthogonal_regularisation, spectral_norm_all


@dataclass(frozen=True)
class Hyperparameters:
    g_width: int = 64  # G's channel multiplier (BigGAN-PyTorch's G_ch): every block has 4·g_width channels at 32 px
    d_width: int = 64  # D's (D_ch), likewise
    z_dim: int = 128  # split into (number of up-blocks + 1) equal chunks; a remainder is dropped
    shared_dim: int = 128  # the shared class embedding
    g_lr: float = 2e-4  # launch_cifar_ema.sh
    d_lr: float = 2e-4
    beta1: float = 0.0
    beta2: float = 0.999
    d_steps_per_g_step: int = 4
    ortho_strength: float = 1e-4  # β of eq. 3
    ema_decay: float = 0.9999
    ema_start: int = 1000  # G steps before the average starts (until then it tracks G exactly)
    truncation: float | None = None  # threshold of the truncation trick at sampling; None = N(0, I)
    attention_resolution: int | None = None  # None: no attention (the 32 px script's setting)
    power_iterations: int = 1


def truncated_normal(shape: tuple[int, ...], threshold: float | None, device: torch.device,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """N(0, I) with values of magnitude above `threshold` resampled until none is left (section 3.1)."""
    z = torch.randn(shape, device=device, generator=generator)
    if threshold is None:
        return z
    if threshold <= 0:
        raise ValueError(f"truncation threshold must be positive, got {threshold}")
    while True:
        outside = z.abs() > threshold
        count = int(outside.sum())
        if count == 0:
            return z
        z[outside] = torch.randn(count, device=device, generator=generator)


class Generator(nn.Module):
    """z = [z₀, z₁, …] → dense(z₀) → up-ResBlocks conditioned on [embed(y), z_i] → BN, ReLU, conv, tanh."""

    def __init__(self, z_dim: int, shared_dim: int, channels: int, resolution: int, width: int,
                 num_classes: int, attention_resolution: int | None):
        super().__init__()
        start, ups = ladder(resolution)
        self.start, self.width = start, width
        self.chunk = z_dim // (ups + 1)
        self.z_dim = self.chunk * (ups + 1)
        self.embed = nn.Embedding(num_classes, shared_dim)  # "embed" exempts it from eq. 3
        self.dense = nn.Linear(self.chunk, start * start * width)
        cond_dim = shared_dim + self.chunk
        layers: list[nn.Module] = []
        norm = lambda c: ConditionalBatchNorm2d(c, cond_dim=cond_dim)  # noqa: E731
        sizes = [start * 2**i for i in range(ups + 1)]
        for i, size in enumerate(sizes):
            if size == attention_resolution:
                layers.append(SelfAttention(width))
            if i < ups:
                layers.append(ConditionalGBlock(width, width, norm))
        if attention_resolution is not None and attention_resolution not in sizes:
            raise ValueError(f"no generator feature map of size {attention_resolution} at {resolution} px")
        self.layers = nn.ModuleList(layers)
        self.out = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU(), nn.Conv2d(width, channels, 3, 1, 1), nn.Tanh())

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        chunks = z.split(self.chunk, dim=1)
        shared = self.embed(y)
        h = self.dense(chunks[0]).view(z.shape[0], self.width, self.start, self.start)
        conditions = iter(chunks[1:])
        for layer in self.layers:
            h = layer(h) if isinstance(layer, SelfAttention) else layer(h, torch.cat([shared, next(conditions)], dim=1))
        return self.out(h)


def init_orthogonal(module: nn.Module) -> None:
    if isinstance(module, (nn.Conv2d, nn.Linear, nn.Embedding)):
        nn.init.orthogonal_(module.weight)
        if getattr(module, "bias", None) is not None:
            nn.init.zeros_(module.bias)


class BigGAN(Reproduction):
    Hyperparameters = Hyperparameters
    conditional = True
    # BigGAN-PyTorch's CIFAR scripts leave G_eval_mode off: the EMA copy samples with batch statistics.
    sampling = "batch-stats"

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        G = Generator(hp.z_dim, hp.shared_dim, data.channels, data.resolution, 4 * hp.g_width, data.num_classes,
                      hp.attention_resolution)
        D = ProjectionDiscriminator(data.channels, data.resolution, 4 * hp.d_width, data.num_classes,
                                    hp.attention_resolution)
        for net in (G, D):
            net.apply(init_orthogonal)
        # Spectral norm on every layer of G except the shared embedding (a lookup table, as in the
        # authors' code), and on every layer of D including the projection embedding.
        for name, child in G.named_children():
            if name != "embed":
                spectral_norm_all(child, hp.power_iterations)
        self.G = G.to(device)
        self.D = spectral_norm_all(D, hp.power_iterations).to(device)
        self.G_ema = EMA(self.G, decay=hp.ema_decay, average_buffers=True)  # utils.ema: the whole state dict
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=hp.g_lr, betas=(hp.beta1, hp.beta2))
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=hp.d_lr, betas=(hp.beta1, hp.beta2))

    def noise(self, n: int, generator: torch.Generator | None = None, truncation: float | None = None) -> torch.Tensor:
        return truncated_normal((n, self.G.z_dim), truncation, self.device, generator)

    def generator_loss(self, d_fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(hinge G loss + R_β(G), hinge part, R_β part): eq. 3 enters G's objective."""
        adversarial = g_loss_hinge(d_fake)
        beta = self.hp.ortho_strength
        # Half of eq. 3, whose gradient is utils.ortho's 2β(WWᵀ ⊙ (1 − I))W.
        ortho = 0.5 * orthogonal_regularisation(self.G, beta) if beta > 0 else torch.zeros_like(adversarial)
        return adversarial + ortho, adversarial, ortho

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        for batch in real:  # n_D = 4 discriminator steps, each on its own real batch
            y_fake = self.random_labels(len(batch))
            with torch.no_grad():
                fake = self.G(self.noise(len(batch)), y_fake)
            d_real, d_fake = self.D(batch.images, batch.labels), self.D(fake, y_fake)
            loss_d = d_loss_hinge(d_real, d_fake)
            self.update(self.opt_D, loss_d)

        with frozen(self.D):
            y = self.random_labels(len(real[-1]))
            loss_g, loss_adv, loss_ortho = self.generator_loss(self.D(self.G(self.noise(len(y)), y), y))
            self.update(self.opt_G, loss_g)
        # Before `ema_start` the average simply copies G (decay 0), as the authors' code does.
        self.G_ema.decay = self.hp.ema_decay if step >= self.hp.ema_start else 0.0
        self.G_ema.update(self.G)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "loss_g_hinge": loss_adv.detach(),
                "loss_g_ortho": loss_ortho.detach(), "d_real": d_real.detach().mean(), "d_fake": d_fake.detach().mean()}

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """G_ema(z, y) with z truncated at `truncation` (if set), BN as `sampling` declares."""
        z = self.noise(n, generator, self.hp.truncation)
        labels = self.random_labels(n, generator) if labels is None else labels.to(self.device)
        with self.sampling_mode(self.G_ema.shadow):
            return self.G_ema(z, labels)


REPRODUCTION = BigGAN
