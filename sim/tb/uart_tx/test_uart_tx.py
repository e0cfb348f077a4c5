"""uart_tx: random bytes from an AXI-stream source (with idle cycles) out on the line, read back
by cocotbext-uart's UartSink at the baud rate CLKS_PER_BIT gives; back to back, a byte takes
exactly 10 bit times (start, 8 data, stop); the line is high from power-up."""

import logging
import random
import sys

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge, with_timeout
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSource
from cocotbext.uart import UartSink

sys.path.insert(0, __file__.rsplit("/", 2)[0])
from stream_tb import load_config, random_pauses  # noqa: E402

CLOCK_NS = 10


@cocotb.test()
async def bytes_out(dut):
    cfg = load_config()
    cpb = cfg["parameters"]["CLKS_PER_BIT"]
    rng = random.Random(cfg["seed"])
    Clock(dut.clk, CLOCK_NS, unit="ns").start()
    dut.s_axis_tvalid.value = 0
    await ClockCycles(dut.clk, 2)   # before any reset: the power-up value
    assert int(dut.txd.value) == 1, "the line is low at power-up"
    sink = UartSink(dut.txd, baud=1e9 / (cpb * CLOCK_NS))
    source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst)
    for driver in (sink, source):
        driver.log.setLevel(logging.WARNING)
    dut.rst.value = 1
    await ClockCycles(dut.clk, 3)
    assert int(dut.txd.value) == 1, "the line is low in reset"
    dut.rst.value = 0
    # idle input cycles: the transmitter waits for the byte, the line stays high
    source.set_pause_generator(random_pauses(cfg["idle"], cfg["seed"]))
    data = bytes(rng.getrandbits(8) for _ in range(cfg["bytes"]))
    for b in data:
        await source.send(AxiStreamFrame([b]))
    received = bytearray()
    while len(received) < len(data):
        await with_timeout(sink.wait(), 20 * cpb * CLOCK_NS * len(data), "ns")
        received += sink.read_nowait()
    assert bytes(received) == data, f"sent {data.hex()}, the line carried {bytes(received).hex()}"

    # back to back (no idle input): a start bit every 10 bit times
    source.set_pause_generator(None)
    source.pause = False
    await ClockCycles(dut.clk, 12 * cpb)
    burst = bytes(rng.getrandbits(8) | 1 for _ in range(4))    # bit 0 high: the start bit is the only
    for b in burst:                                            # falling edge at a byte's start
        await source.send(AxiStreamFrame([b]))
    starts = []
    cycle = 0
    while len(starts) < len(burst):
        await RisingEdge(dut.clk)
        cycle += 1
        if starts == [] and int(dut.txd.value) == 0:
            starts.append(cycle)
        elif starts and int(dut.txd.value) == 0 and cycle - starts[-1] >= 10 * cpb:
            starts.append(cycle)
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert gaps == [10 * cpb] * (len(burst) - 1), f"bytes started {gaps} cycles apart, expected {10 * cpb}"
    await FallingEdge(dut.clk)
