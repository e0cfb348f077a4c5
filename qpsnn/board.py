"""The board's serial protocol and the host side of it (`qpsnn board send`).

The accelerator on the ULX3S (codegen/board.py, hw/rtl/uart_link.v) talks over the board's
FTDI serial port at BAUD, 8 data bits, no parity, one stop bit, one image at a time:

  request  SYNC (0xA5), then the image's H x W x C bytes in the accelerator's input order:
           raster order, a pixel's channels from channel 0 (the pixel codes 0..255 as they are
           in the data set). Bytes before a SYNC are ignored, so a host can always start over.
  reply    a status byte: STATUS_OK (0x50), with bit 0 set when the board dropped a received
           byte (overrun) and bit 1 when a byte had a framing error since the last reply; then
           the class (argmax of the readout summed over the T steps, lowest class on ties);
           then the readout's T x K lanes as the accelerator computed them, each LANE/8 bytes
           little-endian two's complement, lane t*K + k = class k at step t.

Sending every step's lanes (rather than only their sums) lets the host check them against the
golden model at every time step, as the simulations do; the per-class scores are their sums
over the steps.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np

from qpsnn.errors import InputError

BAUD = 115200
SYNC = 0xA5
STATUS_OK = 0x50
STATUS_OVERRUN = 0x01
STATUS_FRAME_ERROR = 0x02


@dataclass
class Frame:
    """The shape of a request and a reply for one accelerator."""
    pixels: int           # H x W
    channels: int         # bytes per pixel
    steps: int            # T
    classes: int          # K
    lane: int             # bits per readout lane, a multiple of 8

    @property
    def request_bytes(self) -> int:
        return 1 + self.pixels * self.channels

    @property
    def out_bytes(self) -> int:
        return self.steps * self.classes * self.lane // 8

    @property
    def reply_bytes(self) -> int:
        return 2 + self.out_bytes

    def request(self, image: np.ndarray) -> bytes:
        """SYNC and the image's bytes: (H, W, C) codes 0..255 in raster order, channel 0 first."""
        return bytes([SYNC]) + np.asarray(image, dtype=np.uint8).reshape(-1).tobytes()

    def decode(self, reply: bytes) -> tuple[int, int, np.ndarray]:
        """(status, class, lanes (T, K)) of a reply."""
        width = self.lane // 8
        values = [int.from_bytes(reply[2 + i * width:2 + (i + 1) * width], "little", signed=True)
                  for i in range(self.steps * self.classes)]
        return reply[0], reply[1], np.array(values, dtype=np.int64).reshape(self.steps, self.classes)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def status_problem(status: int) -> str | None:
    """What a reply's status byte says went wrong, or None."""
    if status & 0xF0 != STATUS_OK & 0xF0 or status & ~0xF3 & 0xFF:
        return f"status byte {status:#04x} is no reply status (expected {STATUS_OK:#04x}): the frames are out of step"
    problems = [what for bit, what in ((STATUS_OVERRUN, "dropped a received byte (overrun)"),
                                       (STATUS_FRAME_ERROR, "received a byte with a framing error")) if status & bit]
    return "the board " + " and ".join(problems) if problems else None


def read_exactly(port, count: int, timeout_s: float) -> bytes:
    """`count` bytes from a pyserial port, or fewer when timeout_s passes first."""
    data = bytearray()
    deadline = time.monotonic() + timeout_s
    while len(data) < count and time.monotonic() < deadline:
        data += port.read(count - len(data))
    return bytes(data)


