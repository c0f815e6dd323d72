"""Two-domain data (unpaired folders, MNIST digits vs edges/negatives), CelebA, balanced batches,
per-domain and translation scoring, and how those scores reach the leaderboards."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
import torch

from harness.batches import Batch, DeviceBatches
from harness.budget import resolve_budget
from harness.data import load_images
from harness.errors import DataNotFoundError
from harness.metrics.evaluate import Protocol
from harness.metrics.extractors import resolve_extractor
from harness.reproduction import DataSpec, Reproduction
from harness.scoring import build_scorers, fixed_samples
from harness.two_domain import edges
from reports.runs import Protocol as BoardProtocol
from tests import fixtures


def test_unpaired_folders_load_as_two_domains(tmp_path):
    fixtures.write_unpaired(tmp_path, "horse2zebra", train=5, test=3)
    train = load_images("horse2zebra", "train", tmp_path, download=False)
    test = load_images("horse2zebra", "test", tmp_path, resolution=32, download=False)
    assert train.info.domains == ("A", "B") and train.images.shape == (10, 3, 64, 64)
    assert train.labels.tolist() == [0] * 5 + [1] * 5
    assert test.images.shape == (6, 3, 32, 32)
    # the fixture's B images are brighter than its A images: the domains were not mixed up
    assert train.images[train.labels == 1].float().mean() > train.images[train.labels == 0].float().mean() + 50


def test_a_missing_unpaired_folder_names_the_layout(tmp_path):
    with pytest.raises(DataNotFoundError, match=r"unpaired/\{trainA,trainB,testA,testB\}"):
        load_images("unpaired", "train", tmp_path, download=True)


def test_mnist_pairs_are_disjoint_halves_with_the_transform_applied(data_root):
    digits = load_images("mnist", "train", data_root, download=False).images
    pairs = load_images("mnist-edges", "train", data_root, download=False)
    assert pairs.info.domains == ("digits", "edges") and pairs.info.num_classes == 2
    half = len(digits) // 2
    assert pairs.labels.tolist() == [0] * half + [1] * half
    domain_a, domain_b = pairs.images[:half], pairs.images[half:]
    # every image of A is an MNIST digit; B holds edge images of the *other* digits only
    flat = {bytes(image.flatten().tolist()) for image in digits}
    assert all(bytes(image.flatten().tolist()) in flat for image in domain_a[:50])
    edge_set = {bytes(e.flatten().tolist()) for e in edges(domain_a[:50])}
    assert not any(bytes(image.flatten().tolist()) in edge_set for image in domain_b)
    negatives = load_images("mnist-negative", "test", data_root, download=False)
    assert negatives.images[negatives.labels == 1].float().mean() > 127  # mostly white background


def test_edges_of_a_square_are_its_outline():
    square = torch.zeros(1, 1, 7, 7, dtype=torch.uint8)
    square[..., 2:5, 2:5] = 255
    outline = edges(square)[0, 0]
    assert outline[2:5, 2:5].sum() == 0  # the inside is not an edge
    assert (outline[1:6, 1:6] > 0).sum() == 25 - 9  # the one-pixel ring around it is


def test_celeba_reads_its_partition_and_caches_the_resized_split(tmp_path):
    fixtures.write_celeba_like(tmp_path, per_split=(5, 2, 3))
    train = load_images("celeba", "train", tmp_path, resolution=32, download=False)
    test = load_images("celeba", "test", tmp_path, resolution=32, download=False)
    assert train.images.shape == (5, 3, 32, 32) and len(test) == 3  # partition 1 (valid) is not used
    cached = tmp_path / "celeba" / "img_align_celeba_train_32px.npy"
    assert cached.is_file()
    (tmp_path / "celeba" / "img_align_celeba").joinpath("000001.jpg").unlink()  # the cache is read, not the JPEGs
    assert torch.equal(load_images("celeba", "train", tmp_path, resolution=32, download=False).images, train.images)


def test_two_domain_batches_hold_each_domain_equally_and_resume_exactly(tmp_path):
    fixtures.write_unpaired(tmp_path, "horse2zebra", train=7, test=2, size=16)
    data = load_images("horse2zebra", "train", tmp_path, resolution=16, download=False)
    batches = DeviceBatches(data, 3, torch.device("cpu"), seed=0)
    for _ in range(5):
        batch = batches.next()
        assert batch.labels.tolist() == [0, 0, 0, 1, 1, 1] and batch.domains == 2
        assert torch.equal(batch.domain(1), batch.images[3:])
    state = batches.state_dict()
    expected = [batches.next().images for _ in range(4)]
    again = DeviceBatches(data, 3, torch.device("cpu"), seed=99)
    again.load_state_dict(state)
    assert all(torch.equal(a, again.next().images) for a in expected)
    with pytest.raises(ValueError, match=r"larger than the horse2zebra train set \(per domain\)"):
        DeviceBatches(data, 8, torch.device("cpu"), seed=0)


def test_a_hand_built_batch_still_splits_by_label():
    batch = Batch(torch.arange(4.0).view(4, 1, 1, 1), torch.tensor([1, 0, 1, 0]))
    assert batch.domain(0).flatten().tolist() == [1.0, 3.0]


# -- scoring -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Hp:
    pass


class _Swap(Reproduction):
    """A stand-in translator: into B it negates the image; records what it was asked."""

    Hyperparameters = _Hp
    translates = True

    def __init__(self, data, hp, device):
        super().__init__(data, hp, device)
        self.calls: list[tuple[int, int]] = []

    def translate(self, images, target_domain):
        self.calls.append((len(images), target_domain))
        return -images if target_domain == 1 else images


class _PerDomain(Reproduction):
    Hyperparameters = _Hp
    conditional = True

    def sample(self, n, labels=None, generator=None):
        return labels.float().view(-1, 1, 1, 1).expand(n, 3, 16, 16) * 2 - 1


@pytest.fixture
def unpaired_root(tmp_path):
    return fixtures.write_unpaired(tmp_path, "horse2zebra", train=6, test=5, size=16)


def _spec(repro_cls, root):
    data = DataSpec("horse2zebra", 3, 16, 2, ("A", "B"))
    return repro_cls(data, _Hp(), torch.device("cpu"))


def test_translation_models_are_scored_per_direction_on_the_other_domains_test_images(unpaired_root, tmp_path,
                                                                                        torchscript_detector):
    repro = _spec(_Swap, unpaired_root)
    budget = resolve_budget("smoke")
    extractor = resolve_extractor("torchscript", torchscript_detector)
    scorers = build_scorers(repro, budget, extractor, torch.device("cpu"), unpaired_root, tmp_path / "cache")
    assert [(s.protocol.domain, s.protocol.task, s.protocol.num_samples) for s in scorers] == [
        ("A", "translation", 5), ("B", "translation", 5)]  # capped at the 5 test images of the source
    test = load_images("horse2zebra", "test", unpaired_root, 16, download=False)
    into_b = scorers[1].sampler(5, torch.Generator())
    assert torch.equal(into_b, -(test.images[test.labels == 0].float() / 127.5 - 1))  # A's test images, in order
    assert repro.calls[-1] == (5, 1)
    assert scorers[1].protocol.to_dict()["task"] == "translation"
    grid = fixed_samples(repro, 0, unpaired_root)
    assert grid.shape == (4 * 5, 3, 16, 16)  # test A, its translation; test B, its translation (5 each here)


def test_generation_on_two_domains_is_scored_per_domain_against_that_domains_images(unpaired_root, tmp_path,
                                                                                     torchscript_detector):
    repro = _spec(_PerDomain, unpaired_root)
    extractor = resolve_extractor("torchscript", torchscript_detector)
    scorers = build_scorers(repro, resolve_budget("smoke"), extractor, torch.device("cpu"), unpaired_root,
                            tmp_path / "cache")
    assert [(s.protocol.domain, s.protocol.task) for s in scorers] == [("A", "generation"), ("B", "generation")]
    assert scorers[1].sampler(3, torch.Generator()).eq(1).all()  # domain B's images were asked for
    real_a = scorers[0].evaluator.real_features()
    assert scorers[0].protocol.real_samples == 6  # only A's six training images are the reference
    assert len(next(iter(real_a.values()))) == 6


def test_a_plain_protocol_serialises_as_before(torchscript_detector):
    # Scores written before two-domain datasets existed must still share a table with new ones.
    extractor = resolve_extractor("torchscript", torchscript_detector)
    assert "domain" not in Protocol("mnist", 28, 64, "train", 64, extractor).to_dict()
    assert "task" not in Protocol("mnist", 28, 64, "train", 64, extractor).to_dict()
    tagged = Protocol("horse2zebra", 64, 5, "train", 6, extractor, domain="B", task="translation").to_dict()
    assert (tagged["domain"], tagged["task"]) == ("B", "translation")


def test_translation_scores_get_their_own_leaderboard_titles():
    common = dict(dataset="horse2zebra", budget="quick", num_samples=120, real_split="train", real_samples=1000,
                  extractor="torchscript", resolution=64)
    to_b = BoardProtocol(**common, domain="B", task="translation")
    plain = BoardProtocol(**common)
    assert to_b != plain and to_b.slug != plain.slug
    assert to_b.title == "horse2zebra · translation into B · quick"
    assert to_b.samples_text == "120 test images translated into B vs 1,000 train images of B"
    assert BoardProtocol(**common, domain="edges").title == "horse2zebra · edges · quick"


@pytest.mark.slow
def test_two_domain_run_through_the_cli_writes_one_score_per_direction(cli, tmp_path, data_root):
    result = cli("run", "cyclegan", "--dataset", "mnist-edges", "--budget", "smoke", "--g-steps", "2",
                 "--eval-samples", "20", "--real-samples", "20", "--device", "cpu", "--runs-dir", tmp_path)
    assert result.exit_code == 0, result.output
    (result_file,) = tmp_path.glob("cyclegan/mnist-edges/*/*/result.json")
    scores = json.loads(result_file.read_text())["scores"]
    assert [(s["protocol"]["domain"], s["protocol"]["task"]) for s in scores] == [
        ("digits", "translation"), ("edges", "translation")]
    config = json.loads((result_file.parent / "config.json").read_text())
    assert config["domains"] == ["digits", "edges"] and config["budget"]["batch_size"] == 1
