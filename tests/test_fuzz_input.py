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
