"""hls4ml project with our LIF extension: C simulation bit-exact with the golden model at
every time step, and no membrane state carried from one image to the next."""

import numpy as np
import pytest

from helpers import CONV_SPEC, trained
from qpsnn.codegen.hls import convert, csim_logits
from qpsnn.model.golden import run_golden


@pytest.fixture(scope="module")
def conv_csim(tmp_path_factory):
    spec, data, model, deploy = trained(CONV_SPEC)
    hls_model = convert(deploy, str(tmp_path_factory.mktemp("hls")))
    hls_model.compile()
    return deploy, data, hls_model


def test_conv_network_bit_exact(conv_csim):
    deploy, data, hls_model = conv_csim
    images = data.x_test[:30]
    golden = run_golden(deploy, images)
    assert golden.spikes["lif0"].mean() > 0.01  # the comparison covers real spiking activity
    csim = csim_logits(hls_model, deploy, images)
    bad = np.argwhere(csim != golden.logits)
    assert len(bad) == 0, f"first mismatch (image, step, class) = {tuple(bad[0])}"


def test_no_state_leaks_between_images(conv_csim):
    deploy, data, hls_model = conv_csim
    a, b = data.x_test[:1], data.x_test[1:2]
    alone = csim_logits(hls_model, deploy, b)
    after = csim_logits(hls_model, deploy, np.concatenate([a, a, b]))[2:]
    np.testing.assert_array_equal(alone, after)


def test_project_has_our_lif_layer(conv_csim):
    deploy, data, hls_model = conv_csim
    import os

    firmware = os.path.join(hls_model.config.get_output_dir(), "firmware")
    assert os.path.exists(os.path.join(firmware, "nnet_utils", "nnet_lif.h"))
    top = open(os.path.join(firmware, hls_model.config.get_project_name() + ".cpp")).read()
    assert top.count("nnet::lif_step<") == 2
