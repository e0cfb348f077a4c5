"""The accelerator on the ULX3S (`qpsnn board`, codegen/board.py): the UART modules against
cocotbext-uart's bit-level drivers; the board top of a small conv network simulated at its UART
pins on hold-out images equals the golden model (classes and every step's readout), placed and
routed at the board's pins and PLL clock, its bitstream written for the LFE5U-85F; the host
(`qpsnn board send`, pyserial) run against the simulated board through a pseudo-terminal; a
design the part cannot hold is refused before place and route."""

import json
import os
import threading
import time

import pytest

from qpsnn.cli import main
from qpsnn.sim.unit import run_unit
from helpers import steps_dir
from test_netlist import SMALL

BOARD_SPEC = dict(SMALL, verify=dict(SMALL["verify"], board_images=20))


@pytest.mark.parametrize("cpb", [5, 434])      # small and odd; 115,200 baud at the default 50 MHz
def test_uart_rx(tmp_path, cpb):
    assert run_unit("uart_rx", {"CLKS_PER_BIT": cpb}, str(tmp_path),
                    {"seed": cpb, "bytes": 24 if cpb < 100 else 6, "backpressure": 0.5}) == 0


@pytest.mark.parametrize("cpb", [4, 434])
def test_uart_tx(tmp_path, cpb):
    assert run_unit("uart_tx", {"CLKS_PER_BIT": cpb}, str(tmp_path),
                    {"seed": cpb, "bytes": 24 if cpb < 100 else 6, "idle": 0.5}) == 0


@pytest.mark.parametrize("cpb,pixel_bytes,pixels,out_bytes,class_bits", [
    (5, 1, 6, 3, 4),        # one byte per pixel (grey images)
    (8, 3, 4, 7, 1),        # three channels per pixel, an odd reply length, two classes
    (434, 2, 2, 2, 8),      # the board's bit time, 256 classes
])
def test_uart_link(tmp_path, cpb, pixel_bytes, pixels, out_bytes, class_bits):
    params = {"CLKS_PER_BIT": cpb, "PIXEL_BYTES": pixel_bytes, "PIXELS": pixels, "OUT_BYTES": out_bytes,
              "CLASS_BITS": class_bits}
    assert run_unit("uart_link", params, str(tmp_path),
                    {"seed": cpb, "images": 5 if cpb < 100 else 2, "backpressure": 0.5}) == 0


@pytest.fixture(scope="module")
def board_dir(tmp_path_factory):
    """DIR with the small network's steps run one by one, the board step last."""
    return steps_dir(tmp_path_factory, BOARD_SPEC, "board")


@pytest.mark.slow(seconds=160)   # its module fixture: training, P&R and the simulation (154 s alone)
def test_board_top_equals_the_golden_model(board_dir):
    _, _, out = board_dir
    report = json.loads((out / "report.json").read_text())
    board = report["board"]
    sim = board["simulation"]
    assert sim["images"] == 20 and sim["mismatches"] == 0 and sim["first_mismatch"] is None, sim
    assert report["bit_exact"]["board_top"]["mismatches"] == 0
    # the golden model's accuracy on the same images is what the board top's classes give
    assert 0.0 < sim["accuracy"] <= 1.0
    # placed at the board's pins: the PLL, the clock, two UART lines, eight LEDs and the ESP32's GPIO0
    assert board["placed"]["EHXPLLL"] == 1 and board["placed"]["TRELLIS_IO"] == 12, board["placed"]
    assert board["clock_mhz"] == 50 and board["clks_per_bit"] == 434
    assert board["timing_met"] and board["fmax_mhz"] >= board["clock_mhz"], board
    assert "--lpf board.lpf" in board["commands"][1] and "--out-of-context" not in board["commands"][1]
    bitstream = (out / "board" / "qpsnn.bit").read_bytes()
    assert board["bitstream_bytes"] == len(bitstream) > 1_000_000
    # ecppack's header names the part; the device's IDCODE (LFE5U-85F: 0x41113043) follows the preamble
    assert b"LFE5U-85F-6CABGA381" in bitstream[:64] and bytes.fromhex("41113043") in bitstream[:64]
    assert not (out / "board" / "qpsnn.config").exists()
    top = (out / "board" / "qpsnn_tiny_mlp_ulx3s.v").read_text()
    assert "EHXPLLL" in (out / "board" / "pll.v").read_text() and "board_pll u_pll" in top


@pytest.mark.slow(seconds=5)
def test_board_send_through_a_pty(board_dir, capsys):
    """`qpsnn board send` opens the slave side of a pty whose master the board top's simulation
    bridges to its UART pins: the host's own code path, bytes and timing through a tty."""
    from qpsnn.codegen.board import board_top_name, frame_of, simulation_sources
    from qpsnn.codegen.rtl import design
    from qpsnn.model.deploy import Deploy
    from qpsnn.sim.board import simulate_board
    tmp, spec, out = board_dir
    deploy = Deploy.load(str(out / "deploy"))
    rtl = design(deploy, mode="event")
    board = str(out / "board")
    path_file = tmp / "pty_path"
    images = 5
    errors = []

    def simulate():
        try:
            simulate_board(simulation_sources(rtl, board), board_top_name(rtl.top), board, str(tmp / "bridge"),
                           frame_of(rtl, deploy), pty_path_file=str(path_file), pty_images=images)
        except BaseException as exc:        # noqa: BLE001 - reported by the test below
            errors.append(exc)

    sim = threading.Thread(target=simulate)
    sim.start()
    deadline = time.monotonic() + 120
    while not path_file.exists() and sim.is_alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert path_file.exists(), f"the simulation published no pty ({errors})"
    port = path_file.read_text()
    code = main(["board", "send", "--port", port, "--spec", str(spec), "--out", str(out), "--images", str(images)])
    sim.join(timeout=120)
    assert not errors, errors
    printed = capsys.readouterr().out
    assert code == 0, printed
    report = json.loads((out / "report.json").read_text())
    assert f"on {images} hold-out images; 0 differ from the golden model" in printed, printed
    assert printed.count("round trip") == images + 1 and "replies report a problem" not in printed
    assert report["bit_exact"]["board_top"]["mismatches"] == 0


def test_a_design_the_part_cannot_hold_is_refused(board_dir, capsys, monkeypatch):
    """The fit check on the synthesized cells, before nextpnr: with the part's multipliers
    taken as one (the small network's conv has two 8 x 8-bit products on MULT18X18D), the
    board step exits 2 naming the overshoot, and DIR/board stays as it was."""
    from qpsnn.codegen import board as board_gen
    _, spec, out = board_dir
    before = (out / "board" / "step.json").read_text()
    monkeypatch.setattr(board_gen, "CAPACITY", dict(board_gen.CAPACITY, MULT18X18D=1))
    assert main(["board", "--spec", str(spec), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("qpsnn: error:") == 1 and "does not fit" in err and "MULT18X18D 2 of 1 (+1)" in err, err
    assert (out / "board" / "step.json").read_text() == before
    assert not [p for p in os.listdir(out / "board") if p.startswith(".")]
