"""adder_tree: N random signed values every cycle (all at the most negative, all at the most
positive, and random), the sum in SUM_W bits against Python's integers, LEVELS +
REGISTER_INPUTS clock edges later."""

import random
import sys

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, Timer

sys.path.insert(0, __file__.rsplit("/", 2)[0])
from stream_tb import load_config, pack, to_signed  # noqa: E402


@cocotb.test()
async def sums(dut):
    cfg = load_config()
    p = cfg["parameters"]
    n, w, register_inputs = p["N"], p["W"], p["REGISTER_INPUTS"]
    levels = (n - 1).bit_length()
    sum_w = p.get("SUM_W", w + levels)
    lo, hi = -(1 << w - 1), (1 << w - 1) - 1
    rng = random.Random(cfg["seed"])
    sets = [[lo] * n, [hi] * n, [0] * n] + [[rng.randint(lo, hi) for _ in range(n)] for _ in range(cfg["sets"])]
    delay = levels + register_inputs
    Clock(dut.clk, 10, unit="ns").start()
    await FallingEdge(dut.clk)
    for cycle, values in enumerate(sets + [[0] * n] * delay):
        dut.terms.value = pack(values, w)
        await Timer(1, unit="ns")
        if cycle >= delay:
            want = to_signed(sum(sets[cycle - delay]), sum_w)
            got = to_signed(int(dut.sum.value), sum_w)
            assert got == want, f"{sets[cycle - delay]}: {got}, expected {want}"
        await FallingEdge(dut.clk)
