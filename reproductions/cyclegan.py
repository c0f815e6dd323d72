"""CycleGAN — Zhu, Park, Isola & Efros, "Unpaired Image-to-Image Translation using Cycle-Consistent
Adversarial Networks", ICCV 2017 (arXiv 1703.10593).

Read alongside section 3 (formulation), section 4 (implementation) and appendix 7.1/7.2 (training
details, network architectures). Domain A is the paper's X, domain B its Y.

Section 3: two mappings G: X → Y and F: Y → X, two adversarial discriminators D_Y (tells real y from
G(x)) and D_X (tells real x from F(y)), and the full objective (eq. 3)
    L(G, F, D_X, D_Y) = L_GAN(G, D_Y, X, Y) + L_GAN(F, D_X, Y, X) + λ L_cyc(G, F),
where the cycle-consistency loss (eq. 2) is L1 both ways: E‖F(G(x)) − x‖₁ + E‖G(F(y)) − y‖₁.

Section 4 / appendix 7.1, training details:
- least-squares adversarial loss (LSGAN, Mao et al. 2017): G minimises E[(D(G(x)) − 1)²], D minimises
  E[(D(y) − 1)²] + E[D(G(x))²], "divided by 2 while optimizing D";
- D is updated on a history of 50 generated images rather than the latest ones (Shrivastava et al.
  2017) — the image pool below;
- λ = 10; Adam, batch size 1, lr 0.0002 (β1 = 0.5 in the authors' code), constant for the first 100
  epochs and linearly decayed to zero over the next 100; weights drawn from N(0, 0.02);
- the identity loss of Taigman et al. (section 5.2, appendix 7.1): E‖G(y) − y‖₁ + E‖F(x) − x‖₁,
  weighted 0.5λ. The paper uses it for painting → photo; the authors' code turns it on by default
  (`lambda_identity` 0.5) for every dataset, and so do we (`identity_weight`, 0 turns it off).

Appendix 7.2, networks:
- G (Johnson et al. 2016): c7s1-64, d128, d256, R256 × n, u128, u64, c7s1-3, with instance norm
  and reflection padding; n = 6 blocks for 128×128 images and 9 for 256×256. We train at 64 px and
  use 6. Two stride-2 steps down and two up, so the resolution must be divisible by 4.
- D: the 70×70 PatchGAN of pix2pix, C64-C128-C256-C512 then a convolution to one channel, no
  instance norm on C64, LeakyReLU 0.2. The authors' code runs C512 and the output convolution at
  stride 1, which is what makes each output see a 70×70 patch (at 64 px D outputs a 6×6 grid of
  patch scores; at 28 px one score).

Data (appendix 7.1 / the authors' code): images resized to 286 and randomly cropped to 256, randomly
flipped left-right. At our resolution r we do the same in `train_step`: resize to round(r·286/256)
and crop r at a random place, then flip with probability ½.

The lr schedule is written per image pass in the paper; `plan(g_steps, …)` fits it to the budget:
the first half of the G steps at lr, the second half decaying linearly towards zero. It depends only
on the G step, so a resumed run follows the same schedule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch
import torch.nn.functional as nnf
from torch import nn

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction, evaluating, frozen

from reproductions.parts.blocks import init_normal_all
from reproductions.parts.losses import d_loss_least_squares, g_loss_least_squares

# The paper's crop: 286 px loaded, 256 px cropped (appendix 7.1 / the authors' `load_size`, `crop_size`).
PAPER_LOAD, PAPER_CROP = 286, 256


@dataclass(frozen=True)
class Hyperparameters:
    resolution: int = 64  # we train at 64 px; the paper at 256 (128 for some datasets)
    g_width: int = 64  # c7s1-64: G's first width; d128/d256 double it twice
    d_width: int = 64  # C64: D's first width; C128, C256, C512 double it
    n_blocks: int = 6  # R256 × 6 (the paper's 128 px net; 9 for 256 px)
    cycle_weight: float = 10.0  # λ in eq. (3), appendix 7.1
    identity_weight: float = 0.5  # identity loss weight as a fraction of λ (0.5λ, appendix 7.1)
    pool_size: int = 50  # section 4: "an image buffer that stores the 50 previously created images"
    lr: float = 2e-4  # appendix 7.1
    beta1: float = 0.5  # the authors' code (the paper names Adam only)
    beta2: float = 0.999
    constant_fraction: float = 0.5  # 100 of 200 epochs at the full lr, then linear decay to zero
    init_std: float = 0.02  # appendix 7.1: "Weights are initialized from a Gaussian distribution N(0, 0.02)"
    leaky_slope: float = 0.2  # appendix 7.2
    augment: bool = True  # resize-and-random-crop + left-right flip, as the paper's 286 → 256
    flip: bool = True
    load_size: int | None = None  # None: round(resolution · 286 / 256), the paper's ratio


def _instance_norm(channels: int) -> nn.InstanceNorm2d:
    # Per-image statistics at train and test time alike (no running averages, no affine), as in the
    # authors' code: with batch size 1 this is what "instance normalization" amounts to.
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


def check_resolution(resolution: int) -> None:
    """G goes down and up by 2 twice (needs r divisible by 4); D's normalised layers need > 1 pixel."""
    if resolution % 4 or resolution < 24:
        raise ValueError(f"CycleGAN needs a resolution divisible by 4 and at least 24 px (e.g. 28, 64, 256), got {resolution}")


