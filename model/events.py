"""Event data: raw events (x, y, t, p) binned into frames, and a seeded simulation of N-MNIST's
recording made from real digits.

Frames are what `encoding: events` takes: per sample (T, H, W, 2) counts of OFF (channel 0) and
ON (channel 1) events per pixel and time bin, saturating at 255.

The simulated N-MNIST. N-MNIST (Orchard et al., 2015) was recorded by an ATIS camera on a
pan-tilt unit looking at MNIST digits on a monitor: three saccades of about 100 ms each, tracing
a triangle, a 34 x 34 pixel field. This module renders each digit (28 x 28) on a dark 34 x 34
field and moves it along the same kind of path (three straight saccades between the corners of a
triangle spanning the field's 6 spare pixels, each sampled every millisecond), and turns the
change of each pixel's log intensity into events as a DVS pixel does: an event of the change's
sign each time the log intensity moves one contrast threshold away from the pixel's last
reference, which then moves by that threshold. Each pixel's threshold varies (a seeded 10%
mismatch), and background events arrive at a seeded rate. What it does not model: the sensor's
latencies and refractory period, the monitor's refresh, the lens, the recording's real path and
speed, its noise spectrum; so its numbers are not N-MNIST's, and a network trained on it is not
an N-MNIST result. It is real digits as a moving event stream, made here without a download.
"""

from __future__ import annotations

import numpy as np

from qpsnn.errors import InputError

RAW_KEYS = ("x", "y", "t", "p", "offsets", "labels", "sensor_size")
RAW_ACCEPTED = ("a .npz of raw events: x, y (pixel), t (microseconds), p (polarity 0/1) of every event of every "
                "sample one after the other, offsets (N + 1: sample i's events at offsets[i]:offsets[i+1]), labels "
                "(N), sensor_size (H, W)")

FIELD = 34                # N-MNIST's field of view
SACCADE_MS = 100          # per saccade; three of them
CORNERS = ((0.0, 0.0), (6.0, 3.0), (0.0, 6.0))   # the triangle's corners (row, column offsets, pixels)


def frames(x, y, t, p, sensor_size, time_steps: int, duration_us: float | None = None) -> np.ndarray:
    """One sample's events binned into (time_steps, H, W, 2) counts: time_steps equal bins over
    [0, duration_us) (default: up to the last event); events past the last bin are dropped."""
    h, w = sensor_size
    out = np.zeros((time_steps, h, w, 2), np.int64)
    if len(t):
        span = float(duration_us) if duration_us else float(np.max(t)) + 1.0
        b = np.floor(np.asarray(t, np.float64) * time_steps / span).astype(np.int64)
        keep = (b >= 0) & (b < time_steps)
        np.add.at(out, (b[keep], np.asarray(y)[keep], np.asarray(x)[keep], np.asarray(p)[keep].astype(np.int64)), 1)
    return np.minimum(out, 255).astype(np.uint8)


def read_raw(path: str) -> dict:
    try:
        with np.load(path, allow_pickle=False) as f:
            raw = {k: f[k] for k in f.files}
    except Exception as exc:
        raise InputError(f"--events: cannot read {path} ({exc.__class__.__name__}: {exc}); expected {RAW_ACCEPTED}") \
            from None
    missing = [k for k in RAW_KEYS if k not in raw]
    if missing:
        raise InputError(f"--events: {path} lacks {missing}; expected {RAW_ACCEPTED}")
    n = len(raw["labels"])
    offsets = raw["offsets"].astype(np.int64)
    h, w = (int(v) for v in raw["sensor_size"])
    if len(offsets) != n + 1 or offsets[0] != 0 or offsets[-1] != len(raw["t"]) or np.any(np.diff(offsets) < 0):
        raise InputError(f"--events: {path}: offsets must rise from 0 to the number of events, one more than labels")
    if not (len(raw["x"]) == len(raw["y"]) == len(raw["t"]) == len(raw["p"])):
        raise InputError(f"--events: {path}: x, y, t, p differ in length")
    if len(raw["t"]) and (raw["x"].min() < 0 or raw["x"].max() >= w or raw["y"].min() < 0 or raw["y"].max() >= h
                          or not set(np.unique(raw["p"]).tolist()) <= {0, 1} or raw["t"].min() < 0):
        raise InputError(f"--events: {path}: events outside the sensor ({h} x {w}), polarities other than 0/1 or "
                         "negative times")
    return raw


