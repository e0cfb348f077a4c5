"""`qpsnn sweep`: a grid over a layer's pe and a LIF layer's lanes on a process pool; points
that differ only in their knobs share one training; more outputs per cycle give fewer cycles,
fewer LIF lanes fewer LUTs and no fewer cycles; the Pareto front
is the set of undominated points; an interrupted sweep recomputes only its missing points; the
same points on a local Ray instance give the same figures; bad knobs exit 2 before any work."""

import json
import shutil

import pytest
import yaml

from helpers import CONV_SPEC
from qpsnn.cli import main

SPEC = dict(CONV_SPEC, train=dict(CONV_SPEC["train"], epochs=1),
            prune={"batches": 1, "batch_size": 64, "finetune_epochs": 1})
# conv1 keeps 3 of its 6 channels at ratio 0.5: pe 1 or 3, lif1 updating 1 or all 3 per cycle
GRID = ["--bits", "4", "--ratios", "0.5", "--pe", "conv1=1,3", "--lanes", "lif1=1,3", "--images", "10"]


def sweep(tmp_path, out, *args):
    spec = tmp_path / "spec.yaml"
    raw = SPEC
    if "--spec-without-hidden-layer" in args:        # conv0 (first bits) and dense0 (last bits) only
        args = tuple(a for a in args if a != "--spec-without-hidden-layer")
        raw = dict(SPEC, layers=SPEC["layers"][:3] + SPEC["layers"][5:])
    spec.write_text(yaml.safe_dump(raw))
    code = main(["sweep", "--spec", str(spec), "--out", str(out), *args])
    return code, (json.loads((out / "sweep.json").read_text()) if code == 0 else None)


def key(row):
    return (-row["accuracy"], row["cycles_per_image"], row["resources"]["LUT"])


@pytest.mark.slow(seconds=110)
def test_sweep_grid_pareto_resume_and_ray(tmp_path):
    out = tmp_path / "sweep"
    code, summary = sweep(tmp_path, out, *GRID)
    assert code == 0 and summary["computed"] == 4 and summary["reused"] == 0
    rows = summary["rows"]
    assert len(rows) == 4 and len({r["model_key"] for r in rows}) == 1
    by_model: dict = {}
    for r in rows:
        by_model.setdefault(r["model_key"], {})[(r["point"]["pe"]["conv1"], r["point"]["lanes"]["lif1"])] = r
    for knobs in by_model.values():      # pe 1, 3 x lanes 1, 3 of one trained model
        assert len({(r["accuracy"], r["size_bytes"]) for r in knobs.values()}) == 1
        for lanes in (1, 3):
            assert knobs[3, lanes]["parallelism"]["pe"]["conv1"] == 3
            assert knobs[3, lanes]["cycles_per_image"] < knobs[1, lanes]["cycles_per_image"]
        for pe in (1, 3):
            assert knobs[pe, 1]["parallelism"]["lanes"]["lif1"] == 1
            assert knobs[pe, 1]["resources"]["LUT"] < knobs[pe, 3]["resources"]["LUT"]
            assert knobs[pe, 1]["cycles_per_image"] >= knobs[pe, 3]["cycles_per_image"]
    front = [r for r in rows if r["pareto"]]
    assert front
    for r in rows:
        dominated = any(all(a <= b for a, b in zip(key(o), key(r))) and key(o) != key(r) for o in rows)
        assert r["pareto"] == (not dominated)
    assert "<svg" in (out / "sweep.html").read_text()

    # interrupted: one point lost -> only it is computed again, from the kept model
    lost = next(iter((out / "points").iterdir()))
    lost_point = json.loads(lost.read_text())
    lost.unlink()
    code, again = sweep(tmp_path, out, *GRID)
    assert code == 0 and (again["computed"], again["reused"]) == (1, 3)
    redone = next(r for r in again["rows"] if r["point"] == lost_point["point"])
    assert redone["model"] == "reused"
    assert (redone["accuracy"], redone["cycles_per_image"]) == (lost_point["accuracy"], lost_point["cycles_per_image"])

    # the same points on a local Ray instance, its own directory (given the trained models, so
    # that the Ray tasks load one rather than train it again): the same figures
    shutil.copytree(out / "models", tmp_path / "ray" / "models")
    code, on_ray = sweep(tmp_path, tmp_path / "ray", "--bits", "4", "--ratios", "0.5", "--pe", "conv1=1,3",
                         "--lanes", "lif1=3", "--images", "10", "--ray", "local")
    assert code == 0 and on_ray["computed"] == 2
    assert all(r["model"] == "reused" for r in on_ray["rows"])
    for r in on_ray["rows"]:
        twin = next(t for t in rows if t["point"] == r["point"])
        assert (r["accuracy"], r["cycles_per_image"], r["resources"]) == \
            (twin["accuracy"], twin["cycles_per_image"], twin["resources"])


