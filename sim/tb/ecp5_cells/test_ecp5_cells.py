"""The project's ECP5 cell models (hw/ecp5) against Python arithmetic: MULT18X18D's product
for every signedness, combinational and with its input and output registers (clock enable,
synchronous reset), DP16KD's INITVAL layout, read timing, byte enables and write modes at
36 bits (pseudo dual port), 18 and 9 bits (true dual port, one array seen at two widths).

Configured by QPSNN_TB_CONFIG: {"seed", "init": {"INIT0": int, "INIT1": int, "INIT63": int}}."""

import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge

import json
import os

MASK36 = (1 << 36) - 1


def load_config():
    with open(os.environ["QPSNN_TB_CONFIG"]) as fh:
        return json.load(fh)


def signed(value, bits):
    return value - (1 << bits) if value >> (bits - 1) else value


def initial_rows(init):
    """The 1,024 18-bit rows: INITVAL_nn holds rows nn*16..nn*16+15 in 20-bit fields."""
    vals = {0: init["INIT0"], 1: init["INIT1"], 63: init["INIT63"]}
    return [(vals.get(r // 16, 0) >> (20 * (r % 16))) & 0x3FFFF for r in range(1024)]


async def cycle(dut):
    """One clock: inputs set before it take effect at its rising edge; outputs read after."""
    await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)


def idle(dut):
    for name in ("pdp_we", "pdp_re", "a_ce", "a_we", "b_ce", "b_we"):
        getattr(dut, name).value = 0


@cocotb.test()
async def cell_models(dut):
    cfg = load_config()
    rng = random.Random(cfg["seed"])
    Clock(dut.clk, 10, unit="ns").start()
    idle(dut)
    await FallingEdge(dut.clk)

    # MULT18X18D: P = A x B in 36 bits, each operand signed when its SIGNED pin is high
    edges = [0, 1, 2, 0x1FFFF, 0x20000, 0x3FFFF, 0x3FFFE]
    cases = [(a, b, sa, sb) for a in edges for b in edges for sa in (0, 1) for sb in (0, 1)]
    cases += [(rng.getrandbits(18), rng.getrandbits(18), rng.getrandbits(1), rng.getrandbits(1)) for _ in range(400)]
    for a, b, sa, sb in cases:
        dut.mul_a.value, dut.mul_b.value, dut.mul_signed_a.value, dut.mul_signed_b.value = a, b, sa, sb
        await FallingEdge(dut.clk)
        want = ((signed(a, 18) if sa else a) * (signed(b, 18) if sb else b)) & MASK36
        got = int(dut.mul_p.value)
        assert got == want, f"MULT18X18D {a:#x} x {b:#x} (signed {sa}, {sb}): {got:#x}, expected {want:#x}"

    # MULT18X18D registered: A and B taken at an edge with CE0 high, their product at the next
    # such edge; RST0 clears all three
    dut.mul_rst.value, dut.mul_ce.value = 1, 1
    await FallingEdge(dut.clk)
    a_q = b_q = p_q = 0
    sa_q = sb_q = 0
    for step in range(300):
        a, b, sa, sb = rng.getrandbits(18), rng.getrandbits(18), rng.getrandbits(1), rng.getrandbits(1)
        ce, rst = int(rng.random() < 0.8), int(rng.random() < 0.05)
        dut.mul_a.value, dut.mul_b.value, dut.mul_ce.value, dut.mul_rst.value = a, b, ce, rst
        # the signedness pins are not registered: hold them for the product's edge
        dut.mul_signed_a.value, dut.mul_signed_b.value = sa_q, sb_q
        await FallingEdge(dut.clk)
        if rst:
            a_q = b_q = p_q = 0
        elif ce:
            p_q = ((signed(a_q, 18) if sa_q else a_q) * (signed(b_q, 18) if sb_q else b_q)) & MASK36
            a_q, b_q = a, b
        got = int(dut.mul_reg_p.value)
        assert got == p_q, f"MULT18X18D registered, step {step}: {got:#x}, expected {p_q:#x}"
        if step % 7 == 0:
            sa_q, sb_q = sa, sb
    dut.mul_rst.value, dut.mul_ce.value = 0, 0

    rows = initial_rows(cfg["init"])
    # DP16KD, 36 bits: word w is rows 2w (bits 17:0) and 2w+1 (bits 35:18), read a clock after
    pdp = list(rows)

    async def pdp_read(w):
        dut.pdp_re.value, dut.pdp_raddr.value = 1, w
        await cycle(dut)
        dut.pdp_re.value = 0
        return int(dut.pdp_rdata.value)

    for w in list(range(0, 40)) + list(range(496, 512)) + rng.sample(range(512), 40):
        want = pdp[2 * w] | (pdp[2 * w + 1] << 18)
        got = await pdp_read(w)
        assert got == want, f"DP16KD x36 word {w}: {got:#x}, expected {want:#x}"
    # the output holds while the read port is not enabled
    held = int(dut.pdp_rdata.value)
    dut.pdp_raddr.value = 3
    await cycle(dut)
    assert int(dut.pdp_rdata.value) == held, "DP16KD x36: output changed without CEB"
    for _ in range(60):
        w, be, data = rng.randrange(512), rng.getrandbits(4), rng.getrandbits(36)
        dut.pdp_we.value, dut.pdp_waddr.value, dut.pdp_be.value, dut.pdp_wdata.value = 1, w, be, data
        await cycle(dut)
        dut.pdp_we.value = 0
        for byte in range(4):
            if be >> byte & 1:
                r, half = 2 * w + byte // 2, byte % 2
                value = (data >> (9 * byte)) & 0x1FF
                pdp[r] = (pdp[r] & ~(0x1FF << 9 * half)) | (value << 9 * half)
        got = await pdp_read(w)
        want = pdp[2 * w] | (pdp[2 * w + 1] << 18)
        assert got == want, f"DP16KD x36 word {w} after a write (enables {be:04b}): {got:#x}, expected {want:#x}"

    # DP16KD true dual port on the same initial rows: A reads rows (18 bits), B halves (9 bits)
    tdp = list(rows)
    for r in list(range(0, 36)) + list(range(1008, 1024)) + rng.sample(range(1024), 30):
        dut.a_ce.value, dut.a_we.value, dut.a_addr.value = 1, 0, r
        dut.b_ce.value, dut.b_we.value, dut.b_addr.value = 1, 0, 2 * r + (r & 1)
        await cycle(dut)
        assert int(dut.a_rdata.value) == tdp[r], f"DP16KD x18 row {r}: {int(dut.a_rdata.value):#x}, expected {tdp[r]:#x}"
        half = tdp[r] >> 9 if r & 1 else tdp[r] & 0x1FF
        got = int(dut.b_rdata.value) & 0x1FF
        assert got == half, f"DP16KD x9 word {2 * r + (r & 1)}: {got:#x}, expected {half:#x}"
    idle(dut)
    for _ in range(80):
        # port A writes under its byte enables; WRITETHROUGH: its output is the new row
        r, be, data = rng.randrange(1024), rng.getrandbits(2), rng.getrandbits(18)
        dut.a_ce.value, dut.a_we.value, dut.a_addr.value, dut.a_be.value, dut.a_wdata.value = 1, 1, r, be, data
        await cycle(dut)
        dut.a_ce.value = dut.a_we.value = 0
        for half in range(2):
            if be >> half & 1:
                tdp[r] = (tdp[r] & ~(0x1FF << 9 * half)) | (((data >> 9 * half) & 0x1FF) << 9 * half)
        assert int(dut.a_rdata.value) == tdp[r], f"DP16KD x18 write-through row {r}: {int(dut.a_rdata.value):#x}"
        # port B writes one 9-bit word; READBEFOREWRITE: its output is the old word
        w, data9 = rng.randrange(2048), rng.getrandbits(9)
        dut.b_ce.value, dut.b_we.value, dut.b_addr.value, dut.b_wdata.value = 1, 1, w, data9
        await cycle(dut)
        dut.b_ce.value = dut.b_we.value = 0
        old = (tdp[w // 2] >> 9 * (w % 2)) & 0x1FF
        assert int(dut.b_rdata.value) & 0x1FF == old, f"DP16KD x9 read-before-write word {w}"
        tdp[w // 2] = (tdp[w // 2] & ~(0x1FF << 9 * (w % 2))) | (data9 << 9 * (w % 2))
        # both rows read back through the 18-bit port
        for row in (r, w // 2):
            dut.a_ce.value, dut.a_we.value, dut.a_addr.value = 1, 0, row
            await cycle(dut)
            dut.a_ce.value = 0
            assert int(dut.a_rdata.value) == tdp[row], f"DP16KD x18 row {row} after writes"
