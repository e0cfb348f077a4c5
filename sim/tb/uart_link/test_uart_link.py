"""uart_link: the host's side on the UART pins (cocotbext-uart's UartSource on rxd, UartSink on
txd), the accelerator's side played by AXI-stream drivers: bytes before the sync byte are
ignored, every image's bytes come out as pixel beats (a pixel's channels, channel 0 in the low
byte) under back-pressure, and each readout beat goes back as the reply frame: status, class,
the beat's bytes least significant first. A pixel sink that stops taking makes the receiver
drop bytes: the next reply's status says so (bit 0)."""

import logging
import random
import sys

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource
from cocotbext.uart import UartSink, UartSource

sys.path.insert(0, __file__.rsplit("/", 2)[0])
from stream_tb import load_config, random_pauses  # noqa: E402

CLOCK_NS = 10
SYNC, STATUS_OK, STATUS_OVERRUN = 0xA5, 0x50, 0x01


class LinkTB:
    def __init__(self, dut, cfg):
        p = cfg["parameters"]
        self.dut, self.cpb = dut, p["CLKS_PER_BIT"]
        self.pixel_bytes, self.pixels, self.out_bytes, self.class_bits = (
            p["PIXEL_BYTES"], p["PIXELS"], p["OUT_BYTES"], p["CLASS_BITS"])
        Clock(dut.clk, CLOCK_NS, unit="ns").start()
        baud = 1e9 / (self.cpb * CLOCK_NS)
        self.host_tx = UartSource(dut.rxd, baud=baud)
        self.host_rx = UartSink(dut.txd, baud=baud)
        self.pixel_sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst,
                                        byte_size=8 * self.pixel_bytes)
        self.readout = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst,
                                       byte_size=8 * self.out_bytes)
        for driver in (self.host_tx, self.host_rx, self.pixel_sink, self.readout):
            driver.log.setLevel(logging.WARNING)

    async def reset(self):
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 3)
        self.dut.rst.value = 0

    async def pixels_out(self, count):
        beats = []
        while len(beats) < count:
            frame = await self.pixel_sink.recv()
            beats.extend(int(v) for v in frame.tdata)
        return beats

    async def reply(self):
        want = 2 + self.out_bytes
        got = bytearray()
        while len(got) < want:
            await self.host_rx.wait()
            got += self.host_rx.read_nowait()
        return bytes(got)


@cocotb.test()
async def frames(dut):
    cfg = load_config()
    rng = random.Random(cfg["seed"])
    tb = LinkTB(dut, cfg)
    await tb.reset()
    tb.pixel_sink.set_pause_generator(random_pauses(cfg["backpressure"], cfg["seed"]))
    for image in range(cfg["images"]):
        data = bytes(rng.getrandbits(8) for _ in range(tb.pixels * tb.pixel_bytes))
        # noise before the sync byte (any byte but the sync byte) is ignored
        noise = bytes(rng.choice([b for b in range(256) if b != SYNC]) for _ in range(rng.randrange(3)))
        await tb.host_tx.write(noise + bytes([SYNC]) + data)
        beats = await tb.pixels_out(tb.pixels)
        expected = [int.from_bytes(data[i:i + tb.pixel_bytes], "little") for i in range(0, len(data), tb.pixel_bytes)]
        assert beats == expected, f"image {image}: pixels {beats} != {expected}"
        beat = rng.getrandbits(8 * tb.out_bytes)
        label = rng.getrandbits(tb.class_bits)
        await tb.readout.send(AxiStreamFrame([beat], tuser=label))
        reply = await tb.reply()
        want = bytes([STATUS_OK, label]) + beat.to_bytes(tb.out_bytes, "little")
        assert reply == want, f"image {image}: reply {reply.hex()} != {want.hex()}"


@cocotb.test()
async def overrun_is_reported(dut):
    cfg = load_config()
    tb = LinkTB(dut, cfg)
    await tb.reset()
    tb.pixel_sink.pause = True      # the accelerator takes nothing: bytes after the first pixels are dropped
    await tb.host_tx.write(bytes([SYNC]) + bytes(range(1, 1 + 3 * tb.pixel_bytes)))
    await tb.host_tx.wait()
    await ClockCycles(dut.clk, 12 * tb.cpb)
    tb.pixel_sink.pause = False
    await tb.pixels_out(1)
    await tb.readout.send(AxiStreamFrame([0], tuser=0))
    reply = await tb.reply()
    assert reply[0] == STATUS_OK | STATUS_OVERRUN, f"status {reply[0]:#x} after dropped bytes"
    # the flag is cleared by the reply that reported it
    await tb.readout.send(AxiStreamFrame([0], tuser=0))
    assert (await tb.reply())[0] == STATUS_OK