def raw_to_frames(path: str, time_steps: int, window_us: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(frames (N, T, H, W, 2), labels) of a raw event file: each sample's events in time_steps
    bins of window_us microseconds each (T x window from the sample's first event), or, without
    a window, time_steps bins over the sample's own duration."""
    raw = read_raw(path)
    h, w = (int(v) for v in raw["sensor_size"])
    out = np.zeros((len(raw["labels"]), time_steps, h, w, 2), np.uint8)
    for i in range(len(out)):
        a, b = raw["offsets"][i], raw["offsets"][i + 1]
        t = raw["t"][a:b].astype(np.float64)
        t = t - t.min() if len(t) else t
        out[i] = frames(raw["x"][a:b], raw["y"][a:b], t, raw["p"][a:b], (h, w), time_steps,
                        window_us * time_steps if window_us else None)
    return out, raw["labels"].astype(np.int64)


def _render(images: np.ndarray, dy: float, dx: float) -> np.ndarray:
    """The digits (B, 28, 28, in [0, 1]) on a dark FIELD x FIELD field at offset (dy, dx) from
    its top-left corner, bilinear."""
    b = len(images)
    field = np.zeros((b, FIELD + 1, FIELD + 1))
    iy, ix = int(np.floor(dy)), int(np.floor(dx))
    fy, fx = dy - iy, dx - ix
    for oy, ox, weight in ((0, 0, (1 - fy) * (1 - fx)), (1, 0, fy * (1 - fx)), (0, 1, (1 - fy) * fx), (1, 1, fy * fx)):
        field[:, iy + oy:iy + oy + 28, ix + ox:ix + ox + 28] += weight * images
    return field[:, :FIELD, :FIELD]


def saccade_path() -> np.ndarray:
    """The digit's offset (row, column) at each millisecond of the three saccades."""
    points = []
    for k in range(3):
        (y0, x0), (y1, x1) = CORNERS[k], CORNERS[(k + 1) % 3]
        for step in range(SACCADE_MS):
            f = step / SACCADE_MS
            points.append((y0 + f * (y1 - y0), x0 + f * (x1 - x0)))
    return np.array(points)


def simulate_recording(images_u8: np.ndarray, seed: int = 0, contrast: float = 0.25, mismatch: float = 0.1,
                       noise_hz: float = 0.2, batch: int = 500) -> list[np.ndarray]:
    """Events of each digit (uint8 codes (N, 28, 28)) as the module docstring describes: per
    sample a structured array of x, y, t (microseconds), p, in time order."""
    if images_u8.shape[1:3] != (28, 28):
        raise InputError(f"the simulated recording takes 28 x 28 digits, got {images_u8.shape[1:]}")
    rng = np.random.default_rng(seed)
    path = saccade_path()
    out: list[np.ndarray] = []
    for first in range(0, len(images_u8), batch):
        imgs = images_u8[first:first + batch].reshape(-1, 28, 28).astype(np.float64) / 255.0
        b = len(imgs)
        threshold = contrast * (1.0 + mismatch * rng.standard_normal((b, FIELD, FIELD)))
        threshold = np.maximum(threshold, 0.25 * contrast)
        log_of = lambda v: np.log(0.3 + v)   # noqa: E731  (the dark field still sends the monitor's light)
        reference = log_of(_render(imgs, *path[0]))
        parts = []          # per millisecond: sample, x, y, t, p of its events
        for ms in range(1, len(path)):
            level = log_of(_render(imgs, *path[ms]))
            change = level - reference
            count = np.floor(np.abs(change) / threshold).astype(np.int64)
            reference += np.sign(change) * count * threshold
            smp, yy, xx = np.nonzero(count)
            n = count[smp, yy, xx]
            polarity = (change[smp, yy, xx] > 0).astype(np.int8)
            nsmp, nyy, nxx = np.nonzero(rng.random((b, FIELD, FIELD)) < noise_hz * 1e-3)    # background events
            smp = np.concatenate([np.repeat(smp, n), nsmp])
            # the events of one millisecond spread over it (a pixel fires again after it resets)
            parts.append((smp, np.concatenate([np.repeat(xx, n), nxx]), np.concatenate([np.repeat(yy, n), nyy]),
                          ms * 1000 + rng.integers(0, 1000, len(smp)),
                          np.concatenate([np.repeat(polarity, n), rng.integers(0, 2, len(nsmp)).astype(np.int8)])))
        smp, xx, yy, tt, pp = (np.concatenate(column) for column in zip(*parts))
        order = np.lexsort((tt, smp))
        bounds = np.concatenate([[0], np.cumsum(np.bincount(smp, minlength=b))])
        for i in range(b):
            pick = order[bounds[i]:bounds[i + 1]]
            arr = np.empty(len(pick), dtype=[("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", np.int8)])
            arr["x"], arr["y"], arr["t"], arr["p"] = xx[pick], yy[pick], tt[pick], pp[pick]
            out.append(arr)
    return out


def simulated_nmnist(images_u8: np.ndarray, labels: np.ndarray, time_steps: int, seed: int = 0) -> tuple:
    """(frames (N, T, 34, 34, 2), labels, raw events per sample): the simulated recording of the
    digits binned into time_steps equal bins of its 300 ms."""
    recordings = simulate_recording(images_u8, seed)
    duration = 3 * SACCADE_MS * 1000
    out = np.stack([frames(r["x"], r["y"], r["t"], r["p"], (FIELD, FIELD), time_steps, duration) for r in recordings])
    return out, np.asarray(labels, np.int64), recordings


def write_raw(path: str, recordings: list[np.ndarray], labels: np.ndarray, sensor_size=(FIELD, FIELD)) -> None:
    """Raw events in the layout read_raw takes."""
    offsets = np.concatenate([[0], np.cumsum([len(r) for r in recordings])])
    cat = np.concatenate(recordings) if recordings else np.zeros(0, dtype=[("x", np.int16), ("y", np.int16),
                                                                          ("t", np.int64), ("p", np.int8)])
    np.savez_compressed(path, x=cat["x"], y=cat["y"], t=cat["t"], p=cat["p"], offsets=offsets,
                        labels=np.asarray(labels), sensor_size=np.array(sensor_size))
