"""Whole-network testbench: real images in through AXI-stream, every time step of every
readout current out, compared with the golden model; cycles per image recorded.

Configured by QPSNN_TB_CONFIG (a JSON file written by qpsnn.sim.network):
  vectors:  npz with images (N, H, W, C) uint8 and golden logits (N, T, K)
  results:  npz path the testbench writes: rtl logits (N, T, K), cycles (N,)
  lane:     bits per readout lane;  mode: "latency" (one image at a time) | "stream" (back to back)
  idle, backpressure: probability of an idle input cycle / a stalled output cycle
"""

import json
import logging
import os
import random

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource


def random_pauses(probability, seed):
    rng = random.Random(seed)
    while True:
        yield rng.random() < probability


class NetworkTB:
    def __init__(self, dut, cfg):
        self.dut = dut
        self.cfg = cfg
        self.cycle = 0
        Clock(dut.clk, 10, unit="ns").start()
        self.source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst)
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst)
        for driver in (self.source, self.sink):
            driver.log.setLevel(logging.WARNING)  # no per-frame dumps
        if cfg.get("idle", 0) > 0:
            self.source.set_pause_generator(random_pauses(cfg["idle"], 1))
        if cfg.get("backpressure", 0) > 0:
            self.sink.set_pause_generator(random_pauses(cfg["backpressure"], 2))
        cocotb.start_soon(self._count_cycles())

    async def _count_cycles(self):
        while True:
            await RisingEdge(self.dut.clk)
            self.cycle += 1

    async def reset(self):
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 4)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 2)

    def decode(self, frame, T):
        lane_bytes = self.cfg["lane"] // 8
        raw = np.frombuffer(bytes(frame.tdata), dtype=np.uint8).reshape(T, -1, lane_bytes).astype(np.int64)
        value = np.zeros(raw.shape[:2], dtype=np.int64)
        for b in range(lane_bytes):
            value |= raw[:, :, b] << (8 * b)
        sign = np.int64(1) << (8 * lane_bytes - 1)
        return (value ^ sign) - sign


@cocotb.test()
async def run_network(dut):
    with open(os.environ["QPSNN_TB_CONFIG"]) as fh:
        cfg = json.load(fh)
    vectors = np.load(cfg["vectors"])
    images, golden = vectors["images"], vectors["logits"]
    n, T = golden.shape[0], golden.shape[1]
    tb = NetworkTB(dut, cfg)
    await tb.reset()
    out = np.zeros_like(golden)
    cycles = np.zeros(n, dtype=np.int64)
    if cfg.get("mode", "latency") == "latency":
        for i in range(n):
            start = tb.cycle
            await tb.source.send(AxiStreamFrame(images[i].reshape(-1).tobytes()))
            frame = await tb.sink.recv()
            cycles[i] = tb.cycle - start
            out[i] = tb.decode(frame, T)
    else:
        start = tb.cycle
        for i in range(n):
            await tb.source.send(AxiStreamFrame(images[i].reshape(-1).tobytes()))
        for i in range(n):
            out[i] = tb.decode(await tb.sink.recv(), T)
        cycles[:] = (tb.cycle - start) // max(n, 1)
    np.savez(cfg["results"], logits=out, cycles=cycles)
    mismatches = int(np.any(out != golden, axis=(1, 2)).sum())
    assert mismatches == 0, f"{mismatches} of {n} images differ from the golden model"
