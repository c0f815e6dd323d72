"""FID / KID / IS properties that hold for any extractor weights, with both extractor kinds.

The real torch-fidelity weights cannot be downloaded here, so the torch-fidelity kind runs with
random weights in its real file format; the TorchScript kind runs with ../shared/data's detector
(or a tiny random TorchScript detector when that is absent). Values are never compared to
published numbers — only properties: FID(x, x) ≈ 0, FID grows with distortion, KID ≈ 0 between
two halves of one set, 1 ≤ IS ≤ number of classes.
"""

from __future__ import annotations

import pytest
import torch
from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric
from torch_fidelity.metric_isc import isc_features_to_metric
from torch_fidelity.metric_kid import kid_features_to_metric

from harness.batches import to_uint8, to_unit_range
from harness.data import ImageSet, load_images
from harness.metrics.evaluate import Evaluator, Protocol
from harness.metrics.extractors import FID_LAYER, IS_LAYER, resolve_extractor
from tests.conftest import SHARED_DATA

SHARED_MNIST = SHARED_DATA / "MNIST"

N = 24


def fid(a, b) -> float:
    return fid_statistics_to_metric(fid_features_to_statistics(a), fid_features_to_statistics(b), verbose=False)[
        "frechet_inception_distance"]


def kid(a, b) -> float:
    return kid_features_to_metric(a, b, kid_subsets=20, kid_subset_size=min(len(a), len(b)), verbose=False)[
        "kernel_inception_distance_mean"]


@pytest.fixture(scope="module", params=["torchscript", "torch-fidelity"])
def scored_sets(request, data_root, torchscript_detector, random_inception_weights):
    """Features of a few image sets under one extractor kind, computed once per kind."""
    weights = torchscript_detector if request.param == "torchscript" else random_inception_weights
    spec = resolve_extractor(request.param, weights)
    test = load_images("mnist", "test", data_root, download=False)
    a, b = test.images[:N], test.images[N : 2 * N]
    generator = torch.Generator().manual_seed(0)

    def distorted(sigma: float) -> torch.Tensor:
        return to_uint8(to_unit_range(a) + sigma * torch.randn(a.shape, generator=generator))

    protocol = Protocol("mnist", 28, N, "test", N, spec)
    evaluator = Evaluator(protocol, torch.device("cpu"), data_root, batch_size=N)
    sets = {"a": a, "b": b, "a+0.2": distorted(0.2), "a+0.6": distorted(0.6),
            "noise": torch.randint(0, 256, a.shape, generator=generator, dtype=torch.uint8)}
    return spec, {name: evaluator.features(iter([images])) for name, images in sets.items()}


def test_fid_of_a_set_with_itself_is_zero(scored_sets):
    _, f = scored_sets
    scale = fid(f["a"][FID_LAYER], f["noise"][FID_LAYER])
    assert scale > 0
    assert abs(fid(f["a"][FID_LAYER], f["a"][FID_LAYER])) < 1e-3 * scale


def test_fid_grows_as_samples_are_distorted(scored_sets):
    _, f = scored_sets
    a = f["a"][FID_LAYER]
    assert fid(a, f["a+0.2"][FID_LAYER]) < fid(a, f["a+0.6"][FID_LAYER]) < fid(a, f["noise"][FID_LAYER])


def test_kid_is_near_zero_for_two_halves_of_one_set(scored_sets):
    _, f = scored_sets
    same_distribution = kid(f["a"][FID_LAYER], f["b"][FID_LAYER])
    against_noise = kid(f["a"][FID_LAYER], f["noise"][FID_LAYER])
    assert abs(same_distribution) < 0.1 * against_noise


def test_inception_score_is_between_one_and_the_number_of_classes(scored_sets):
    spec, f = scored_sets
    if not spec.provides_is:
        assert IS_LAYER not in f["a"]  # a pool3-only detector gives no IS rather than a made-up one
        pytest.skip("this extractor has no logits")
    logits = f["a"][IS_LAYER]
    score = isc_features_to_metric(logits, splits=2)["inception_score_mean"]
    assert 1.0 <= score <= logits.shape[1]


def test_evaluator_scores_a_set_against_itself_and_caches_real_features(data_root, torchscript_detector, tmp_path):
    feature_cache = tmp_path / "cache"  # its own: the first score must miss, whatever other tests cached
    spec = resolve_extractor("torchscript", torchscript_detector)
    test = load_images("mnist", "test", data_root, download=False)
    real = ImageSet(test.info, "test", test.images[:N], test.labels[:N])
    protocol = Protocol("mnist", 28, N, "test", N, spec)

    def replay(n: int, generator: torch.Generator) -> torch.Tensor:  # "generates" the real images, in order
        replay.position += n
        return to_unit_range(real.images[replay.position - n : replay.position])

    scores = []
    for attempt in range(2):
        replay.position = 0
        evaluator = Evaluator(protocol, torch.device("cpu"), data_root, feature_cache, batch_size=16, real=real)
        scores.append(evaluator.score(replay, seed=0))
        assert evaluator.real_cache_hit == (attempt == 1)
    assert abs(scores[0]["fid"]) < 1.0 and scores[0] == scores[1]
    assert "is_mean" not in scores[0]


def test_extractor_records_its_weights(torchscript_detector, random_inception_weights):
    ts = resolve_extractor("torchscript", torchscript_detector)
    tf = resolve_extractor("torch-fidelity", random_inception_weights)
    assert len(ts.weights_sha256) == 64 and not ts.official_weights and not ts.provides_is
    assert tf.provides_is and not tf.official_weights  # random weights are never labelled official
    assert "unverified" in tf.label and tf.kind in tf.label


@pytest.mark.slow  # minutes on one CPU thread: 5 epochs of the 60,000 MNIST train digits
def test_the_shipped_classifier_training_reaches_the_accuracy_floor(data_root, tmp_path):
    """Stacked MNIST's mode counter as shipped (ClassifierTraining()'s settings) clears MIN_TEST_ACCURACY
    on the real test split; the smoke runs use a small one, so this is the one place it is trained."""
    from harness.metrics.mnist_classifier import MIN_TEST_ACCURACY, ClassifierTraining, mnist_classifier

    if not (SHARED_MNIST / "raw").is_dir():
        pytest.skip("needs the real MNIST files (../shared/data/MNIST): the fixture digits are not digits")
    spec, _ = mnist_classifier(tmp_path, data_root, ClassifierTraining(), say=lambda line: None)
    assert spec.test_accuracy >= MIN_TEST_ACCURACY
