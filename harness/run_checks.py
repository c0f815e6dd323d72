"""Checks on what a run reads back (checkpoint fields) and on what it is about to score.

A checkpoint is read with torch.load(weights_only=True), which keeps code out but lets any value
in: its progress counters are checked here before they are trusted or recorded. Networks whose
weights (or samples) are not finite are not scored: NaN pixels would be drawn as black and given
a finite, meaningless FID; such a run is recorded as diverged.
"""

from __future__ import annotations

import math

import torch

from harness.errors import CheckpointError
# config.json is checked where the run record is defined (torch-free, so the report shares it);
# re-exported here for experiment.py.
from harness.run_record import checked_config  # noqa: F401
from harness.trainer import Progress

_COUNTERS = ("g_steps", "d_steps", "images_seen")


def checked_progress(progress: object, where: str) -> Progress:
    """A checkpoint's `progress` as a Progress: counts non-negative integers, a finite clock."""
    if not isinstance(progress, dict):
        raise CheckpointError(f"{where}: progress is not a mapping")
    for name in (*_COUNTERS, "wall_clock_s"):
        value = progress.get(name)
        if name == "wall_clock_s":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0
        else:
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        if not ok:
            kind = "a finite, non-negative number" if name == "wall_clock_s" else "a non-negative integer"
            raise CheckpointError(f"{where}: progress.{name} must be {kind}, got {str(value)[:40]!r}")
    return Progress(progress["g_steps"], progress["d_steps"], progress["images_seen"], float(progress["wall_clock_s"]))


def nonfinite_reason(repro, samples: torch.Tensor | None = None) -> str | None:
    """Why a reproduction cannot be scored (non-finite weights or samples), or None."""
    broken = repro.nonfinite_modules()
    if broken:
        return f"non-finite weights in {', '.join(broken)}"
    if samples is not None and not bool(torch.isfinite(samples).all()):
        return "non-finite samples"
    return None


def check_generates(repro, paper: str) -> None:
    """Draw two samples before any run directory exists: hyperparameters the networks cannot run
    with (a zero latent size) fail here, in one line, not at the first training step. Invisible to
    the run: eval mode (no batch-norm statistics move), no gradients, every random stream restored."""
    from harness.errors import GanBenchError

    if repro.translates:  # image-to-image models have no sampler; their construction is the check
        return
    import random

    streams = (torch.get_rng_state(), random.getstate(),
               torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None)
    repro.train(False)
    try:
        with torch.no_grad():
            repro.sample(2, generator=torch.Generator(device=repro.device).manual_seed(0))
    except (RuntimeError, ValueError, IndexError, ZeroDivisionError) as exc:
        raise GanBenchError(f"{paper}: the networks cannot generate with these hyperparameters "
                            f"({str(exc).splitlines()[0][:160]})") from None
    finally:
        repro.train(True)
        torch.set_rng_state(streams[0])
        random.setstate(streams[1])
        if streams[2] is not None:
            torch.cuda.set_rng_state_all(streams[2])
