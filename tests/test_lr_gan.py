"""Yang et al. 2017 (reproductions/lr_gan.py): background, then a foreground's appearance, mask and
pose composited through a spatial transformer (eq. 4), the pose clamped as the code's clampT."""

from __future__ import annotations

import pytest
import torch

from reproductions import lr_gan
from tests.reproduction_kit import MNIST, SPECS, batch, builder, changed, snapshot

build = builder(lr_gan.LRGAN, g_width=8, d_width=8)
IDENTITY = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])


def test_compositing_pastes_the_masked_foreground_over_the_canvas():
    canvas = torch.full((1, 1, 4, 4), -1.0)
    appearance = torch.full((1, 1, 4, 4), 0.5)
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., 1:3, 1:3] = 1.0
    mask[..., 0, 0] = 0.25
    out = lr_gan.composite(canvas, appearance, mask, IDENTITY)
    expected = mask * appearance + (1 - mask) * canvas  # eq. 4 with ST the identity
    assert torch.allclose(out, expected, atol=1e-6)


def test_the_transform_moves_the_object_and_leaves_the_canvas_outside_it():
    canvas = torch.full((1, 1, 8, 8), -1.0)
    appearance = torch.ones(1, 1, 8, 8)
    mask = torch.ones(1, 1, 8, 8)
    # scale 2 (output → input): the whole object shrinks to the central half of the image
    shrink = torch.tensor([[[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]]])
    out = lr_gan.composite(canvas, appearance, mask, shrink)
    assert out[0, 0, 3:5, 3:5].min() > 0.99  # the object
    assert torch.all(out[0, 0, 0, :] == -1) and torch.all(out[0, 0, :, 0] == -1)  # the canvas around it
    # a translation of +1 in input x: the object is drawn shifted left, the right edge is canvas
    shifted = lr_gan.composite(canvas, appearance, mask, torch.tensor([[[2.0, 0.0, 1.0], [0.0, 2.0, 0.0]]]))
    assert shifted[0, 0, 4, :2].min() > 0.99 and torch.all(shifted[0, 0, 4, 4:] == -1)


def test_pose_is_clamped_to_the_codes_ranges():
    raw = torch.tensor([[0.0, 5.0, -3.0, -5.0, 10.0, 0.2]])
    theta = lr_gan.clamp_pose(raw, scale=1.2, rotation=0.1)
    assert theta.shape == (1, 2, 3)
    assert theta.flatten().tolist() == pytest.approx([1.2, 0.1, -1.0, -0.1, 2.4, 0.2])


@pytest.mark.parametrize("data", SPECS, ids=lambda d: d.name)
def test_g_builds_a_background_then_a_masked_posed_foreground(data):
    repro = build(data)
    parts = repro.G.layers(repro.noise(4))
    size = (data.resolution, data.resolution)
    assert parts["background"].shape == parts["appearance"].shape == (4, data.channels, *size)
    assert parts["mask"].shape == (4, 1, *size) and 0 <= parts["mask"].min() and parts["mask"].max() <= 1
    # at initialisation the pose is the scale-1.2 identity for every sample (zero weights, the code's bias)
    assert torch.allclose(parts["theta"], torch.tensor([[1.2, 0, 0], [0, 1.2, 0]]).expand(4, 2, 3))
    expected = lr_gan.composite(parts["background"], parts["appearance"], parts["mask"], parts["theta"])
    assert torch.allclose(parts["image"], expected)
    assert repro.sample(4).shape == (4, data.channels, *size)


def test_the_foreground_reads_the_lstm_state_of_step_two():
    repro = build(MNIST)
    repro.G.eval()
    z = repro.noise(3)
    other = z.clone()
    other[:, 1] = torch.randn(3, 100)
    a, b = repro.G.layers(z), repro.G.layers(other)
    assert torch.equal(a["background"], b["background"])  # G_b sees z_0 only
    assert not torch.allclose(a["appearance"], b["appearance"])  # the foreground depends on z_1 ...
    earlier = z.clone()
    earlier[:, 0] = torch.randn(3, 100)
    assert not torch.allclose(a["appearance"], repro.G.layers(earlier)["appearance"])  # ... and on z_0, through the LSTM


def test_one_step_trains_both_players_and_the_pose_generator():
    repro = build(MNIST)
    repro.train(True)
    g, d, pose = snapshot(repro.G), snapshot(repro.D), snapshot(repro.G.pose)
    losses = repro.train_step([batch(MNIST)], 0)
    assert all(torch.isfinite(v) for v in losses.values())
    assert changed(g, repro.G) and changed(d, repro.D) and changed(pose, repro.G.pose)
