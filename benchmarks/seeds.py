"""The shipped recipe over seeds: the spec's whole compression (training, pruning, fine-tuning)
with train.seed = prune.seed = each seed, the float and golden accuracies on the whole hold-out,
mean and spread. The hold-out only measures here; recipes are chosen on a validation split
(benchmarks/recipe_search.py).

    make bench-seeds                (examples/mnist_conv_pruned.yaml, seeds 0,1,2)
    python benchmarks/seeds.py --spec SPEC --seeds 0,1,2
    python benchmarks/seeds.py --spec SPEC --flow out/NAME       (seed 0 from make run's flow)

Writes benchmarks/results/seeds_<name>.json and prints one line per seed and the summary.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from qpsnn.files import write_atomic
from qpsnn.spec import load_spec
from qpsnn.study import with_changes

RESULTS = os.path.join(os.path.dirname(__file__), "results")


def flow_run(flow_dir: str, spec) -> dict:
    """The run of the spec's own seed from a finished flow of the same spec (same model key:
    the same training, deterministic), with its golden and float accuracies."""
    from qpsnn.model.keys import model_key
    from qpsnn.spec import parse_spec

    with open(os.path.join(flow_dir, "report.json")) as fh:
        report = json.load(fh)
    if model_key(parse_spec(report["spec"], flow_dir)) != model_key(spec):
        raise SystemExit(f"{flow_dir}: not a flow of {spec.source} (another model key)")
    acc = report["accuracy"]
    return {"seed": spec.train["seed"], "golden_accuracy": acc["golden"], "float_accuracy": acc["float_model"],
            "agreement": acc["float_golden_agreement"], "from_flow": flow_dir}


def compress_and_score(spec, data, verbose: int = 0) -> dict:
    """The spec's whole compression (training, pruning, fine-tuning) on data's training images,
    its golden and float accuracies on data's test images and the training time."""
    from qpsnn.model.deploy import export_deploy
    from qpsnn.model.golden import run_golden
    from qpsnn.model.prune import train_compressed
    from qpsnn.model.train import float_predict

    start = time.perf_counter()
    model_spec, model, _ = train_compressed(spec, data, verbose=verbose)
    seconds = time.perf_counter() - start
    golden = run_golden(export_deploy(model_spec, model, data.input_shape), data.x_test).prediction
    floats = float_predict(model, data.x_test)
    return {"golden_accuracy": float((golden == data.y_test).mean()),
            "float_accuracy": float((floats == data.y_test).mean()),
            "agreement": float((golden == floats).mean()), "train_s": round(seconds, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spec", required=True)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--flow", help="a flow directory of this spec (`make run`): its training is the run "
                                   "of the spec's own seed, taken from its report instead of training again "
                                   "(that seed is skipped in --seeds)")
    args = ap.parse_args()
    from qpsnn.model.data import load_spec_data

    spec = load_spec(args.spec)
    data = load_spec_data(spec)
    runs = [] if args.flow is None else [flow_run(args.flow, spec)]
    for seed in [int(s) for s in args.seeds.split(",")]:
        if any(run["seed"] == seed for run in runs):
            continue                        # the flow's training is this seed's
        run = {"seed": seed, **compress_and_score(with_changes(spec, train={"seed": seed}, prune={"seed": seed}),
                                                  data)}
        print(json.dumps(run), flush=True)
        runs.append(run)
    acc = np.array([r["golden_accuracy"] for r in runs])
    result = {"spec": args.spec, "name": spec.name, "data": data.source, "test_images": int(len(data.y_test)),
              "date": time.strftime("%Y-%m-%d"), "runs": runs,
              "golden_accuracy_mean": float(acc.mean()), "golden_accuracy_std": float(acc.std())}
    out = os.path.join(RESULTS, f"seeds_{spec.name}.json")
    write_atomic(out, json.dumps(result, indent=1))
    print(f"{spec.name}: golden accuracy {100 * acc.mean():.2f} ± {100 * acc.std():.2f} % over seeds "
          f"{[r['seed'] for r in runs]} ({len(data.y_test)} hold-out images); wrote {out}")


if __name__ == "__main__":
    main()
