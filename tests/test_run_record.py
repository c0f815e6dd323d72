"""The typed run record (harness.run_record), the run-store layout, entry versions and method identities
(harness.method_identity): what decides which runs are pooled into one leaderboard row or sweep cell.

All on hand-written run directories (tests/test_report_support.write_run writes the fields
`gan-bench run` writes); no training, no torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.method_identity import MethodIdentity, budget_label, differing, identity_of
from harness.registry import load_registry
from harness.run_record import MAX_RECORD_BYTES, RecordError, RunResult, TableKey, load_result
from harness.runstore import RunDir, cell_folder, excluded_results, iter_results, path_fields, row_name, run_files, seed_runs
from harness.sweep import Cell, build_spec, cell_state, expand
from reports.runs import read_store
from reports.tables import leaderboards
from tests.test_report_support import write_run

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def registry():
    return load_registry()


def _rows(runs: Path, registry) -> dict[str, list[int]]:
    """{row label: seeds} of the one leaderboard the runs land in."""
    (board,) = leaderboards(read_store(runs, registry)[0], registry)
    return {row.paper: row.seeds for row in board.rows}


# ------------------------------------------------------------------------------------ the record
def test_a_result_round_trips_through_the_typed_record(tmp_path):
    path = write_run(tmp_path / "runs", "dcgan", 3, metrics={"fid": 12.5, "kid_mean": 0.02, "kid_std": 0.001},
                     overrides={"lr": 0.001})
    run = RunDir(path)
    record = run.result_record()
    assert isinstance(record, RunResult)
    assert (record.paper, record.seed, record.version, record.overrides) == ("dcgan", 3, 1, {"lr": 0.001})
    assert record.scores[0].protocol.extractor.kind == "torchscript" and record.scores[0].metrics["fid"] == 12.5
    assert record.progress.g_steps == 20 and record.budget.name == "smoke"
    on_disk = json.loads(run.result_path.read_text())
    assert run.read_result() == on_disk  # the dict view is exactly what was written, unknown fields kept
    run.write_result(record)  # a record writes back to the same JSON
    assert json.loads(run.result_path.read_text()) == on_disk
    config = run.config_record()
    assert config.hyperparameters["lr"] == 0.001 and config.module == "reproductions.dcgan"


@pytest.mark.parametrize("edit, reason", [
    (lambda r: r.update(status="done"), "status is 'done'"),
    (lambda r: r["progress"].update(g_steps="20"), "progress.g_steps is '20'"),
    (lambda r: r.update(version=0), "version is '0', not a positive integer"),
    (lambda r: r.update(overrides=["lr"]), "overrides is \"['lr']\", not a mapping of names"),
    (lambda r: r.update(sampling="eval"), "sampling: Input should be a valid dictionary"),
])
def test_a_malformed_result_is_refused_in_one_line_and_listed_as_excluded(tmp_path, edit, reason):
    runs = tmp_path / "runs"
    path = write_run(runs, "dcgan", 0, metrics={"fid": 10.0})
    result = json.loads((path / "result.json").read_text())
    edit(result)
    (path / "result.json").write_text(json.dumps(result))
    with pytest.raises(RecordError) as caught:
        load_result(path / "result.json")
    message = str(caught.value)
    assert "\n" not in message and reason in message and message.startswith(str(path / "result.json"))
    assert list(iter_results(runs)) == []
    ((run, why),) = excluded_results(runs)
    assert run.path == path and reason in why


@pytest.mark.parametrize("content", [b"[" * 100_000 + b"]" * 100_000, b'{"seed": ' + b"1" * 10_000 + b"}"])
def test_a_hostile_result_neither_recurses_nor_converts_forever(tmp_path, content):
    path = write_run(tmp_path / "runs", "dcgan", 0, metrics={"fid": 10.0})
    (path / "result.json").write_bytes(content)
    with pytest.raises(RecordError, match="not JSON we read"):
        load_result(path / "result.json")


def test_a_huge_result_is_not_read_into_memory(tmp_path):
    path = write_run(tmp_path / "runs", "dcgan", 0, metrics={"fid": 10.0})
    with (path / "result.json").open("wb") as handle:
        handle.truncate(MAX_RECORD_BYTES + 1)  # sparse: no disk used
    with pytest.raises(RecordError, match="larger than 8 MiB; refused"):
        load_result(path / "result.json")


def test_the_record_and_the_report_readers_never_import_torch():
    code = ("import sys; import harness.run_record, harness.runstore, harness.sweep, harness.method_identity, "
            "reports.runs, reports.tables; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------------------------------- layout
def test_layout_helpers_name_the_run_store_layout(tmp_path):
    root = tmp_path / "runs"
    assert row_name("pacgan", "m2") == "pacgan@m2" and row_name("gan") == "gan"
    folder = cell_folder(root, "pacgan@m2", "ring8", "paper")
    assert folder == root / "pacgan@m2" / "ring8" / "paper"
    created = RunDir.create(root, "pacgan@m2", "ring8", "paper", 1).path
    (folder / "10-20260101T000000Z-0000").mkdir()  # seed 10 is not seed 1
    assert seed_runs(folder, 1) == [created] and seed_runs(root / "nothing", 1) == []
    assert path_fields(created) == {"row": "pacgan@m2", "dataset": "ring8", "budget": "paper"}
    write_run(root, "gan", 0, metrics={"fid": 1.0})
    assert [p.parts[-5] for p in run_files(root, "result.json")] == ["gan"]


# -------------------------------------------------------------------------------------- versions
def test_every_implemented_entry_sets_its_version_explicitly(registry):
    missing = [e.id for e in registry.implemented() if "version" not in e.reproduction.model_fields_set]
    assert missing == []


def test_seeds_of_two_entry_versions_and_of_unversioned_runs_are_never_pooled(tmp_path, registry):
    runs = tmp_path / "runs"
    write_run(runs, "dcgan", 0, metrics={"fid": 10.0})
    write_run(runs, "dcgan", 1, metrics={"fid": 12.0})
    write_run(runs, "dcgan", 2, metrics={"fid": 30.0}, version=2)
    write_run(runs, "dcgan", 3, metrics={"fid": 50.0}, version=None)  # from before entries had versions
    assert _rows(runs, registry) == {"dcgan": [0, 1], "dcgan v2": [2], "dcgan (before entry versions)": [3]}


# ---------------------------------------------------------------------------------- method identity
def test_two_variants_and_two_seeds_give_two_rows_of_one_seed_each(tmp_path, registry):
    runs = tmp_path / "runs"
    write_run(runs, "pacgan", 0, metrics={"fid": 10.0}, variant="m2")
    write_run(runs, "pacgan", 1, metrics={"fid": 20.0}, variant="m3")
    assert _rows(runs, registry) == {"pacgan@m2": [0], "pacgan@m3": [1]}


def test_a_set_run_and_a_default_run_of_one_paper_are_two_rows(tmp_path, registry):
    runs = tmp_path / "runs"
    write_run(runs, "f-gan", 0, metrics={"fid": 10.0})
    write_run(runs, "f-gan", 1, metrics={"fid": 11.0})
    write_run(runs, "f-gan", 2, metrics={"fid": 40.0}, overrides={"divergence": "kl"})
    rows = _rows(runs, registry)
    assert rows == {"f-gan": [0, 1], "f-gan [divergence=kl]": [2]}


def test_an_unversioned_run_is_identified_against_todays_defaults_or_excluded_with_the_reason(tmp_path, registry):
    runs = tmp_path / "runs"
    same = write_run(runs, "dcgan", 0, metrics={"fid": 10.0}, version=None)
    renamed = write_run(runs, "dcgan", 1, metrics={"fid": 11.0}, version=None)
    config = json.loads((renamed / "config.json").read_text())
    config["hyperparameters"]["g_channels"] = 64  # a knob since renamed
    (renamed / "config.json").write_text(json.dumps(config))
    views, excluded = read_store(runs, registry)
    assert [v.path for v in views] == [same] and views[0].identity == MethodIdentity("dcgan", None, (), None)
    ((run_id, why),) = excluded
    assert run_id.endswith(renamed.name) and "g_channels is no longer a hyperparameter of reproductions.dcgan" in why


def test_differing_compares_as_json_and_keeps_new_keys():
    assert differing({"lr": 0.0002, "betas": [0.5, 0.999]}, {"lr": 0.0002, "betas": [0.5, 0.999]}) == {}
    assert differing({"lr": 0.0002, "z": 100}, {"lr": 0.001, "z": 100, "new": 1}) == {"lr": 0.001, "new": 1}
    # "1" and 1 are two settings, shown as text and number
    assert MethodIdentity("x", overrides=(("a", '"1"'),)) != MethodIdentity("x", overrides=(("a", "1"),))


# --------------------------------------------------------------------------------------- budgets
def test_two_different_custom_budgets_never_share_a_table(tmp_path, registry):
    runs = tmp_path / "runs"
    write_run(runs, "dcgan", 0, budget="quick", g_steps=300, metrics={"fid": 10.0})
    write_run(runs, "dcgan", 1, budget="quick", g_steps=500, metrics={"fid": 11.0})
    write_run(runs, "dcgan", 2, budget="quick", g_steps=500, metrics={"fid": 12.0})
    boards = leaderboards(read_store(runs, registry)[0], registry)
    assert sorted((b.protocol.budget, b.rows[0].seeds) for b in boards) == [
        ("quick-custom [g_steps=300]", [0]), ("quick-custom [g_steps=500]", [1, 2])]
    assert len({b.protocol.slug for b in boards}) == 2


def test_an_unrecorded_custom_budget_is_told_from_the_registrys_base(registry):
    record = RunResult.model_validate(json.loads(json.dumps({
        "paper": "gan", "dataset": "ring8", "seed": 0, "status": "finished", "scores": [],
        "budget": {"name": "paper-custom", "g_steps": 1500, "batch_size": 500, "eval_samples": 2500,
                   "real_split": "train", "real_samples": 50000, "kimg": None, "wall_clock_s": None},
        "progress": {"g_steps": 1500, "kimg": 750.0, "wall_clock_s": 60.0}, "provenance": {"device": {"type": "cpu"}},
        "overrides": {}, "version": 1})))
    identity, budget = identity_of(record, registry, None)
    assert budget == "paper-custom [g_steps=1500]" and identity.label == "gan"
    assert budget_label("quick", {"g_steps": 5}) == "quick"  # a named budget is its own key


def test_table_key_is_the_score_protocol_at_a_budget():
    from harness.run_record import ScoreProtocol

    protocol = ScoreProtocol.model_validate({"metric": "modes2d", "dataset": "ring8", "num_samples": 2500,
                                             "num_modes": 8, "std": 0.01})
    key = TableKey.of_score("paper", protocol)
    assert key.detail == "num_modes 8, std 0.01" and key.samples_text.startswith("2,500 generated samples · modes2d")


# ----------------------------------------------------------------------------------------- sweeps
def test_sweep_cell_keys_carry_the_method(registry):
    spec = build_spec({"papers": ["f-gan", "pacgan@m2"], "datasets": None, "budgets": ["smoke"], "seeds": [0]})
    cells, _ = expand(spec, registry)
    assert [c.key for c in cells] == ["f-gan/mnist/smoke/0 v1", "pacgan@m2/grid25-pacgan/smoke/0 v1"]
    varied, _ = expand(build_spec({"papers": ["f-gan"], "budgets": ["smoke"], "hyperparameters": {"divergence": "kl"}}),
                       registry)
    assert [c.key for c in varied] == ["f-gan/mnist/smoke/0 v1 [divergence=kl]"]
    same, _ = expand(build_spec({"papers": ["f-gan"], "budgets": ["smoke"],
                                 "hyperparameters": {"divergence": _default_divergence(registry)}}), registry)
    assert [c.key for c in same] == ["f-gan/mnist/smoke/0 v1"]  # a default value is no override


def _default_divergence(registry) -> str:
    from harness.method_identity import static_entry_defaults

    return static_entry_defaults(registry.get("f-gan"), "mnist", None)["divergence"]


def test_a_variant_or_older_version_run_never_completes_the_default_cell(tmp_path):
    runs = tmp_path / "runs"
    cell = Cell("f-gan", "mnist", "smoke", 0, "smoke")
    write_run(runs, "f-gan", 0, metrics={"fid": 10.0}, overrides={"divergence": "kl"}, name="0-a")
    write_run(runs, "f-gan", 0, metrics={"fid": 10.0}, version=None, name="0-b")
    assert cell_state(cell, runs, None, 600.0).state == "pending"
    varied = Cell("f-gan", "mnist", "smoke", 0, "smoke", overrides=(("divergence", '"kl"'),))
    assert cell_state(varied, runs, None, 600.0).state == "done"
    write_run(runs, "f-gan", 0, metrics={"fid": 10.0}, name="0-c")
    state = cell_state(cell, runs, None, 600.0)
    assert state.state == "done" and state.run_dir.name == "0-c"


def test_a_sweep_passes_its_hyperparameters_and_variant_to_each_run(registry):
    from harness.executors import run_args

    spec = build_spec({"papers": ["pacgan@m2"], "budgets": ["smoke"], "hyperparameters": {"g_hidden": 200}})
    (cell,), _ = expand(spec, registry)
    args = run_args(spec, cell)
    assert args[0] == "pacgan@m2" and args[args.index("--set") + 1] == "g_hidden=200"
