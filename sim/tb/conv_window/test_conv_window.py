"""conv_window against the golden model's im2col: the element stream of every window (all
elements, padding as zeros, or only the non-zero ones and each window's last), maps back to
back (the next map's rows coming into the line buffer while the last windows are walked),
idle input and back-pressure; and the cycles of one map without stalls."""

import sys

import cocotb
import numpy as np

sys.path.insert(0, __file__.rsplit("/", 2)[0])
from stream_tb import StreamTB, load_config, pack  # noqa: E402

from qpsnn.codegen.element_stream import beats, pack_beat, sent  # noqa: E402
from qpsnn.model.golden import im2col  # noqa: E402


@cocotb.test()
async def random_maps(dut):
    cfg = load_config()
    p = cfg["parameters"]
    rng = np.random.default_rng(cfg["seed"])
    maps = rng.integers(0, 1 << p["ELEM_BITS"], size=(cfg["maps"], p["H"], p["W"], p["C"]))
    maps[rng.random(maps.shape) < cfg["zeros"]] = 0
    windows = im2col(maps, p["K"], p["STRIDE"], cfg["pads"])
    assert windows.shape[1:3] == (p["OH"], p["OW"])
    n_in = windows.shape[-1]
    expected = [pack_beat(b, n_in, p["ELEM_BITS"]) for b in beats(windows.reshape(-1, n_in), bool(p["SKIP_ZEROS"]))]
    tb = StreamTB(dut, cfg["idle"], cfg["backpressure"], cfg["seed"])
    await tb.reset()
    await tb.send([pack(px, p["ELEM_BITS"]) for px in maps.reshape(-1, p["C"])])
    got = await tb.recv(len(expected))
    wrong = [i for i, (g, e) in enumerate(zip(got, expected)) if g != e]
    assert not wrong, f"first wrong element {wrong[0]} of {len(expected)}: got {got[wrong[0]]:#x}, expected " \
                      f"{expected[wrong[0]]:#x}"


@cocotb.test()
async def one_cycle_per_element(dut):
    """Without stalls a window costs a cycle per element it sends (taps with nothing to send,
    zero pixels or padding, cost nothing in event mode), and it starts as soon as the rows it
    reads are in (the map streams in at a pixel per cycle meanwhile, as far as the line buffer
    has room)."""
    cfg = load_config()
    p = cfg["parameters"]
    rng = np.random.default_rng(cfg["seed"] + 1)
    one = rng.integers(0, 1 << p["ELEM_BITS"], size=(1, p["H"], p["W"], p["C"]))
    one[rng.random(one.shape) < cfg["zeros"]] = 0
    windows = im2col(one, p["K"], p["STRIDE"], cfg["pads"]).reshape(-1, p["K"] * p["K"], p["C"])
    mask = sent(windows.reshape(windows.shape[0], -1), bool(p["SKIP_ZEROS"])).reshape(windows.shape)
    cost = mask.sum(axis=(1, 2))                                     # cycles per window
    k, stride, w = p["K"], p["STRIDE"], p["W"]
    rows_in = np.minimum(np.arange(p["OH"]) * stride + k - cfg["pads"][0], p["H"])
    tops = np.maximum(np.arange(p["OH"]) * stride - cfg["pads"][0], 0)
    # the line buffer takes row r once row r - ROWS is free: the cycle after the last window
    # reading it is through; a row comes in at a pixel per cycle
    row_done, free = [], {}
    end, start, pixel_clock = 0, -2, 0
    for oy in range(p["OH"]):
        while len(row_done) < rows_in[oy]:
            r = len(row_done)
            first = max(pixel_clock, free.get(r - p["ROWS"], 0))
            row_done.append(first + w - 1)
            pixel_clock = first + w
        for ox in range(p["OW"]):
            # a window is taken three cycles after its last row's last pixel is in and two after
            # the window before (the walker's registered checks), and in the cycle the window
            # before is through
            start = max(end, row_done[rows_in[oy] - 1] + 3, start + 2)
            end = start + int(cost[oy * p["OW"] + ox])
        next_top = tops[oy + 1] if oy + 1 < p["OH"] else p["H"]
        for r in range(tops[oy], next_top):
            free[r] = end + 1
    tb = StreamTB(dut)
    await tb.reset()
    await tb.send([pack(px, p["ELEM_BITS"]) for px in one.reshape(-1, p["C"])])
    start = tb.cycle
    await tb.recv(int(mask.sum()))
    # a few cycles for the register stages at either end (walker, the map's read, the
    # serializer's input and output, testbench)
    assert tb.cycle - start <= end + 6, (tb.cycle - start, end)
