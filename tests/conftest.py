import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import qpsnn  # noqa: E402,F401  (fixes the Keras flavour before TensorFlow is touched)


def shared_dir(tmp_path_factory, name: str):
    """A directory of this test run shared by its test processes (pytest-xdist workers)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent          # the run's directory above the workers' own
    path = root / name
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session", autouse=True)
def shared_verilator_builds(tmp_path_factory):
    """One Verilator build per design in a test run: tests that simulate a design another test
    (or flow) already built take its build (sim/runner.py, keyed by the Verilog's content)."""
    os.environ["QPSNN_VERILATOR_CACHE"] = str(shared_dir(tmp_path_factory, "verilator-builds"))
