"""AM-GAN — Zhou, Cai, Rong, Song, Ren, Zhang, Wang & Yu, "Activation Maximization Generative
Adversarial Nets", ICLR 2018 (arXiv 1703.02000).

Read alongside the paper's section 4.1 (eqs. 14, 15), section 5.1 (dynamic labeling), section 7 and
appendix E, and the authors' released code (ZhimingZhou/AM-GAN, code/AM-GAN.py, common/ops.py):

- D is a K+1-class classifier: the K real classes and one class for generated samples; D(x) is its
  softmax and v(y) the one-hot vector of class y.
- Eq. 15: L_D = E_{(x,y)~data}[H(v(y), D(x))] + E_{x~G}[H(v(K+1), D(x))]: real images are classified
  into their labels, generated ones into the extra class.
- Eq. 14: L_G = E_{(x,y)~G}[H(v(y), D(x))]: every generated sample is pushed towards one specific
  real class, its target y, so G maximises that class's activation (section 5.2).
- Section 5.1, dynamic labeling: the target of a generated x is y(x) = argmax_{i in 1..K} D_i(x), the
  class D currently finds most probable, with no gradient through the choice; G stays unconditional.
- Appendix E / the code's `generator_dcgan` and `discriminator_dcgan`: G is linear → 4x4x(8·96) →
  three 3x3 stride-2 transposed convs (BN, LeakyReLU) → a 3x3 transposed conv → tanh; D adds
  Gaussian noise to its input (σ 0.1, additive and multiplicative), then 3x3 convs of 64, 128, 256,
  512 channels with strides 1, 2, 2, 2 (BN after the first, LeakyReLU 0.2, dropout 0.3), global
  average pooling, dropout and one linear layer to K+1 logits. Every conv and linear layer is weight
  normalised with its gain initialised to 1 (× the stride for transposed convs). Adam, lr 4e-4
  decayed linearly to 0 over the run, β = (0.5, 0.999), batch 100.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction

from reproductions.parts.blocks import ladder


@dataclass(frozen=True)
class Hyperparameters:
    z_dim: int = 100  # iDimsZ
    g_width: int = 96  # iFilterDimsG: the last hidden width; 8x at the 4x4 projection
    d_width: int = 64  # iFilterDimsD
    dropout: float = 0.3  # fDropRate
    input_noise: float = 0.1  # D's input noise, additive and multiplicative
    leaky_slope: float = 0.2  # tf.nn.leaky_relu's default
    lr: float = 4e-4  # fLrIni, decayed linearly to 0 over the run (oDecay 'linear')
    beta1: float = 0.5
    beta2: float = 0.999
    eps: float = 1e-8
    init_std: float = 0.01  # __init_weight_stddev__ of a uniform init (the direction only, under weight norm)


def am_discriminator_loss(real_logits: torch.Tensor, labels: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Eq. 15: cross-entropy of real images to their class and of generated ones to the extra class K+1."""
    fake_class = torch.full((len(fake_logits),), real_logits.shape[1] - 1, dtype=torch.long, device=fake_logits.device)
    return F.cross_entropy(real_logits, labels) + F.cross_entropy(fake_logits, fake_class)


def dynamic_labels(logits: torch.Tensor) -> torch.Tensor:
    """Section 5.1: y(x) = argmax over the K real classes of D(x) (the extra class excluded), no gradient."""
    return logits[:, :-1].detach().argmax(dim=1)


def am_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Eq. 14 with dynamic labels: cross-entropy of each generated sample to its own target class."""
    return F.cross_entropy(fake_logits, dynamic_labels(fake_logits))


def _normed(layer: nn.Module, gain: float, init_std: float) -> nn.Module:
    """The code's weight normalisation: w = g · v / ||v|| per output unit, g initialised to `gain`, bias 0."""
    bound = init_std * 3**0.5  # a uniform init of standard deviation init_std
    nn.init.uniform_(layer.weight, -bound, bound)
    nn.init.zeros_(layer.bias)
    dim = 1 if isinstance(layer, nn.ConvTranspose2d) else 0  # the output-unit axis
    layer = weight_norm(layer, dim=dim)
    with torch.no_grad():
        layer.parametrizations.weight.original0.fill_(gain)
    return layer


