"""Analytic cycle model of the generated accelerator, layer by layer (in the spirit of FINN:
each layer knows its own cycles; the network's latency follows from how the layers overlap,
its throughput is set by the slowest).

Every weight layer is a producer (conv_window or vector_serializer) feeding an accumulate
engine with the element stream of codegen/element_stream.py. The producer spends one cycle
per element it sends; a serializer spends one on an input beat with nothing to send, a
window nothing on a silent tap (its walker hands on live taps only); the engine takes an element when it is free and is busy G = N_OUT/PE cycles for a
non-zero element (one for a zero one); a finished position waits for the output register
in a shadow of its sums, so the next position accumulates while the last one's currents go out. Which elements
are zero is data: the model takes the golden model's spikes for the images and replays the
handshakes of every element, so it predicts the cycles of exactly those images.

Overlap: a conv_window starts a window as soon as the rows it reads have arrived (it takes
its input map as it streams in); a dense layer's serializer takes each input beat as it
arrives; a max-pool stage hands a beat on in one cycle. A LIF layer walks the engine's beat
in F = ceil(N / LANES) * T update slots while it stays in the engine's output register,
starting the cycle it is presented: it takes the beat F - 1 cycles later (the engine loads
its next beat from the cycle after) and hands the spikes on LIF_CYCLES after the take.
"""

from __future__ import annotations

import numpy as np

from qpsnn.codegen.element_stream import sent
from qpsnn.model.deploy import Deploy
from qpsnn.model.golden import GoldenTrace, im2col, maxpool

STAGE_CYCLES = 1        # a beat handed on through a register stage (max-pool)
LIF_CYCLES = 4          # a LIF layer's last slot to its spikes out: its stages B and C, assembled, output register
READOUT_CYCLES = 4      # readout: take the beat, the scan's two stages, hand over the output (plus one per step and per class)
ACCUMULATE_CYCLES = 4   # an engine's pipeline after the take: the ROM address registered, its read, its output register, the products summed, the accumulate
NOMINAL_CLOCK_MHZ = 100.0   # the clock the microseconds and frames per second assume


def layer_inputs(deploy: Deploy, images: np.ndarray, trace: GoldenTrace) -> dict:
    """Weight layer name -> its input elements (N, positions, elements) in the order the
    engine takes them: nonzero where any of the element's T spikes (or its pixel) is."""
    x = images.astype(np.int64)
    timed = False
    out = {}
    for layer in deploy.layers:
        kind = layer["type"]
        if kind in ("conv", "dense"):
            active = x if not timed else x.max(axis=1)       # element active at any step
            if kind == "conv":
                cols = im2col(active, layer["kernel"], layer["stride"], layer["padding"])
                out[layer["name"]] = cols.reshape(len(images), -1, cols.shape[-1])
            else:
                out[layer["name"]] = active.reshape(len(images), 1, -1)
            timed = True
        elif kind == "lif":
            x = trace.spikes[layer["name"]]
        elif kind == "maxpool":
            x = maxpool(x, layer["size"])
        elif kind == "flatten" and timed:
            x = x.reshape(x.shape[0], x.shape[1], -1)
    return out


class LifWalk:
    """The handshakes of a LIF layer fed by an engine: a beat presented at `out` is walked in
    `slots` update slots from the first cycle slot 0 may start, and taken in the last.
    Slot 0 waits while the beat before is in stage C and the output register still holds the
    one before that, which only a single-slot walk (F = 1) meets: two cycles after that take."""

    def __init__(self, n: int, slots: int):
        self.slots = slots
        self.takes: list[np.ndarray] = []
        self.last = [np.full(n, -np.inf)] * 2      # the last two takes

    def walk(self, out: np.ndarray) -> np.ndarray:
        before, last = self.last
        # the spikes of a beat taken at c are presented at c + LIF_CYCLES for one cycle
        blocked = (out == last + 2) & (last + 2 == before + LIF_CYCLES)
        take = out + blocked + self.slots - 1
        self.last = [last, take]
        self.takes.append(take)
        return take


