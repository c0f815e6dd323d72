"""Several seeds of one cell as one set of networks: weights with a leading seed dimension.

The 2D mode-coverage nets are so small that a training step is mostly per-call overhead, so S seeds
cost little more than one when their networks run as one. Nothing here knows a paper: the
reproduction is built once per seed exactly as a lone run builds it (its own seed, its own random
draws), then `FusedSeeds` stacks those S copies into one reproduction object whose `nn.Linear` and
`nn.BatchNorm1d` layers hold all S seeds' weights, and whose optimisers (Adam and SGD are elementwise)
step them together. The paper's own `train_step` then runs unchanged on batches of S·N rows, seed by
seed in order (rows s·N … (s+1)·N − 1 are seed s's), inside `PerSeed`, a torch function mode that keeps
the seeds apart where the paper's code would mix them:

- every random draw of the step comes from that seed's own random stream, in the lone run's order
  (the global generator is swapped per seed), so each seed sees the noise a lone run of it sees;
- a full `mean`/`sum` (a loss) returns one value per seed, shape (S,), and `backward`/`autograd.grad`
  of such a loss seeds each with 1, so each seed's gradient is that of its own loss, unscaled;
- a reduction across the batch dimension, a random op it cannot split, or a layer it cannot stack is
  refused with a `StackingError` instead of silently mixing seeds.

A reproduction opts in with `stackable_seeds = True` once tests/test_stacked_seeds.py shows its
stacked seeds match lone runs; the harness never branches on which paper it is.
"""

from __future__ import annotations

import copy
import random
from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from harness.errors import GanBenchError
from harness.reproduction import Reproduction


class StackingError(GanBenchError):
    """The reproduction does something that stacked seeds cannot keep apart."""


def _rows(x: torch.Tensor, seeds: int, what: str) -> int:
    if x.dim() == 0 or x.shape[0] % seeds:
        raise StackingError(f"stacked seeds: {what} got {tuple(x.shape)}, whose first dimension is not a multiple "
                            f"of the {seeds} seeds")
    return x.shape[0] // seeds


class StackedLinear(nn.Module):
    """S `nn.Linear` layers as one: weight (S, out, in), bias (S, out); input (S·N, in) -> (S·N, out)."""

    def __init__(self, layers: Sequence[nn.Linear]):
        super().__init__()
        self.seeds = len(layers)
        self.weight = nn.Parameter(torch.stack([layer.weight.detach() for layer in layers]).clone())
        biased = layers[0].bias is not None
        self.bias = nn.Parameter(torch.stack([layer.bias.detach() for layer in layers]).clone()) if biased else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2:
            raise StackingError(f"stacked seeds: a Linear layer got a {x.dim()}-D input; only (rows, features) stacks")
        rows = _rows(x, self.seeds, "a Linear layer")
        if self.weight.shape[1] == 1:  # a one-unit output is a matrix-vector product, whose kernel the
            # batched one does not reproduce bit for bit: seed by seed, as the lone layer computes it
            return torch.cat([F.linear(x[s * rows:(s + 1) * rows], self.weight[s], None if self.bias is None else self.bias[s])
                              for s in range(self.seeds)])
        per_seed = x.reshape(self.seeds, rows, x.shape[1])
        weight_t = self.weight.transpose(1, 2)
        out = torch.bmm(per_seed, weight_t) if self.bias is None else torch.baddbmm(self.bias.unsqueeze(1), per_seed, weight_t)
        return out.reshape(self.seeds * rows, -1)


