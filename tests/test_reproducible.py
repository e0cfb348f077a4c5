"""The same spec and seed give byte-identical outputs: two trainings of the conv network (with
SVS pruning and fine-tuning) give the same deploy form files and the same RTL, file by file."""

import hashlib

from helpers import CONV_SPEC, make_spec
from qpsnn.codegen.rtl import design, write


def digests(directory):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def test_same_spec_and_seed_byte_identical_deploy_and_rtl(tmp_path):
    from qpsnn.model.data import load_spec_data
    from qpsnn.model.deploy import export_deploy
    from qpsnn.model.prune import train_compressed

    raw = dict(CONV_SPEC, train={"epochs": 2, "batch_size": 32, "lr": 0.01, "seed": 3},
               prune={"method": "svs", "ratios": {"conv0": 0.5}, "batches": 1, "batch_size": 64,
                      "finetune_epochs": 1, "seed": 3})
    spec = make_spec(raw)
    data = load_spec_data(spec)
    runs = []
    for run in ("a", "b"):
        pruned_spec, model, _ = train_compressed(spec, data, verbose=0)
        deploy = export_deploy(pruned_spec, model, data.input_shape)
        deploy.save(str(tmp_path / run / "deploy"))
        write(design(deploy, mode="event"), str(tmp_path / run / "rtl"))
        runs.append({sub: digests(tmp_path / run / sub) for sub in ("deploy", "rtl")})
    assert runs[0]["deploy"].keys() == {"deploy.json", "deploy.npz"}
    assert runs[0] == runs[1]
