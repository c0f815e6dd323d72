"""The real-data floor as a record in a runs directory, so the leaderboard can print it as a row.

`gan-bench score-real --runs-dir DIR` writes one JSON file per measured protocol at
`DIR/real-data/<dataset>/<split>-vs-<against>-<samples>-<selection>-<extractor kind>-<sha>.json`;
the report reads them back (no torch) and puts a floor under every table whose protocol it is the
floor of: same dataset and resolution, real reference split and sample counts, extractor weights.
A file there is data anyone may have written: it is read without following symlinks, validated, and
skipped (not trusted) when it does not parse.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from harness.safe_files import read_run_file
from harness.storage import atomic_write_json

FLOOR_FOLDER = "real-data"
_SAFE = re.compile(r"[^a-z0-9.+-]+")


class RealFloorRecord(BaseModel):
    """What `score-real` compared and got: enough to match it to a leaderboard's protocol."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: str = Field(min_length=1)
    resolution: int = Field(gt=0)
    split: str = Field(description="the held-out split, in the place of generated samples")
    against: str = Field(description="the protocol's real reference split")
    samples: int = Field(gt=0, description="images taken from the held-out split (the table's generated count)")
    real_samples: int = Field(gt=0, description="images taken from the reference split")
    selection: str = Field(description="'first' or 'random (seed N)'")
    extractor_kind: str
    extractor_sha256: str = Field(min_length=8)
    extractor_label: str
    metrics: dict[str, float]
    command: str = Field(description="the gan-bench command that measured it")
    # Provenance, as a run's result.json records it (harness.provenance): when, on what, from which code,
    # and how long it took. Optional so that a floor stored before these fields existed still reads back.
    measured_at: str | None = Field(default=None, max_length=64, description="UTC time the measurement ended (ISO 8601)")
    wall_clock_s: float | None = Field(default=None, ge=0, description="seconds the measurement took, features included")
    hardware: str | None = Field(default=None, max_length=300, description="the device and platform it ran on")
    code_commit: str | None = Field(default=None, max_length=80, description="the gan-bench git commit ('+dirty' if changed)")

    @field_validator("metrics")
    @classmethod
    def _finite(cls, value: dict[str, float]) -> dict[str, float]:
        bad = [k for k, v in value.items() if not math.isfinite(v)]
        if bad:
            raise ValueError(f"non-finite metric {bad[0]!r}")
        return value

    @property
    def provenance_line(self) -> str:
        """'measured 2026-12-01T… on cpu (…, 1 thread), 2310 s, code 1a2b3c4': what is known of it, or that nothing is."""
        where = " ".join(part for part in (f"measured {self.measured_at}" if self.measured_at else "",
                                           f"on {self.hardware}" if self.hardware else "") if part)
        known = [part for part in (where, f"{self.wall_clock_s:.0f} s" if self.wall_clock_s is not None else "",
                                   f"code {self.code_commit}" if self.code_commit else "") if part]
        return ", ".join(known) if known else "provenance not recorded (stored before floors recorded it)"

    @property
    def file_name(self) -> str:
        selection = "first" if self.selection == "first" else _SAFE.sub("", self.selection.replace(" ", ""))
        parts = (self.split, "vs", self.against, str(self.samples), selection, self.extractor_kind,
                 self.extractor_sha256[:16])
        return _SAFE.sub("-", "-".join(parts).lower()) + ".json"


def floor_path(runs_dir: Path, record: RealFloorRecord) -> Path:
    return Path(runs_dir) / FLOOR_FOLDER / _SAFE.sub("-", record.dataset.lower()) / record.file_name


def write_floor(runs_dir: Path, record: RealFloorRecord) -> Path:
    """Store `record` (atomically; a second measurement of the same protocol replaces the first)."""
    path = floor_path(runs_dir, record)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, record.model_dump())
    return path


def read_floors(runs_dir: Path) -> list[RealFloorRecord]:
    """Every valid floor record under `runs_dir` (sorted by file); damaged or planted files are left out."""
    root = Path(runs_dir)
    records = []
    for path in sorted((root / FLOOR_FOLDER).glob("*/*.json")):
        data = read_run_file(path, root)
        if data is None:
            continue
        try:
            records.append(RealFloorRecord.model_validate(json.loads(data)))
        except (ValueError, ValidationError, RecursionError):  # JSONDecodeError is a ValueError
            continue
    return records


def floor_command(dataset: str, split: str, against: str, samples: int, real_samples: int, random_seed: int | None,
                  extractor: str, runs_dir: str = "RUNS_DIR") -> str:
    """The `gan-bench score-real` command that measures this floor (the report prints it where one is missing)."""
    real = "" if real_samples == samples else f" --real-samples {real_samples}"
    chosen = "" if random_seed is None else f" --random --seed {random_seed}"
    return (f"gan-bench score-real --dataset {dataset} --split {split} --against {against} --samples {samples}{real}"
            f"{chosen} --extractor {extractor} --runs-dir {runs_dir}")