class StackedBatchNorm1d(nn.Module):
    """S `nn.BatchNorm1d` layers as one. Seed s's C channels become channels s·C … s·C + C − 1 of one
    (N, S·C) batch norm, so each seed is normalised by its own batch's statistics, by the same kernel."""

    def __init__(self, norms: Sequence[nn.BatchNorm1d]):
        super().__init__()
        first = norms[0]
        if first.momentum is None or not first.track_running_stats or not first.affine:
            raise StackingError("stacked seeds: only affine BatchNorm1d with running statistics and a momentum stacks")
        self.seeds, self.eps, self.momentum = len(norms), first.eps, first.momentum
        self.weight = nn.Parameter(torch.stack([n.weight.detach() for n in norms]).clone())
        self.bias = nn.Parameter(torch.stack([n.bias.detach() for n in norms]).clone())
        for name in ("running_mean", "running_var", "num_batches_tracked"):
            self.register_buffer(name, torch.stack([getattr(n, name) for n in norms]).clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2:
            raise StackingError("stacked seeds: BatchNorm1d stacks on (rows, features) inputs only")
        rows, channels = _rows(x, self.seeds, "BatchNorm1d"), x.shape[1]
        wide = x.reshape(self.seeds, rows, channels).transpose(0, 1).reshape(rows, self.seeds * channels)
        if self.training:
            self.num_batches_tracked.add_(1)
        out = F.batch_norm(wide, self.running_mean.view(-1), self.running_var.view(-1), self.weight.view(-1),
                           self.bias.view(-1), self.training, self.momentum, self.eps)
        return out.reshape(rows, self.seeds, channels).transpose(0, 1).reshape(self.seeds * rows, channels)


STACKED_LAYERS: dict[type, Callable[[Sequence[Any]], nn.Module]] = {
    nn.Linear: StackedLinear, nn.BatchNorm1d: StackedBatchNorm1d}


def fuse_modules(copies: Sequence[nn.Module]) -> nn.Module:
    """One module computing all S copies (same architecture, each its own weights) on S·N-row inputs."""
    kind = type(copies[0])
    if kind in STACKED_LAYERS:
        return STACKED_LAYERS[kind](copies)
    fused = copy.deepcopy(copies[0])
    for name, module in list(fused.named_modules()):
        if type(module) in STACKED_LAYERS:
            parent_name, _, leaf = name.rpartition(".")
            parent = fused.get_submodule(parent_name) if parent_name else fused
            setattr(parent, leaf, STACKED_LAYERS[type(module)]([c.get_submodule(name) for c in copies]))
    for name, module in fused.named_modules():
        own = [n for n, _ in module.named_parameters(recurse=False)] + [n for n, _ in module.named_buffers(recurse=False)]
        if own and type(module) not in (StackedLinear, StackedBatchNorm1d):
            raise StackingError(f"stacked seeds: {type(module).__name__} {name or kind.__name__!r} holds weights that "
                                f"have no stacked form (only Linear and BatchNorm1d layers stack)")
    return fused


def _fuse_optimizer(optimizers: Sequence[torch.optim.Optimizer], fused_param: dict[int, nn.Parameter]):
    first = optimizers[0]
    if any(opt.state for opt in optimizers):
        raise StackingError("stacked seeds train from scratch only (an optimiser already holds state)")
    groups = [{**{k: v for k, v in group.items() if k != "params"}, "params": [fused_param[id(p)] for p in group["params"]]}
              for group in first.param_groups]
    return type(first)(groups, **first.defaults)


class FusedSeeds:
    """S copies of one reproduction, built seed by seed, trained as one (`self.reproduction`).

    `write_back(s)` copies seed s's slice of every weight, buffer and optimiser state into copy s, which
    is then an ordinary single-seed reproduction (checkpointed, sampled and scored as a lone run is).
    """

    def __init__(self, copies: Sequence[Reproduction]):
        self.copies = list(copies)
        self.seeds = len(copies)
        first = copies[0]
        if first.extra_state():
            raise StackingError(f"stacked seeds: {type(first).__name__} keeps extra state, which does not stack")
        fused = copy.copy(first)  # shares hp, data and device; every network and optimiser is replaced
        self.module_names = [n for n, v in first._stateful().items() if isinstance(v, nn.Module)]
        self.optimizer_names = [n for n, v in first._stateful().items() if isinstance(v, torch.optim.Optimizer)]
        unstackable = [n for n in first._stateful() if n not in self.module_names + self.optimizer_names]
        if unstackable:
            raise StackingError(f"stacked seeds: {', '.join(unstackable)} (a learning-rate scheduler) does not stack")
        for name, value in vars(first).items():
            if name not in self.module_names and _holds_tensors(value):
                raise StackingError(f"stacked seeds: {type(first).__name__}.{name} holds tensors of one seed")
        fused_param: dict[int, nn.Parameter] = {}
        for name in self.module_names:
            module = fuse_modules([getattr(c, name) for c in copies])
            setattr(fused, name, module)
            stacked = dict(module.named_parameters())
            for param_name, p in getattr(first, name).named_parameters():
                fused_param[id(p)] = stacked[param_name]
        for name in self.optimizer_names:
            setattr(fused, name, _fuse_optimizer([getattr(c, name) for c in copies], fused_param))
        self.reproduction = fused

    @torch.no_grad()
    def write_back(self, index: int) -> None:
        target = self.copies[index]
        for name in self.module_names:
            fused, lone = getattr(self.reproduction, name), getattr(target, name)
            stacked = {**dict(fused.named_parameters()), **dict(fused.named_buffers())}
            for tensor_name, tensor in [*lone.named_parameters(), *lone.named_buffers()]:
                tensor.copy_(stacked[tensor_name][index])
        for name in self.optimizer_names:
            fused, lone = getattr(self.reproduction, name), getattr(target, name)
            for fused_group, lone_group in zip(fused.param_groups, lone.param_groups):
                lone_group.update({k: v for k, v in fused_group.items() if k != "params"})  # lr/momentum schedules
                for fused_p, lone_p in zip(fused_group["params"], lone_group["params"]):
                    state = fused.state.get(fused_p)
                    if state:
                        lone.state[lone_p] = {k: _slice_state(v, fused_p, index) for k, v in state.items()}

    def nonfinite_seeds(self) -> list[list[str]]:
        """Per seed, the networks holding a NaN/inf weight (Reproduction.nonfinite_modules, seed by seed)."""
        broken: list[list[str]] = [[] for _ in range(self.seeds)]
        for name in self.module_names:
            flags = [p.detach().reshape(self.seeds, -1).isfinite().all(1) for p in getattr(self.reproduction, name).parameters()]
            if flags:
                finite = torch.stack(flags).all(0)
                for s in range(self.seeds):
                    if not bool(finite[s]):
                        broken[s].append(name)
        return broken


def _slice_state(value: Any, param: torch.Tensor, index: int) -> Any:
    if torch.is_tensor(value):
        return value[index].clone() if value.shape == param.shape else value.clone()  # Adam's shared step count
    return value


def _holds_tensors(value: Any) -> bool:
    if torch.is_tensor(value):
        return True
    if isinstance(value, (list, tuple, set)):
        return any(_holds_tensors(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_tensors(v) for v in value.values())
    return False


class RandomStreams:
    """One lone run's global random state per seed (torch CPU, the CUDA device's, Python's), swapped in
    around whatever that seed would have drawn."""

    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"
        self.states: list[tuple] = []

    def capture(self) -> tuple:
        return (torch.get_rng_state(), torch.cuda.get_rng_state() if self.cuda else None, random.getstate())

    def restore(self, state: tuple) -> None:
        torch.set_rng_state(state[0])
        if self.cuda:
            torch.cuda.set_rng_state(state[1])
        random.setstate(state[2])

    def run_as(self, index: int, fn: Callable[[], Any]) -> Any:
        self.restore(self.states[index])
        try:
            return fn()
        finally:
            self.states[index] = self.capture()
