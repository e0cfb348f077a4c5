"""Size, connections and synaptic operations of a network (METHOD.md section 6 conventions):
model size counts quantized weights at their bits and full-precision ones (biases) at 32 bits;
SOPs = sum over spiking-input layers of (firing rate of the layer's input) x MACs x T."""

from __future__ import annotations

import numpy as np

from qpsnn.model.golden import maxpool, sumpool
from qpsnn.spec import Spec, infer_shapes


def spec_connections(spec: Spec, input_shape) -> int:
    """Synaptic connections (MACs of one time step) of the network a spec describes."""
    total = 0
    shape = tuple(input_shape)
    for layer, out_shape in zip(spec.layers, infer_shapes(spec, input_shape)):
        if layer["type"] == "conv":
            total += layer["kernel"] ** 2 * shape[2] * int(np.prod(out_shape))
        elif layer["type"] == "dense":
            total += shape[0] * out_shape[0]
        shape = out_shape
    return int(total)


def layer_macs(layer: dict) -> int:
    if layer["type"] == "conv":
        return layer["kernel"] ** 2 * layer["in_shape"][2] * int(np.prod(layer["out_shape"]))
    return layer["in_shape"][0] * layer["out_shape"][0]


def model_stats(deploy, spec: Spec, reference_connections: int | None = None) -> dict:
    """Parameters, connections (and their % of `reference_connections`, the unpruned network)
    and size in bytes of a deploy form."""
    params = size_bits = connections = 0
    for layer in deploy.layers:
        if layer["type"] in ("conv", "dense"):
            w, b = deploy.array(layer["weights"]), deploy.array(layer["bias"])
            params += w.size + b.size
            size_bits += w.size * layer["bits"] + b.size * 32
            connections += layer_macs(layer)
    reference = reference_connections or connections
    return {"bits": spec.quant["bits"], "first_bits": spec.quant["first_bits"],
            "last_bits": spec.quant["last_bits"], "gamma": spec.quant["gamma"],
            "params": int(params), "connections": int(connections),
            "connections_pct": 100.0 * connections / reference, "size_bytes": int(np.ceil(size_bits / 8))}


def synaptic_ops(deploy, trace, images=None) -> dict:
    """Per image: SOPs of the spiking-input layers (rate x MACs x T, the rate measured on the
    golden trace; for event frames, `images`, the mean count: an event of count c is c
    operations) and the MACs of the analog first layer (computed once: direct encoding)."""
    T = deploy.time_steps
    per_layer = {}
    first_macs = 0
    x = images if images is not None and np.ndim(images) == 5 else None   # the current spikes (N, T, ...)
    for layer in deploy.layers:
        kind = layer["type"]
        if kind in ("conv", "dense"):
            if layer["input"] == "analog":
                first_macs = layer_macs(layer)
            else:
                per_layer[layer["name"]] = float(x.mean()) * layer_macs(layer) * T
        elif kind == "lif":
            x = trace.spikes[layer["name"]]
        elif kind == "maxpool" and x is not None:
            x = maxpool(x, layer["size"])
        elif kind == "sumpool" and x is not None:
            x = sumpool(x, layer["size"])
    sops = float(sum(per_layer.values()))
    return {"sops_per_image": sops, "sops_per_layer": per_layer, "first_layer_macs": int(first_macs),
            "energy": energy_per_image(sops, first_macs)}


# The SNN literature's per-operation energies: an accumulate (a synaptic operation on a
# spike) and a multiply-accumulate (the analog first layer), 32-bit float in 45 nm CMOS, from
# M. Horowitz, "Computing's energy problem", ISSCC 2014 (as used by QP-SNN and most SNN papers).
E_AC_PJ, E_MAC_PJ = 0.9, 4.6


def energy_per_image(sops: float, first_layer_macs: int) -> dict:
    """The literature-style estimate: SOPs x E_AC + first-layer MACs x E_MAC (not a measurement
    of this accelerator, whose integer adders cost less)."""
    nj = (sops * E_AC_PJ + first_layer_macs * E_MAC_PJ) / 1000.0
    return {"nj_per_image": nj, "pj_per_ac": E_AC_PJ, "pj_per_mac": E_MAC_PJ,
            "source": "Horowitz, ISSCC 2014, 45 nm, 32-bit float: E_AC 0.9 pJ, E_MAC 4.6 pJ"}
