"""Steps cached by content: a flow rerun into the same directory with only the parallelism
knobs changed reuses the trained model (same deploy form, the new hardware), a change of what
training depends on trains again, and --retrain forces it."""

import json

import pytest
import yaml

from helpers import MLP_SPEC
from qpsnn.cli import main


def run(tmp_path, raw, *flags):
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(raw))
    out = tmp_path / "out"
    assert main(["flow", "--spec", str(spec), "--out", str(out), "--no-hls", "--no-synth", *flags]) == 0
    return json.loads((out / "report.json").read_text())


@pytest.mark.slow(seconds=90)
def test_knob_change_reuses_the_model_training_change_retrains(tmp_path):
    raw = dict(MLP_SPEC, train=dict(MLP_SPEC["train"], epochs=2), verify={"hls_images": 0, "rtl_images": 5})
    first = run(tmp_path, raw)
    assert first["cache"]["model"] == "trained"
    knobs = dict(raw, layers=[dict(layer, pe=4) if layer.get("units") == 24 else layer for layer in raw["layers"]])
    second = run(tmp_path, knobs)
    assert second["cache"]["model"] == "reused"
    assert second["deploy_digest"] == first["deploy_digest"]
    assert second["accuracy"] == first["accuracy"]
    assert second["latency"]["parallelism"]["pe"]["dense0"] == 4 != first["latency"]["parallelism"]["pe"]["dense0"]
    assert second["bit_exact"]["rtl"]["mismatches"] == 0
    # what is asserted from here on is the trainings' cache: the hardware steps are left out
    assert run(tmp_path, knobs, "--retrain", "--no-rtl")["cache"]["model"] == "trained"
    changed = dict(knobs, train=dict(knobs["train"], lr=0.004))
    assert run(tmp_path, changed, "--no-rtl")["cache"]["model"] == "trained"