class EngineReplay:
    """The handshakes of one accumulate engine and its producer, for N images at once."""

    def __init__(self, n: int, groups: int, mode: str, consumer: LifWalk | None = None):
        """`consumer`: the LIF layer that walks each beat in the output register (None: the
        consumer takes a beat the cycle it is presented)."""
        self.groups, self.dense, self.consumer = groups, mode == "dense", consumer
        self.taken = np.full(n, -np.inf)        # the last beat left the output register
        self.ready = np.zeros(n)      # first cycle the engine can take an element
        self.first_take = np.full(n, np.nan)
        self.outs = [np.full(n, -np.inf)] * 2   # the last two positions' output cycles
        self.work_done = np.full(n, -np.inf)    # the position's last accumulate is done
        self.register_free = np.full(n, -np.inf)  # the producer's output register can take an element

    def vector(self, accept, mask, values):
        """The producer's serializer takes a vector at cycle `accept` (N,) and sends the
        elements in `mask` (N, E) through its output register: an element is picked into the
        register (from the cycle after the accept, once the register is empty or being taken)
        and the engine takes it the cycle after at the earliest. Returns (the cycle the
        serializer takes its next vector: when the last element is picked, or the cycle after
        the accept for a vector with nothing to send; the last element's take cycle)."""
        pick = np.maximum(accept + 1.0, self.register_free)
        last_pick = accept + 1.0
        last_take = np.zeros(len(accept))
        for k in range(mask.shape[1]):
            m = mask[:, k]
            take = np.maximum(pick + 1, self.ready)
            worked = self.dense | (values[:, k] != 0)
            self.first_take = np.where(m & np.isnan(self.first_take), take, self.first_take)
            self.ready = np.where(m, take + np.where(worked, self.groups, 1), self.ready)
            # its last group's weights are read G - 1 cycles after the take, then summed, then accumulated
            self.work_done = np.where(m & worked, take + self.groups + ACCUMULATE_CYCLES, self.work_done)
            self.register_free = np.where(m, take, self.register_free)
            last_pick = np.where(m, pick, last_pick)
            last_take = np.where(m, take, last_take)
            pick = np.where(m, take, pick)          # the next element is picked as this one is taken
        return last_pick, last_take

    def finish_position(self, last_take):
        """After the position's last element: the cycle its currents are handed on. The
        finished position is copied into the shadow (the cycle after its last accumulate) once
        the position before has left it, and goes on into the output register once the
        consumer has taken the beat before: its currents are presented two cycles after the
        later of the two. The next position accumulates meanwhile; position p+2 starts once
        position p has left the shadow (a cycle before its currents are presented)."""
        finished = np.maximum(last_take + 1, self.work_done)     # its elements are all in and summed
        self.work_done = np.full(len(last_take), -np.inf)
        out = np.maximum(finished, self.taken) + 2      # copied into the shadow, then the currents
        self.taken = self.consumer.walk(out) if self.consumer else out
        self.outs = [self.outs[-1], out]
        self.ready = np.maximum(self.ready, self.outs[0] - 1)   # p has left the shadow: p+1 will go in
        return out


def window_ready(layer: dict, in_shape: tuple, arrivals: np.ndarray) -> np.ndarray:
    """The first cycle each window of a conv layer can be taken (N, positions): once the last
    input pixel of its bottom row (clipped to the map) is in and the walker has seen it. `arrivals` (N, H*W) is the
    cycle each input pixel is taken."""
    h, w = in_shape
    oh, ow = layer["out_shape"][:2]
    k, stride = layer["kernel"], layer["stride"]
    pad_t = layer["padding"][0]
    rows = np.minimum(np.arange(oh) * stride + k - pad_t, h)        # rows each window row reads
    # the walker's registered check sees a complete row (or map) a cycle after it is written,
    # and takes the window with its registered flags a cycle after that
    ready = arrivals[:, rows * w - 1] + 3                            # (N, OH)
    return np.repeat(ready, ow, axis=1)


