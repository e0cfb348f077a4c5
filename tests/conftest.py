import os

import pytest

import qpsnn  # noqa: E402,F401  (fixes the Keras flavour and quiets TensorFlow before it is touched)


def shared_dir(tmp_path_factory, name: str):
    """A directory of this test run shared by its test processes (pytest-xdist workers)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent          # the run's directory above the workers' own
    path = root / name
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session", autouse=True)
def shared_work(tmp_path_factory):
    """Work done once per test run and shared by the test processes: a Verilator build per
    design (sim/runner.py, keyed by the Verilog's content; the C++ compiled through ccache), and
    a training per spec of helpers.trained."""
    from helpers import TRAINED_MODELS

    os.environ["QPSNN_VERILATOR_CACHE"] = str(shared_dir(tmp_path_factory, "verilator-builds"))
    os.environ[TRAINED_MODELS] = str(shared_dir(tmp_path_factory, "trained-models"))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """The order and grouping of work for the test processes (make test: pytest-xdist
    --dist loadgroup --no-loadscope-reorder). A test that uses a module-scoped fixture (a
    trained flow) stays on one process with the tests of its module that use the same value of
    it, so the fixture is built once; every other test is a unit of its own, free to go to
    whichever process is idle. The tests marked slow go first, the slowest first: the long ones
    start while the short ones fill the gaps, rather than one process running a long test alone
    at the end."""
    for item in items:
        shared = sorted(name for name, defs in item._fixtureinfo.name2fixturedefs.items()
                        if defs[-1].scope in ("module", "class", "package"))
        if shared:
            # a parametrized module fixture: each of its values is a group of its own
            indices = getattr(getattr(item, "callspec", None), "indices", {})
            values = [f"{name}={indices[name]}" for name in shared if name in indices]
            item.add_marker(pytest.mark.xdist_group(":".join([item.module.__name__] + values)))
    items.sort(key=lambda item: -slow_seconds(item))


def slow_seconds(item) -> float:
    """A test's duration as marked: pytest.mark.slow(seconds=...), about what make test's
    --durations list showed on the shared 2-core machine (2026-11-26; 90 for those under the
    tenth slowest); 0 for an unmarked test. Only the order of the work depends on it."""
    mark = item.get_closest_marker("slow")
    return mark.kwargs.get("seconds", 60) if mark else 0
