"""The seeds a run may have: the same range for `run`, `resume` and a sweep.

A seed seeds Python, torch (CPU and CUDA) and numpy-style generators; numpy and many samplers take
32-bit seeds, and evaluation noise uses the seed plus an offset, so seeds are 0 … 2**32 - 1.
"""

from __future__ import annotations

from harness.errors import GanBenchError

MAX_SEED = 2**32 - 1


def seed_problem(seed: object) -> str | None:
    """Why `seed` is not a valid seed, or None."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        return f"a seed is an integer, got {type(seed).__name__}"
    if not 0 <= seed <= MAX_SEED:
        return f"a seed is between 0 and {MAX_SEED}, got {seed}"
    return None


def check_seed(seed: object) -> int:
    problem = seed_problem(seed)
    if problem:
        raise GanBenchError(f"--seed: {problem}")
    return seed  # type: ignore[return-value]
