"""The training recipe's parts: seeded augmentation, the learning-rate schedule, weight decay."""

import numpy as np

from helpers import make_spec, MLP_SPEC
from qpsnn.model.train import augment, learning_rate, optimizer_for


def shifted(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Hand-made reference: image moved by (dy, dx) pixels, zeros coming in."""
    out = np.zeros_like(image)
    h, w = image.shape[:2]
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        image[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def test_shifts_are_whole_pixel_moves_within_range_and_seeded():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (40, 9, 7, 2)).astype(np.uint8)
    out = augment(images, np.random.default_rng(5), shift=2, rotate=0.0)
    moves = set()
    for image, moved in zip(images, out):
        found = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                 if np.allclose(moved, shifted(image.astype(np.float32) / 255, dy, dx), atol=1e-6)]
        assert found, "an augmented image is not a shift of its original within 2 pixels"
        moves.add(found[0])
    assert len(moves) > 5                      # the shifts vary
    np.testing.assert_array_equal(out, augment(images, np.random.default_rng(5), shift=2, rotate=0.0))
    assert not np.array_equal(out, augment(images, np.random.default_rng(6), shift=2, rotate=0.0))


def test_rotation_keeps_a_centred_disc_and_turns_a_bar():
    yy, xx = np.mgrid[:21, :21] - 10
    disc = ((yy ** 2 + xx ** 2) <= 36).astype(np.uint8)[None, ..., None] * 255
    out = augment(np.repeat(disc, 8, axis=0), np.random.default_rng(1), shift=0, rotate=30.0)
    inner = (yy ** 2 + xx ** 2) <= 25           # well inside the disc: any rotation keeps it at 1
    assert np.allclose(out[:, inner, 0], 1.0)
    assert np.allclose(out[:, (yy ** 2 + xx ** 2) >= 64, 0], 0.0)
    bar = np.zeros((1, 21, 21, 1), np.uint8)
    bar[0, 10, :, 0] = 255                      # a horizontal bar through the centre
    turned = augment(np.repeat(bar, 8, axis=0), np.random.default_rng(2), shift=0, rotate=30.0)
    rows_lit = [(img[:, :, 0] > 0.5).any(axis=1).sum() for img in turned]
    assert max(rows_lit) > 5                    # some turn by more than ~15 degrees: many rows lit


def test_cosine_schedule_and_weight_decay():
    spec = make_spec(MLP_SPEC, train=dict(MLP_SPEC["train"], schedule="cosine", lr=0.01))
    schedule = learning_rate(spec, epochs=4, steps_per_epoch=10)
    assert abs(float(schedule(0)) - 0.01) < 1e-9 and abs(float(schedule(20)) - 0.005) < 1e-6
    assert float(schedule(40)) < 1e-9
    constant = make_spec(MLP_SPEC, train=dict(MLP_SPEC["train"], schedule="constant", lr=0.01))
    assert learning_rate(constant, 4, 10) == 0.01
    assert type(optimizer_for(constant, 4, 10)).__name__ == "Adam"
    decayed = make_spec(MLP_SPEC, train=dict(MLP_SPEC["train"], weight_decay=1e-4))
    optimizer = optimizer_for(decayed, 4, 10)
    assert type(optimizer).__name__ == "AdamW" and abs(optimizer.weight_decay - 1e-4) < 1e-12
