"""Training budgets: declared up front, recorded with every result, enforced by the loop.

A budget fixes how long a model trains (generator steps, images shown to D, wall-clock) and how it
is scored (generated samples, the real split and how many real images the statistics use). Methods
are only comparable under the same budget, so the leaderboard groups by it.

Named budgets:
- smoke    seconds on a CPU; for tests, proves the pipeline end to end, its numbers mean nothing.
- quick    a few minutes on a laptop CPU; a first look, 1k-sample metrics.
- standard the fixed comparison budget, as in Mimicry / StudioGAN for CIFAR-10: 100k G steps,
           batch 64, FID/KID/IS on 50k samples against the training split.
- paper    the paper's own schedule (its registry entry's `paper_budget`), scored like `standard`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from pydantic import ValidationError

from harness.errors import GanBenchError
from harness.schema import BudgetSpec

StopReason = Literal["g_steps", "kimg", "wall_clock"]
# The fewest generated or real images a score can be computed from: IS averages over 10 splits, and
# FID's covariances and KID's subsets need several images each. Fewer is refused before training.
MIN_SCORED_SAMPLES = 10


@dataclass(frozen=True)
class Budget:
    name: str
    g_steps: int
    batch_size: int
    eval_samples: int
    real_split: Literal["train", "test"]
    real_samples: int
    kimg: float | None = None  # images shown to D, in thousands; None = no limit beyond g_steps
    wall_clock_s: float | None = None
    eval_every: int | None = None  # G steps between intermediate evaluations (None = only at the end)
    log_every: int = 100
    checkpoint_every: int | None = None

    def stop_reason(self, g_steps_done: int, images_seen: int, elapsed_s: float) -> StopReason | None:
        """Why training must stop now, or None. Checked before every G step, so limits are exact."""
        if g_steps_done >= self.g_steps:
            return "g_steps"
        if self.kimg is not None and images_seen >= self.kimg * 1000:
            return "kimg"
        if self.wall_clock_s is not None and elapsed_s >= self.wall_clock_s:
            return "wall_clock"
        return None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


NAMED_BUDGETS: dict[str, Budget] = {
    "smoke": Budget(
        name="smoke", g_steps=20, batch_size=16, eval_samples=64, real_split="train", real_samples=64, log_every=5
    ),
    "quick": Budget(
        name="quick", g_steps=1000, batch_size=64, eval_samples=1000, real_split="train", real_samples=1000,
        log_every=50,
    ),
    "standard": Budget(
        name="standard", g_steps=100_000, batch_size=64, eval_samples=50_000, real_split="train",
        real_samples=50_000, eval_every=10_000, log_every=500, checkpoint_every=5_000,
    ),
}
BUDGET_NAMES = (*NAMED_BUDGETS, "paper")


def resolve_budget(name: str, paper_budget: BudgetSpec | None = None, overrides: dict | None = None,
                   paper_batch_size: int | None = None) -> Budget:
    """The named budget, with the paper's schedule (for `paper`) and the user's overrides applied.

    `paper_batch_size` is a batch size the method itself depends on (CycleGAN trains at batch 1, with
    instance norm): it replaces every named budget's batch size without renaming the budget.

    A budget changed by overrides is renamed `<name>-custom` so it never lands in the named budget's table.
    """
    if name == "paper":
        base = dataclasses.replace(NAMED_BUDGETS["standard"], name="paper")
        if paper_budget is not None:
            base = dataclasses.replace(base, **paper_budget.model_dump(exclude_none=True))
    elif name in NAMED_BUDGETS:
        base = NAMED_BUDGETS[name]
    else:
        raise GanBenchError(f"unknown budget {name!r}; choose one of {', '.join(BUDGET_NAMES)}")
    if paper_batch_size is not None:
        base = dataclasses.replace(base, batch_size=paper_batch_size)

    given = {key: value for key, value in (overrides or {}).items() if value is not None}
    for key in ("eval_samples", "real_samples"):
        if isinstance(given.get(key), int) and 0 < given[key] < MIN_SCORED_SAMPLES:
            raise GanBenchError(f"budget: {key}: at least {MIN_SCORED_SAMPLES} images are needed for FID/KID/IS, "
                                f"got {given[key]}")
    if not given:
        return base
    try:  # the same validation as a YAML budget: positive counts, a known split
        spec = BudgetSpec.model_validate(given)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"])
        raise GanBenchError(f"budget: {field}: {error['msg']} (got {error.get('input')!r})") from None
    changed = {k: v for k, v in spec.model_dump(exclude_none=True).items() if getattr(base, k) != v}
    if not changed:
        return base
    # How often a run is checkpointed changes nothing it computes, so it keeps the budget's name.
    renamed = set(changed) - {"checkpoint_every"}
    return dataclasses.replace(base, name=f"{base.name}-custom" if renamed else base.name, **changed)
