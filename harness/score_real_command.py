"""`gan-bench score-real`: the real-data floor of a protocol (see harness.metrics.real_floor).

Kept out of harness/cli.py so that file stays a thin index of commands; cli.py registers it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from harness.errors import GanBenchError


def score_real(
    dataset: str = typer.Option("mnist", help="the dataset whose two splits are compared"),
    split: str = typer.Option("test", help="the held-out split, in the place of generated samples"),
    against: str = typer.Option("train", help="the protocol's real reference split"),
    samples: int = typer.Option(10_000, help="images taken from --split (a table's generated sample count)"),
    real_samples: Optional[int] = typer.Option(None, help="images taken from --against (default: --samples)"),
    random: bool = typer.Option(False, "--random", help="a seeded random subset instead of the first N images"),
    seed: int = typer.Option(0, help="the subset's seed with --random"),
    device: str = typer.Option("auto", help="auto, cpu, cuda or cuda:N"),
    data_root: Optional[Path] = typer.Option(None, help="dataset files (default $GAN_BENCH_DATA or ./data)"),
    extractor: str = typer.Option("auto", help="auto, torch-fidelity or torchscript"),
    extractor_weights: Optional[Path] = typer.Option(None, help="weights file for --extractor"),
    cache_dir: Optional[Path] = typer.Option(None, help="feature cache (default $GAN_BENCH_CACHE or ~/.cache/gan-bench)"),
    runs_dir: Optional[Path] = typer.Option(
        None, help="also store the floor under DIR/real-data/ (the report's 'real data' rows); default: not stored"),
) -> None:
    """The real-data floor: FID/KID (IS) of one real split against another at N images each."""
    from harness.experiment import pick_device
    from harness.metrics.extractors import resolve_extractor
    from harness.metrics.real_floor import score_real as measure

    if runs_dir is not None and runs_dir.exists() and not runs_dir.is_dir():
        raise GanBenchError(f"--runs-dir {runs_dir}: not a folder")
    spec = resolve_extractor(extractor, extractor_weights)
    started = time.monotonic()
    floor = measure(dataset, split, against, samples, spec, pick_device(device), data_root, cache_dir,
                    random_seed=seed if random else None, real_samples=real_samples)
    took = time.monotonic() - started
    m = floor.metrics
    typer.echo(f"FID {m['fid']:.4f}")
    typer.echo(f"KID {m['kid_mean']:.6f} ± {m['kid_std']:.6f}")
    if "is_mean" in m:
        typer.echo(f"IS {m['is_mean']:.4f} ± {m['is_std']:.4f}")
    real_count = floor.protocol.real_samples
    typer.echo(f"[{floor.selection} {samples} {dataset} {split} images vs {floor.selection} {real_count} {against} images, "
               f"{spec.label}]")
    if runs_dir is not None:
        from harness.real_floor_record import floor_command, write_floor

        command = floor_command(dataset, split, against, samples, real_count, seed if random else None, spec.kind,
                                str(runs_dir))
        try:
            path = write_floor(runs_dir, floor.record(command, took))
        except OSError as exc:
            raise GanBenchError(f"cannot store the floor under {runs_dir}: {exc.strerror or exc}") from None
        typer.echo(f"stored {path}")

