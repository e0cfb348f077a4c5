"""The board top at its pins: a UART bit-level host (cocotbext-uart) on ftdi_txd / ftdi_rxd.

Configured by QPSNN_TB_CONFIG (qpsnn.sim.board):
  frame:         the request / reply shape (qpsnn.board.Frame)
  clks_per_bit:  the board top's CLKS_PER_BIT in this simulation
  vectors, results: images in; each reply's status, class and lanes (N, T, K) out
  pty_path_file, images: instead, bridge a pseudo-terminal to the pins until `images` replies
                 have gone out; the pty's slave path is written to pty_path_file for the host
"""

import logging
import os
import sys
import time
import tty

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles
from cocotbext.uart import UartSink, UartSource

sys.path.insert(0, __file__.rsplit("/", 2)[0])
from stream_tb import load_config  # noqa: E402

from qpsnn.board import Frame  # noqa: E402

CLOCK_NS = 10
BRIDGE_TIMEOUT_S = 300      # wall time a bridge waits for its host


class BoardTB:
    def __init__(self, dut, cfg):
        self.dut = dut
        self.frame = Frame(**cfg["frame"])
        self.cpb = cfg["clks_per_bit"]
        Clock(dut.clk_25mhz, CLOCK_NS, unit="ns").start()
        baud = 1e9 / (self.cpb * CLOCK_NS)
        self.host_tx = UartSource(dut.ftdi_txd, baud=baud)
        self.host_rx = UartSink(dut.ftdi_rxd, baud=baud)
        for driver in (self.host_tx, self.host_rx):
            driver.log.setLevel(logging.WARNING)

    async def start(self):
        """Past the board's power-on reset (16 cycles after lock)."""
        await ClockCycles(self.dut.clk_25mhz, 20)
        assert int(self.dut.led.value) >> 7 == 1, "the board top is still in reset"

    async def reply(self):
        data = bytearray()
        while len(data) < self.frame.reply_bytes:
            await self.host_rx.wait()
            data += self.host_rx.read_nowait(min(self.host_rx.count(), self.frame.reply_bytes - len(data)))
        return bytes(data)


@cocotb.test()
async def board(dut):
    cfg = load_config()
    tb = BoardTB(dut, cfg)
    await tb.start()
    if "pty_path_file" in cfg:
        await bridge(tb, cfg)
        return
    images = np.load(cfg["vectors"])["images"]
    n = len(images)
    status = np.zeros(n, dtype=np.int64)
    classes = np.zeros(n, dtype=np.int64)
    lanes = np.zeros((n, tb.frame.steps, tb.frame.classes), dtype=np.int64)
    for i, image in enumerate(images):
        await tb.host_tx.write(tb.frame.request(image))
        status[i], classes[i], lanes[i] = tb.frame.decode(await tb.reply())
    np.savez(cfg["results"], status=status, classes=classes, lanes=lanes)


async def bridge(tb, cfg):
    """Bytes the host writes to the pty go out on the FPGA's receive line; bytes on its transmit
    line go back to the host, until cfg["images"] replies have gone back."""
    master, slave = os.openpty()
    tty.setraw(slave)       # no echo, no line editing: the bytes as they are (the slave stays open
    os.set_blocking(master, False)   # here, so the master never reads an end of file)
    path = os.ttyname(slave)
    tmp = cfg["pty_path_file"] + ".tmp"
    with open(tmp, "w") as fh:
        fh.write(path)
    os.replace(tmp, cfg["pty_path_file"])
    want = cfg["images"] * tb.frame.reply_bytes
    sent = 0
    deadline = time.monotonic() + BRIDGE_TIMEOUT_S
    try:
        while sent < want:
            assert time.monotonic() < deadline, f"the host took more than {BRIDGE_TIMEOUT_S} s ({sent} of {want} bytes back)"
            try:
                data = os.read(master, 4096)
            except BlockingIOError:
                data = b""
            if data:
                tb.host_tx.write_nowait(data)
            back = tb.host_rx.read_nowait()
            if back:
                os.write(master, bytes(back))
                sent += len(back)
            # a poll per byte time: the host's bytes reach the line without a gap
            await ClockCycles(tb.dut.clk_25mhz, 10 * tb.cpb)
        await ClockCycles(tb.dut.clk_25mhz, 10)
    finally:
        time.sleep(0.5)     # let the host read the last bytes before the pty goes away
        os.close(master)
        os.close(slave)
