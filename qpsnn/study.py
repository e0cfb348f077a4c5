"""The compression table (`qpsnn table`): the QP-SNN study on one network, over seeds.

Rows, each trained and measured per seed (train.seed = prune.seed = the seed; the data split
is the spec's and never changes):
  full precision                     the same SNN without a weight quantizer
  baseline b bits                    gamma = 1 (the QP-SNN baseline quantizer), b in --bits
  ReScaW b bits                      gamma = mean |W| per channel, b in --bits
  <method> r                         the ReScaW --prune-bits model, channels pruned by <method>
                                     (svs, sca, l1, random) at ratio r in every hidden conv
                                     (the last one too, unless --keep-last), then fine-tuned
  order: prune then quantize         the full-precision model pruned by SVS at --order-ratio,
                                     fine-tuned quantized; its quantize-first twin is the SVS row
The b bits go to every weight layer but the readout (which keeps the spec's last_bits). Pruned
rows reuse the trained models above them, so each seed trains 1 + 2 x len(bits) networks and
fine-tunes the rest.

Per row: accuracy on the hold-out (golden integer model for the quantized rows, which is
what the hardware computes; the float model for full precision), connections %, size in bytes,
SOPs per image, the mean firing rate per LIF layer and the analytic cycles per image of the
accelerator generated for the row (the latency axis of the report's trade-off plot); for
pruned rows the scoring time.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import time

import numpy as np

from qpsnn.errors import InputError
from qpsnn.files import write_atomic
from qpsnn.progress import counted
from qpsnn.spec import PRUNE_METHODS, Spec, check_bits, check_ratios, prunable_layers


@dataclasses.dataclass
class StudyConfig:
    seeds: list
    bits: list
    prune_bits: int = 4
    ratios: list = dataclasses.field(default_factory=lambda: [0.25, 0.5, 0.75])
    methods: list = dataclasses.field(default_factory=lambda: list(PRUNE_METHODS))
    order_ratio: float = 0.5
    keep_last: bool = False
    epochs: int | None = None            # None: the spec's train.epochs
    finetune_epochs: int | None = None   # None: the spec's prune.finetune_epochs


def with_changes(spec: Spec, **sections) -> Spec:
    """A copy of `spec` with some keys of some sections replaced."""
    out = copy.deepcopy(spec)
    for section, values in sections.items():
        getattr(out, section).update(values)
    return out


def check_config(spec: Spec, cfg: StudyConfig) -> list[str]:
    targets = prunable_layers(spec.layers)
    if cfg.keep_last:
        targets = targets[:-1]
    if not targets:
        raise InputError(f"{spec.name}: the table prunes hidden conv layers and this network has "
                         f"{'only one' if cfg.keep_last else 'none'}; accepted: a network with a conv "
                         "followed by 'lif'" + (" (drop --keep-last)" if cfg.keep_last else ""))
    for b in cfg.bits + [cfg.prune_bits]:
        check_bits(b, "--bits")
    unknown = sorted(set(cfg.methods) - set(PRUNE_METHODS))
    if unknown:
        raise InputError(f"--methods: unknown {unknown}; accepted {list(PRUNE_METHODS)}")
    for r in cfg.ratios + [cfg.order_ratio]:
        check_ratios({name: r for name in targets}, spec.layers)
    return targets


def keras_rates(model, spec: Spec, images: np.ndarray) -> dict:
    """Mean firing rate of each LIF layer of a Keras model (the full-precision row has no
    deploy form, hence no golden trace)."""
    from tensorflow import keras

    from qpsnn.model.train import scaled

    names = [layer["name"] for layer in spec.layers if layer["type"] == "lif"]
    probe = keras.Model(model.input, [model.get_layer(n).output for n in names])
    outs = probe.predict(scaled(images), batch_size=256, verbose=0)
    outs = outs if isinstance(outs, list) else [outs]
    return {n: float(o.mean()) for n, o in zip(names, outs)}


def measure(spec: Spec, model, data, reference_connections: int, quantized: bool) -> dict:
    from qpsnn.model.metrics import model_stats, spec_connections, synaptic_ops
    from qpsnn.model.train import float_predict

    float_acc = float((float_predict(model, data.x_test) == data.y_test).mean())
    if not quantized:
        conns = spec_connections(spec, data.input_shape)
        # the weights and biases of the conv/dense layers: a batch norm folds into them exactly
        params = sum(int(np.prod(w.shape)) for layer in spec.layers if layer["type"] in ("conv", "dense")
                     for w in model.get_layer(layer["name"]).get_weights())
        return {"accuracy": float_acc, "float_accuracy": float_acc,
                "connections_pct": 100.0 * conns / reference_connections, "size_bytes": 4 * params,
                "firing_rate": keras_rates(model, spec, data.x_test), "sops_per_image": None}
    from qpsnn.model.deploy import export_deploy
    from qpsnn.model.golden import run_golden

    deploy = export_deploy(spec, model, data.input_shape)
    trace = run_golden(deploy, data.x_test)
    stats = model_stats(deploy, spec, reference_connections)
    return {"accuracy": float((trace.prediction == data.y_test).mean()), "float_accuracy": float_acc,
            "connections_pct": stats["connections_pct"], "size_bytes": stats["size_bytes"],
            "firing_rate": {n: float(s.mean()) for n, s in trace.spikes.items()},
            "sops_per_image": synaptic_ops(deploy, trace)["sops_per_image"],
            "cycles_per_image": accelerator_cycles(deploy, spec, data.x_test[:CYCLE_IMAGES])}


CYCLE_IMAGES = 200     # images the analytic cycle model replays per row


def accelerator_cycles(deploy, spec: Spec, images: np.ndarray) -> float:
    """Analytic cycles per image of the accelerator generated for this row's deploy form
    (default parallelism, the spec's mode): the latency axis of the trade-off."""
    from qpsnn.codegen.estimate import design_cycles
    from qpsnn.codegen.rtl import design
    from qpsnn.model.golden import run_golden

    rtl = design(deploy, mode=spec.rtl["mode"])
    return design_cycles(rtl, deploy, images, run_golden(deploy, images), back_to_back=False)["cycles_per_image"]


def run_seed(spec: Spec, data, cfg: StudyConfig, seed: int, targets: list[str], log) -> dict:
    """All rows for one seed: {row label: measurements}."""
    from qpsnn.model.metrics import spec_connections
    from qpsnn.model.prune import prune_model
    from qpsnn.model.train import train_model

    epochs = spec.train["epochs"] if cfg.epochs is None else cfg.epochs
    finetune = spec.prune["finetune_epochs"] if cfg.finetune_epochs is None else cfg.finetune_epochs
    base = with_changes(spec, train={"seed": seed, "epochs": epochs},
                        prune={"seed": seed, "finetune_epochs": finetune, "ratios": {}})
    reference = spec_connections(base, data.input_shape)
    rows: dict = {}

    def timed(label, fn):
        start = time.perf_counter()
        result = fn()
        result[1]["wall_s"] = round(time.perf_counter() - start, 2)
        rows[label] = result[1]
        log(f"seed {seed} | {label}: accuracy {result[1]['accuracy']:.4f} "
            f"({result[1]['wall_s']:.0f} s)")
        return result[0]

    def quant(bits, gamma):
        return with_changes(base, quant={"bits": bits, "first_bits": bits, "gamma": gamma})

    def train(s, quantized):
        model = train_model(s, data, verbose=0, quantized=quantized)
        return model, measure(s, model, data, reference, quantized)

    full = timed("full precision", lambda: train(base, False))
    models = {}
    for gamma, label in (("none", "baseline"), ("mean", "ReScaW")):
        for b in cfg.bits:
            s = quant(b, gamma)
            models[(gamma, b)] = timed(f"{label} {b}-bit", lambda s=s: train(s, True))
    four = quant(cfg.prune_bits, "mean")
    trained4 = models.get(("mean", cfg.prune_bits))
    if trained4 is None:
        trained4 = timed(f"ReScaW {cfg.prune_bits}-bit", lambda: train(four, True))

    def pruned(source_model, method, ratio, order):
        s = with_changes(four, prune={"method": method, "order": order,
                                      "ratios": {name: ratio for name in targets}})
        pspec, model, info = prune_model(s, source_model, data, verbose=0)
        row = measure(pspec, model, data, reference, True)
        row.update(scoring_s=info["scoring_s"], svd_s=info["svd_s"], channels=info["channels"])
        return model, row

    for method in cfg.methods:
        for ratio in cfg.ratios:
            timed(f"{method} {ratio:g}", lambda m=method, r=ratio: pruned(trained4, m, r, "quantize_first"))
    timed(f"order: prune then quantize (svs {cfg.order_ratio:g})",
          lambda: pruned(full, "svs", cfg.order_ratio, "prune_first"))
    if f"svs {cfg.order_ratio:g}" not in rows:
        timed(f"svs {cfg.order_ratio:g}", lambda: pruned(trained4, "svs", cfg.order_ratio, "quantize_first"))
    return rows


def summarise(per_seed: dict) -> list[dict]:
    """Mean and standard deviation over seeds of every numeric figure of every row."""
    labels = list(next(iter(per_seed.values())))
    out = []
    for label in labels:
        runs = [per_seed[s][label] for s in per_seed]
        row = {"row": label, "seeds": len(runs)}
        for key in ("accuracy", "float_accuracy", "connections_pct", "size_bytes", "sops_per_image",
                    "cycles_per_image", "scoring_s", "svd_s", "wall_s"):
            vals = [r[key] for r in runs if r.get(key) is not None]
            if vals:
                row[key] = float(np.mean(vals))
                row[key + "_std"] = float(np.std(vals))
        row["firing_rate"] = {n: float(np.mean([r["firing_rate"][n] for r in runs])) for n in runs[0]["firing_rate"]}
        out.append(row)
    return out


def markdown(summary: list[dict], spec: Spec, cfg: StudyConfig) -> str:
    lif_names = list(summary[0]["firing_rate"])
    head = ("| row | accuracy % (mean ± sd) | connections % | size (bytes) | SOPs / image | cycles / image | "
            + " | ".join(f"rate {n}" for n in lif_names) + " | scoring s |")
    lines = [head, "|" + "---|" * (7 + len(lif_names))]
    for r in summary:
        sops = f"{r['sops_per_image']:,.0f}" if "sops_per_image" in r else "-"
        cycles = f"{r['cycles_per_image']:,.0f}" if "cycles_per_image" in r else "-"
        score = f"{r['scoring_s']:.2f}" if "scoring_s" in r else "-"
        rates = " | ".join(f"{r['firing_rate'][n]:.3f}" for n in lif_names)
        lines.append(f"| {r['row']} | {100 * r['accuracy']:.2f} ± {100 * r['accuracy_std']:.2f} | "
                     f"{r['connections_pct']:.1f} | {r['size_bytes']:,.0f} | {sops} | {cycles} | {rates} | {score} |")
    return "\n".join(lines) + "\n"


def log_line(text: str) -> None:
    print(text, flush=True)


def run_table(spec: Spec, cfg: StudyConfig, out_json: str, log=log_line) -> dict:
    """Run the study and write `out_json` (and the Markdown table beside it) atomically."""
    from qpsnn.model.data import load_spec_data
    from qpsnn.spec import check_with_data

    targets = check_config(spec, cfg)
    check_with_data(spec)       # what `qpsnn validate` checks
    data = load_spec_data(spec)
    start = time.perf_counter()
    per_seed = {}
    for seed in counted(cfg.seeds, "seeds"):
        per_seed[str(seed)] = run_seed(spec, data, cfg, seed, targets, log)
    summary = summarise(per_seed)
    result = {"name": spec.name, "spec": spec.to_dict(), "config": dataclasses.asdict(cfg),
              "pruned_layers": targets, "test_images": int(len(data.y_test)),
              "wall_s": round(time.perf_counter() - start, 1), "rows": summary, "per_seed": per_seed}
    table = markdown(summary, spec, cfg)
    os.makedirs(os.path.dirname(os.path.abspath(out_json)), exist_ok=True)
    for path, text in ((out_json, json.dumps(result, indent=1)), (os.path.splitext(out_json)[0] + ".md", table)):
        write_atomic(path, text)
    log(table)
    return result
