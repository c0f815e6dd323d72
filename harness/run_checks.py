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


# config.json fields a resume or re-score rebuilds the run from, and the type each must have.
_CONFIG_FIELDS = {"paper": str, "module": str, "dataset": str, "seed": int, "channels": int, "num_classes": int,
                  "hyperparameters": dict, "budget": dict, "device": str}
_OPTIONAL_CONFIG_FIELDS = {"data_root": str, "extractor": dict, "acceleration": dict, "domains": list, "resolution": int}


def checked_config(config: dict, where: object) -> dict:
    """A run's config.json, checked field by field before anything is rebuilt from it."""
    from harness.budget import Budget
    from harness.seeds import seed_problem

    def wrong(name: str, kind: type) -> bool:
        value = config.get(name)
        return isinstance(value, bool) or not isinstance(value, kind)

    for name, kind in _CONFIG_FIELDS.items():
        if wrong(name, kind):
            raise CheckpointError(f"{where}: {name} must be {kind.__name__}, got {str(config.get(name))[:40]!r}")
    for name, kind in _OPTIONAL_CONFIG_FIELDS.items():
        if config.get(name) is not None and wrong(name, kind):
            raise CheckpointError(f"{where}: {name} must be {kind.__name__} or null, got {str(config[name])[:40]!r}")
    if seed_problem(config["seed"]):
        raise CheckpointError(f"{where}: seed: {seed_problem(config['seed'])}")
    try:
        Budget(**config["budget"])
    except TypeError as exc:
        raise CheckpointError(f"{where}: budget: {exc}") from None
    extractor = config.get("extractor")
    if extractor is not None and not all(isinstance(extractor.get(k), str) for k in ("kind", "weights_sha256")):
        raise CheckpointError(f"{where}: extractor must name its kind and weights_sha256")
    return config


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
