"""A run's checkpoint: what it holds, and putting it back into a freshly assembled run.

The checkpoint holds the networks, optimisers, data order and every random stream, so a resumed
run on CPU with its seed ends with exactly the weights of one never interrupted. It is read with
`torch.load(weights_only=True)`: a runs directory is data, and nothing in it may run code.
"""

from __future__ import annotations

import random

import torch

from harness.errors import CheckpointError
from harness.paper_code import paper_code
from harness.reproduction import Reproduction
from harness.run_checks import checked_progress
from harness.runstore import RunDir
from harness.schema import PaperEntry
from harness.trainer import Progress

CHECKPOINT_FORMAT = "gan-bench-checkpoint/1"


def checkpoint_state(entry: PaperEntry, repro: Reproduction, batches, progress: Progress, trainer: dict) -> dict:
    """Everything a resume needs, at the end of G step `progress.g_steps`."""
    return {
        "format": CHECKPOINT_FORMAT, "paper": entry.id, "module": entry.reproduction.module,
        "reproduction": repro.state_dict(), "batches": batches.state_dict(), "progress": progress.to_dict(),
        "rng": {"torch": torch.get_rng_state(), "python": random.getstate(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []},
        "trainer": trainer,
    }


def load_checkpoint(run: RunDir, expected_paper: str) -> dict:
    path = run.checkpoint_path
    if not path.is_file():
        raise CheckpointError(f"{path}: no checkpoint in this run directory")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path}: corrupt or unreadable checkpoint ({type(exc).__name__})") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a gan-bench checkpoint")
    if state.get("paper") != expected_paper:
        raise CheckpointError(f"{path}: checkpoint is of paper {state.get('paper')!r}, the run is {expected_paper!r}")
    return state


def load_reproduction(repro: Reproduction, state: dict, paper: str) -> None:
    """The networks, optimisers and the paper's extra state. A bug in the paper's own
    `load_extra_state` is a `PaperCodeError`; a checkpoint that does not fit raises as it is."""
    with paper_code(paper, type(repro), "load_state_dict / load_extra_state"):
        repro.load_state_dict(state)


def restore(state: dict, repro: Reproduction, batches, paper: str) -> Progress:
    """Put a checkpoint's state back: networks, optimisers, data order and every random stream."""
    try:
        load_reproduction(repro, state["reproduction"], paper)
        batches.load_state_dict(state["batches"])
        rng = state["rng"]
        torch.set_rng_state(rng["torch"])
        random.setstate(_as_tuple(rng["python"]))
        if rng["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
        return checked_progress(state["progress"], "checkpoint")
    except (RuntimeError, KeyError, ValueError, TypeError) as exc:
        raise CheckpointError(f"checkpoint does not fit this run ({type(exc).__name__}: {str(exc)[:120]})") from None


def _as_tuple(value):
    return tuple(_as_tuple(v) for v in value) if isinstance(value, (list, tuple)) else value
