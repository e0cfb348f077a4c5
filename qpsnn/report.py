"""The human report: DIR/report.md and DIR/report.html from DIR/report.json (the machine
contract). The HTML is the Markdown text (one source for both) with four plots drawn by
matplotlib as inline SVG: resources per layer (analytic next to Yosys), cycles per layer,
firing rate per LIF layer, and the accuracy / size / latency trade-off across a compression
table (`qpsnn table`) when one is given. The page is self-contained: no script, no network.
"""

from __future__ import annotations

import html as html_escape
import io

from qpsnn.codegen.resources import RESOURCE_KEYS

BLUE, ORANGE = "#1f77b4", "#ff7f0e"     # analytic / Yosys (and highlights); the browser test looks for them


def _pct(x) -> str:
    return f"{100 * x:.1f}%"


def _table(header: list[str], rows: list[list]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + \
        ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def _at_fmax(lat: dict) -> str:
    at = lat.get("latency_us", {}).get("at_fmax")
    if not at:
        return ""
    if "images_per_s_measured" in at:
        rate = f", {at['images_per_s_measured']:,.0f} images/s back to back (simulated)"
    elif "images_per_s_predicted" in at:
        rate = f", {at['images_per_s_predicted']:,.0f} images/s back to back (cycle model)"
    else:
        rate = ""
    return f", {at['us_per_image']:.1f} us at the {at['clock_mhz']:.1f} MHz Fmax placed and routed" + rate


def _back_to_back(lat: dict) -> str:
    b2b = lat.get("back_to_back")
    if not b2b:
        return ""
    return (f" Back to back (the images streamed in order): {b2b['cycles_per_image_measured']:,.1f} cycles "
            f"per image measured, {b2b['cycles_per_image_analytic']:,.1f} analytic.")


def markdown(report: dict) -> str:
    lines = [f"# qpsnn report: {report['name']}", ""]
    acc = report.get("accuracy", {})
    model = report.get("model", {})
    if report.get("data", {}).get("source"):
        lines += [f"Data: {report['data']['source']}; {report['data'].get('train_images', 0):,} training images.", ""]
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
    checks = {name: c for name, c in report.get("bit_exact", {}).items() if "mismatches" in c}
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
                  f"{lat['cycles_per_image_measured'] / clock:.1f} us at a nominal {clock:.0f} MHz"
                  + _at_fmax(lat) + f". Bottleneck: {lat['bottleneck']}." + _back_to_back(lat), ""]
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
    fmax = report.get("fmax")
    if fmax:
        lines += ["## Fmax (place and route)", ""]
        if "fmax_mhz" in fmax:
            use = ", ".join(f"{k} {v:,}" for k, v in fmax["utilization"].items())
            lines += [f"{fmax['fmax_mhz']:.1f} MHz on {fmax['device']} (Yosys synth_ecp5 + nextpnr-ecp5, out of "
                      f"context, {fmax['seconds']:.0f} s; the resource table above is for Xilinx 7-series, a "
                      f"different family). Cells: {use}."
                      + (f" Critical path {fmax['critical_path']['ns']} ns through "
                         f"{' -> '.join(fmax['critical_path']['through'])}." if fmax.get("critical_path") else ""), ""]
        else:
            lines += [f"Not run: {fmax['skipped']}.", ""]
    structure = report.get("structure")
    if structure:
        lines += ["## RTL structure (pyverilog)", "",
                  f"{structure['instances']} instances of {len(structure['modules'])} modules, "
                  f"{structure['rom_bits']:,} ROM bits in {len(structure['memories'])} memory files; "
                  + ("every layer present with the parameters, stream widths and weight ROMs the deploy "
                     "form implies." if not structure["problems"] else
                     "**differences from the deploy form**: " + "; ".join(structure["problems"])), ""]
    steps = report.get("steps")
    if steps:
        lines += ["## Steps (what DIR holds; only current results are in this report)", ""]
        lines += _table(["step", "status", "key", "this run"],
                        [[name, s["status"], s.get("key", ""), s.get("cache", "")] for name, s in steps.items()])
        lines.append("")
    timing = report.get("timing_s")
    if timing:
        lines += ["## Wall time per step (s)", ""]
        lines += _table(["step", "seconds"], [[k, v] for k, v in timing.items()])
        lines.append("")
    return "\n".join(lines)


def _svg(fig) -> str:
    import matplotlib.pyplot as plt
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _bars(ax, labels, series: dict, ylabel: str, title: str):
    """Grouped bars: one group per label, one bar per series (name -> values, colour)."""
    import numpy as np
    width = 0.8 / len(series)
    x = np.arange(len(labels))
    for i, (name, (values, color)) in enumerate(series.items()):
        ax.bar(x + (i - (len(series) - 1) / 2) * width, values, width, label=name, color=color)
    ax.set_xticks(x, labels, rotation=30 if len(labels) > 6 else 0)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if len(series) > 1:
        ax.legend()


