"""Choose a training recipe without looking at the hold-out: the spec's training images are
split again (seeded, stratified, 20%) into a training part and a validation part; the spec's
whole compression (training, pruning, fine-tuning) runs on the training part and the float and
golden accuracies are measured on the validation part. One JSON line per run is appended to
benchmarks/results/recipe_search.jsonl.

    python benchmarks/recipe_search.py --spec examples/mnist_conv_pruned.yaml \
        --set train.lr=0.005 --set train.epochs=15
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time

import yaml

from qpsnn.spec import load_spec, parse_spec
from seeds import compress_and_score      # benchmarks/ is the script's directory

RESULTS = os.path.join(os.path.dirname(__file__), "results", "recipe_search.jsonl")


def with_settings(spec, settings: list[str]):
    raw = spec.to_dict()
    for item in settings:
        path, value = item.split("=", 1)
        section, key = path.split(".", 1)
        raw[section][key] = yaml.safe_load(value)
    return parse_spec(raw, spec.source)


def validation_split(data, fraction: float = 0.2, seed: int = 0):
    from sklearn.model_selection import train_test_split

    xtr, xval, ytr, yval = train_test_split(data.x_train, data.y_train, test_size=fraction,
                                            random_state=seed, stratify=data.y_train)
    return dataclasses.replace(data, x_train=xtr, y_train=ytr, x_test=xval, y_test=yval)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spec", required=True)
    ap.add_argument("--set", action="append", default=[], help="section.key=value (YAML value)")
    args = ap.parse_args()
    from qpsnn.model.data import load_spec_data

    spec = with_settings(load_spec(args.spec), args.set)
    data = validation_split(load_spec_data(spec))
    row = {"spec": args.spec, "set": args.set, "train_images": len(data.x_train),
           "validation_images": len(data.x_test), **compress_and_score(spec, data, verbose=2),
           "date": time.strftime("%Y-%m-%d")}
    print(json.dumps(row))
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "a") as fh:
        fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
