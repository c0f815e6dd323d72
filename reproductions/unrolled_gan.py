"""Unrolled GAN — Metz, Poole, Pfau & Sohl-Dickstein, "Unrolled Generative Adversarial Networks",
ICLR 2017 (arXiv 1611.02163).

Read alongside section 2 ("Method") and the authors' 2D notebook (github.com/poolio/unrolled_gan,
"Unrolled GAN demo.ipynb"), which fixes what the paper leaves to its appendix:

- Eq. 2-3 (section 2.1): the GAN value f(θ_G, θ_D) = E_x[log D(x)] + E_z[log(1 - D(G(z)))]; D ascends it.
- Eq. 4-5 (section 2.2): the surrogate f_K(θ_G, θ_D) = f(θ_G, θ_D^K), where θ_D^0 = θ_D and
  θ_D^{k+1} = θ_D^k + η^k df(θ_G, θ_D^k)/dθ_D^k are K steps of D's own optimiser.
- Eq. 6-7: G descends f_K *through* the unrolled steps (θ_D^K depends on θ_G), D ascends f as usual:
  "the discriminator's parameters are updated using the normal (not unrolled) gradient".
- The notebook: D's unrolled steps are its Adam updates, moments included (extract_update_dict /
  graph_replace over Keras' Adam), on the same minibatch; G minimises -f_K (the minimax form); G and D
  step together from the same parameters (one sess.run); G 256 -> 2x128 tanh -> 2, D 2 -> 2x128 tanh -> 1,
  orthogonal init (gain 1.4); Adam β1 0.5, lr 1e-3 (G) / 1e-4 (D); batch 512; 25,000 steps; K = 5.

With K = 0 the surrogate is f itself and this is the GAN of eq. 1 with simultaneous updates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal, Sequence

import torch
from torch import nn
from torch.func import functional_call

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction

from reproductions.parts.losses import binary_accuracy, d_loss_gan
from reproductions.parts.mode_nets import Activation, Init, SmallDCDiscriminator, SmallDCGenerator, adams, initialise_on, mlp


@dataclass(frozen=True)
class Hyperparameters:
    unrolling_steps: int = 5  # K of eq. 4; the notebook's 5 (VEEGAN Table 1 uses 5 "as suggested")
    z_dim: int = 256
    architecture: Literal["mlp", "small-dc"] = "mlp"  # small-dc: the Stacked MNIST nets of the appendix
    hidden: int = 128  # mlp: width of G's and D's hidden layers
    layers: int = 2  # mlp: hidden layers in each
    activation: Activation = "tanh"
    d_width: int = 2  # small-dc: D's first conv width (2 = "D is 1/4 the size of G")
    init: Init = "orthogonal"
    init_scale: float = 1.4  # orthogonal gain (the notebook's); std for init="normal"
    g_lr: float = 1e-3
    d_lr: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.999  # Keras' default in the notebook
    adam_eps: float = 1e-8


def _safe_sqrt(v: torch.Tensor) -> torch.Tensor:
    """sqrt with a zero (not NaN) derivative at v = 0: Adam's sqrt(v) is differentiated through the
    unrolling, and a parameter with a zero gradient would otherwise give inf * 0."""
    positive = v > 0
    return torch.where(positive, v, torch.ones_like(v)).sqrt() * positive


def differentiable_adam_step(params: dict[str, torch.Tensor], grads: Sequence[torch.Tensor],
                             state: dict[str, tuple[torch.Tensor, torch.Tensor, float]],
                             lr: float, betas: tuple[float, float], eps: float):
    """One step of torch.optim.Adam (no weight decay, no amsgrad) as a differentiable function.

    `state` maps each parameter name to (exp_avg, exp_avg_sq, step) — the optimiser's own moments, so
    unrolled step k continues from where D's real optimiser stands (the notebook unrolls Adam's update
    dictionary, moments included). Returns the new parameters and state; nothing is modified in place.
    """
    beta1, beta2 = betas
    new_params, new_state = {}, {}
    for (name, p), g in zip(params.items(), grads):
        m, v, step = state[name]
        step = step + 1
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        bias1, bias2 = 1 - beta1**step, 1 - beta2**step
        new_params[name] = p - (lr / bias1) * m / (_safe_sqrt(v) / bias2**0.5 + eps)
        new_state[name] = (m, v, step)
    return new_params, new_state


class UnrolledGAN(Reproduction):
    Hyperparameters = Hyperparameters
    data_kinds: ClassVar[tuple[str, ...]] = ("points", "images")

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        if hp.unrolling_steps < 0:
            raise ValueError(f"unrolling_steps must be >= 0, got {hp.unrolling_steps}")
        if hp.architecture == "mlp":
            self.G = mlp(hp.z_dim, hp.hidden, hp.layers, data.features, hp.activation)
            self.D = mlp(data.features, hp.hidden, hp.layers, 1, hp.activation)
        else:
            self.G = SmallDCGenerator(hp.z_dim, data.channels)
            self.D = SmallDCDiscriminator(data.channels, hp.d_width)
        initialise_on(device, hp.init, hp.init_scale, self.G, self.D)
        self.opt_G, self.opt_D = adams((hp.g_lr, hp.d_lr), (hp.beta1, hp.beta2), self.G, self.D, eps=hp.adam_eps)

    stackable_seeds: ClassVar[bool] = True  # the mlp nets; the unrolled Adam steps are elementwise

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        return self.G(z).view(z.shape[0], *self.data.shape)

    def discriminate(self, params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """D's logits under `params` (D's own or unrolled ones), MLP inputs flattened."""
        inputs = x.flatten(1) if self.hp.architecture == "mlp" else x
        return functional_call(self.D, params, (inputs,)).flatten()

    def _adam_state(self) -> dict[str, tuple[torch.Tensor, torch.Tensor, float]]:
        state = {}
        for name, p in self.D.named_parameters():
            s = self.opt_D.state.get(p, {})
            if s:
                state[name] = (s["exp_avg"], s["exp_avg_sq"], float(s["step"]))
            else:  # before D's first step Adam's moments are zero
                state[name] = (torch.zeros_like(p), torch.zeros_like(p), 0.0)
        return state

    def unrolled_parameters(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        """θ_D^K of eq. 5: K Adam steps on D's loss, kept in the graph (create_graph) so that G's
        gradient flows through them. D's own parameters and optimiser state are not touched."""
        params = {name: p for name, p in self.D.named_parameters()}
        state = self._adam_state()
        hp = self.hp
        for _ in range(hp.unrolling_steps):
            loss = d_loss_gan(self.discriminate(params, real), self.discriminate(params, fake))
            grads = torch.autograd.grad(loss, list(params.values()), create_graph=True)
            params, state = differentiable_adam_step(params, grads, state, hp.d_lr, (hp.beta1, hp.beta2), hp.adam_eps)
        return params

    def generator_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """-f_K (eq. 6): G maximises D's loss after K unrolled steps (the notebook's -unrolled_loss)."""
        params = self.unrolled_parameters(real, fake)
        return -d_loss_gan(self.discriminate(params, real), self.discriminate(params, fake))

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        x = real[-1].images
        fake = self.generate(self.noise(len(x)))

        # G's gradient (eq. 7) from the current θ_D and D's current Adam state, before D moves: the
        # notebook runs both updates in one session call.
        loss_g = self.generator_loss(x, fake)
        self.opt_G.zero_grad(set_to_none=True)
        grads_g = torch.autograd.grad(loss_g, list(self.G.parameters()))

        # D's update with the normal gradient of f (section 2.2), on the same minibatch.
        own = dict(self.D.named_parameters())
        d_real, d_fake = self.discriminate(own, x), self.discriminate(own, fake.detach())
        loss_d = d_loss_gan(d_real, d_fake)
        self.opt_D.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_D.step()

        for p, g in zip(self.G.parameters(), grads_g):
            p.grad = g
        self.opt_G.step()
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(),
                "d_accuracy": binary_accuracy(d_real, d_fake).detach()}

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        with self.sampling_mode(self.G):  # batchnorm (small-dc) from running statistics
            return self.generate(self.noise(n, generator))


REPRODUCTION = UnrolledGAN
