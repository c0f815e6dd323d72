"""The run store: one directory per run, and a pandas view over all of them.

    runs/<paper>/<dataset>/<budget>/<seed>-<UTC stamp>-<random>/
        config.json     the fully resolved configuration (hyperparameters, budget, protocol, seed)
        curves.jsonl    losses every `log_every` G steps, and metric evaluations, over kimg
        result.json     status, progress, scores (each with its protocol) and provenance
        samples.png     a fixed-noise sample grid
        checkpoint.pt   reproduction + data-order state (torch.load(weights_only=True) safe)

Every JSON/PNG/checkpoint write is atomic; a run directory is created exclusively, so two runs
started at once never share one.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timezone
from pathlib import Path

from harness.errors import GanBenchError
from harness.run_record import RecordError, RunConfig, RunResult, load_config, load_result, parse_config, parse_result
from harness.safe_files import lies_inside
from harness.storage import append_jsonl, atomic_path, atomic_torch_save, atomic_write_json, atomic_write_text, read_jsonl

CONFIG_FILE, RESULT_FILE = "config.json", "result.json"


# ------------------------------------------------------------------------------------------ layout
# runs/<row>/<dataset>/<budget>/<seed>-<UTC stamp>-<random>/, where <row> is the paper or
# `paper@variant`. These helpers are the only code that knows it (sweeps, executors, the report).
def row_name(paper: str, variant: str | None = None) -> str:
    """A run directory's first level: the paper, or `paper@variant` (a variant's runs sit apart)."""
    return paper + (f"@{variant}" if variant else "")


def cell_folder(root: Path, row: str, dataset: str, budget: str) -> Path:
    """Where the runs of one (paper or variant, dataset, budget) are created."""
    return Path(root) / row / dataset / budget


def seed_runs(folder: Path, seed: int) -> list[Path]:
    """The run directories of `seed` in a cell folder, oldest first (names start with the seed, then a UTC stamp)."""
    folder = Path(folder)
    return sorted(p for p in folder.glob(f"{seed}-*") if p.is_dir()) if folder.is_dir() else []


def run_files(root: Path, name: str) -> list[Path]:
    """Every `<row>/<dataset>/<budget>/<run>/<name>` under a runs root, sorted, none reached through a symlink."""
    root = Path(root)
    return [path for path in sorted(root.glob(f"*/*/*/*/{name}")) if lies_inside(path, root)]


def run_id(root: Path, run_path: Path) -> str:
    """"<row>/<dataset>/<budget>/<run>", posix, relative to the runs root (the report's name for a run)."""
    return Path(run_path).relative_to(root).as_posix()


def runs_root_of(run_path: Path) -> Path:
    """The runs root a run directory sits in."""
    return Path(run_path).parents[3]


def path_fields(run_path: Path) -> dict[str, str]:
    """What a run directory's path says: its row, dataset and budget (for a run whose files say nothing)."""
    run_path = Path(run_path)
    return {"row": run_path.parents[2].name, "dataset": run_path.parents[1].name, "budget": run_path.parent.name}


def utc_stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


class RunDir:
    """One run's directory and the files in it."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @classmethod
    def create(cls, root: Path, paper: str, dataset: str, budget: str, seed: int) -> "RunDir":
        """A new run directory; `paper` is the row (`row_name(paper, variant)`)."""
        parent = cell_folder(root, paper, dataset, budget)
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise GanBenchError(f"cannot create run directory under {root}: {exc.strerror}") from None
        for _ in range(10):
            path = parent / f"{seed}-{utc_stamp()}-{secrets.token_hex(2)}"
            try:
                path.mkdir()  # exclusive: fails if another run took the name
                return cls(path)
            except FileExistsError:
                continue
            except OSError as exc:
                raise GanBenchError(f"cannot create run directory {path}: {exc.strerror}") from None
        raise GanBenchError(f"could not find a free run directory name under {parent}")

    config_path = property(lambda self: self.path / CONFIG_FILE)
    result_path = property(lambda self: self.path / RESULT_FILE)
    curves_path = property(lambda self: self.path / "curves.jsonl")
    samples_path = property(lambda self: self.path / "samples.png")
    checkpoint_path = property(lambda self: self.path / "checkpoint.pt")

    def write_config(self, config: dict | RunConfig) -> None:
        """Checked as a RunConfig first: what is written is what every reader accepts."""
        data = config.model_dump(exclude_unset=True) if isinstance(config, RunConfig) else config
        parse_config(data, f"{self.config_path} (about to be written)")
        atomic_write_json(self.config_path, data)

    def config_record(self) -> RunConfig:
        return load_config(self.config_path)

    def read_config(self) -> dict:
        """config.json as a plain dict, after it passed as a RunConfig (bounded, never through a symlink)."""
        return self.config_record().model_dump(exclude_unset=True)

    def write_result(self, result: dict | RunResult) -> None:
        data = result.model_dump(exclude_unset=True) if isinstance(result, RunResult) else result
        parse_result(data, f"{self.result_path} (about to be written)")
        atomic_write_json(self.result_path, data)

    def result_record(self) -> RunResult:
        return load_result(self.result_path)

    def read_result(self) -> dict:
        """result.json as a plain dict, after it passed as a RunResult."""
        return self.result_record().model_dump(exclude_unset=True)

    def log(self, record: dict) -> None:
        append_jsonl(self.curves_path, record)

    def curves(self) -> list[dict]:
        return read_jsonl(self.curves_path)

    def rewrite_curves(self, records: list[dict]) -> None:
        atomic_write_text(self.curves_path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in records))

    def save_checkpoint(self, state: dict) -> None:
        atomic_torch_save(state, self.checkpoint_path)

    def save_samples(self, images, modes=None, title: str = "") -> None:
        """A grid of images in [-1, 1]; or, given the true `modes` (K, 2), points (N, 2) as a scatter over them."""
        if modes is not None:
            from harness.scatter import save_scatter

            with atomic_path(self.samples_path) as tmp:
                save_scatter(images, modes, tmp, title)
            return
        from torchvision.utils import save_image

        with atomic_path(self.samples_path) as tmp:
            save_image(images, tmp, format="png", nrow=8, normalize=True, value_range=(-1, 1))


def open_run(path: Path) -> RunDir:
    path = Path(path)
    if not (path / CONFIG_FILE).is_file():
        raise GanBenchError(f"{path} is not a run directory (no config.json)")
    return RunDir(path)


def iter_results(root: Path):
    """(run dir, RunResult) for every usable result under `root`; the others are in `excluded_results`."""
    for run, result, problem in _scan_results(root):
        if problem is None:
            yield run, result


def excluded_results(root: Path) -> list[tuple[RunDir, str]]:
    """(run dir, why) for every result.json under `root` that cannot be used: unreadable or invalid."""
    return [(run, problem) for run, _, problem in _scan_results(root) if problem is not None]


def _scan_results(root: Path):
    for path in run_files(root, RESULT_FILE):  # a symlinked run folder (or file) leading out is not listed
        run = RunDir(path.parent)
        try:
            yield run, run.result_record(), None
        except RecordError as exc:
            yield run, None, str(exc).removeprefix(f"{run.result_path}: ")


def results_table(root: Path):
    """All scores of all runs as one pandas DataFrame, one row per (run, protocol)."""
    import pandas as pd

    rows = []
    for run, result in iter_results(root):
        base = {
            "paper": result.paper, "variant": result.variant, "version": result.version,
            "overrides": json.dumps(result.overrides, sort_keys=True) if result.overrides is not None else None,
            "dataset": result.dataset, "budget": result.budget.name, "seed": result.seed, "status": result.status,
            "g_steps": result.progress.g_steps, "kimg": result.progress.kimg,
            "wall_clock_s": result.progress.wall_clock_s, "device": result.device.get("name"), "run_dir": str(run.path),
        }
        if not result.scores:
            rows.append(base)
        for score in result.scores:
            protocol = score.protocol
            rows.append({**base, **score.metrics, "num_samples": protocol.num_samples,
                         "real_split": protocol.real_split, "real_samples": protocol.real_samples,
                         "extractor": protocol.extractor.label if protocol.extractor else None})
    return pd.DataFrame(rows)


def reproduced_papers(root: Path) -> set[str]:
    """Papers with a finished, scored run at the standard budget."""
    return {
        result.paper
        for _, result in iter_results(root)
        if result.budget.name == "standard" and result.status == "finished" and result.scores
    }
