"""Small specs and trained models shared by the tests (digits 8x8: seconds, not minutes)."""

import copy
import os

from qpsnn.spec import parse_spec

CONV_SPEC = {
    "name": "tiny_conv",
    "data": {"dataset": "digits", "test_fraction": 0.25, "seed": 0},
    "time_steps": 3,
    "quant": {"bits": 4, "gamma": "mean", "first_bits": 8, "last_bits": 8, "frac_bits": 4},
    "train": {"epochs": 10, "batch_size": 32, "lr": 0.01, "seed": 1},
    "verify": {"hls_images": 20, "rtl_images": 20},
    "layers": [
        {"type": "conv", "filters": 4, "kernel": 3, "padding": "same"},
        {"type": "lif"},
        {"type": "maxpool", "size": 2},
        {"type": "conv", "filters": 6, "kernel": 3, "padding": "same"},
        {"type": "lif", "reset": "soft"},
        {"type": "flatten"},
        {"type": "dense", "units": 10},
        {"type": "readout"},
    ],
}

MLP_SPEC = {
    "name": "tiny_mlp",
    "data": {"dataset": "digits", "test_fraction": 0.25, "seed": 0},
    "time_steps": 2,
    "neuron": {"tau": 0.25, "threshold": 1.0, "reset": "hard"},
    "quant": {"bits": 3, "gamma": "mean", "first_bits": 8, "last_bits": 6, "frac_bits": 4},
    "train": {"epochs": 5, "batch_size": 64, "lr": 0.005, "seed": 2},
    "verify": {"hls_images": 20, "rtl_images": 20},
    "layers": [
        {"type": "flatten"},
        {"type": "dense", "units": 24},
        {"type": "lif"},
        {"type": "dense", "units": 12},
        {"type": "lif", "reset": "soft"},
        {"type": "dense", "units": 10},
        {"type": "readout"},
    ],
}


def make_spec(raw, **changes):
    raw = copy.deepcopy(raw)
    raw.update(changes)
    return parse_spec(raw, "<test>")


TRAINED_MODELS = "QPSNN_TEST_MODELS"    # conftest.py: the test run's directory of trained models


def trained(raw, **changes):
    """(spec, data, keras model, deploy form) for a spec dict. A spec is trained once per test
    run: its weights are kept under the spec's digest in the run's directory (a file lock keeps
    the test processes from training one spec twice), and a test that asks again gets a model
    of its own with those weights."""
    from filelock import FileLock

    from qpsnn.model.builder import build_model
    from qpsnn.model.data import load_spec_data
    from qpsnn.model.deploy import export_deploy
    from qpsnn.model.keys import digest
    from qpsnn.model.train import load_model, save_model, train_model

    spec = make_spec(raw, **changes)
    data = load_spec_data(spec)
    key = digest(spec.to_dict())
    directory = os.path.join(os.environ[TRAINED_MODELS], key)
    with FileLock(f"{directory}.lock"):
        loaded = load_model(directory, key, lambda: build_model(spec, data.input_shape, quantized=True))
        if loaded is None:
            model = train_model(spec, data, verbose=0)
            save_model(directory, model, {"key": key})
        else:
            model = loaded[0]
    return spec, data, model, export_deploy(spec, model, data.input_shape)


def steps_dir(tmp_path_factory, raw: dict, last_step: str):
    """A DIR with `raw`'s steps run one by one through the CLI (train, prune, export, rtl
    without synthesis), `last_step` after them. Returns (tmp, spec path, DIR). Specs that
    differ only where the finished model does not depend on them (verify, the hardware knobs)
    share one training in the run's directory of trained models: DIR starts as a copy of it, so
    its train and prune steps find their results current and reuse them."""
    import shutil

    import yaml
    from filelock import FileLock

    from qpsnn.cli import main
    from qpsnn.model.keys import model_key
    tmp = tmp_path_factory.mktemp(last_step)
    spec = tmp / "spec.yaml"
    spec.write_text(yaml.safe_dump(raw))
    out = tmp / "out"
    trained_dir = os.path.join(os.environ[TRAINED_MODELS], f"steps-{model_key(make_spec(raw))}")
    with FileLock(f"{trained_dir}.lock"):
        if not os.path.isdir(trained_dir):
            for step in ("train", "prune"):
                assert main([step, "--spec", str(spec), "--out", f"{trained_dir}.tmp"]) == 0
            os.rename(f"{trained_dir}.tmp", trained_dir)
    shutil.copytree(trained_dir, out)
    for step in ("train", "prune", "export", "rtl", last_step):
        assert main([step, "--spec", str(spec), "--out", str(out)] + (["--no-synth"] if step == "rtl" else [])) == 0
    return tmp, spec, out


def assert_analytic_matches(analytic: dict, stages, synthesis: dict) -> None:
    """The resource model against a Yosys synth_xilinx of the same design: LUT and FF within
    20%, BRAM18 and DSP48E1 exact; a LIF layer's flip-flops follow from its structure alone,
    whatever its lanes: exact. `analytic`: the model's total; `stages`: (instance, module,
    numeric parameters) of the design; `synthesis`: the top's and each instance's cells."""
    from qpsnn.codegen.resources import stage_resources
    syn = synthesis["top"]
    for key in ("LUT", "FF"):
        assert abs(analytic[key] / syn[key] - 1) <= 0.20, (key, analytic, syn)
    for key in ("BRAM18", "DSP"):
        assert analytic[key] == syn[key], (key, analytic, syn)
    for instance, module, params in stages:
        if module == "lif_layer":
            assert stage_resources(module, params)["FF"] == synthesis["instances"][instance]["FF"], params
