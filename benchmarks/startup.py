"""CLI start-up: wall time of `--help`, `list`, `show` and `status` as fresh processes, against a
runs directory holding results (the realistic case: `list` derives each paper's status from them).

None of these may import torch (the commands that train or score import it when they run).

    python benchmarks/startup.py [--runs 5] [--results 60]

The runs directory is built in a temporary folder from the committed results/ (copied with new
seeds, a third of them renamed to the standard budget, so `list` finds reproduced papers).
Last line (parseable):  startup help_s=<median> list_s=<median> show_s=<median> status_s=<median> torch_imported=<yes|no>
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COMMITTED_RESULTS = REPO / "results"
PROBE = ("import sys; from typer.testing import CliRunner; from harness.cli import app; "
         "r = CliRunner().invoke(app, sys.argv[1:]); assert r.exit_code == 0, r.output; "
         "print('yes' if 'torch' in sys.modules else 'no')")


def build_runs_dir(root: Path, count: int) -> Path:
    """`count` run directories under `root`, in the run store's layout, copied from results/."""
    sources = sorted(path.parent for path in COMMITTED_RESULTS.glob("*/*/*/*/result.json"))
    if not sources:
        raise SystemExit(f"no committed results under {COMMITTED_RESULTS}")
    for index in range(count):
        source = sources[index % len(sources)]
        result = json.loads((source / "result.json").read_text())
        budget = "standard" if index % 3 == 0 else source.parent.name
        result["seed"], result["budget"]["name"] = index, budget
        target = root / source.parts[-4] / source.parts[-3] / budget / f"{index}-{source.name.split('-', 1)[1]}"
        target.mkdir(parents=True)
        for name in ("config.json", "curves.jsonl", "samples.png"):
            if (source / name).exists():
                shutil.copy(source / name, target / name)
        (target / "result.json").write_text(json.dumps(result))
    return root


def commands(runs: Path) -> dict[str, list[str]]:
    return {"help": ["--help"], "list": ["list", "--runs-dir", str(runs)], "show": ["show", "dcgan"],
            "status": ["status", "--papers", "dcgan,gan,wgan", "--budgets", "standard,quick", "--runs-dir", str(runs)]}


def wall(args: list[str], runs: int) -> float:
    times = []
    for _ in range(runs + 1):  # the first run warms the file cache and is not counted
        started = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True, cwd=REPO)
        times.append(time.perf_counter() - started)
    return statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed repetitions of each command")
    parser.add_argument("--results", type=int, default=60, help="results in the synthetic runs directory (>= 50)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs = build_runs_dir(Path(tmp) / "runs", args.results)
        imported, medians = [], {}
        for name, argv in commands(runs).items():
            probe = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True, cwd=REPO)
            imported.append(probe.stdout.strip().splitlines()[-1])
            medians[name] = wall([sys.executable, "-m", "harness.cli", *argv], args.runs)
            print(f"{name:7s} median {medians[name]:.3f} s over {args.runs} runs, torch imported: {imported[-1]}")
    timings = " ".join(f"{name}_s={value:.3f}" for name, value in medians.items())
    print(f"startup {timings} torch_imported={'yes' if 'yes' in imported else 'no'} results={args.results}")


if __name__ == "__main__":
    main()
