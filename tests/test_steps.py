"""The steps as subcommands: run one by one they give what `qpsnn flow` gives; each reruns alone
from what the ones before it left in DIR; a step whose inputs are missing or not current is
refused with the command to run (exit 2, nothing written); a changed knob makes exactly the
steps after it stale; a failing step leaves its previous directory as it was."""

import json

import pytest
import yaml

from helpers import CONV_SPEC, MLP_SPEC
from qpsnn.cli import main

pytestmark = pytest.mark.slow(seconds=90)   # the module fixture: a flow and its steps
RAW = dict(MLP_SPEC, train=dict(MLP_SPEC["train"], epochs=2), verify={"hls_images": 6, "rtl_images": 6})
ORDER = ["train", "prune", "export", "hls", "rtl", "sim"]


def write_spec(path, raw):
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def report_of(out):
    return json.loads((out / "report.json").read_text())


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("steps")
    spec = write_spec(tmp / "spec.yaml", RAW)
    flow, steps = tmp / "flow", tmp / "steps"
    assert main(["flow", "--spec", spec, "--out", str(flow), "--no-synth"]) == 0
    for name in ORDER:
        assert main([name, "--spec", spec, "--out", str(steps)] + (["--no-synth"] if name == "rtl" else [])) == 0, name
    return tmp, spec, flow, steps


def test_steps_one_by_one_give_the_flow(dirs):
    _, _, flow, steps = dirs
    a, b = report_of(flow), report_of(steps)
    assert all(s["status"] == "current" for s in b["steps"].values()) and list(b["steps"]) == ORDER
    assert a["deploy_digest"] == b["deploy_digest"]
    for sub in ("deploy/deploy.json", "deploy/deploy.npz", "rtl/qpsnn_tiny_mlp.v"):
        assert (flow / sub).read_bytes() == (steps / sub).read_bytes(), sub
    assert a["accuracy"] == b["accuracy"]
    assert a["bit_exact"] == b["bit_exact"] and b["bit_exact"]["rtl"]["mismatches"] == 0
    assert b["bit_exact"]["hls_csim"] == {"images": 6, "mismatches": 0}
    assert a["latency"]["cycles_per_image_measured"] == b["latency"]["cycles_per_image_measured"]
    # the flow of an unpruned network without synthesis (tests/test_flow.py has a pruned one with it)
    assert "pruning" not in a and a["model"]["connections_pct"] == 100.0
    assert "--no-synth" in a["resources"]["synthesis"]["skipped"]
    assert all(len(s["key"]) == 16 for s in b["steps"].values())
    assert "## Steps" in (steps / "report.md").read_text()


def test_a_step_without_its_inputs_is_refused(dirs, capsys):
    tmp, spec, _, _ = dirs
    empty = tmp / "empty"
    assert main(["sim", "--spec", spec, "--out", str(empty)]) == 2
    err = capsys.readouterr().err
    assert err.count("qpsnn: error:") == 1 and "deploy: not run" in err and f"qpsnn train --spec {spec}" in err \
        and "and the steps after it" in err, err
    assert not empty.exists()                       # nothing written
    assert main(["train", "--spec", spec, "--out", str(empty)]) == 0
    capsys.readouterr()
    assert main(["export", "--spec", spec, "--out", str(empty)]) == 2
    err = capsys.readouterr().err
    assert "model: not run" in err and "qpsnn prune --spec" in err and not (empty / "deploy").exists()
    # a spec that trains differently: the earliest step not current is named, not the last
    other = write_spec(tmp / "lr.yaml", dict(RAW, train=dict(RAW["train"], lr=0.004)))
    assert main(["hls", "--spec", other, "--out", str(dirs[3])]) == 2
    err = capsys.readouterr().err
    assert "deploy: made from a prune result that is not current" in err and "qpsnn train --spec" in err, err


