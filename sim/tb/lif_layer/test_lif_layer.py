"""lif_layer against the golden model's LIF (model/golden.py): random currents for every
time step (or one current for all steps), positions back to back, idle input and
back-pressure; a long window as passes of T steps over the same positions (CHUNKS), the
membranes kept between them."""

import sys

import cocotb
import numpy as np

sys.path.insert(0, __file__.rsplit("/", 2)[0])
from stream_tb import StreamTB, load_config, pack, unpack  # noqa: E402

from qpsnn.model.golden import lif  # noqa: E402


class _Thresholds:
    def __init__(self, theta):
        self.theta = theta

    def array(self, _):
        return self.theta


@cocotb.test()
async def random_currents(dut):
    cfg = load_config()
    p = cfg["parameters"]
    n, t_steps, x_steps, xb = p["N"], p["T"], p["X_STEPS"], p["X_BITS"]
    chunks, positions = p.get("CHUNKS", 1), p.get("POSITIONS", 1)
    images = cfg["beats"] // positions          # beats: positions x images (one pass each)
    window = chunks * t_steps                    # an image's steps, in CHUNKS passes of T
    rng = np.random.default_rng(cfg["seed"])
    x_max = (1 << (xb - 1)) - 1
    # a current per step, or one for all steps (direct encoding: the same beat every pass)
    currents = rng.integers(-x_max - 1, x_max + 1, size=(images * positions, window if x_steps > 1 else 1, n),
                            dtype=np.int64)
    theta = np.resize(np.array(cfg["threshold"], dtype=np.int64), n)  # neuron k uses theta[k % C]
    layer = {"leak_shift": p["LEAK_SHIFT"], "leak_complement": bool(p.get("LEAK_COMPLEMENT", 0)),
             "reset": "soft" if p["SOFT_RESET"] else "hard", "threshold": "t"}
    expected = lif(layer, _Thresholds(theta), np.broadcast_to(currents, (len(currents), window, n)).copy())
    # an image's beats: pass c carries steps c*T .. c*T + T - 1 of each of its positions in turn
    order = [(i * positions + q, c) for i in range(images) for c in range(chunks) for q in range(positions)]
    steps = [slice(c * t_steps, (c + 1) * t_steps) if x_steps > 1 else slice(0, 1) for _, c in order]
    tb = StreamTB(dut, cfg["idle"], cfg["backpressure"], cfg["seed"])
    await tb.reset()
    await tb.send([pack(currents[b, s].reshape(-1), xb) for (b, _), s in zip(order, steps)])
    got = await tb.recv(len(order))
    # output bit n*T + t: neuron n at step t of the beat's pass
    spikes = np.zeros_like(expected)
    for beat, (b, c) in zip(got, order):
        bits = np.array(unpack(beat, n * t_steps, 1, signed=False)).reshape(n, t_steps)
        spikes[b, c * t_steps:(c + 1) * t_steps] = bits.T
    bad = np.argwhere(spikes != expected)
    assert len(bad) == 0, f"first mismatch (position, step, neuron) = {tuple(bad[0])}"
