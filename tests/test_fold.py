"""Folding to a target (codegen/fold.py) on a network small enough to sweep every knob: its
choice meets the target and lies on the Pareto front (interval down, LUTs down) of the
exhaustive sweep over the same knobs; a LUT budget; knobs set by hand kept; an unreachable
target refused with the best reachable figure; the flow's folded design measured back to
back as predicted."""

import itertools

import numpy as np
import pytest

from qpsnn import api
from qpsnn.codegen.fold import Folder, fold
from qpsnn.codegen.rtl import flow_design
from qpsnn.errors import InputError
from qpsnn.model.deploy import Deploy
from qpsnn.model.golden import run_golden
from qpsnn.spec import parse_spec

pytestmark = pytest.mark.slow(seconds=90)   # the module fixture sweeps every knob


def small_spec(data_path: str, **rtl) -> dict:
    return {"name": "fold_net", "data": {"dataset": data_path, "test_fraction": 0.25}, "time_steps": 2,
            "train": {"epochs": 0}, "verify": {"hls_images": 0, "rtl_images": 6}, "rtl": rtl,
            "layers": [{"type": "conv", "filters": 4, "kernel": 3}, {"type": "lif", "threshold": 0.25},
                       {"type": "flatten"}, {"type": "dense", "units": 3}, {"type": "readout"}]}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fold")
    rng = np.random.default_rng(0)
    x = (rng.integers(0, 256, size=(48, 5, 5, 2)) * (rng.random((48, 5, 5, 2)) < 0.5)).astype(np.uint8)
    np.savez(tmp / "data.npz", x=x, y=np.arange(48) % 3)
    raw = small_spec(str(tmp / "data.npz"))
    api.flow(parse_spec(raw, str(tmp / "spec.yaml")), str(tmp / "out"), hls=False, rtl=False)
    deploy = Deploy.load(str(tmp / "out" / "deploy"))
    images = x[:4]
    trace = run_golden(deploy, images)
    return tmp, raw, deploy, images, trace, sweep(Folder(deploy, images, trace))


def sweep(folder: Folder) -> list:
    """Every combination of every knob's values."""
    names = [(k, layer) for k in folder.values for layer in folder.values[k]]
    points = []
    for combo in itertools.product(*(folder.values[k][layer] for k, layer in names)):
        knobs = {k: {} for k in folder.values}
        for (k, layer), v in zip(names, combo):
            knobs[k][layer] = v
        points.append(folder.evaluate(knobs))
    return points


def dominated(point, points) -> bool:
    return any(p.interval <= point.interval and p.luts <= point.luts
               and (p.interval < point.interval or p.luts < point.luts) for p in points)


def test_choice_on_the_pareto_front(small):
    _, _, deploy, images, trace, points = small
    assert len(points) > 50
    fastest, slowest = min(p.interval for p in points), max(p.interval for p in points)
    for target_interval in np.linspace(fastest, slowest, 4):
        target = 100e6 / target_interval
        chosen = fold(deploy, images, trace, target_images_per_s=target)["point"]
        assert chosen.interval <= target_interval + 1e-9
        assert not dominated(chosen, points), (target, chosen)
    luts = sorted(p.luts for p in points)
    for budget in (luts[len(luts) // 4], luts[len(luts) // 2], luts[-1]):
        chosen = fold(deploy, images, trace, lut_budget=budget)["point"]
        assert chosen.luts <= budget
        assert not dominated(chosen, points), (budget, chosen)


def test_hand_set_knobs_kept_and_unreachable_refused(small):
    _, _, deploy, images, trace, _ = small
    chosen = fold(deploy, images, trace, fixed={"pe": {"conv0": 1}}, target_images_per_s=1e5)["point"]
    assert chosen.knobs["pe"]["conv0"] == 1
    with pytest.raises(InputError, match="out of reach.*images/s"):
        fold(deploy, images, trace, target_images_per_s=1e9)
    with pytest.raises(InputError, match="lut_budget"):
        fold(deploy, images, trace, lut_budget=10)


def test_python_api_folds(small):
    """Accelerator.fold: the choice fold() makes on the spec's first training images, and the
    spec then asks for it."""
    from qpsnn.model.data import load_spec_data
    from qpsnn.steps import FOLD_IMAGES
    tmp, raw, deploy, _, _, _ = small
    spec = parse_spec(dict(raw), str(tmp / "spec.yaml"))
    chosen = api.Accelerator(spec, str(tmp / "out")).fold(lut_budget=1100)
    x = load_spec_data(spec).x_train[:FOLD_IMAGES]
    assert chosen["knobs"] == fold(deploy, x, run_golden(deploy, x), lut_budget=1100)["knobs"]
    assert chosen["luts_predicted"] <= 1100 and spec.rtl["lut_budget"] == 1100


def test_flow_folds_to_the_target(small, capsys):
    """The flow with a target: its design is the fold's, and the simulation measures the
    predicted back-to-back cycles (the hold-out's, which the folding never saw)."""
    tmp, raw, deploy, images, trace, points = small
    target = 0.5 * 100e6 / min(p.interval for p in points)
    spec = parse_spec(small_spec(raw["data"]["dataset"], target_images_per_s=target), str(tmp / "spec2.yaml"))
    report = api.flow(spec, str(tmp / "folded"), hls=False, synth=False)
    folding = report["folding"]
    assert folding["images_per_s_predicted"] >= target
    assert report["latency"]["parallelism"] == folding["knobs"]
    # the benchmarks (rtl_check, calibrate_resources) rebuild the flow's design from its report
    rebuilt = flow_design(Deploy.load(str(tmp / "folded" / "deploy")), spec, report)
    assert rebuilt.knobs() == folding["knobs"]
    for name, text in rebuilt.files.items():
        assert (tmp / "folded" / "rtl" / name).read_text() == text, name
    b2b = report["latency"]["back_to_back"]
    assert b2b["images_cycles_differ"] == 0
    with pytest.raises(InputError, match="both"):
        parse_spec(small_spec(raw["data"]["dataset"], target_images_per_s=1000, lut_budget=100), "<test>")
