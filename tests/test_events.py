"""Event data and `encoding: events`: raw events binned into frames (hand-computed), the
simulated N-MNIST recording (seeded, on the digits' path), tonic's frame layout, the flow on
event frames through the HLS C-sim and the RTL bit for bit (counts above one carried, a slow
leak, a sum pool: its counts into the next layer), and the refusals."""

import numpy as np
import pytest
import yaml

from qpsnn.cli import main
from qpsnn.errors import InputError
from qpsnn.model import events as ev
from qpsnn.spec import check_with_data, parse_spec

T = 4


def digit_events(path, layout="thwc"):
    """An event set from the 8x8 digits: ON counts 0..3 with the ink, sparse OFF noise; seeded."""
    from sklearn.datasets import load_digits
    d = load_digits()
    rng = np.random.default_rng(0)
    ink = d.images / 16.0
    on = rng.binomial(3, 0.5 * ink[:, None], size=(len(ink), T, 8, 8))
    off = rng.binomial(1, 0.1 * (1 - ink[:, None]), size=(len(ink), T, 8, 8))
    x = np.stack([off, on], axis=-1).astype(np.uint8)          # (N, T, H, W, C): channel 0 OFF, 1 ON
    np.savez(path, x=x.transpose(0, 1, 4, 2, 3) if layout == "tchw" else x, y=d.target)
    return x


def event_spec(dataset, **changes):
    raw = {"name": "events_net", "data": {"dataset": str(dataset), "test_fraction": 0.25}, "time_steps": T,
           "encoding": "events", "events": {"max_count": 2},
           "train": {"epochs": 4, "batch_size": 32, "lr": 0.01, "seed": 1},
           "verify": {"hls_images": 20, "rtl_images": 20},
           "layers": [{"type": "conv", "filters": 4, "kernel": 3, "padding": 1}, {"type": "lif", "tau": 0.75},
                      {"type": "sumpool"}, {"type": "flatten"}, {"type": "dense", "units": 10}, {"type": "readout"}]}
    raw.update(changes)
    return raw


def test_raw_events_binned_by_hand(tmp_path):
    # sample 0: three events in a 2x3 sensor; sample 1: none
    x, y, t, p = [0, 2, 2], [1, 0, 0], [0, 500, 999], [1, 0, 0]
    ev.write_raw(str(tmp_path / "raw.npz"),
                 [np.array(list(zip(x, y, t, p)), dtype=[("x", "i2"), ("y", "i2"), ("t", "i8"), ("p", "i1")]),
                  np.zeros(0, dtype=[("x", "i2"), ("y", "i2"), ("t", "i8"), ("p", "i1")])], np.array([3, 5]), (2, 3))
    frames, labels = ev.raw_to_frames(str(tmp_path / "raw.npz"), 2, window_us=500)
    want = np.zeros((2, 2, 2, 3, 2), np.uint8)
    want[0, 0, 1, 0, 1] = 1          # t = 0 in bin 0, pixel (y 1, x 0), ON
    want[0, 1, 0, 2, 0] = 2          # t = 500 and 999 in bin 1, pixel (y 0, x 2), OFF (the last bin ends at 1000)
    np.testing.assert_array_equal(frames, want)
    np.testing.assert_array_equal(labels, [3, 5])


def test_raw_events_refused(tmp_path):
    np.savez(tmp_path / "bad.npz", x=[0], y=[0], t=[0], p=[2], offsets=[0, 1], labels=[1], sensor_size=[2, 2])
    with pytest.raises(InputError, match="polarities"):
        ev.raw_to_frames(str(tmp_path / "bad.npz"), 2)


def test_simulated_recording_follows_the_digit():
    from qpsnn.model.data import load_dataset
    digits = load_dataset("mnist").x_test[:3, ..., 0]
    a = ev.simulate_recording(digits, seed=4)
    b = ev.simulate_recording(digits, seed=4)
    for ra, rb, image in zip(a, b, digits):
        np.testing.assert_array_equal(ra, rb)                 # seeded
        assert np.all(np.diff(ra["t"]) >= 0) and ra["t"].max() < 300_000
        assert set(np.unique(ra["p"])) == {0, 1}
        # the events lie where the moving digit's ink passes: inside its 6-pixel travel
        ink = np.zeros((ev.FIELD, ev.FIELD), bool)
        for dy in range(7):
            for dx in range(7):
                ink[dy:dy + 28, dx:dx + 28] |= image > 64
        assert ink[ra["y"], ra["x"]].mean() > 0.95
    frames, labels, _ = ev.simulated_nmnist(digits, np.arange(3), 5, seed=4)
    assert frames.shape == (3, 5, 34, 34, 2)
    assert [int(f.sum()) for f in frames] == [len(r) for r in a]


def test_tonic_layout_reads_the_same(tmp_path):
    from qpsnn.model.data import load_spec_data
    digit_events(tmp_path / "thwc.npz")
    digit_events(tmp_path / "tchw.npz", layout="tchw")
    a = load_spec_data(parse_spec(event_spec(tmp_path / "thwc.npz"), "<test>"))
    b = load_spec_data(parse_spec(event_spec(tmp_path / "tchw.npz", events={"max_count": 2, "layout": "tchw"}),
                                  "<test>"))
    np.testing.assert_array_equal(a.x_test, b.x_test)
    assert a.x_test.shape[1:] == (T, 8, 8, 2) and a.x_test.max() == 2      # clipped to max_count


@pytest.mark.slow(seconds=60)
def test_event_flow_bit_exact(tmp_path):
    """Events in two passes of two steps: the frames of each pass streamed in turn, the LIF's
    membranes kept in its RAM between them."""
    from qpsnn.flow import run_flow
    digit_events(tmp_path / "events.npz")
    spec = parse_spec(event_spec(tmp_path / "events.npz", rtl={"time_chunk": 2}), str(tmp_path / "spec.yaml"))
    report = run_flow(spec, str(tmp_path / "out"), synth=False)
    assert report["latency"]["passes"] == 2
    assert report["bit_exact"]["hls_csim"] == {"images": 20, "mismatches": 0}
    assert report["bit_exact"]["rtl"]["mismatches"] == 0
    latency = report["latency"]
    assert latency["images_cycles_differ"] == 0 and latency["back_to_back"]["images_cycles_differ"] == 0
    assert report["accuracy"]["golden"] > 0.5 and 0 < report["firing_rate"]["lif0"] < 1
    assert report["sops"]["sops_per_layer"]["conv0"] > 0 and report["sops"]["first_layer_macs"] == 0


@pytest.mark.parametrize("changes,word", [
    ({"encoding": "direct"}, "encoding: events"),
    ({"time_steps": 3}, "frames per sample"),
    ({"train": {"shift": 1}}, "train.shift"),
    ({"events": {"max_count": 0}}, "events.max_count"),
    ({"events": {"layout": "hwct"}}, "events.layout"),
    ({"rtl": {"time_chunk": 3}}, "rtl.time_chunk"),
])
def test_event_spec_refusals(tmp_path, changes, word):
    digit_events(tmp_path / "events.npz")
    with pytest.raises(InputError, match=word):
        check_with_data(parse_spec(event_spec(tmp_path / "events.npz", **changes), "<test>"))


def test_events_on_images_refused(capsys, tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(event_spec("digits")))
    assert main(["validate", "--spec", str(spec)]) == 2
    assert "holds images" in capsys.readouterr().err