# ------------------------------------------------------------------------------------ generator
class ResidualBlock(nn.Module):
    """Rk: two 3×3 convolutions with k filters, reflection padded, instance norm, ReLU between; plus x."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _instance_norm(channels), nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _instance_norm(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """c7s1-w, d2w, d4w, R4w × n_blocks, u2w, uw, c7s1-C (appendix 7.2, w = 64)."""

    def __init__(self, channels: int, width: int, n_blocks: int):
        super().__init__()
        layers: list[nn.Module] = [  # c7s1-64: 7×7 conv, stride 1, reflection padded so the size is kept
            nn.ReflectionPad2d(3), nn.Conv2d(channels, width, 7), _instance_norm(width), nn.ReLU(inplace=True),
        ]
        c = width
        for _ in range(2):  # d128, d256: 3×3 stride-2 convolutions
            layers += [nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), _instance_norm(2 * c), nn.ReLU(inplace=True)]
            c *= 2
        layers += [ResidualBlock(c) for _ in range(n_blocks)]  # R256 × n
        for _ in range(2):  # u128, u64: 3×3 fractional-strided (stride ½) convolutions, exactly doubling
            layers += [nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1),
                       _instance_norm(c // 2), nn.ReLU(inplace=True)]
            c //= 2
        # c7s1-3 to the image: no norm, tanh so translated images are in [-1, 1] like the data.
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(c, channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


# -------------------------------------------------------------------------------- discriminator
class PatchDiscriminator(nn.Module):
    """70×70 PatchGAN: C64 (no norm) - C128 - C256 - C512 (stride 1) - conv to 1, all 4×4 kernels.

    Returns the grid of patch scores (N, 1, h, w); the least-squares loss averages over it.
    """

    def __init__(self, channels: int, width: int, slope: float):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 4, stride=2, padding=1), nn.LeakyReLU(slope, inplace=True)]
        c = width
        for stride in (2, 2, 1):  # C128, C256 at stride 2; C512 at stride 1 (authors' code: 70×70 field)
            layers += [nn.Conv2d(c, 2 * c, 4, stride=stride, padding=1), _instance_norm(2 * c),
                       nn.LeakyReLU(slope, inplace=True)]
            c *= 2
        layers.append(nn.Conv2d(c, 1, 4, stride=1, padding=1))  # "a convolution to produce a 1-dimensional output"
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


# ------------------------------------------------------------------------------------ image pool
class ImagePool:
    """Section 4: D sees a history of generated images, not only the latest (Shrivastava et al. 2017).

    While the pool fills, each new image is stored and returned as is. Once full, each new image is,
    with probability ½, swapped for a random stored one (the stored one is returned, the new one
    kept), and otherwise returned as is. The pool's own generator draws those choices, so the pool's
    contents and its random stream can be checkpointed and a resumed run draws the same.
    """

    def __init__(self, size: int, seed: int):
        self.size = size
        self.count = 0
        self.images: torch.Tensor | None = None  # allocated at the first query: (size, C, H, W)
        self.generator = torch.Generator().manual_seed(seed)  # CPU: choices never sync the device

    def query(self, images: torch.Tensor) -> torch.Tensor:
        images = images.detach()  # D's step must not reach back into G's (already freed) graph
        if self.size == 0:
            return images
        if self.images is None:
            self.images = images.new_empty((self.size, *images.shape[1:]))
        out = []
        for image in images:
            if self.count < self.size:  # still filling: keep it, and train D on it
                self.images[self.count] = image
                self.count += 1
                out.append(image)
            elif torch.rand((), generator=self.generator).item() < 0.5:  # swap with a stored image
                index = int(torch.randint(self.size, (), generator=self.generator).item())
                out.append(self.images[index].clone())
                self.images[index] = image
            else:
                out.append(image)
        return torch.stack(out)

    def state_dict(self) -> dict[str, Any]:
        stored = None if self.images is None else self.images[: self.count].detach().cpu().clone()
        return {"size": self.size, "count": self.count, "images": stored, "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any], device: torch.device) -> None:
        if int(state["size"]) != self.size:
            raise ValueError(f"image pool holds {state['size']} images in the checkpoint, {self.size} here")
        self.count = int(state["count"])
        stored = state["images"]
        if stored is None:
            self.images = None
        else:
            self.images = torch.empty((self.size, *stored.shape[1:]), dtype=stored.dtype, device=device)
            self.images[: self.count] = stored.to(device)
        self.generator.set_state(state["generator"])


# ------------------------------------------------------------------------------------- the model
class CycleGAN(Reproduction):
    Hyperparameters = Hyperparameters
    translates = True

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        if len(data.domains) != 2:
            raise ValueError(f"CycleGAN needs a two-domain dataset (e.g. horse2zebra, mnist-edges); "
                             f"{data.name!r} has domains {data.domains}")
        check_resolution(data.resolution)
        c = data.channels
        self.G = ResnetGenerator(c, hp.g_width, hp.n_blocks).to(device)  # A → B (X → Y)
        self.F = ResnetGenerator(c, hp.g_width, hp.n_blocks).to(device)  # B → A (Y → X)
        self.D_X = PatchDiscriminator(c, hp.d_width, hp.leaky_slope).to(device)  # real A vs F(b)
        self.D_Y = PatchDiscriminator(c, hp.d_width, hp.leaky_slope).to(device)  # real B vs G(a)
        init_normal_all(hp.init_std, self.G, self.F, self.D_X, self.D_Y)
        # One Adam for both generators and one for both discriminators, as the authors' code does
        # (the objective of eq. 3 is one sum over both directions).
        betas = (hp.beta1, hp.beta2)
        self.opt_G = torch.optim.Adam([*self.G.parameters(), *self.F.parameters()], lr=hp.lr, betas=betas)
        self.opt_D = torch.optim.Adam([*self.D_X.parameters(), *self.D_Y.parameters()], lr=hp.lr, betas=betas)
        # The pools' seeds come from the run's seeded global stream, so a run is reproducible from its seed.
        seeds = torch.randint(2**62, (2,)).tolist()
        self.pool_X = ImagePool(hp.pool_size, seeds[0])  # history of F(b), shown to D_X
        self.pool_Y = ImagePool(hp.pool_size, seeds[1])  # history of G(a), shown to D_Y
        self.load_size = hp.load_size or round(data.resolution * PAPER_LOAD / PAPER_CROP)
        if self.load_size < data.resolution:
            raise ValueError(f"load_size {self.load_size} is smaller than the crop {data.resolution}")
        self.total_g_steps: int | None = None  # set by plan(); until then the lr stays constant

    # -- the schedule ---------------------------------------------------------------------------------
    def plan(self, g_steps: int, batch_size: int) -> None:
        self.total_g_steps = g_steps

    def lr_factor(self, step: int) -> float:
        """Appendix 7.1 fitted to the budget: 1 for the first half of the G steps, then linear towards 0.

        As in the authors' linear policy (1 − k/(n_decay + 1) in the k-th decay epoch), the last step
        runs at a small positive lr and the rate would reach zero one step after the budget.
        """
        total = self.total_g_steps
        if total is None:
            return 1.0
        constant = int(total * self.hp.constant_fraction)
        decay = total - constant
        if step < constant:
            return 1.0
        return max(0.0, 1.0 - (step - constant + 1) / (decay + 1))

    def _set_lr(self, step: int) -> None:
        lr = self.hp.lr * self.lr_factor(step)
        for optimizer in (self.opt_G, self.opt_D):
            for group in optimizer.param_groups:
                group["lr"] = lr

    # -- data augmentation --------------------------------------------------------------------------
    def augment(self, images: torch.Tensor) -> torch.Tensor:
        """The paper's 286 → random 256 crop and random left-right flip, at our resolution.

        Random offsets and flips come from the global CPU stream, which the harness checkpoints.
        """
        if not self.hp.augment:
            return images
        n, _, h, w = images.shape
        size = self.load_size
        if size != h:  # bicubic, like the authors' PIL resize; bicubic can overshoot, so clamp to [-1, 1]
            images = nnf.interpolate(images, size=(size, size), mode="bicubic", align_corners=False).clamp_(-1, 1)
        offsets = torch.randint(size - h + 1, (n, 2)).tolist()
        flips = (torch.rand(n) < 0.5).tolist() if self.hp.flip else [False] * n
        crops = []
        for image, (top, left), flip in zip(images, offsets, flips):
            crop = image[:, top : top + h, left : left + w]
            crops.append(crop.flip(-1) if flip else crop)
        return torch.stack(crops)

    # -- the objective ------------------------------------------------------------------------------
    def generator_losses(self, real_a: torch.Tensor, real_b: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
        """Eq. (3) for G and F (plus the identity term); returns the losses and the fakes (F(b), G(a))."""
        hp = self.hp
        fake_b, fake_a = self.G(real_a), self.F(real_b)
        # L_GAN for G: E[(D(G(x)) − 1)²]. The shared least-squares G loss carries LSGAN's ½; the
        # paper's G objective has none, so it is doubled here.
        adversarial = 2 * g_loss_least_squares(self.D_Y(fake_b)) + 2 * g_loss_least_squares(self.D_X(fake_a))
        # Eq. (2): forward cycle x → G(x) → F(G(x)) ≈ x and backward cycle y → F(y) → G(F(y)) ≈ y, in L1.
        cycle = hp.cycle_weight * ((self.F(fake_b) - real_a).abs().mean() + (self.G(fake_a) - real_b).abs().mean())
        losses = {"adversarial_g": adversarial, "cycle": cycle}
        if hp.identity_weight > 0:  # Taigman et al.: a generator fed its own target domain should leave it alone
            weight = hp.identity_weight * hp.cycle_weight
            losses["identity"] = weight * ((self.G(real_b) - real_b).abs().mean() + (self.F(real_a) - real_a).abs().mean())
        losses["loss_g"] = sum(losses.values())
        return losses, fake_a, fake_b

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        self._set_lr(step)
        batch = real[-1]
        real_a, real_b = self.augment(batch.domain(0)), self.augment(batch.domain(1))

        # G and F together on eq. (3) (the authors' order: generators first, then discriminators).
        discriminators = (self.D_X, self.D_Y)
        with frozen(*discriminators):
            losses, fake_a, fake_b = self.generator_losses(real_a, real_b)
            self.update(self.opt_G, losses["loss_g"])

        # D_X and D_Y on LSGAN's objective, halved (appendix 7.1) — the shared D loss already carries
        # the ½ — on fakes drawn from each one's history of generated images.
        history_a, history_b = self.pool_X.query(fake_a), self.pool_Y.query(fake_b)
        loss_d_x = d_loss_least_squares(self.D_X(real_a), self.D_X(history_a))
        loss_d_y = d_loss_least_squares(self.D_Y(real_b), self.D_Y(history_b))
        self.update(self.opt_D, loss_d_x + loss_d_y)
        return {**{k: v.detach() for k, v in losses.items()}, "loss_d_x": loss_d_x.detach(), "loss_d_y": loss_d_y.detach()}

    # -- evaluation ---------------------------------------------------------------------------------
    @torch.no_grad()
    def translate(self, images: torch.Tensor, target_domain: int) -> torch.Tensor:
        """Target 1 (B): G(a); target 0 (A): F(b). Instance norm uses per-image statistics either way."""
        if target_domain not in (0, 1):
            raise ValueError(f"target_domain must be 0 (A) or 1 (B), got {target_domain}")
        net = self.G if target_domain == 1 else self.F
        with evaluating(net):
            return net(images)

    # -- checkpointing: the pools (contents and random streams) ------------------------------------
    def extra_state(self) -> dict[str, Any]:
        return {"pool_X": self.pool_X.state_dict(), "pool_Y": self.pool_Y.state_dict()}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.pool_X.load_state_dict(state["pool_X"], self.device)
        self.pool_Y.load_state_dict(state["pool_Y"], self.device)


REPRODUCTION = CycleGAN
