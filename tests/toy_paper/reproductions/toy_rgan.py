"""A toy paper whose contribution is a new loss: the relativistic discriminator (Jolicoeur-Martineau
2018, arXiv 1807.00734), on the toy GAN's networks. It follows the README's "Adding a paper" guide:

- the loss lives here, in the paper's module, because no other paper uses it yet (a second paper
  that needs it moves it to reproductions/parts/losses.py, with a test in tests/test_losses.py);
- the networks are another paper's (reproductions.toy_gan), imported, not copied;
- the paper's named variants (RSGAN, RaSGAN) are one `Literal` hyperparameter;
- `train_step` draws G's noise from torch's seeded stream, and uses only the real batches it is given.
"""

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from reproductions.toy_gan import ToyGAN


def relativistic_losses(real_logits: torch.Tensor, fake_logits: torch.Tensor,
                        variant: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(D loss, G loss). RSGAN, eq. (7)-(8): C(x_r) - C(x_f) per pair. RaSGAN, eq. (11)-(12): each
    against the mean of the other side. softplus(-x) is -log(sigmoid(x))."""
    if variant == "rsgan":
        difference = real_logits - fake_logits
        return F.softplus(-difference).mean(), F.softplus(difference).mean()
    real_vs_fake = real_logits - fake_logits.mean()
    fake_vs_real = fake_logits - real_logits.mean()
    d_loss = F.softplus(-real_vs_fake).mean() + F.softplus(fake_vs_real).mean()
    g_loss = F.softplus(real_vs_fake).mean() + F.softplus(-fake_vs_real).mean()
    return d_loss, g_loss


@dataclass(frozen=True)
class Hyperparameters:  # its own literal dataclass (not inherited), so `gan-bench show` can read it
    z_dim: int = 8
    hidden: int = 16
    lr: float = 1e-3
    d_steps_per_g_step: int = 1
    variant: Literal["rsgan", "rasgan"] = "rsgan"


class ToyRGAN(ToyGAN):
    Hyperparameters = Hyperparameters

    def train_step(self, real, step):
        for batch in real:  # one D update per real batch handed over (d_steps of them)
            d_loss, _ = relativistic_losses(self.D(batch.images), self.D(self._fake(len(batch)).detach()),
                                            self.hp.variant)
            self.opt_D.zero_grad()
            d_loss.backward()
            self.opt_D.step()
        # The relativistic G loss needs real logits too: G reuses the last real batch it was given.
        _, g_loss = relativistic_losses(self.D(real[-1].images), self.D(self._fake(len(real[-1]))), self.hp.variant)
        self.opt_G.zero_grad()
        g_loss.backward()
        self.opt_G.step()
        return {"loss_d": d_loss.detach(), "loss_g": g_loss.detach()}


REPRODUCTION = ToyRGAN