class Generator(nn.Module):
    def __init__(self, hp: Hyperparameters, channels: int, resolution: int):
        super().__init__()
        self.start, ups = ladder(resolution)  # 32 px: 4 → 8 → 16 → 32; 28 px: 7 → 14 → 28
        self.width = hp.g_width * 2**ups
        self.project = _normed(nn.Linear(hp.z_dim, self.width * self.start**2), 1.0, hp.init_std)
        self.project_bn = nn.BatchNorm2d(self.width, eps=1e-3)
        layers: list[nn.Module] = []
        c_in = self.width
        for _ in range(ups):
            deconv = nn.ConvTranspose2d(c_in, c_in // 2, 3, 2, 1, output_padding=1)
            layers += [_normed(deconv, 2.0, hp.init_std), nn.BatchNorm2d(c_in // 2, eps=1e-3), nn.LeakyReLU(hp.leaky_slope)]
            c_in //= 2
        layers += [_normed(nn.ConvTranspose2d(c_in, channels, 3, 1, 1), 1.0, hp.init_std), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.slope = hp.leaky_slope

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.project(z).view(len(z), self.width, self.start, self.start)
        return self.net(F.leaky_relu(self.project_bn(h), self.slope))


class Discriminator(nn.Module):
    def __init__(self, hp: Hyperparameters, channels: int, num_classes: int):
        super().__init__()
        self.input_noise = hp.input_noise
        layers: list[nn.Module] = []
        c_in = channels
        for i, stride in enumerate((1, 2, 2, 2)):
            c_out = hp.d_width * 2**i
            layers.append(_normed(nn.Conv2d(c_in, c_out, 3, stride, 1), 1.0, hp.init_std))
            if i > 0:
                layers.append(nn.BatchNorm2d(c_out, eps=1e-3))
            layers += [nn.LeakyReLU(hp.leaky_slope), nn.Dropout(hp.dropout)]
            c_in = c_out
        self.body = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Dropout(hp.dropout), _normed(nn.Linear(c_in, num_classes + 1), 1.0, hp.init_std))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.input_noise > 0:  # the code's `noise` layer: truncated N(0, σ) added, N(1, σ) multiplied
            x = x + nn.init.trunc_normal_(torch.empty_like(x), 0.0, self.input_noise, -2 * self.input_noise, 2 * self.input_noise)
            x = x * nn.init.trunc_normal_(torch.empty_like(x), 1.0, self.input_noise, 1 - 2 * self.input_noise, 1 + 2 * self.input_noise)
        return self.head(self.body(x).mean(dim=(2, 3)))  # global average pooling, then K+1 logits


class AMGAN(Reproduction):
    Hyperparameters = Hyperparameters
    sampling = "batch-stats"  # the code's batch_norm always normalises by the batch ("we did not do the moving average")

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        if data.num_classes < 2:
            raise ValueError("AM-GAN's discriminator classifies real images into their classes: it needs a labelled dataset")
        self.G = Generator(hp, data.channels, data.resolution).to(device)
        self.D = Discriminator(hp, data.channels, data.num_classes).to(device)
        adam = dict(lr=hp.lr, betas=(hp.beta1, hp.beta2), eps=hp.eps)
        self.opt_G = torch.optim.Adam(self.G.parameters(), **adam)
        self.opt_D = torch.optim.Adam(self.D.parameters(), **adam)
        self.total_steps: int | None = None  # set by `plan`: the linear decay reaches 0 at the budget's end

    def plan(self, g_steps: int, batch_size: int) -> None:
        self.total_steps = g_steps

    def learning_rate(self, step: int) -> float:
        """lr · max(0, 1 - step / total), the code's linear decay (over its iMaxIter, here the budget)."""
        if self.total_steps is None:
            return self.hp.lr
        return self.hp.lr * max(0.0, 1.0 - step / self.total_steps)

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        for opt in (self.opt_G, self.opt_D):
            for group in opt.param_groups:
                group["lr"] = self.learning_rate(step)
        for batch in real:
            fake = self.G(self.noise(len(batch))).detach()
            real_logits, fake_logits = self.D(batch.images), self.D(fake)
            loss_d = am_discriminator_loss(real_logits, batch.labels, fake_logits)
            self.update(self.opt_D, loss_d)

        # G: a fresh batch, each sample pushed towards the class D now finds most probable for it (eq. 14).
        gen_logits = self.D(self.G(self.noise(len(real[-1]))))
        loss_g = am_generator_loss(gen_logits)
        self.update(self.opt_G, loss_g)
        with torch.no_grad():
            k = self.data.num_classes
            real_accuracy = (real_logits[:, :k].argmax(1) == batch.labels).float().mean()
            fake_detected = (fake_logits.argmax(1) == k).float().mean()
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(),
                "class_accuracy_real": real_accuracy, "fake_as_fake": fake_detected}


REPRODUCTION = AMGAN
