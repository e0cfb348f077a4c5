"""`qpsnn sweep`: a grid over bits, a layer's pe and a LIF layer's lanes on a process pool; points
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
GRID = ["--bits", "2,4", "--ratios", "0.5", "--pe", "conv1=1,3", "--lanes", "lif1=1,3", "--images", "10"]


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
    assert code == 0 and summary["computed"] == 8 and summary["reused"] == 0
    rows = summary["rows"]
    assert len(rows) == 8 and len({r["model_key"] for r in rows}) == 2
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
    assert code == 0 and (again["computed"], again["reused"]) == (1, 7)
    redone = next(r for r in again["rows"] if r["point"] == lost_point["point"])
    assert redone["model"] == "reused"
    assert (redone["accuracy"], redone["cycles_per_image"]) == (lost_point["accuracy"], lost_point["cycles_per_image"])

    # the same points on a local Ray instance, its own directory (given the trained models, so
    # that the Ray tasks load one rather than train it again): the same figures
    shutil.copytree(out / "models", tmp_path / "ray" / "models")
    code, on_ray = sweep(tmp_path, tmp_path / "ray", "--bits", "2", "--ratios", "0.5", "--pe", "conv1=1,3",
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