def conv_layer(replay: EngineReplay, ready, elems, channels: int):
    """conv_window + engine: window p may start at cycle ready[:, p], elems (N, positions, K*K*C).
    The walker takes a window in the cycle it hands on the previous window's last tap, once
    its rows are in (window_ready), two cycles after the window before at the earliest; from the next
    cycle it hands one live tap per cycle into the vector register (the map's read) when that
    is empty or moving on; the vector moves into the serializer's two-entry input buffer when
    that holds at most one (the cycle after the serializer took the vector two before), and
    the serializer takes it when it is done with the vector before and sends its elements as
    the engine takes them."""
    n, positions, n_in = elems.shape
    mask = sent(elems, not replay.dense)
    taps = n_in // channels
    handed_last = np.full(n, -np.inf)   # the walker handed on the previous window's last tap
    # the vector register can take the next live tap: the cycle after the last one went in,
    # and not before that one moved on into the serializer's input buffer
    can_hand = np.full(n, -np.inf)
    take = np.full(n, -np.inf)          # the serializer took the last live tap
    take_before = np.full(n, -np.inf)   # ... and the live tap before that
    serializer_free = np.full(n, -np.inf)  # the serializer takes its next vector
    out = np.zeros((n, positions))
    taken = np.full(n, -np.inf)
    for p in range(positions):
        # the walker takes window p (its flags registered: two cycles after the window before)
        taken = np.maximum.reduce([handed_last, ready[:, p], taken + 2])
        can_hand = np.maximum(taken + 1, can_hand)       # its first live tap, after the take
        for tap in range(taps):
            cols = slice(tap * channels, (tap + 1) * channels)
            # a live tap has an element to send; the last always (it carries last)
            live = mask[:, p, cols].any(axis=1) | (tap == taps - 1)
            hand_here = can_hand                               # into the vector register
            move_here = np.maximum(hand_here + 1, take_before + 1)   # the buffer holds at most one
            take_here = np.maximum(move_here + 1, serializer_free)
            next_take, last_take = replay.vector(take_here, mask[:, p, cols] & live[:, None], elems[:, p, cols])
            if tap == taps - 1:
                handed_last = hand_here
            take_before, take = np.where(live, take, take_before), np.where(live, take_here, take)
            serializer_free = np.where(live, next_take, serializer_free)
            can_hand = np.where(live, np.maximum(hand_here + 1, move_here), can_hand)
        out[:, p] = replay.finish_position(last_take)
    return out


def dense_layer(replay: EngineReplay, arrivals, elems, lanes: int):
    """vector_serializer + engine: input beat b arrives at `arrivals[:, b]`, elems (N, 1, n_in)."""
    elems = elems[:, 0]
    mask = sent(elems, not replay.dense)
    free = np.full(len(elems), -np.inf)     # the serializer can take its next beat from here
    for b in range(arrivals.shape[1]):
        take = np.maximum(arrivals[:, b], free)
        cols = slice(b * lanes, (b + 1) * lanes)
        free, last_take = replay.vector(take, mask[:, cols], elems[:, cols])
    return replay.finish_position(last_take)[:, None]


