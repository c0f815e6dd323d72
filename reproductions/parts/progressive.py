"""The resolution schedule of progressive growing — Karras, Aila, Laine & Lehtinen, "Progressive Growing
of GANs for Improved Quality, Stability, and Variation", ICLR 2018 (arXiv 1710.10196), section 3 and
appendix A.1, written once so that any progressive paper can reuse it.

"We start at 4×4 resolution and train the networks until we have shown the discriminator 800k real
images in total. We then alternate between two phases: fade in the first 3-layer block during the next
800k images, stabilize the networks for 800k images, fade in the next 3-layer block during 800k images,
etc." (appendix A.1). During a fade-in the new layers enter with a weight α that "increases linearly
from 0 to 1" (section 3, Figure 2).

So with L resolutions (levels 0 … L−1; level 0 is the start resolution) there are 2L − 1 phases:

    phase 0          stabilise at level 0
    phase 2k − 1     fade level k in (α: 0 → 1)           k = 1 … L−1
    phase 2k         stabilise at level k (α = 1)

and the last stabilisation lasts for the rest of training. The schedule is a pure function of the
number of real images shown to D, so a run resumed at G step s (images = s · batch · n_critic) is in
exactly the state an uninterrupted run would be.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ResolutionSchedule:
    """images seen → (level, α) for `levels` resolutions, stabilising and fading for fixed image counts."""

    levels: int  # number of resolutions, the start one included (3 for 7 → 14 → 28, 4 for 4 → … → 32)
    stabilise_images: int  # real images per stabilisation phase
    fade_images: int  # real images per fade-in phase

    def __post_init__(self) -> None:
        if self.levels < 1:
            raise ValueError(f"needs at least one resolution, got levels={self.levels}")
        if self.stabilise_images < 0 or self.fade_images < 0:
            raise ValueError("phase lengths must be non-negative")

    @classmethod
    def fixed(cls, levels: int, phase_kimg: float) -> ResolutionSchedule:
        """The paper's way: every fade-in and every stabilisation lasts `phase_kimg` thousand images."""
        images = round(phase_kimg * 1000)
        return cls(levels, images, images)

    @classmethod
    def fitted(cls, levels: int, total_images: int) -> ResolutionSchedule:
        """A budget far shorter than the paper's: split its images evenly over the 2L − 1 phases, so the
        run reaches the full resolution and stabilises there for one phase (any remainder of the
        division also goes to that last phase)."""
        per_phase = max(0, total_images) // (2 * levels - 1)
        return cls(levels, per_phase, per_phase)

    @property
    def num_phases(self) -> int:
        return 2 * self.levels - 1

    def phase_starts(self) -> list[int]:
        """Images seen at the start of each phase (phase 0 starts at 0)."""
        starts, at = [0], self.stabilise_images
        for k in range(1, self.levels):
            starts += [at, at + self.fade_images]
            at += self.fade_images + self.stabilise_images
        return starts

    def phase(self, images_seen: int) -> int:
        """Index of the phase that `images_seen` falls in (the later one where phases have length 0)."""
        return max(i for i, start in enumerate(self.phase_starts()) if start <= images_seen)

    def at(self, images_seen: int) -> tuple[int, float]:
        """(level, α): the resolution being trained and the weight of its newest layers (1 = fully in)."""
        phase = self.phase(images_seen)
        level = (phase + 1) // 2
        if phase % 2 == 0:  # stabilising (phase 0 included): the newest layers are fully in
            return level, 1.0
        start = self.phase_starts()[phase]
        return level, (images_seen - start) / self.fade_images  # fading in: linear ramp from 0 at its start
