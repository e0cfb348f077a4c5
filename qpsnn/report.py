"""The human report: DIR/report.md from DIR/report.json (the machine contract)."""

from __future__ import annotations

from qpsnn.codegen.resources import RESOURCE_KEYS


def _pct(x) -> str:
    return f"{100 * x:.1f}%"


def _table(header: list[str], rows: list[list]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + \
        ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def markdown(report: dict) -> str:
    lines = [f"# qpsnn report: {report['name']}", ""]
    acc = report.get("accuracy", {})
    model = report.get("model", {})
    if acc:
        lines += [f"Hold-out images: {acc['test_images']}; accuracy of the float QKeras model "
                  f"{_pct(acc['float_model'])}, of the integer golden model {_pct(acc['golden'])} "
                  f"(agreement {_pct(acc['float_golden_agreement'])}).", ""]
    if model:
        lines += [f"Model: {model['params']:,} parameters, {model['size_bytes']:,} bytes, "
                  f"{model['connections_pct']:.1f}% of the connections; {model['bits']}-bit hidden weights.", ""]
    sops = report.get("sops")
    if sops:
        lines += [f"Synaptic operations per image: {sops['sops_per_image']:,.0f} (plus "
                  f"{sops['first_layer_macs']:,} multiply-accumulates of the analog first layer); "
                  f"energy in the SNN literature's style {sops['energy']['nj_per_image']:.1f} nJ per image "
                  f"({sops['energy']['source']}).", ""]
    checks = report.get("bit_exact", {})
    if checks:
        lines += ["## Bit-exact checks (every value of every time step)", ""]
        lines += _table(["check", "images", "mismatches"],
                        [[name, c["images"], c["mismatches"]] for name, c in checks.items()])
        lines.append("")
    lat = report.get("latency")
    if lat:
        clock = lat["clock_mhz_assumed"]
        lines += ["## Cycles", "",
                  f"Per image, measured in simulation: {lat['cycles_per_image_measured']:,.0f} mean, "
                  f"{lat['cycles_per_image_max']:,} max; analytic {lat['cycles_per_image_analytic']:,.0f} "
                  f"(measured / analytic {lat['measured_over_analytic']:.3f}); "
                  f"{lat['cycles_per_image_measured'] / clock:.1f} us at a nominal {clock:.0f} MHz. "
                  f"Bottleneck: {lat['bottleneck']}.", ""]
        lines += _table(["layer", "cycles (analytic, mean)"],
                        [[k, f"{v:,.0f}"] for k, v in lat["cycles_per_layer_analytic"].items()])
        lines.append("")
    rates = report.get("firing_rate")
    if rates:
        lines += ["## Firing rate per LIF layer (spikes per neuron per step)", ""]
        lines += _table(["layer", "rate"], [[k, f"{v:.3f}"] for k, v in rates.items()])
        lines.append("")
    res = report.get("resources")
    if res:
        syn = res["synthesis"]
        lines += ["## Resources (Xilinx 7-series)", ""]
        if "top" in syn:
            lines += [f"Analytic model next to {syn['tool']} `{syn['flow']}` ({syn['seconds']} s).", ""]
            header = ["layer"] + [f"{k} analytic / Yosys" for k in RESOURCE_KEYS]
            rows = [[layer] + [f"{r['analytic'][k]:,} / {r['yosys'][k]:,}" for k in RESOURCE_KEYS]
                    for layer, r in res["per_layer"].items()]
            rows.append(["**total**"] + [f"{res['analytic']['total'][k]:,} / {syn['top'][k]:,}"
                                         for k in RESOURCE_KEYS])
        else:
            lines += [f"Analytic model only; synthesis skipped: {syn['skipped']}.", ""]
            header = ["layer"] + [f"{k} analytic" for k in RESOURCE_KEYS]
            rows = [[layer] + [f"{r['analytic'][k]:,}" for k in RESOURCE_KEYS] for layer, r in res["per_layer"].items()]
            rows.append(["**total**"] + [f"{res['analytic']['total'][k]:,}" for k in RESOURCE_KEYS])
        lines += _table(header, rows)
        lines.append("")
        fit = res.get("part")
        if fit:
            use = ", ".join(f"{k} {v}%" for k, v in fit["utilization_pct"].items())
            lines += [f"Part {fit['part']} ({fit['counted']} counts): {use}."
                      + (" **Does not fit**: " + ", ".join(f"{k} +{v:,}" for k, v in fit["overshoot"].items())
                         if fit["overshoot"] else " It fits."), ""]
    timing = report.get("timing_s")
    if timing:
        lines += ["## Wall time per step (s)", ""]
        lines += _table(["step", "seconds"], [[k, v] for k, v in timing.items()])
        lines.append("")
    return "\n".join(lines)
