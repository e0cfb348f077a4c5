"""Whole-network testbench: real images in through AXI-stream, every time step of every
readout current out, compared with the golden model; cycles per image recorded.

Configured by QPSNN_TB_CONFIG (a JSON file written by qpsnn.sim.network):
  vectors:  npz with images (N, H, W, C) uint8 and golden logits (N, T, K)
  results:  npz path the testbench writes: rtl logits (N, T, K), cycles (N,)
  lane:     bits per readout lane (one output beat per image: lane t*K + k = class k at step t)
  mode:     "latency" (one image at a time) | "stream" (back to back)
  idle, backpressure: probability of an idle input cycle / a stalled output cycle
"""

import sys

import cocotb
import numpy as np
from cocotb.triggers import RisingEdge

sys.path.insert(0, __file__.rsplit("/", 2)[0])
from stream_tb import StreamTB, load_config, pack, unpack  # noqa: E402


class NetworkTB(StreamTB):
    def __init__(self, dut, cfg):
        super().__init__(dut, cfg.get("idle", 0.0), cfg.get("backpressure", 0.0))
        self.lane = cfg["lane"]
        self.lanes = len(dut.m_axis_tdata) // self.lane
        self.cycle = 0
        cocotb.start_soon(self._count_cycles())

    async def _count_cycles(self):
        while True:
            await RisingEdge(self.dut.clk)
            self.cycle += 1

    async def send_image(self, image):
        """One beat per pixel: its C channels, channel 0 in the low byte."""
        await self.send_frame([pack(px, 8) for px in image.reshape(-1, image.shape[-1])])

    async def recv_steps(self, t_steps):
        """One output beat: the readout currents of every time step, (T, K)."""
        frame = await self.sink.recv()
        return np.array(unpack(frame.tdata[0], self.lanes, self.lane)).reshape(t_steps, -1)


@cocotb.test()
async def run_network(dut):
    cfg = load_config()
    vectors = np.load(cfg["vectors"])
    images, golden = vectors["images"], vectors["logits"]
    n = golden.shape[0]
    tb = NetworkTB(dut, cfg)
    await tb.reset()
    out = np.zeros_like(golden)
    cycles = np.zeros(n, dtype=np.int64)
    if cfg.get("mode", "latency") == "latency":
        for i in range(n):
            start = tb.cycle
            await tb.send_image(images[i])
            out[i] = await tb.recv_steps(golden.shape[1])
            cycles[i] = tb.cycle - start
    else:
        start = tb.cycle
        for i in range(n):
            await tb.send_image(images[i])
        for i in range(n):
            out[i] = await tb.recv_steps(golden.shape[1])
        cycles[:] = (tb.cycle - start) // max(n, 1)
    np.savez(cfg["results"], logits=out, cycles=cycles)
    mismatches = int(np.any(out != golden, axis=(1, 2)).sum())
    assert mismatches == 0, f"{mismatches} of {n} images differ from the golden model"
