"""readout: the currents of every step in sign-extended lanes and the class against the golden
model's readout_class, with ties (small values) and the one-current direct-encoded case; in
spike mode the K x T spikes of a LIF layer (its bit layout) and the class of their count."""

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
    rng = np.random.default_rng(cfg["seed"])
    if p.get("SPIKES", 0):
        spikes = (rng.random((cfg["images"], t, k)) < rng.random((cfg["images"], 1, 1))).astype(int)
        beats = [pack(s.T.reshape(-1), 1) for s in spikes]       # bit k*T + t
        await check(dut, cfg, spikes, beats, t, k, lane)
        return
    # half the images from a narrow range, so that equal sums (ties) occur
    wide = rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), size=(cfg["images"], steps, k))
    narrow = rng.integers(-2, 2, size=(cfg["images"], steps, k))
    currents = np.where(rng.random((cfg["images"], 1, 1)) < 0.5, wide, narrow)
    expected = np.broadcast_to(currents, (cfg["images"], t, k)) if steps == 1 else currents
    await check(dut, cfg, expected, [pack(c.reshape(-1), bits) for c in currents], t, k, lane)


async def check(dut, cfg, expected, beats, t, k, lane):
    """Send one beat per image; each output: the (T, K) lanes and the class of `expected`."""
    tb = StreamTB(dut, cfg["idle"], cfg["backpressure"], cfg["seed"])
    await tb.reset()
    await tb.send(beats)
    for i in range(cfg["images"]):
        frame = await tb.sink.recv()
        got = np.array(unpack(frame.tdata[0], t * k, lane)).reshape(t, k)
        assert np.array_equal(got, expected[i]), f"image {i}: lanes {got.tolist()} != {expected[i].tolist()}"
        want = int(readout_class(expected[i:i + 1])[0])
        assert frame_user(frame) == want, f"image {i}: class {frame_user(frame)} != {want}"
