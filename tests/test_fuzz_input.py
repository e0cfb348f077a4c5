"""Malformed specs, generated: every value of a valid spec replaced by something of the wrong
kind or range, keys removed and added, layers dropped or duplicated. The spec checks and the
shape inference must answer each with an InputError (the CLI's exit 2 and one message) or
accept it; never another exception (a traceback for the user)."""

import copy

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import CONV_SPEC, MLP_SPEC
from qpsnn.cli import main
from qpsnn.errors import InputError
from qpsnn.spec import after_pruning, infer_shapes, parse_spec

ODD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 40), st.integers(-10**12, 10**12),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=6),
    st.lists(st.integers(-2, 5), max_size=3), st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
    st.sampled_from(["conv", "dense", "lif", "readout", "flatten", "maxpool", "svs", "event", "spikes",
                     "same", "valid", "soft", "hard", "mean", "xc7a35t", "conv0", "mnist", "digits"]))


def paths(node, prefix=()):
    """Every (path) to a value inside a nested spec dict / list."""
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from paths(v, prefix + (i,))


@st.composite
def malformed_specs(draw):
    base = copy.deepcopy(draw(st.sampled_from([MLP_SPEC, CONV_SPEC])))
    base["prune"] = {"method": "svs", "ratios": {"conv0": 0.5}} if base is not MLP_SPEC else {}
    for _ in range(draw(st.integers(1, 3))):
        all_paths = [p for p in paths(base) if p]
        path = draw(st.sampled_from(all_paths))
        parent = base
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "delete", "add", "duplicate"]))
        if action == "replace":
            parent[path[-1]] = draw(ODD_VALUES)
        elif action == "delete":
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["pe", "simd", "units", "filters", "extra", "mode", "tau"]))] = draw(ODD_VALUES)
        elif action == "duplicate" and isinstance(parent, list):
            parent.insert(path[-1], copy.deepcopy(parent[path[-1]]))
    return base


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(malformed_specs())
def test_malformed_spec_gives_input_error_or_is_accepted(raw):
    try:
        spec = parse_spec(raw, "<fuzz>")
        for shape in ((8, 8, 1), (28, 28, 1)):
            infer_shapes(spec, shape)
            infer_shapes(after_pruning(spec), shape)
    except InputError as exc:
        assert str(exc).strip()


@settings(max_examples=40, deadline=None)
@given(malformed_specs())
def test_malformed_spec_through_the_cli_exit_0_or_2_one_message(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("fuzz") / "spec.yaml"
    path.write_text(yaml.safe_dump(raw))
    import contextlib
    import io
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["validate", "--spec", str(path)])
    assert code in (0, 2)
    assert err.getvalue().count("qpsnn: error:") == (code == 2)


class ReachedTraining(Exception):
    """Raised in place of the first training: the flow got past every check before it."""


def run_cli(args):
    """(exit code, stderr) of the command line, its printing kept out of the test log."""
    import contextlib
    import io
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(args)
    return code, err.getvalue()


def flow_until_training(spec_path, out):
    """`qpsnn flow` up to its first training: (exit code, stderr), or None when it got there."""
    from unittest import mock

    from qpsnn.steps import STEPS

    def reached(self, ws, out_dir, timer):
        raise ReachedTraining
    with mock.patch.object(type(STEPS["train"]), "run", reached):
        try:
            return run_cli(["flow", "--spec", spec_path, "--out", out])
        except ReachedTraining:
            return None


@st.composite
def shaped_specs(draw):
    """Specs that parse, whose layers may not fit their images: stacks of convs (kernel, stride,
    padding) with max-pools, pruning ratios, pe and simd values, a dense layer of any width, on
    digits, mnist or a .npz of drawn image shape and classes, with any test fraction. Returns
    (spec dict, the .npz's (H, W, C, classes) or None)."""
    dataset = draw(st.sampled_from(["digits", "mnist", "npz"]))
    npz = (draw(st.integers(1, 14)), draw(st.integers(1, 14)), draw(st.integers(1, 4)), draw(st.integers(2, 12))) \
        if dataset == "npz" else None
    classes = npz[3] if npz else 10
    # mostly values that fit, so that both answers of validate are drawn often
    simd = st.one_of(st.none(), st.none(), st.none(), st.integers(1, 4))
    layers, ratios = [], {}
    for i in range(draw(st.integers(0, 3))):
        filters = draw(st.integers(1, 8))
        layers += [{"type": "conv", "filters": filters, "kernel": draw(st.sampled_from([1, 3, 5])),
                    "stride": draw(st.sampled_from([1, 2])), "padding": draw(st.sampled_from(["same", "valid"])),
                    "pe": draw(st.one_of(st.none(), st.sampled_from([d for d in range(1, 9) if filters % d == 0]))),
                    "simd": draw(simd)}, {"type": "lif"}]
        if draw(st.booleans()):
            layers.append({"type": "maxpool"})
        if draw(st.booleans()):
            ratios[f"conv{i}"] = draw(st.sampled_from([0.25, 0.5]))
    layers.append({"type": "flatten"})
    if draw(st.booleans()):
        layers += [{"type": "dense", "units": draw(st.integers(1, 16)), "simd": draw(simd)}, {"type": "lif"}]
    layers += [{"type": "dense", "units": classes + draw(st.integers(-1, 2)), "simd": draw(simd)},
               {"type": "readout"}]
    fraction = draw(st.one_of(st.sampled_from([0.2, 0.25, 0.5]), st.floats(0.001, 0.999)))
    raw = {"name": "shaped", "data": {"dataset": dataset, "test_fraction": fraction, "seed": 0},
           "time_steps": 2, "train": {"epochs": 1}, "prune": {"ratios": ratios}, "layers": layers}
    return raw, npz


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(shaped_specs(), malformed_specs().map(lambda raw: (raw, None))))
def test_what_validate_accepts_the_flow_takes_to_training(tmp_path_factory, drawn):
    """`qpsnn validate` and `qpsnn flow` agree before any training: a spec validate accepts gets
    through every check of the flow to its first training (here stopped there), and one it
    refuses the flow refuses with the same message and exit code 2, writing nothing."""
    import numpy as np

    raw, npz = drawn
    folder = tmp_path_factory.mktemp("agree")
    if npz is not None:
        h, w, c, classes = npz
        path = folder / "images.npz"
        np.savez(path, x=np.zeros((10 * classes, h, w, c), np.uint8), y=np.arange(10 * classes) % classes)
        raw["data"]["dataset"] = str(path)
    spec = folder / "spec.yaml"
    spec.write_text(yaml.safe_dump(raw))
    validated = run_cli(["validate", "--spec", str(spec)])
    assert validated[0] in (0, 2)
    flowed = flow_until_training(str(spec), str(folder / "out"))
    if validated[0] == 0:
        assert flowed is None, f"validate accepted, the flow refused: {flowed[1]}"
    else:
        assert flowed == validated, (validated, flowed)
    assert sorted(p.name for p in folder.iterdir()) == sorted(["spec.yaml"] + (["images.npz"] if npz else []))
