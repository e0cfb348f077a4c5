"""uart_rx against cocotbext-uart's UartSource: random bytes back to back at the nominal baud
rate and at 2% off it, taken with back-pressure; a byte that arrives while the one before is not
taken is dropped with an overrun pulse; a stop bit that is low (a 9-bit character whose ninth
bit is 0) drops the byte with a frame_error pulse; a low glitch shorter than half a bit is no
start bit."""

import logging
import random
import sys

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import AxiStreamBus, AxiStreamSink
from cocotbext.uart import UartSource

sys.path.insert(0, __file__.rsplit("/", 2)[0])
from stream_tb import load_config, random_pauses  # noqa: E402

CLOCK_NS = 10


class RxTB:
    def __init__(self, dut, cfg):
        self.dut, self.cpb = dut, cfg["parameters"]["CLKS_PER_BIT"]
        Clock(dut.clk, CLOCK_NS, unit="ns").start()
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst)
        self.sink.log.setLevel(logging.WARNING)
        self.overruns = self.frame_errors = 0
        cocotb.start_soon(self._count_flags())

    def source(self, baud_scale=1.0, bits=8):
        """A UART source on rxd at the module's baud rate times baud_scale."""
        source = UartSource(self.dut.rxd, baud=1e9 / (self.cpb * CLOCK_NS) * baud_scale, bits=bits)
        source.log.setLevel(logging.WARNING)
        return source

    async def _count_flags(self):
        while True:
            await RisingEdge(self.dut.clk)
            self.overruns += int(self.dut.overrun.value)
            self.frame_errors += int(self.dut.frame_error.value)

    async def reset(self):
        self.dut.rxd.value = 1
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 3)
        self.dut.rst.value = 0

    async def received(self, count):
        out = bytearray()
        while len(out) < count:
            frame = await self.sink.recv()
            out += bytes(frame.tdata)
        return bytes(out)

    async def quiet(self, bits=12):
        await ClockCycles(self.dut.clk, bits * self.cpb)


@cocotb.test()
async def bytes_in(dut):
    cfg = load_config()
    rng = random.Random(cfg["seed"])
    tb = RxTB(dut, cfg)
    await tb.reset()
    tb.sink.set_pause_generator(random_pauses(cfg["backpressure"], cfg["seed"]))
    for scale in (1.0, 0.98, 1.02):     # the receiver samples mid-bit: 2% off drifts a fifth of a bit
        source = tb.source(scale)
        data = bytes(rng.getrandbits(8) for _ in range(cfg["bytes"]))
        await source.write(data)
        got = await tb.received(len(data))
        assert got == data, f"baud x{scale}: sent {data.hex()}, received {got.hex()}"
        await source.wait()
        await tb.quiet()
    assert tb.overruns == 0 and tb.frame_errors == 0, (tb.overruns, tb.frame_errors)


@cocotb.test()
async def overrun_drops_the_new_byte(dut):
    cfg = load_config()
    tb = RxTB(dut, cfg)
    await tb.reset()
    tb.sink.pause = True            # nothing is taken while three bytes arrive
    source = tb.source()
    await source.write(b"\x11\x22\x33")
    await source.wait()
    await tb.quiet()
    assert tb.overruns == 2, f"{tb.overruns} overrun pulses for two dropped bytes"
    tb.sink.pause = False
    assert await tb.received(1) == b"\x11"
    await tb.quiet()
    assert tb.sink.empty(), "a dropped byte came out"
    await source.write(b"\x44")     # the receiver goes on
    assert await tb.received(1) == b"\x44"


@cocotb.test()
async def framing_error_and_glitch(dut):
    cfg = load_config()
    tb = RxTB(dut, cfg)
    await tb.reset()
    nine = tb.source(bits=9)        # the ninth data bit lands in the 8-bit receiver's stop bit
    await nine.write([0x0A5])       # bit 8 = 0: a low stop bit
    await nine.wait()
    await tb.quiet()
    assert tb.frame_errors == 1 and tb.sink.empty(), (tb.frame_errors, tb.sink.count())
    # a low pulse of a third of a bit: no start bit
    dut.rxd.value = 0
    await ClockCycles(dut.clk, max(1, tb.cpb // 3))
    dut.rxd.value = 1
    await tb.quiet()
    assert tb.sink.empty() and tb.frame_errors == 1, "a glitch was taken for a byte"
    source = tb.source()
    await source.write(b"\x5a")
    assert await tb.received(1) == b"\x5a"
