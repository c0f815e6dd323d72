"""The semi-supervised protocol (harness.labelled, harness.metrics.classification, `--labels`): the labelled
subset's determinism and balance, the hidden labels, the error metric, the refusals, the table key, and a
killed semi-supervised run resuming bit for bit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from harness.batches import Batch
from harness.errors import GanBenchError
from harness.labelled import (LabelledBatches, SemiSupervisedBatches, check_label_count, labelled_subset,
                              read_indices, subset_sha256, write_indices)
from harness.metrics.classification import (ClassificationEvaluator, ClassificationProtocol, classification_error,
                                            classifier_of)
from harness.reproduction import DataSpec, Reproduction
from harness.run_record import ScoreProtocol, TableKey

REPO = Path(__file__).resolve().parents[1]
PAPER = "salimans2016-improved-techniques"


def _labels(per_class: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    labels = torch.cat([torch.full((n,), k) for k, n in enumerate(per_class)])
    return labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))]


# ---------------------------------------------------------------------------------- the labelled subset
def test_subset_is_balanced_deterministic_and_seeded():
    labels = _labels((50, 70, 40, 90))
    chosen = labelled_subset(labels, 20, 4, seed=3)
    assert torch.bincount(labels[chosen], minlength=4).tolist() == [5, 5, 5, 5]
    assert len(set(chosen.tolist())) == 20 and chosen.tolist() == sorted(chosen.tolist())
    assert torch.equal(chosen, labelled_subset(labels, 20, 4, seed=3))  # a function of (data, N, seed)
    assert not torch.equal(chosen, labelled_subset(labels, 20, 4, seed=4))  # another seed: another subset
    assert subset_sha256(chosen) == subset_sha256(labelled_subset(labels, 20, 4, seed=3))


@pytest.mark.parametrize(("n", "says"), [(21, "multiple of the 4 classes"), (0, "positive"),
                                         (200, "smallest class of")])
def test_unbalanced_or_too_many_labels_are_refused(n, says):
    with pytest.raises(GanBenchError, match=says):
        check_label_count(n, 4, _labels((50, 70, 40, 90)), "the toy train split")


def test_indices_file_round_trips_and_refuses_tampering(tmp_path):
    indices = torch.tensor([3, 9, 12])
    write_indices(tmp_path, indices, "toy", 0)
    assert read_indices(tmp_path) == [3, 9, 12]
    record = json.loads((tmp_path / "labelled_indices.json").read_text())
    record["indices"][0] = 4
    (tmp_path / "labelled_indices.json").write_text(json.dumps(record))
    with pytest.raises(GanBenchError, match="sha256"):
        read_indices(tmp_path)


class _Stream:
    batch_size = 6

    def __init__(self):
        self.calls = 0

    def next(self):
        self.calls += 1
        return Batch(images=torch.zeros(6, 1, 2, 2), labels=torch.arange(6))

    def state_dict(self):
        return {"calls": self.calls}

    def load_state_dict(self, state):
        self.calls = state["calls"]


def _labelled(seed: int = 0) -> LabelledBatches:
    images = torch.arange(5, dtype=torch.uint8).view(5, 1, 1, 1).expand(5, 1, 2, 2).contiguous()
    return LabelledBatches(images, torch.arange(5), 4, torch.device("cpu"), seed, lambda x: x.float())


def test_unlabelled_batches_hide_labels_and_carry_a_tiled_labelled_batch():
    batches = SemiSupervisedBatches(_Stream(), _labelled())
    drawn = [batches.next() for _ in range(5)]
    assert all(b.labels.tolist() == [-1] * 6 for b in drawn)
    seen = torch.cat([b.labelled.labels for b in drawn])  # 20 draws of a subset of 5: tiled permutations
    assert all(sorted(seen[i : i + 5].tolist()) == [0, 1, 2, 3, 4] for i in range(0, 20, 5))
    assert all(torch.equal(b.labelled.images[:, 0, 0, 0], b.labelled.labels.float()) for b in drawn)


def test_labelled_order_resumes_exactly():
    a = SemiSupervisedBatches(_Stream(), _labelled())
    for _ in range(3):
        a.next()
    state = a.state_dict()
    b = SemiSupervisedBatches(_Stream(), _labelled())
    b.load_state_dict(state)
    for _ in range(4):
        assert torch.equal(a.next().labelled.labels, b.next().labelled.labels)


# ------------------------------------------------------------------------------------------- the metric
def test_error_of_known_predictions():
    assert classification_error(torch.tensor([0, 1, 2, 2]), torch.tensor([0, 1, 1, 0])) == {"test_error": 50.0, "test_errors": 2.0}


class _ThresholdClassifier(Reproduction):
    """Class 1 when the image's mean is positive; records the modes and grad state it was called in."""

    Hyperparameters = dict

    def __init__(self):
        super().__init__(DataSpec("toy", 1, 2, 2), {}, torch.device("cpu"))
        self.net = torch.nn.Linear(1, 1)
        self.calls = []

    def classify(self, images):
        self.calls.append((self.net.training, torch.is_grad_enabled()))
        score = images.flatten(1).mean(1, keepdim=True)
        return torch.cat([-score, score], dim=1)