def test_a_knob_change_makes_only_the_later_steps_stale(dirs, tmp_path):
    import shutil
    _, _, _, steps = dirs
    out = tmp_path / "copy"
    shutil.copytree(steps, out)
    before = report_of(out)
    knob = dict(RAW, layers=[dict(layer, pe=4) if layer.get("units") == 24 else layer for layer in RAW["layers"]])
    spec = write_spec(tmp_path / "knob.yaml", knob)
    assert main(["rtl", "--spec", spec, "--out", str(out), "--no-synth"]) == 0
    mid = report_of(out)
    assert [n for n, s in mid["steps"].items() if s["status"] != "current"] == ["sim"]
    assert "qpsnn sim" in mid["steps"]["sim"]["status"] and "latency" not in mid
    assert "mismatches" not in mid["bit_exact"]["rtl"]            # the old simulation is not reported
    assert mid["steps"]["rtl"]["key"] != before["steps"]["rtl"]["key"]
    assert mid["steps"]["hls"] == before["steps"]["hls"]          # the deploy form did not change
    assert main(["sim", "--spec", spec, "--out", str(out)]) == 0
    after = report_of(out)
    assert all(s["status"] == "current" for s in after["steps"].values())
    assert after["latency"]["parallelism"]["pe"]["dense0"] == 4 != before["latency"]["parallelism"]["pe"]["dense0"]
    assert after["bit_exact"]["rtl"]["mismatches"] == 0
    # `qpsnn report` reads the last spec from DIR and says the same
    assert main(["report", "--out", str(out)]) == 0
    assert report_of(out)["steps"] == after["steps"]


def test_a_failing_step_leaves_its_previous_directory(dirs, tmp_path, monkeypatch):
    import shutil

    from qpsnn.steps import STEPS
    _, spec, _, steps = dirs
    out = tmp_path / "copy"
    shutil.copytree(steps, out)
    files = {p.relative_to(out): p.read_bytes() for p in (out / "rtl").rglob("*") if p.is_file()}
    report = (out / "report.json").read_bytes()

    def interrupted(self, ws, out_dir, timer):
        (tmp_path / "started").write_text("")
        with open(f"{out_dir}/qpsnn_tiny_mlp.v", "w") as fh:
            fh.write("half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(type(STEPS["rtl"]), "run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        main(["rtl", "--spec", spec, "--out", str(out), "--no-synth"])
    assert (tmp_path / "started").exists()
    assert {p.relative_to(out): p.read_bytes() for p in (out / "rtl").rglob("*") if p.is_file()} == files
    assert (out / "report.json").read_bytes() == report
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]   # no staging directory left


def test_a_ratio_change_prunes_the_same_trained_model(tmp_path, capsys):
    """The first training does not depend on the pruning: new ratios reuse DIR/trained and only
    prune, fine-tune and what follows run again."""
    raw = dict(CONV_SPEC, train=dict(CONV_SPEC["train"], epochs=1), verify={"hls_images": 0, "rtl_images": 0},
               prune={"method": "svs", "ratios": {"conv0": 0.5}, "batches": 1, "batch_size": 32, "finetune_epochs": 1})
    out = tmp_path / "out"
    assert main(["flow", "--spec", write_spec(tmp_path / "a.yaml", raw), "--out", str(out)]) == 0
    first = report_of(out)
    capsys.readouterr()
    other = dict(raw, prune=dict(raw["prune"], ratios={"conv0": 0.25, "conv1": 0.5}))
    assert main(["flow", "--spec", write_spec(tmp_path / "b.yaml", other), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    second = report_of(out)
    assert "train: " in text and "reused" in text.split("train: ")[1].split("\n")[0]
    assert second["steps"]["train"]["key"] == first["steps"]["train"]["key"]
    assert second["steps"]["train"]["cache"] == "reused" and second["steps"]["prune"]["cache"] == "made"
    assert second["pruning"]["channels"] == {"conv0": [4, 3], "conv1": [6, 3]} != first["pruning"]["channels"]
    assert second["cache"]["model"] == "trained"


def test_missing_yosys_is_said_up_front_and_the_step_runs(dirs, tmp_path, monkeypatch, capsys):
    import shutil

    from qpsnn.codegen import synth
    _, spec, _, steps = dirs
    out = tmp_path / "copy"
    shutil.copytree(steps, out)
    monkeypatch.setattr(synth, "find_yosys", lambda: None)
    capsys.readouterr()
    assert main(["rtl", "--spec", spec, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    note = text.index("[qpsnn] note: yosys not found")
    assert note < text.index("[qpsnn] rtl ...") and "apt-get install yosys" in text
    assert "yosys not found" in report_of(out)["resources"]["synthesis"]["skipped"]
