"""registered_product: a random signed operand pair every cycle (the extremes included), the
product in P_BITS after the second clock edge, against Python's integers."""

import random
import sys

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge

sys.path.insert(0, __file__.rsplit("/", 2)[0])
from stream_tb import load_config, to_signed  # noqa: E402


@cocotb.test()
async def products(dut):
    cfg = load_config()
    p = cfg["parameters"]
    a_bits, b_bits, p_bits = p["A_BITS"], p["B_BITS"], p["P_BITS"]
    rng = random.Random(cfg["seed"])
    Clock(dut.clk, 10, unit="ns").start()
    extremes = [(x, y) for x in (0, 1, -1, -(1 << a_bits - 1), (1 << a_bits - 1) - 1)
                for y in (0, 1, -1, -(1 << b_bits - 1), (1 << b_bits - 1) - 1)]
    pairs = extremes + [(rng.randrange(-(1 << a_bits - 1), 1 << a_bits - 1),
                         rng.randrange(-(1 << b_bits - 1), 1 << b_bits - 1)) for _ in range(cfg["pairs"])]
    await FallingEdge(dut.clk)
    sent = []
    # a pair set in cycle k is registered at the edge ending it, its product at the next edge:
    # read after that edge, in cycle k + 1 (two edges after the pair is presented)
    for cycle, (a, b) in enumerate(pairs + [(0, 0)]):
        dut.a.value = a & ((1 << a_bits) - 1)
        dut.b.value = b & ((1 << b_bits) - 1)
        await FallingEdge(dut.clk)
        sent.append((a, b))
        if cycle >= 1:
            x, y = sent[cycle - 1]
            want = to_signed(x * y, p_bits)
            got = to_signed(int(dut.p.value), p_bits)
            assert got == want, f"{x} x {y}: {got}, expected {want} (P_BITS {p_bits})"