def send_images(port_path: str, frame: Frame, images: np.ndarray, baud: int = BAUD,
                timeout_s: float = 10.0) -> dict:
    """Each image to the board and its reply back, one at a time. Returns {"status", "classes",
    "lanes" (N, T, K), "round_trip_s" (N,)}; a port that cannot be opened is an InputError, a
    reply that does not come (or comes short) a TimeoutError naming the image."""
    import serial

    try:
        port = serial.Serial(port_path, baudrate=baud, timeout=0.1)
    except (serial.SerialException, OSError, ValueError) as exc:
        raise InputError(f"--port: cannot open {port_path} ({exc}); give the board's serial port, "
                         "e.g. /dev/ttyUSB0 (the ULX3S's FTDI)") from None
    n = len(images)
    status, classes = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    lanes = np.zeros((n, frame.steps, frame.classes), dtype=np.int64)
    round_trip = np.zeros(n)
    # a byte takes 10 bit times: the time the line needs for a request and its reply, and more
    line_s = 10 * (frame.request_bytes + frame.reply_bytes) / baud
    with port:
        port.reset_input_buffer()
        for i, image in enumerate(images):
            start = time.perf_counter()
            port.write(frame.request(image))
            port.flush()
            reply = read_exactly(port, frame.reply_bytes, timeout_s + line_s)
            round_trip[i] = time.perf_counter() - start
            if len(reply) < frame.reply_bytes:
                raise TimeoutError(f"image {i}: {len(reply)} of {frame.reply_bytes} reply bytes in "
                                   f"{timeout_s + line_s:.1f} s (is the bitstream loaded and the port the board's?)")
            status[i], classes[i], lanes[i] = frame.decode(reply)
    return {"status": status, "classes": classes, "lanes": lanes, "round_trip_s": round_trip}


def check_port(path: str) -> None:
    """InputError unless `path` is a character device (a serial port or a pseudo-terminal)."""
    import stat
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise InputError(f"--port: {path} ({exc.strerror}); give the board's serial port, e.g. /dev/ttyUSB0 "
                         "(the ULX3S's FTDI)") from None
    if not stat.S_ISCHR(mode):
        raise InputError(f"--port: {path} is not a serial port (not a character device); give the board's "
                         "serial port, e.g. /dev/ttyUSB0 (the ULX3S's FTDI)")


def board_send(spec, out: str, port_path: str, count: int) -> dict:
    """`qpsnn board send`: the first `count` hold-out images of the spec's data set through the
    board on `port_path`, the frame shape from DIR's current board step; each reply's class and
    every step's lanes compared with the golden model. Returns the summary it prints."""
    from qpsnn.progress import Timer
    from qpsnn.steps import Options, Workspace, hold_out

    if count < 1:
        raise InputError(f"--images: a positive number of hold-out images, got {count}")
    check_port(port_path)
    ws = Workspace(spec, os.path.abspath(out), os.path.abspath(out), Options())
    record = ws.require("board")     # the board this DIR's bitstream was made for, current for the spec
    frame = Frame(**record["result"]["board"]["frame"])
    images, labels, golden = hold_out(ws, count, Timer())
    got = send_images(port_path, frame, images)
    from qpsnn.model.golden import readout_class
    golden_class = readout_class(golden.logits)
    bad_status = [i for i, s in enumerate(got["status"]) if status_problem(int(s))]
    differ = np.any(got["lanes"] != golden.logits, axis=(1, 2)) | (got["classes"] != golden_class)
    for i in range(len(images)):
        scores = got["lanes"][i].sum(axis=0)
        print(f"[qpsnn] image {i}: class {got['classes'][i]} (label {labels[i]}), scores {scores.tolist()}, "
              f"round trip {got['round_trip_s'][i] * 1e3:.1f} ms"
              + ("" if not differ[i] else "  <- differs from the golden model"), flush=True)
    summary = {"images": len(images), "accuracy": float((got["classes"] == labels).mean()),
               "mismatches": int(differ.sum()), "bad_status": len(bad_status),
               "round_trip_ms_mean": float(got["round_trip_s"].mean() * 1e3),
               "round_trip_ms_max": float(got["round_trip_s"].max() * 1e3)}
    print(f"[qpsnn] board: accuracy {summary['accuracy']:.4f} on {summary['images']} hold-out images; "
          f"{summary['mismatches']} differ from the golden model (class or any step's readout); round trip "
          f"{summary['round_trip_ms_mean']:.1f} ms mean, {summary['round_trip_ms_max']:.1f} ms max per image",
          flush=True)
    if bad_status:
        print(f"[qpsnn] board: {len(bad_status)} replies report a problem; first, image {bad_status[0]}: "
              f"{status_problem(int(got['status'][bad_status[0]]))}", flush=True)
    return summary
