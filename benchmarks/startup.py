"""CLI start-up: wall time of `gan-bench --help` and `gan-bench list` as fresh processes.

Neither may import torch (the commands that train or score import it when they run).

    python benchmarks/startup.py [--runs 5]

Last line (parseable):  startup help_s=<median> list_s=<median> torch_imported=<yes|no>
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def wall(args: list[str], runs: int) -> float:
    times = []
    for _ in range(runs + 1):  # the first run warms the file cache and is not counted
        started = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    cli = [sys.executable, "-m", "harness.cli"]
    probe = subprocess.run([sys.executable, "-c", "import sys; from harness.cli import app; "
                            "from typer.testing import CliRunner; CliRunner().invoke(app, ['list']); "
                            "print('yes' if 'torch' in sys.modules else 'no')"], capture_output=True, text=True, check=True)
    help_s, list_s = wall([*cli, "--help"], args.runs), wall([*cli, "list"], args.runs)
    print(f"startup help_s={help_s:.3f} list_s={list_s:.3f} torch_imported={probe.stdout.strip()}")


if __name__ == "__main__":
    main()