def figures(report: dict, table: dict | None = None) -> dict:
    """name -> (caption, inline SVG, or None with the reason there is no plot)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker  # noqa: F401  (the size axis' formatters)

    out = {}
    res = report.get("resources")
    if res:
        layers = list(res["per_layer"])
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
        for ax, key in zip(axes, ("LUT", "FF")):
            series = {"analytic": ([res["per_layer"][n]["analytic"][key] for n in layers], BLUE)}
            if "top" in res["synthesis"]:
                series["Yosys synth_xilinx"] = ([res["per_layer"][n]["yosys"][key] for n in layers], ORANGE)
            _bars(ax, layers, series, key, f"{key} per layer")
        out["resources"] = ("Resources per layer: the analytic model next to Yosys", _svg(fig))
    else:
        out["resources"] = ("Resources per layer", None, "no RTL in this run")
    lat = report.get("latency")
    if lat:
        per = lat["cycles_per_layer_analytic"]
        fig, ax = plt.subplots(figsize=(6, 3.4))
        colors = [ORANGE if n == lat["bottleneck"] else BLUE for n in per]
        ax.bar(list(per), list(per.values()), color=colors)
        ax.set_ylabel("cycles per image (mean)")
        ax.set_title(f"Cycles per layer (analytic; bottleneck {lat['bottleneck']}); "
                     f"measured {lat['cycles_per_image_measured']:,.0f}")
        out["cycles"] = ("Cycles per weight layer, the analytic model (the bottleneck in orange)", _svg(fig))
    else:
        out["cycles"] = ("Cycles per layer", None, "no RTL simulation in this run")
    rates = report.get("firing_rate")
    if rates:
        fig, ax = plt.subplots(figsize=(5, 3.2))
        ax.bar(list(rates), list(rates.values()), color=BLUE)
        ax.set_ylabel("spikes per neuron per step")
        ax.set_title("Firing rate per LIF layer (hold-out images)")
        out["firing"] = ("Firing rate per LIF layer", _svg(fig))
    if table:
        rows = [r for r in table["rows"] if "size_bytes" in r]
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        have_cycles = any("cycles_per_image" in r for r in rows)
        groups: dict = {}       # a series per kind of row: full precision, baseline, ReScaW, each pruning method
        for r in rows:
            groups.setdefault(" ".join(t for t in r["row"].split() if not t[0].isdigit()), []).append(r)
        markers = "os^vD<>px*"
        for i, (kind, members) in enumerate(groups.items()):
            style = {"marker": markers[i % len(markers)], "color": f"C{i}", "label": kind}
            axes[0].scatter([r["size_bytes"] for r in members], [100 * r["accuracy"] for r in members], **style)
            timed = [r for r in members if "cycles_per_image" in r]
            if timed:
                axes[1].scatter([r["cycles_per_image"] for r in timed], [100 * r["accuracy"] for r in timed], **style)
        axes[0].set_xscale("log")
        axes[0].xaxis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axes[0].xaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
        axes[0].xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        axes[0].set(xlabel="model size (bytes, log)", ylabel="accuracy (%)", title="accuracy vs size")
        axes[0].legend(fontsize=7)
        axes[1].set(xlabel="accelerator cycles per image (analytic)", ylabel="accuracy (%)",
                    title="accuracy vs latency" if have_cycles else "no cycles in this table (re-run qpsnn table)")
        out["tradeoff"] = (f"Accuracy / size / latency across the compression table of {table['name']} "
                           f"({table['test_images']} hold-out images, mean of {len(table['config']['seeds'])} "
                           "seeds)", _svg(fig))
    else:
        out["tradeoff"] = ("Accuracy / size / latency trade-off", None,
                           "no compression table given: run `make table` (or `qpsnn table`), then "
                           "`qpsnn report --flow DIR --table TABLE.json`")
    return out


def html(report: dict, table: dict | None = None) -> str:
    """The report as one self-contained HTML page: the Markdown text, then the plots."""
    import markdown as md

    body = md.markdown(markdown(report), extensions=["tables"])
    parts = []
    for name, (caption, svg, *why) in figures(report, table).items():
        inner = svg if svg else f"<p class='none'>No plot: {html_escape.escape(why[0])}.</p>"
        parts.append(f"<figure id='fig-{name}'>{inner}<figcaption>{html_escape.escape(caption)}</figcaption></figure>")
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
             "text-align:right}th{background:#f3f3f3}figure{margin:1.5em 0}figure svg{max-width:100%;height:auto}"
             "figcaption{font-size:90%;color:#555}")
    title = html_escape.escape(f"qpsnn report: {report['name']}")
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
            f"<style>{style}</style></head><body>\n{body}\n<h2>Plots</h2>\n" + "\n".join(parts)
            + "\n</body></html>\n")


def load_table(path: str) -> dict:
    """A compression table written by `qpsnn table` (its JSON), or InputError naming the problem."""
    from qpsnn.errors import InputError
    from qpsnn.files import read_json
    table = read_json(path, "--table", "the JSON that `qpsnn table --out` wrote")
    if not isinstance(table, dict) or not isinstance(table.get("rows"), list) or not {"name", "config"} <= set(table):
        raise InputError(f"--table: {path} is not a compression table (expected the keys name, config, rows "
                         "that `qpsnn table` writes)")
    return table


def write_reports(out_dir: str, report: dict, table: dict | None = None) -> None:
    """report.md and report.html into out_dir, each replaced in one step (write, then rename)."""
    import os

    from qpsnn.files import write_atomic
    for name, text in (("report.md", markdown(report)), ("report.html", html(report, table))):
        write_atomic(os.path.join(out_dir, name), text)
