"""Shared testbench wrapper: clock, reset, AXI-stream source/sink (cocotbext-axi) on a DUT's
s_axis/m_axis ports, with random idle cycles on the input and back-pressure on the output.

Beats are whole integers (byte_size = the port width, one lane), so any width works."""

import json
import logging
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource


def load_config():
    with open(os.environ["QPSNN_TB_CONFIG"]) as fh:
        return json.load(fh)


def random_pauses(probability, seed):
    rng = random.Random(seed)
    while True:
        yield rng.random() < probability


def to_signed(value, bits):
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def pack(values, bits):
    """Lane k of the beat holds values[k] (two's complement), lane 0 in the low bits."""
    word = 0
    for k, v in enumerate(values):
        word |= (int(v) & ((1 << bits) - 1)) << (k * bits)
    return word


def unpack(word, count, bits, signed=True):
    out = []
    for k in range(count):
        v = (int(word) >> (k * bits)) & ((1 << bits) - 1)
        out.append(to_signed(v, bits) if signed else v)
    return out


def frame_user(frame):
    """tuser of a frame's last beat (cocotbext-axi compacts a constant tuser to an int)."""
    return int(frame.tuser[-1]) if isinstance(frame.tuser, list) else int(frame.tuser)


class StreamTB:
    def __init__(self, dut, idle=0.0, backpressure=0.0, seed=0):
        self.dut = dut
        Clock(dut.clk, 10, unit="ns").start()
        in_bits = len(dut.s_axis_tdata)
        out_bits = len(dut.m_axis_tdata)
        self.source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst,
                                      byte_size=in_bits)
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst,
                                  byte_size=out_bits)
        for driver in (self.source, self.sink):
            driver.log.setLevel(logging.WARNING)
        if idle > 0:
            self.source.set_pause_generator(random_pauses(idle, seed + 1))
        if backpressure > 0:
            self.sink.set_pause_generator(random_pauses(backpressure, seed + 2))
        self.cycle = 0     # rising clock edges since the start: latency and rate checks
        cocotb.start_soon(self._count_cycles())

    async def _count_cycles(self):
        while True:
            await RisingEdge(self.dut.clk)
            self.cycle += 1

    async def reset(self):
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 3)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 1)

    async def send(self, beats):
        """Queue beats (ints); without tlast every beat is a frame of its own."""
        for beat in beats:
            await self.source.send(AxiStreamFrame([int(beat)]))

    async def send_frame(self, beats):
        """Queue one frame of several beats (tlast on the last, where the port has tlast)."""
        await self.source.send(AxiStreamFrame([int(b) for b in beats]))

    async def recv(self, count):
        beats = []
        while len(beats) < count:
            frame = await self.sink.recv()
            beats.extend(int(v) for v in frame.tdata)
        return beats
