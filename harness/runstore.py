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
from harness.result_checks import result_problem
from harness.safe_files import lies_inside, read_plain_bytes
from harness.storage import append_jsonl, atomic_path, atomic_torch_save, atomic_write_json, atomic_write_text, read_jsonl

RESULT_FIELDS = ("paper", "dataset", "budget", "seed", "status", "progress", "scores", "provenance")


def utc_stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


class RunDir:
    """One run's directory and the files in it."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @classmethod
    def create(cls, root: Path, paper: str, dataset: str, budget: str, seed: int) -> "RunDir":
        parent = Path(root) / paper / dataset / budget
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

    config_path = property(lambda self: self.path / "config.json")
    result_path = property(lambda self: self.path / "result.json")
    curves_path = property(lambda self: self.path / "curves.jsonl")
    samples_path = property(lambda self: self.path / "samples.png")
    checkpoint_path = property(lambda self: self.path / "checkpoint.pt")

    def write_config(self, config: dict) -> None:
        atomic_write_json(self.config_path, config)

    def read_config(self) -> dict:
        return _read_json(self.config_path, "run config")

    def write_result(self, result: dict) -> None:
        atomic_write_json(self.result_path, result)

    def read_result(self) -> dict:
        result = _read_json(self.result_path, "result")
        missing = [name for name in RESULT_FIELDS if name not in result]
        if missing:
            raise GanBenchError(f"{self.result_path}: result is missing {', '.join(missing)}")
        return result

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
    if not (path / "config.json").is_file():
        raise GanBenchError(f"{path} is not a run directory (no config.json)")
    return RunDir(path)


def _read_json(path: Path, what: str) -> dict:
    raw = read_plain_bytes(path)  # never through a symlink: run directories may be copied from anywhere
    if raw is None:
        if path.is_symlink():
            raise GanBenchError(f"{path}: {what} is a symlink; run files must be plain files")
        raise GanBenchError(f"{path}: no {what} file")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise GanBenchError(f"{path}: {what} is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise GanBenchError(f"{path}: {what} must be a JSON object")
    return data


def iter_results(root: Path):
    """(run dir, result) for every usable result under `root`; the others are in `excluded_results`."""
    for run, result, problem in _scan_results(root):
        if problem is None:
            yield run, result


def excluded_results(root: Path) -> list[tuple[RunDir, str]]:
    """(run dir, why) for every result.json under `root` that cannot be used: unreadable or invalid."""
    return [(run, problem) for run, _, problem in _scan_results(root) if problem is not None]


def _scan_results(root: Path):
    for path in sorted(Path(root).glob("*/*/*/*/result.json")):
        if not lies_inside(path, root):  # a symlinked run folder (or file) leading out of the runs dir
            continue
        run = RunDir(path.parent)
        try:
            result = run.read_result()
        except GanBenchError as exc:
            yield run, None, str(exc).removeprefix(f"{run.result_path}: ")
            continue
        yield run, result, result_problem(result)


def results_table(root: Path):
    """All scores of all runs as one pandas DataFrame, one row per (run, protocol)."""
    import pandas as pd

    rows = []
    for run, result in iter_results(root):
        base = {
            "paper": result["paper"], "dataset": result["dataset"], "budget": result["budget"]["name"],
            "seed": result["seed"], "status": result["status"], "g_steps": result["progress"]["g_steps"],
            "kimg": result["progress"]["kimg"], "wall_clock_s": result["progress"]["wall_clock_s"],
            "device": result["provenance"]["device"]["name"], "run_dir": str(run.path),
        }
        if not result["scores"]:
            rows.append(base)
        for score in result["scores"]:
            protocol = score["protocol"]
            rows.append({**base, **score["metrics"], "num_samples": protocol["num_samples"],
                         "real_split": protocol["real_split"], "real_samples": protocol["real_samples"],
                         "extractor": protocol["extractor"]["label"]})
    return pd.DataFrame(rows)


def reproduced_papers(root: Path) -> set[str]:
    """Papers with a finished, scored run at the standard budget."""
    return {
        result["paper"]
        for _, result in iter_results(root)
        if result["budget"]["name"] == "standard" and result["status"] == "finished" and result["scores"]
    }
