"""Training checkpoints: an interrupted training resumes at its last finished epoch, with the
weights it had; a changed spec does not pick up a stale checkpoint; a finished flow cleans up."""

import numpy as np

from helpers import MLP_SPEC, make_spec
from qpsnn.model.data import load_dataset
from qpsnn.model.keys import training_key
from qpsnn.model.train import Checkpoints, train_model


def weights(model):
    return [w.copy() for w in model.get_weights()]


def test_resume_continues_from_the_last_epoch(tmp_path, capsys):
    data = load_dataset("digits", 0.25, 0)
    two = make_spec(MLP_SPEC, train={"epochs": 2, "batch_size": 64, "lr": 0.005, "seed": 2})
    ckpt = Checkpoints(str(tmp_path / "ckpt"), training_key(two))
    first = weights(train_model(two, data, verbose=0, checkpoints=ckpt))
    assert ckpt.done_epochs("train") == 2

    # nothing left to do: the checkpoint's weights come back exactly, no epoch is run
    again = weights(train_model(two, data, verbose=0, checkpoints=ckpt))
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert "resuming after epoch 2 of 2" in capsys.readouterr().out

    # one more epoch asked for: the run starts from epoch 2's weights and runs only epoch 3
    three = make_spec(MLP_SPEC, train={"epochs": 3, "batch_size": 64, "lr": 0.005, "seed": 2})
    assert training_key(three) == training_key(two)
    model = train_model(three, data, verbose=0, checkpoints=ckpt)
    assert "resuming after epoch 2 of 3" in capsys.readouterr().out
    assert ckpt.done_epochs("train") == 3
    assert model.optimizer.iterations.numpy() == 3 * int(np.ceil(len(data.y_train) / 64))
    assert any(np.any(a != b) for a, b in zip(first, weights(model)))


def test_a_changed_spec_does_not_resume(tmp_path):
    spec = make_spec(MLP_SPEC, train={"epochs": 1, "seed": 2})
    ckpt = Checkpoints(str(tmp_path / "ckpt"), training_key(spec))
    train_model(spec, load_dataset("digits", 0.25, 0), verbose=0, checkpoints=ckpt)
    changed = make_spec(MLP_SPEC, train={"epochs": 1, "seed": 2}, quant={"bits": 2})
    assert Checkpoints(ckpt.directory, training_key(changed)).done_epochs("train") == 0
    knobs = make_spec(MLP_SPEC, train={"epochs": 1, "seed": 2},
                      layers=[dict(layer, pe=4, simd=1) if layer.get("units") == 24 else layer for layer in MLP_SPEC["layers"]])
    assert training_key(knobs) == training_key(spec)  # parallelism does not retrain


def test_flow_resume_uses_and_then_removes_the_checkpoints(tmp_path, capsys):
    from qpsnn.flow import run_flow
    from qpsnn.steps import checkpoint_dir

    spec = make_spec(MLP_SPEC, train={"epochs": 2, "seed": 2}, verify={"hls_images": 0, "rtl_images": 0})
    out = str(tmp_path / "out")
    ckpt = Checkpoints(checkpoint_dir(out), training_key(spec))
    train_model(spec, load_dataset("digits", 0.25, 0), verbose=0, checkpoints=ckpt)  # "interrupted" after training
    run_flow(spec, out, hls=False, rtl=False, resume=True)
    assert "resuming after epoch 2 of 2" in capsys.readouterr().out
    assert not (tmp_path / ".out.checkpoints").exists()
    assert (tmp_path / "out" / "report.json").exists()