def test_evaluator_scores_a_hand_made_classifier_on_the_whole_split(monkeypatch):
    monkeypatch.setattr("harness.metrics.classification.CLASSIFY_BATCH", 3)  # 7 images: batches of 3, 3, 1
    images = torch.tensor([255, 0, 255, 0, 255, 200, 10], dtype=torch.uint8).view(7, 1, 1, 1).expand(7, 1, 2, 2)
    labels = torch.tensor([1, 0, 1, 1, 0, 1, 0])  # two wrong: the 4th (dark, labelled 1) and 5th
    repro = _ThresholdClassifier()
    evaluator = ClassificationEvaluator(ClassificationProtocol("toy", 7, 2), images, labels, 2, torch.device("cpu"))
    metrics = evaluator.score(classifier_of(repro))
    assert metrics == {"test_error": pytest.approx(100 * 2 / 7), "test_errors": 2.0}
    assert repro.calls == [(False, False)] * 3 and repro.net.training  # eval mode and no grad inside, restored after


def test_score_protocol_keys_tables_by_label_count():
    def key(labels):
        protocol = ScoreProtocol.model_validate(ClassificationProtocol("mnist", 10000, labels).to_dict())
        return TableKey.of_score("paper-custom [g_steps=20000]", protocol)

    assert key(100) != key(200)
    assert key(100).title == "mnist · semi-supervised · 100 labels · paper-custom [g_steps=20000]"
    assert "10,000 test images classified" in key(100).samples_text


# --------------------------------------------------------------------------------------- through the CLI
def test_labels_refused_for_a_paper_without_a_classifier(cli, tmp_path):
    result = cli("run", "dcgan", "--labels", "100", "--budget", "smoke", "--device", "cpu", "--runs-dir", tmp_path)
    assert result.exit_code == 2 and "not a semi-supervised reproduction" in result.output
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(("labels", "says"), [("105", "multiple of the 10 classes"), ("-10", "positive"), ("0", "positive")])
def test_bad_label_counts_are_one_line(cli, tmp_path, labels, says):
    result = cli("run", PAPER, "--labels", labels, "--budget", "smoke", "--device", "cpu", "--runs-dir", tmp_path)
    assert result.exit_code == 2 and says in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1


SSL_ARGS = [PAPER, "--labels", "20", "--budget", "smoke", "--g-steps", "12", "--batch-size", "32",
            "--checkpoint-every", "4", "--device", "cpu", "--seed", "2"]


def _run_dir(runs: Path) -> Path:
    (path,) = runs.glob(f"{PAPER}/mnist/smoke-custom/*")
    return path


@pytest.mark.slow
def test_killed_semi_supervised_run_resumes_bit_for_bit(tmp_path, data_root):
    env = {**os.environ, "GAN_BENCH_DATA": str(data_root)}
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "run", *SSL_ARGS, "--runs-dir", str(whole)],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([sys.executable, "-m", "tests.signal_at_step", "SIGKILL", "6", "run", *SSL_ARGS,
                           "--runs-dir", str(killed)], capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
    assert proc.returncode != 0
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "resume", str(_run_dir(killed))],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stderr
    a, b = (torch.load(_run_dir(r) / "checkpoint.pt", weights_only=True) for r in (whole, killed))
    for net in ("G", "D", "D_average"):
        for name, tensor in a["reproduction"][net].items():
            assert torch.equal(tensor, b["reproduction"][net][name]), (net, name)
    results = [json.loads((_run_dir(r) / "result.json").read_text()) for r in (whole, killed)]
    assert results[0]["scores"][0]["metrics"] == results[1]["scores"][0]["metrics"]
    assert results[0]["labelled_sha256"] == results[1]["labelled_sha256"]
    assert read_indices(_run_dir(whole)) == read_indices(_run_dir(killed))
    protocol = results[0]["scores"][0]["protocol"]
    assert {k: protocol[k] for k in ("metric", "split", "labels")} == {"metric": "semi-supervised", "split": "test",
                                                                       "labels": 20}


def test_sweep_cells_carry_the_label_count_to_their_runs():
    from harness.executors import run_args
    from harness.registry import load_registry
    from harness.sweep import SweepSpec, expand

    registry = load_registry()
    (default,), _ = expand(SweepSpec(papers=[PAPER], budgets=["smoke"]), registry)
    (asked,), _ = expand(SweepSpec(papers=[PAPER], budgets=["smoke"], labels=200), registry)
    assert (default.labels, asked.labels) == (100, 200)  # the entry's default, or the sweep's
    assert default.key != asked.key
    args = run_args(SweepSpec(papers=[PAPER], labels=200), asked)
    assert args[args.index("--labels") + 1] == "200"


def test_the_log_says_a_classifier_suite_scores_test_images_not_samples():
    from types import SimpleNamespace

    from harness.run_inputs import scoring_line

    classifier = SimpleNamespace(metric="semi-supervised", num_samples=10000, extractor=None)
    modes = SimpleNamespace(metric="modes2d", num_samples=2500, extractor=None)
    assert scoring_line(classifier, " of RUN") == "scoring 10000 test images classified of RUN with semi-supervised (no feature extractor)"
    assert scoring_line(modes) == "scoring 2500 samples with modes2d (no feature extractor)"