def grouped(elems: np.ndarray, simd: int) -> np.ndarray:
    """(N, positions, n_in) non-negative inputs -> (N, positions, n_in/simd) elements of SIMD
    inputs in a row: non-zero where any of its inputs is."""
    n, positions, n_in = elems.shape
    return elems.reshape(n, positions, n_in // simd, simd).max(axis=-1)


def cycle_model(deploy: Deploy, layer_pe: dict, images: np.ndarray, trace: GoldenTrace,
                mode: str = "event", layer_simd: dict | None = None, layer_lanes: dict | None = None) -> dict:
    """Predicted cycles per image: each weight layer's own cycles and the network latency
    (mean over the images), and the bottleneck layer. `layer_pe` / `layer_simd`: the design's
    outputs per cycle and inputs per element of each weight layer (SIMD default 1);
    `layer_lanes`: neurons updated per cycle of each LIF layer (default: its engine's PE, as
    the generator)."""
    layer_simd, layer_lanes = layer_simd or {}, layer_lanes or {}
    T = deploy.time_steps
    # each LIF layer's update slots per beat, and the engine feeding it
    slots, fed_by, engine = {}, {}, None
    for layer in deploy.layers:
        if layer["type"] in ("conv", "dense"):
            engine = layer["name"]
        elif layer["type"] == "lif":
            lanes = layer_lanes.get(layer["name"], layer_pe[engine])
            slots[layer["name"]] = -(-layer["out_shape"][-1] // lanes) * T
            fed_by[engine] = layer["name"]
    inputs = layer_inputs(deploy, images, trace)
    n = len(images)
    h, w, c = deploy.meta["input"]["shape"]
    # the stream feeding the next layer: the cycle each beat is presented (the input: one
    # pixel per cycle from cycle 0), its map shape and its elements per beat
    times, shape, lanes = np.tile(np.arange(h * w, dtype=float), (n, 1)), (h, w), c
    per_layer, walks = {}, {}
    for layer in deploy.layers:
        kind = layer["type"]
        if kind == "lif":     # its spikes out LIF_CYCLES after it took the beat
            times = np.stack(walks[layer["name"]].takes, axis=1) + LIF_CYCLES
            continue
        if kind == "maxpool":    # a pooled pixel leaves when the last pixel of its 2x2 block is in
            grid = times.reshape(n, shape[0], shape[1])
            shape = (shape[0] // 2, shape[1] // 2)
            times = grid[:, 1::2, 1::2][:, :shape[0], :shape[1]].reshape(n, -1) + STAGE_CYCLES
            continue
        if kind not in ("conv", "dense"):
            continue
        n_out = deploy.array(layer["weights"]).shape[-1]
        lif = fed_by.get(layer["name"])
        if lif:
            walks[lif] = LifWalk(n, slots[lif])
        replay = EngineReplay(n, n_out // layer_pe[layer["name"]], mode, walks.get(lif))
        simd = layer_simd.get(layer["name"], 1)
        elems = grouped(inputs[layer["name"]], simd)
        if kind == "conv":
            ready = window_ready(layer, shape, times)
            times = conv_layer(replay, ready, elems, lanes // simd)
            shape = tuple(layer["out_shape"][:2])
        else:
            times = dense_layer(replay, times, elems, lanes // simd)
            shape = (1, 1)
        per_layer[layer["name"]] = float((times[:, -1] + 1 - replay.first_take).mean())
        lanes = n_out
    n_classes = lanes
    latency = times[:, -1] + READOUT_CYCLES + deploy.time_steps + n_classes
    # back to back, an image enters when the slowest layer (or the input stream) is free
    interval = max(max(per_layer.values()), h * w)
    return {"cycles_per_layer": per_layer, "cycles_per_image": float(latency.mean()),
            "cycles_per_image_each": latency, "bottleneck": max(per_layer, key=per_layer.get),
            "clock_mhz": NOMINAL_CLOCK_MHZ,
            "estimated_latency_ns": float(latency.mean()) * 1e3 / NOMINAL_CLOCK_MHZ,
            "estimated_throughput_fps": NOMINAL_CLOCK_MHZ * 1e6 / interval}


def design_cycles(design, deploy: Deploy, images: np.ndarray, trace: GoldenTrace) -> dict:
    """cycle_model of a generated design (codegen.rtl.RtlDesign): its mode and knobs."""
    return cycle_model(deploy, design.layer_pe, images, trace, design.mode, design.layer_simd, design.layer_lanes)
