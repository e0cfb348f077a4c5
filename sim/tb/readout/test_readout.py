"""readout: the currents of every step in sign-extended lanes and the class against the golden
model's readout_class, with ties (small values) and the one-current direct-encoded case; in
spike mode the K x T spikes of a LIF layer (its bit layout) and the class of their count; a
long window as CHUNKS beats of T steps per image, out as one frame of CHUNKS beats."""

import sys

import cocotb
import numpy as np

sys.path.insert(0, __file__.rsplit("/", 2)[0])
from stream_tb import StreamTB, frame_user, load_config, pack, unpack  # noqa: E402

from qpsnn.model.golden import readout_class  # noqa: E402


@cocotb.test()
async def random_currents(dut):
    cfg = load_config()
    p = cfg["parameters"]
    k, t, steps, bits, lane = p["K"], p["T"], p["STEPS"], p["BITS"], p["LANE"]
    chunks = p.get("CHUNKS", 1)
    n = cfg["images"]
    rng = np.random.default_rng(cfg["seed"])
    if p.get("SPIKES", 0):
        spikes = (rng.random((n, chunks * t, k)) < rng.random((n, 1, 1))).astype(int)
        # bit k*T + t of a pass's beat
        beats = [pack(s[c * t:(c + 1) * t].T.reshape(-1), 1) for s in spikes for c in range(chunks)]
        await check(dut, cfg, spikes, beats, t, k, lane, chunks)
        return
    # half the images from a narrow range, so that equal sums (ties) occur
    size = (n, chunks * steps if steps > 1 else 1, k)
    wide = rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), size=size)
    narrow = rng.integers(-2, 2, size=size)
    currents = np.where(rng.random((n, 1, 1)) < 0.5, wide, narrow)
    expected = np.broadcast_to(currents, (n, chunks * t, k)) if steps == 1 else currents
    beats = [pack((cur if steps == 1 else cur[c * t:(c + 1) * t]).reshape(-1), bits)
             for cur in currents for c in range(chunks)]
    await check(dut, cfg, expected, beats, t, k, lane, chunks)


async def check(dut, cfg, expected, beats, t, k, lane, chunks):
    """Send the beats of each image; each output frame: CHUNKS beats of (T, K) lanes, the class
    of `expected` in the last."""
    tb = StreamTB(dut, cfg["idle"], cfg["backpressure"], cfg["seed"])
    await tb.reset()
    await tb.send(beats)
    for i in range(cfg["images"]):
        frame = await tb.sink.recv()
        assert len(frame.tdata) == chunks, f"image {i}: {len(frame.tdata)} beats in its frame, expected {chunks}"
        got = np.concatenate([np.array(unpack(d, t * k, lane)).reshape(t, k) for d in frame.tdata])
        assert np.array_equal(got, expected[i]), f"image {i}: lanes {got.tolist()} != {expected[i].tolist()}"
        want = int(readout_class(expected[i:i + 1])[0])
        assert frame_user(frame) == want, f"image {i}: class {frame_user(frame)} != {want}"
