"""`PerSeed`: the torch function mode under which a fused reproduction's step keeps its S seeds apart.

Inside it, a tensor whose first dimension is S·N holds N rows per seed, seed-major (see
harness.stacked_seeds). The mode intercepts the three things in a paper's step that would otherwise
mix seeds: random draws, reductions over the batch, and the backward pass of a per-seed loss.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from harness.stacked_seeds import RandomStreams, StackingError, _rows

# Random ops whose first argument is a size: seed s draws its share from its own stream.
SIZED_RANDOM = {torch.randn, torch.rand}
# Random ops on a tensor: seed s's rows are drawn (or dropped out) from its own stream.
ROW_RANDOM = {torch.randn_like, torch.rand_like, torch.bernoulli, F.dropout, torch.dropout,
              torch.Tensor.normal_, torch.Tensor.uniform_, torch.Tensor.bernoulli_}
REFUSED_RANDOM = {torch.randint, torch.randint_like, torch.randperm, torch.normal, torch.multinomial,
                  torch.Tensor.random_, torch.Tensor.exponential_, torch.Tensor.cauchy_, torch.Tensor.log_normal_,
                  torch.Tensor.geometric_, F.alpha_dropout, F.feature_alpha_dropout, F.dropout1d, F.dropout2d,
                  F.dropout3d, torch.poisson}
# Full reductions become one value per seed; over dimension 0 they would mix seeds.
PER_SEED_REDUCTIONS = {torch.mean, torch.Tensor.mean, torch.sum, torch.Tensor.sum}
OTHER_REDUCTIONS = {torch.amax, torch.Tensor.amax, torch.amin, torch.Tensor.amin, torch.max, torch.Tensor.max,
                    torch.min, torch.Tensor.min, torch.std, torch.Tensor.std, torch.var, torch.Tensor.var,
                    torch.prod, torch.Tensor.prod, torch.logsumexp, torch.Tensor.logsumexp, torch.norm,
                    torch.Tensor.norm, torch.median, torch.Tensor.median}
LOSSES = {F.binary_cross_entropy_with_logits, F.binary_cross_entropy, F.mse_loss, F.l1_loss, F.smooth_l1_loss,
          F.cross_entropy, F.nll_loss}


def _name(func: Callable) -> str:
    return getattr(func, "__qualname__", None) or getattr(func, "__name__", repr(func))


class PerSeed(TorchFunctionMode):
    def __init__(self, seeds: int, streams: RandomStreams):
        super().__init__()
        self.seeds = seeds
        self.streams = streams

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in SIZED_RANDOM:
            return self._sized_random(func, args, kwargs)
        if func in ROW_RANDOM:
            return self._row_random(func, args, kwargs)
        if func in REFUSED_RANDOM:
            raise StackingError(f"stacked seeds: the random op {_name(func)} is not split per seed")
        if func in PER_SEED_REDUCTIONS:
            return self._reduce(func, args, kwargs)
        if func in OTHER_REDUCTIONS:
            self._check_dims(func, args, kwargs, allow_full=False)
        elif func in LOSSES:
            return self._loss(func, args, kwargs)
        elif func is torch.autograd.grad:
            return self._grad(args, kwargs)
        elif func is torch.Tensor.backward:
            return self._backward(args, kwargs)
        return func(*args, **kwargs)

    # -- random draws ------------------------------------------------------------------------------
    def _own_stream(self, kwargs: dict, func) -> None:
        if kwargs.get("generator") is not None:
            raise StackingError(f"stacked seeds: {_name(func)} with an explicit generator is not split per seed")

    def _sized_random(self, func, args, kwargs):
        self._own_stream(kwargs, func)
        size = tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list, torch.Size)) else tuple(args)
        size = tuple(kwargs.pop("size", size))
        if not size or size[0] % self.seeds:
            raise StackingError(f"stacked seeds: {_name(func)}{size} does not split into {self.seeds} seeds")
        share = (size[0] // self.seeds, *size[1:])
        return torch.cat([self.streams.run_as(s, lambda: func(share, **kwargs)) for s in range(self.seeds)])

    def _row_random(self, func, args, kwargs):
        self._own_stream(kwargs, func)
        tensor, rest = args[0], args[1:]
        rows = _rows(tensor, self.seeds, _name(func))
        parts = [self.streams.run_as(s, lambda s=s: func(tensor[s * rows:(s + 1) * rows], *rest, **kwargs))
                 for s in range(self.seeds)]
        if func.__name__.endswith("_"):  # in place on each seed's rows (views): the tensor itself
            return tensor
        return torch.cat(parts)

    # -- reductions --------------------------------------------------------------------------------
    def _dims(self, args, kwargs) -> tuple[int, ...] | None:
        dim = kwargs.get("dim", args[1] if len(args) > 1 and not isinstance(args[1], torch.dtype) else None)
        if dim is None:
            return None
        return tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)

    def _check_dims(self, func, args, kwargs, allow_full: bool) -> tuple[int, ...] | None:
        dims = self._dims(args, kwargs)
        tensor = args[0]
        if dims is None and not allow_full:
            raise StackingError(f"stacked seeds: a full {_name(func)} would mix seeds")
        if dims is not None and any(d % max(tensor.dim(), 1) == 0 for d in dims):
            raise StackingError(f"stacked seeds: {_name(func)} over dimension 0 would mix seeds")
        return dims

    def _reduce(self, func, args, kwargs):
        if self._check_dims(func, args, kwargs, allow_full=True) is not None:
            return func(*args, **kwargs)
        tensor = args[0]
        _rows(tensor, self.seeds, _name(func))
        dtype = kwargs.get("dtype", args[1] if len(args) > 1 else None)
        per_seed = tensor.reshape(self.seeds, -1)
        return per_seed.mean(1, dtype=dtype) if func in (torch.mean, torch.Tensor.mean) else per_seed.sum(1, dtype=dtype)

    def _loss(self, func, args, kwargs):
        reduction = kwargs.pop("reduction", "mean")
        if kwargs.get("weight") is not None and reduction == "mean":
            raise StackingError(f"stacked seeds: a weighted {_name(func)} is not split per seed")
        out = func(*args, reduction="none", **kwargs)
        if reduction == "none":
            return out
        per_seed = out.reshape(self.seeds, -1)
        return per_seed.mean(1) if reduction == "mean" else per_seed.sum(1)

    # -- gradients of per-seed losses --------------------------------------------------------------
    def _ones_for(self, outputs):
        many = isinstance(outputs, (list, tuple))
        ones = [torch.ones_like(o) if o.dim() == 1 and o.shape[0] == self.seeds else None
                for o in (outputs if many else [outputs])]
        return ones if many else ones[0]

    def _grad(self, args, kwargs):
        outputs = kwargs.pop("outputs", args[0] if args else None)
        inputs = kwargs.pop("inputs", args[1] if len(args) > 1 else None)
        grad_outputs = kwargs.pop("grad_outputs", args[2] if len(args) > 2 else None)
        if grad_outputs is None:
            grad_outputs = self._ones_for(outputs)
        return torch.autograd.grad(outputs, inputs, grad_outputs, *args[3:], **kwargs)

    def _backward(self, args, kwargs):
        tensor = args[0]
        gradient = kwargs.pop("gradient", args[1] if len(args) > 1 else None)
        if gradient is None:
            gradient = self._ones_for(tensor)
        return tensor.backward(gradient, *args[2:], **kwargs)


def seed_values(value: Any, seeds: int) -> torch.Tensor:
    """A logged value of a fused step as (S,): per-seed values stay, a value common to all is repeated."""
    value = value.detach().float()
    if value.dim() == 1 and value.shape[0] == seeds:
        return value
    if value.dim() == 0:
        return value.expand(seeds)
    raise StackingError(f"stacked seeds: a logged value of shape {tuple(value.shape)} is not one per seed")