@pytest.mark.parametrize("args,words", [
    (["--pe", "conv9=2"], ["no conv or dense layer 'conv9'", "conv0"]),
    (["--pe", "conv1=5"], ["pe", "5"]),
    (["--pe", "conv1"], ["LAYER=N1,N2"]),
    (["--lanes", "conv1=2"], ["no lif layer 'conv1'", "lif0"]),
    (["--lanes", "lif1=5", "--ratios", "0.5"], ["lanes 5", "neurons", "accepted: 1..3"]),  # 6 before pruning
    (["--bits", "9"], ["bits must be an integer in 2..8"]),
    (["--ratios", "1.5"], ["[0, 1)"]),
    (["--bits", "2,4", "--spec-without-hidden-layer"], ["no hidden weight layer", "first_bits"]),
])
def test_sweep_bad_input_exit_2_nothing_written(tmp_path, capsys, args, words):
    out = tmp_path / "sweep"
    code, _ = sweep(tmp_path, out, *args)
    err = capsys.readouterr().err
    assert code == 2 and all(w in err for w in words), err
    assert not out.exists()


# --pnr: the Pareto ranking, the figures at Fmax and the resume, as functions on rows and point
# files made here (no training, no place and route)

def placed_row(accuracy, analytic_lut, cycles, yosys_lut, images_per_s):
    return {"accuracy": accuracy, "cycles_per_image": cycles, "resources": {"LUT": analytic_lut},
            "synthesis": {"LUT": yosys_lut}, "images_per_s_at_fmax": images_per_s}


def test_pareto_with_pnr_ranks_yosys_luts_and_images_per_s_at_fmax():
    from qpsnn.sweep import pareto
    fast = placed_row(0.98, analytic_lut=12_000, cycles=6_000, yosys_lut=15_000, images_per_s=25_000)
    small_on_paper = placed_row(0.98, analytic_lut=10_000, cycles=5_000, yosys_lut=16_000, images_per_s=20_000)
    less_accurate = placed_row(0.95, analytic_lut=20_000, cycles=9_000, yosys_lut=9_000, images_per_s=5_000)
    twin = dict(fast)           # equal on every term: neither beats the other
    beaten = placed_row(0.97, analytic_lut=9_000, cycles=4_000, yosys_lut=15_500, images_per_s=24_000)
    rows = [fast, small_on_paper, less_accurate, twin, beaten]
    pareto(rows)                # without place and route: analytic cycles and LUTs
    assert [r["pareto"] for r in rows] == [False, True, False, False, True]
    pareto(rows, placed=True)   # with it: Yosys LUTs and images/s at Fmax; the analytic figures do not count
    assert [r["pareto"] for r in rows] == [True, False, True, True, False]


