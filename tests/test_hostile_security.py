"""Hostile files in a runs directory or registry: nothing planted there runs code, leaks a file,
eats memory, or makes the report delete or render what it should not (issue 15, Security)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from harness.errors import GanBenchError
from harness.registry import load_registry
from reports.render import render_site
from tests.test_bad_input import assert_one_line_error, gan_bench
from tests.test_report_support import write_run

CELL = "dcgan/mnist/smoke/0"


class _Planted:
    """Unpickling this creates `marker`: proof that a planted pickle ran."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _plant(folder: Path, job_id: str, marker: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{job_id}_0_result.pkl").write_bytes(pickle.dumps(("success", _Planted(marker))))


def _ledger_line(folder: Path, job_id: str, **extra) -> str:
    return json.dumps({"cell": CELL, "kind": "local", "job_id": job_id, "action": "run", "run_dir": None,
                       "folder": str(folder), "submitted_at": "2026-01-01T00:00:00+00:00", **extra}) + "\n"


@pytest.mark.parametrize("command", ["status", "sweep"])
def test_a_planted_job_pickle_is_never_unpickled(tmp_path, command):
    runs, outside = tmp_path / "runs", tmp_path / "elsewhere"
    ledger = runs / ".submitit" / "ledger.jsonl"
    _plant(outside, "111", tmp_path / "ran-outside")  # a ledger line pointing out of the runs dir
    _plant(runs / ".submitit", "222", tmp_path / "ran-inside")  # and one in the ledger's own folder
    ledger.write_text(_ledger_line(outside, "111") + _ledger_line(runs / ".submitit", "222"))
    args = ["--papers", "dcgan", "--budgets", "smoke", "--runs-dir", runs] + (["--dry-run"] if command == "sweep" else [])
    proc = gan_bench(command, *args)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "ran-outside").exists() and not (tmp_path / "ran-inside").exists()


def test_ledger_lines_that_are_not_records_are_skipped(tmp_path):
    runs = tmp_path / "runs"
    (runs / ".submitit").mkdir(parents=True)
    good = _ledger_line(runs / ".submitit", "333").encode()
    (runs / ".submitit" / "ledger.jsonl").write_bytes(
        b'[1, 2]\n"text"\n\xff\xfe not utf-8\n{"cell": 5}\n' + _ledger_line(runs, "../../x").encode() + good)
    proc = gan_bench("status", "--papers", "dcgan", "--budgets", "smoke", "--runs-dir", runs)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "failed" in proc.stdout  # the one good line: job 333 is gone without a result


def _secret(tmp_path: Path) -> Path:
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"TOP-SECRET-BYTES")
    return secret


def _site_bytes(site: Path) -> bytes:
    return b"".join(p.read_bytes() for p in site.rglob("*") if p.is_file())


def test_report_never_follows_a_symlinked_run_file(tmp_path):
    runs, secret = tmp_path / "runs", _secret(tmp_path)
    run = write_run(runs, "dcgan", metrics={"fid": 10.0, "kid_mean": 0.01, "kid_std": 0.001})
    (run / "samples.png").unlink()
    (run / "samples.png").symlink_to(secret)
    (run / "curves.jsonl").unlink()
    (run / "curves.jsonl").symlink_to(secret)
    render_site(runs, load_registry(), tmp_path / "site")
    assert b"TOP-SECRET" not in _site_bytes(tmp_path / "site")
    assert not list((tmp_path / "site").rglob("samples.png"))


def test_report_skips_a_run_folder_that_is_a_symlink_out_of_the_runs_dir(tmp_path):
    runs, elsewhere = tmp_path / "runs", tmp_path / "elsewhere"
    real = write_run(elsewhere, "dcgan", metrics={"fid": 10.0, "kid_mean": 0.01, "kid_std": 0.001}, name="0-outside")
    (runs / "dcgan" / "mnist" / "smoke").mkdir(parents=True)
    (runs / "dcgan" / "mnist" / "smoke" / "0-linked").symlink_to(real)
    render_site(runs, load_registry(), tmp_path / "site")
    assert not list((tmp_path / "site").rglob("*0-linked*"))


