"""How much 10 stacked seeds cost against one lone seed, per paper, on the 2D mode-coverage cells.

    PYTHONPATH=. python benchmarks/vectorised_seeds.py [--seeds 10] [--steps 30] [--cells gan:ring8,...]

For each cell it builds the reproduction exactly as `gan-bench run` does (registry, per-dataset
hyperparameters, the paper budget's batch), times `--steps` training steps of one lone seed and of
`--seeds` seeds stacked (harness.stacked_seeds under harness.per_seed.PerSeed), after two warm-up
steps, and prints the seconds per step of each and the ratio stacked / lone (issue 17 asks for at
most 3 at 10 seeds). It prints the load average too: on a shared CPU the seconds say little alone.
Set OMP_NUM_THREADS=1 to measure the one-thread case the published runs use.
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from harness.budget import resolve_budget
from harness.data import load_dataset
from harness.experiment import configure, instantiate, seed_everything
from harness.per_seed import PerSeed
from harness.registry import load_registry
from harness.run_inputs import make_batches, pick_variant, spec_of
from harness.stacked_seeds import FusedSeeds, RandomStreams
from harness.stacked_training import _stack
from harness.acceleration import Acceleration

CELLS = ("gan:ring8", "veegan:ring8", "unrolled-gan@k5:ring8", "ali:ring8", "gan:ring8-pacgan",
         "pacgan@m2:ring8-pacgan", "ali:ring8-pacgan")


def build(cell: str, seeds: int):
    paper_variant, dataset = cell.split(":")
    paper, _, variant = paper_variant.partition("@")
    entry = load_registry().get(paper)
    variant = pick_variant(entry, variant or None)
    budget = resolve_budget("paper", entry.reproduction.paper_budget_for(dataset, variant), {}, entry.reproduction.batch_size)
    cls, hp, resolution = configure(entry, dataset, variant=variant)
    train_set = load_dataset(dataset, "train", None, resolution, False)
    device = torch.device("cpu")
    copies, batches = [], []
    for seed in range(seeds):
        seed_everything(seed)
        copies.append(instantiate(cls, hp, spec_of(train_set.info, resolution), device, paper))
        batches.append(make_batches(train_set, budget, device, seed, Acceleration()))
    return copies, batches, budget


def seconds_per_step(step, steps: int) -> float:
    for _ in range(2):
        step()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - started) / steps


def measure(cell: str, seeds: int, steps: int) -> tuple[float, float, int]:
    copies, batches, budget = build(cell, 1)
    lone = copies[0]
    lone.train(True)
    counter = iter(range(10**9))
    lone_s = seconds_per_step(lambda: lone.train_step([batches[0].next()], next(counter)), steps)

    copies, batches, budget = build(cell, seeds)
    fused = FusedSeeds(copies)
    fused.reproduction.train(True)
    streams = RandomStreams(torch.device("cpu"))
    streams.states = [streams.capture() for _ in range(seeds)]
    counter = iter(range(10**9))

    def stacked_step():
        real = [_stack([b.next() for b in batches])]
        with PerSeed(seeds, streams):
            fused.reproduction.train_step(real, next(counter))

    return lone_s, seconds_per_step(stacked_step, steps), budget.batch_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--cells", default=",".join(CELLS))
    args = parser.parse_args()
    print(f"torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.2f} "
          f"{os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} at the start")
    print(f"{'cell':<26} {'batch':>5} {'lone s/step':>12} {f'{args.seeds} stacked s/step':>18} {'ratio':>6}")
    for cell in args.cells.split(","):
        lone, stacked, batch = measure(cell, args.seeds, args.steps)
        print(f"{cell:<26} {batch:>5} {lone:>12.4f} {stacked:>18.4f} {stacked / lone:>6.2f}", flush=True)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