def test_figures_at_fmax_scale_the_cycle_model_to_the_clock_reached():
    from qpsnn.steps import at_fmax
    # the shipped network at default parallelism: 11,478 cycles per image, an interval of
    # 11,169 cycles (8,953 images/s at the model's 100 MHz), placed at 96.1 MHz
    got = at_fmax(11_478, 1e8 / 11_169, 100.0, 96.1)
    assert got["fmax_mhz"] == 96.1
    assert abs(got["us_per_image_at_fmax"] - 119.44) < 0.01
    assert abs(got["images_per_s_at_fmax"] - 96.1e6 / 11_169) < 1e-6
    # twice the clock: half the microseconds, twice the images
    twice = at_fmax(11_478, 1e8 / 11_169, 100.0, 192.2)
    assert abs(twice["us_per_image_at_fmax"] * 2 - got["us_per_image_at_fmax"]) < 1e-9
    assert abs(twice["images_per_s_at_fmax"] - 2 * got["images_per_s_at_fmax"]) < 1e-6


def test_resume_computes_missing_and_unplaced_points_only(tmp_path):
    from qpsnn.sweep import point_id, points_to_compute
    points = [{"bits": 4, "ratio": None, "pe": {"conv1": pe}, "simd": {}, "lanes": {}} for pe in (1, 2, 4, 8)]
    placed, analytic_only, corrupt, missing = points

    def write(point, text):
        (tmp_path / f"{point_id(point)}.json").write_text(text)
    write(placed, json.dumps({"point": placed, "accuracy": 0.9, "fmax_mhz": 96.1}))
    write(analytic_only, json.dumps({"point": analytic_only, "accuracy": 0.9}))   # a sweep without --pnr
    write(corrupt, '{"point": ')                                                  # cut off mid-write
    assert points_to_compute(points, str(tmp_path), pnr=True) == [analytic_only, corrupt, missing]
    assert points_to_compute(points, str(tmp_path), pnr=False) == [corrupt, missing]


def test_models_from_a_flow_seed_the_model_cache_once_and_only_for_its_key(tmp_path):
    from qpsnn.errors import InputError
    from qpsnn.sweep import seed_models
    flow = tmp_path / "flow"
    (flow / "model").mkdir(parents=True)
    (flow / "model" / "model.json").write_text(json.dumps({"key": "k1", "pruning": None}))
    (flow / "model" / "weights.h5").write_bytes(b"weights of k1")
    models, notes = tmp_path / "sweep" / "models", []
    assert seed_models(str(models), str(flow), {"k2"}, notes.append) == []
    assert not models.exists() and "not the model of any point" in notes[0]
    assert seed_models(str(models), str(flow), {"k1", "k2"}, notes.append) == ["k1"]
    assert (models / "k1" / "weights.h5").read_bytes() == b"weights of k1"
    assert json.loads((models / "k1" / "model.json").read_text())["key"] == "k1"
    (models / "k1" / "weights.h5").write_bytes(b"trained by the sweep")
    assert seed_models(str(models), str(flow), {"k1"}, notes.append) == []    # a model already there stays
    assert (models / "k1" / "weights.h5").read_bytes() == b"trained by the sweep"
    with pytest.raises(InputError, match="--models-from"):
        seed_models(str(models), str(tmp_path / "no_flow"), {"k1"}, notes.append)


def test_placed_table_has_the_figures_at_fmax_and_says_what_they_are():
    from qpsnn.sweep import markdown, pareto
    row = dict(placed_row(0.986, 15_660, 11_478.2, 15_884, 8_583.4),
               point={"bits": 4, "ratio": None, "pe": {"conv1": 16}, "simd": {}, "lanes": {}},
               synthesis={"LUT": 15_884, "FF": 15_607, "BRAM18": 14, "DSP": 16}, fmax_mhz=96.1,
               us_per_image_at_fmax=119.44)
    pareto([row], placed=True)
    table = markdown([row], placed=True)
    assert "| 4-bit, the spec's pruning, pe conv1=16 | 98.60 | 15,884 | 15,607 | 14 | 16 | 96.1 | 11,478 | " \
           "119.4 | 8,583 | yes |" in table
    from qpsnn.sweep import STREAM_IMAGES
    assert f"the cycle model's replay of the first {STREAM_IMAGES} images streamed, at Fmax" in table