def _bomb(levels: int = 5) -> str:
    """One YAML flow list whose last item holds 10**(levels + 1) leaves, in a few hundred bytes."""
    items = ["&a0 [" + ", ".join(["x"] * 10) + "]"]
    items += [f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels + 1)]
    return "[" + ", ".join(items) + "]"


def _bomb_registry(tmp_path: Path) -> Path:
    """A paper whose z_dim is an anchor bomb of about a million values (1 KB of YAML)."""
    folder = tmp_path / "registry"
    (folder / "papers").mkdir(parents=True)
    (folder / "papers" / "bomb-gan.yaml").write_text(
        "id: bomb-gan\ntitle: Bomb\nauthors: [X]\nyear: 2020\ncategory: loss\nreproduction:\n"
        f"  module: reproductions.dcgan\n  datasets: [mnist]\n  hyperparameters: {{z_dim: {_bomb()}}}\n")
    return folder


def test_a_yaml_anchor_bomb_is_refused_at_load_time_in_one_short_line(tmp_path):
    proc = gan_bench("show", "bomb-gan", env={"GAN_BENCH_REGISTRY": str(_bomb_registry(tmp_path))})
    assert_one_line_error(proc, "bomb-gan.yaml")
    assert len(proc.stderr) < 500  # never the expanded input


def test_the_size_check_is_bounded_on_a_deep_bomb():
    from harness.yaml_limits import too_large

    level = ["x"] * 9
    for _ in range(9):  # 9**10 values if expanded: walked only up to the limit
        level = [level] * 9
    assert too_large(level) and not too_large({"a": [1, 2, 3], "b": {"c": "d"}})


def test_a_sweep_file_bomb_is_refused(tmp_path):
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(f"papers: {_bomb()}\n")
    proc = gan_bench("sweep", "--sweep", sweep, "--dry-run", "--runs-dir", tmp_path / "runs")
    assert_one_line_error(proc, "expands to more than")


@pytest.mark.parametrize("where", ["same", "inside", "around"])
def test_report_refuses_an_out_folder_overlapping_the_runs_dir(tmp_path, where):
    runs = tmp_path / "work" / "runs"
    write_run(runs, "dcgan", metrics={"fid": 10.0, "kid_mean": 0.01, "kid_std": 0.001})
    out = {"same": runs, "inside": runs / "site", "around": tmp_path / "work"}[where]
    with pytest.raises(GanBenchError, match="overlaps the runs directory"):
        render_site(runs, load_registry(), out)
    assert not list(runs.rglob("index.html")) and not (tmp_path / "work" / "index.html").exists()


def test_report_never_deletes_a_file_it_did_not_write(tmp_path):
    runs, site = tmp_path / "runs", tmp_path / "site"
    run = write_run(runs, "dcgan", metrics={"fid": 10.0, "kid_mean": 0.01, "kid_std": 0.001})
    render_site(runs, load_registry(), site)
    (mine,) = site.rglob("samples.png")
    mine.write_bytes(b"a file the user put here")  # same name as a page file, not the report's bytes
    for path in run.iterdir():
        path.unlink()
    run.rmdir()
    render_site(runs, load_registry(), site)
    assert mine.read_bytes() == b"a file the user put here"


def test_markdown_and_csv_leaderboards_escape_what_result_json_carries(tmp_path):
    runs = tmp_path / "runs"
    run = write_run(runs, "dcgan", metrics={"fid": 10.0, "kid_mean": 0.01, "kid_std": 0.001})
    result = json.loads((run / "result.json").read_text())
    result["paper"] = "<script>alert(1)</script>"
    result["provenance"]["device"] = {"type": "=cmd|' /C calc'!A0", "name": "[click](http://x) <b>"}
    (run / "result.json").write_text(json.dumps(result))
    render_site(runs, load_registry(), tmp_path / "site", ["md", "csv"])
    md = (tmp_path / "site" / "leaderboards.md").read_text()
    csv = (tmp_path / "site" / "leaderboards.csv").read_text()
    assert "<script>" not in md and "<b>" not in md and "[click](" not in md
    assert "&lt;script&gt;" in md
    assert "<script>" not in csv and "\n=cmd" not in csv and ",=cmd" not in csv
