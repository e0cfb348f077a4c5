"""Analytic cycle model of the generated accelerator, layer by layer (in the spirit of FINN:
each layer knows its own cycles; the network's latency follows from how the layers overlap,
its throughput is set by the slowest).

Every weight layer is a producer (conv_window or vector_serializer) feeding an accumulate
engine with the element stream of codegen/element_stream.py. The producer spends one cycle
per element it sends; a serializer spends one on an input beat with nothing to send, a
window nothing on a silent tap (its walker hands on live taps only); the engine takes an
element when it is free and is busy G = N_OUT/PE cycles for a non-zero element (one for a
zero one); a finished position waits for the output register in a shadow of its sums, so the
next position accumulates while the last one's currents go out. Which elements are zero is
data: the model takes the golden model's spikes for the images and replays the handshakes of
every element, so it predicts the cycles of exactly those images.

The stages are replayed together, as the RTL runs them: each stage has `push(t)`, a beat
presented at cycle t, which returns the cycle the stage takes it, and pushes what the beat
completes on to the next stage. So a stage that cannot take a beat holds the one before
(back-pressure), and images streamed back to back overlap as far as the stages let them.
  - conv_window takes the pixels of a map while it has room (the next map once the walker
    has handed on the last window's last tap) and starts a window as soon as the rows it
    reads are in (it takes its input map as it streams in);
  - a dense layer's serializer takes an input beat when done with the one before;
  - a LIF layer walks the engine's beat in F = ceil(N / LANES) * T update slots while it
    stays in the engine's output register, starting the cycle it is presented: it takes the
    beat F - 1 cycles later and presents the spikes LIF_CYCLES after the take (a cycle more
    when its lanes pick among more than LIF_FLAT_PICK currents), or later if its consumer has
    not taken the spikes before;
  - a max-pool stage presents a pooled pixel the cycle after its block's last pixel and takes
    a pixel while its output is empty or being taken;
  - the readout takes a beat when idle.
A window streamed in passes (codegen/rtl.py's time_chunk) is replayed as its passes one after
the other, each pass's elements active where any of its own steps is.
"""

from __future__ import annotations

import numpy as np

from qpsnn.codegen.element_stream import line_buffer_rows, sent
from qpsnn.codegen.hw_choices import lif_pick_stages
from qpsnn.model.deploy import Deploy
from qpsnn.model.golden import GoldenTrace, im2col, maxpool, sumpool

STAGE_CYCLES = 1        # a beat handed on through a register stage (max-pool)
LIF_CYCLES = 4          # a LIF layer's last slot to its spikes out: its stages B and C, assembled, output register
READOUT_CYCLES = 4      # readout: take the beat, read a class, its pass's sum, hand over the output (plus one per class and tree level; two more to compare)
ACCUMULATE_CYCLES = 4   # an engine's pipeline after the take: the ROM address registered, its read, its output register, the products summed, the accumulate
NOMINAL_CLOCK_MHZ = 100.0   # the clock the microseconds and frames per second assume


def tree_lag(simd: int) -> int:
    """The cycles an engine's sum over SIMD inputs adds to ACCUMULATE_CYCLES: its adder tree's
    levels have a register each, the root's being the products' register of SIMD <= 2."""
    return max(0, int(simd - 1).bit_length() - 1)


def layer_inputs(deploy: Deploy, images: np.ndarray, trace: GoldenTrace, passes: int = 1) -> dict:
    """Weight layer name -> its input elements (N, passes, positions, elements) in the order
    the engine takes them: nonzero where any of the element's steps in the pass (or its
    pixel, the same every pass) is."""
    x = images.astype(np.int64)
    timed = x.ndim == 5          # event frames: an element is active at any step
    n = len(images)
    out = {}
    for layer in deploy.layers:
        kind = layer["type"]
        if kind in ("conv", "dense"):
            if timed:       # (N, T, ...) -> (N * passes, ...): active at any step of the pass
                active = x.reshape(n * passes, x.shape[1] // passes, *x.shape[2:]).max(axis=1)
            else:
                active = np.repeat(x, passes, axis=0)
            if kind == "conv":
                cols = im2col(active, layer["kernel"], layer["stride"], layer["padding"])
                out[layer["name"]] = cols.reshape(n, passes, -1, cols.shape[-1])
            else:
                out[layer["name"]] = active.reshape(n, passes, 1, -1)
            timed = True
        elif kind == "lif":
            x = trace.spikes[layer["name"]]
        elif kind == "maxpool":
            x = maxpool(x, layer["size"])
        elif kind == "sumpool":
            x = sumpool(x, layer["size"])
        elif kind == "flatten" and timed:
            x = x.reshape(x.shape[0], x.shape[1], -1)
    return out


class Lif:
    """A LIF layer fed by an accumulate engine: a beat presented at `out` is walked in `slots`
    update slots from the cycle slot 0 starts, and taken in the last; its spikes are presented
    LIF_CYCLES after the take (a cycle more with a pick in two stages), or two cycles after the
    consumer took the spikes before if that is later, and stay until the consumer takes them.
    Slot 0 starts the cycle the beat is presented, two cycles after the take before at the
    earliest, and not while the beat before waits for the output register and that still
    holds the one before: then the cycle after the consumer takes that one."""

    def __init__(self, n: int, slots: int, pick_stages: int = 1):
        self.slots, self.latency = slots, LIF_CYCLES + pick_stages - 1
        self.downstream = None
        self.last_take = np.full(n, -np.inf)
        self.spikes_taken = [np.full(n, -np.inf)] * 2     # the consumer took the last two beats' spikes

    def push(self, out):
        before, last = self.spikes_taken
        start = np.maximum(out, self.last_take + 2)
        start = np.where(start <= before, before + 1, start)
        take = start + self.slots - 1
        spikes = np.maximum(take + self.latency, last + 2)
        self.spikes_taken = [last, self.downstream.push(spikes)]
        self.last_take = take
        return take


class Pool:
    """pool2 (max or sum): takes a pixel when its output register is empty or being taken; a
    pooled pixel is presented the cycle after the last pixel of its 2x2 block is taken."""

    def __init__(self, n: int, shape: tuple):
        self.h, self.w = shape
        self.pixel = 0
        self.downstream = None
        self.out_taken = np.full(n, -np.inf)

    def push(self, t):
        take = np.maximum(t, self.out_taken)
        y, x = divmod(self.pixel, self.w)
        self.pixel = (self.pixel + 1) % (self.h * self.w)
        if x % 2 and y % 2:
            self.out_taken = self.downstream.push(take + STAGE_CYCLES)
        return take


class Readout:
    """readout: takes a beat when idle and scans its K classes one per cycle, each summed over
    the S steps of its pass by a tree of LEVELS = ceil(log2 S) registered levels: a pass before
    the last is received READOUT_CYCLES + K + LEVELS cycles after the take, an image's last
    (its classes compared, the class out) two cycles later."""

    def __init__(self, n: int, steps: int, classes: int, passes: int = 1):
        self.passes = passes
        self.scan = classes + max(0, int(steps - 1).bit_length())    # K + LEVELS
        self.free = np.full(n, -np.inf)
        self.done: list[np.ndarray] = []
        self.beat = 0

    def push(self, t):
        take = np.maximum(t, self.free)
        self.beat = (self.beat + 1) % self.passes
        if self.beat == 0:      # an image's last pass
            done = take + READOUT_CYCLES + self.scan + 2
            self.done.append(done)
        else:
            done = take + READOUT_CYCLES + self.scan
        self.free = done - 1
        return take


class EngineReplay:
    """The handshakes of one accumulate engine, for N independent streams at once (lanes)."""

    def __init__(self, n: int, groups: int, mode: str, simd: int = 1):
        self.groups, self.dense = groups, mode == "dense"
        self.pipeline = ACCUMULATE_CYCLES + tree_lag(simd)     # from a group's read to its accumulate
        self.consumer = None                    # the next stage: push(presented) -> taken
        self.taken = np.full(n, -np.inf)        # the last beat left the output register
        self.ready = np.zeros(n)      # first cycle the engine can take an element
        self.first_take = np.full(n, np.nan)
        self.last_out = np.full(n, np.nan)
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
        # a stream's elements one after the other: the first is taken once picked and the engine
        # is ready, each later one as soon as the engine is (it is picked as the one before is
        # taken, and the engine is busy at least that cycle), so the takes after the first are
        # the first's plus a running sum of the elements' busy cycles
        mask = mask.astype(bool)
        pick = np.maximum(accept + 1.0, self.register_free)
        first = np.maximum(pick + 1, self.ready)
        worked = self.dense | (values != 0)
        busy = np.where(mask, np.where(worked, self.groups, 1), 0)
        ends = first[:, None] + np.cumsum(busy, axis=1)            # element k's take + its busy cycles
        takes = np.where(mask, ends - busy, -np.inf)
        sent = mask.any(axis=1)
        last_take = takes.max(axis=1)
        # the last element was picked as the one before it was taken (the first: at `pick`)
        before = np.where(takes < last_take[:, None], takes, -np.inf).max(axis=1)
        last_pick = np.where(sent, np.where(np.isfinite(before), before, pick), accept + 1.0)
        done = np.where(mask & worked, takes, -np.inf).max(axis=1)
        self.first_take = np.where(sent & np.isnan(self.first_take), first, self.first_take)
        self.ready = np.where(sent, ends[:, -1], self.ready)
        # its last group's weights are read G - 1 cycles after the take, then summed, then accumulated
        self.work_done = np.where(np.isfinite(done), done + self.groups + self.pipeline, self.work_done)
        self.register_free = np.where(sent, last_take, self.register_free)
        return last_pick, np.where(sent, last_take, 0.0)

    def finish_position(self, last_take):
        """After the position's last element: its currents are presented to the consumer. The
        finished position is copied into the shadow (the cycle after its last accumulate) once
        the position before has left it, and goes on into the output register once the
        consumer has taken the beat before: its currents are presented two cycles after the
        later of the two. The next position accumulates meanwhile; position p+2 starts once
        position p has left the shadow (a cycle before its currents are presented)."""
        finished = np.maximum(last_take + 1, self.work_done)     # its elements are all in and summed
        self.work_done = np.full(len(last_take), -np.inf)
        out = np.maximum(finished, self.taken) + 2      # copied into the shadow, then the currents
        self.taken = self.consumer.push(out)
        self.outs = [self.outs[-1], out]
        self.last_out = out
        self.ready = np.maximum(self.ready, self.outs[0] - 1)   # p has left the shadow: p+1 will go in
        return out


class ConvStage:
    """conv_window + engine. The window takes a row of pixels into its line buffer of ROWS
    rows once the row ROWS before is free: the cycle after the walker handed on the last tap
    of the last window reading it (the rows before a window's successor's top are free after
    the window). A window may be taken once the last pixel of its bottom row (clipped to the
    map) is in and the walker has seen it (three cycles on: its registered check, then its
    registered flags). The walker takes a window in the cycle it hands on the previous
    window's last tap, two cycles after the window before at the earliest; from the next
    cycle it hands one live tap per cycle into the vector register (the map's read) when that
    is empty or moving on; the vector moves into the serializer's two-entry input buffer when
    that holds at most one (the cycle after the serializer took the vector two before), and
    the serializer takes it when it is done with the vector before and sends its elements as
    the engine takes them."""

    def __init__(self, replay: EngineReplay, layer: dict, in_shape: tuple, elems: np.ndarray, channels: int,
                 rows: int):
        self.replay, self.elems, self.channels, self.rows = replay, elems, channels, rows
        self.mask = sent(elems, not replay.dense)
        n = elems.shape[0]
        self.taps = elems.shape[-1] // channels
        h, w = in_shape
        oh, ow = layer["out_shape"][:2]
        k, stride, pad_t = layer["kernel"], layer["stride"], layer["padding"][0]
        bottoms = np.minimum(np.arange(oh) * stride + k - pad_t, h)     # the rows each window row reads
        tops = np.maximum(np.arange(oh) * stride - pad_t, 0)
        self.need = np.repeat(bottoms * w - 1, ow)           # the pixel each window waits for
        # each window frees the rows from its top to its successor's (the next map's first window's
        # after the last): rows a row of windows no longer reads, once its last window is through
        self.tops = np.repeat(tops, ow)
        self.frees = np.append(self.tops[1:], h + tops[0])
        self.h, self.w, self.pixels = h, w, h * w
        self.arrivals = np.zeros((n, h * w))
        self.pixel = self.position = self.image = 0
        self.free: dict[int, np.ndarray] = {}     # stream row -> the cycle its slot is free
        inf = np.full(n, -np.inf)
        self.handed_last = inf   # the walker handed on the previous window's last tap
        # the vector register can take the next live tap: the cycle after the last one went
        # in, and not before that one moved on into the serializer's input buffer
        self.can_hand = inf
        self.take = inf          # the serializer took the last live tap
        self.take_before = inf   # ... and the live tap before that
        self.serializer_free = inf   # the serializer takes its next vector
        self.taken = inf         # the walker took the last window

    def push(self, t):
        j = self.pixel
        take = t
        if j % self.w == 0:      # a row's first pixel waits for its slot
            row = self.image * self.h + j // self.w
            if row >= self.rows:
                take = np.maximum(t, self.free.pop(row - self.rows))
        self.arrivals[:, j] = take
        while self.position < len(self.need) and self.need[self.position] <= j:
            self.window(self.position)
            self.position += 1
        self.pixel = (j + 1) % self.pixels
        if self.pixel == 0:
            self.position, self.image = 0, self.image + 1
        return take

    def window(self, p):
        s, c = self.image, self.channels
        ready = self.arrivals[:, self.need[p]] + 3
        self.taken = np.maximum.reduce([self.handed_last, ready, self.taken + 2])
        self.can_hand = np.maximum(self.taken + 1, self.can_hand)      # its first live tap, after the take
        for tap in range(self.taps):
            cols = slice(tap * c, (tap + 1) * c)
            mask, values = self.mask[:, s, p, cols], self.elems[:, s, p, cols]
            # a live tap has an element to send; the last always (it carries last)
            live = mask.any(axis=1) | (tap == self.taps - 1)
            if not live.any():          # no stream hands this tap on: nothing changes
                continue
            hand_here = self.can_hand                                   # into the vector register
            move_here = np.maximum(hand_here + 1, self.take_before + 1)  # the buffer holds at most one
            take_here = np.maximum(move_here + 1, self.serializer_free)
            next_take, last_take = self.replay.vector(take_here, mask & live[:, None], values)
            if tap == self.taps - 1:
                self.handed_last = hand_here
                base = self.image * self.h
                for row in range(base + self.tops[p], base + self.frees[p]):
                    self.free[row] = hand_here + 1
            self.take_before = np.where(live, self.take, self.take_before)
            self.take = np.where(live, take_here, self.take)
            self.serializer_free = np.where(live, next_take, self.serializer_free)
            self.can_hand = np.where(live, np.maximum(hand_here + 1, move_here), self.can_hand)
        self.replay.finish_position(last_take)


class DenseStage:
    """vector_serializer + engine: takes an input beat when done with the one before; the
    beats of a map make one position."""

    def __init__(self, replay: EngineReplay, elems: np.ndarray, beats: int, lanes: int):
        self.replay, self.elems, self.beats, self.lanes = replay, elems, beats, lanes
        self.mask = sent(elems, not replay.dense)
        self.free = np.full(elems.shape[0], -np.inf)   # the serializer can take its next beat from here
        self.beat = self.image = 0

    def push(self, t):
        take = np.maximum(t, self.free)
        b, s = self.beat, self.image
        cols = slice(b * self.lanes, (b + 1) * self.lanes)
        self.free, last_take = self.replay.vector(take, self.mask[:, s, 0, cols], self.elems[:, s, 0, cols])
        self.beat += 1
        if self.beat == self.beats:
            self.replay.finish_position(last_take)
            self.beat, self.image = 0, self.image + 1
        return take


def grouped(elems: np.ndarray, simd: int) -> np.ndarray:
    """(..., n_in) non-negative inputs -> (..., n_in/simd) elements of SIMD inputs in a row:
    non-zero where any of its inputs is."""
    return elems.reshape(*elems.shape[:-1], -1, simd).max(axis=-1)


def replay(deploy: Deploy, layer_pe: dict, inputs: dict, lanes: int, mode: str, layer_simd: dict,
           layer_lanes: dict, layer_rows: dict, passes: int = 1) -> tuple[np.ndarray, dict]:
    """Every handshake of the accelerator for `lanes` independent input streams of S passes
    each (`inputs`: weight layer -> its elements (lanes, S, positions, elements), an image's
    `passes` passes in a row), each stream's pixels offered one per cycle from cycle 0, the
    next the cycle after one is taken. Returns (the cycle each image's class is received
    (lanes, S / passes), the engines)."""
    T = deploy.time_steps // passes       # the steps of a pass
    h, w, c = deploy.meta["input"]["shape"]
    shape, beat_elems, stages, engines, engine = (h, w), c, [], {}, None
    source = None       # the weight layer last met: the one feeding a LIF layer
    for layer in deploy.layers:
        kind = layer["type"]
        if kind in ("conv", "dense"):
            source = layer
            n_out = deploy.array(layer["weights"]).shape[-1]
            simd = layer_simd.get(layer["name"], 1)
            engine = engines[layer["name"]] = EngineReplay(lanes, n_out // layer_pe[layer["name"]], mode, simd)
            elems = grouped(inputs[layer["name"]], simd)
            if kind == "conv":
                rows = layer_rows.get(layer["name"], line_buffer_rows(layer["kernel"], layer["stride"], shape[0]))
                stages.append(ConvStage(engine, layer, shape, elems, beat_elems // simd, rows))
                shape = tuple(layer["out_shape"][:2])
            else:
                stages.append(DenseStage(engine, elems, shape[0] * shape[1], beat_elems // simd))
                shape = (1, 1)
            beat_elems = n_out
        elif kind == "lif":
            neurons = layer_lanes.get(layer["name"], layer_pe[source["name"]])
            one_current = source["input"] == "analog"     # an image's current computed once
            stages.append(Lif(lanes, -(-layer["out_shape"][-1] // neurons) * T,
                              lif_pick_stages(layer["out_shape"][-1], neurons, T, one_current)))
        elif kind in ("maxpool", "sumpool"):
            stages.append(Pool(lanes, shape))
            shape = (shape[0] // 2, shape[1] // 2)
    readout = Readout(lanes, T, beat_elems, passes)
    for stage, after in zip(stages, stages[1:] + [readout]):
        if isinstance(stage, (ConvStage, DenseStage)):
            stage.replay.consumer = after
        else:
            stage.downstream = after
    first = stages[0]
    offer = np.zeros(lanes)
    images = next(iter(inputs.values())).shape[1]
    for _ in range(images * h * w):
        offer = first.push(offer) + 1
    return np.stack(readout.done, axis=1), engines


def cycle_model(deploy: Deploy, layer_pe: dict, images: np.ndarray, trace: GoldenTrace,
                mode: str = "event", layer_simd: dict | None = None, layer_lanes: dict | None = None,
                back_to_back: bool = True, layer_rows: dict | None = None, stream_images: int | None = None,
                time_chunk: int | None = None) -> dict:
    """Predicted cycles per image: each image alone (its first pixel in at cycle 0, the
    pipeline idle: the latency), each weight layer's own cycles and the bottleneck layer; and
    with `back_to_back` the images streamed back to back in order (each image's first pixel
    offered the cycle after the image before's last was taken), the cycle each image's class
    is received and their mean interval (the throughput). `layer_pe` / `layer_simd`: the
    design's outputs per cycle and inputs per element of each weight layer (SIMD default 1);
    `layer_lanes`: neurons updated per cycle of each LIF layer (default: its engine's PE, as
    the generator); `layer_rows`: the rows of each conv layer's line buffer (default
    line_buffer_rows, as the generator); `stream_images`: stream only the first this many
    images back to back (the replay of a stream is sequential, image after image);
    `time_chunk`: the steps of a pass (default: all T, one pass)."""
    layer_simd, layer_lanes, layer_rows = layer_simd or {}, layer_lanes or {}, layer_rows or {}
    passes = deploy.time_steps // (time_chunk or deploy.time_steps)
    inputs = layer_inputs(deploy, images, trace, passes)
    n = len(images)
    alone, engines = replay(deploy, layer_pe, inputs, n, mode, layer_simd, layer_lanes, layer_rows, passes)
    latency = alone[:, 0]
    per_layer = {name: float((e.last_out + 1 - e.first_take).mean()) for name, e in engines.items()}
    out = {"cycles_per_layer": per_layer, "cycles_per_image": float(latency.mean()),
           "cycles_per_image_each": latency, "bottleneck": max(per_layer, key=per_layer.get),
           "clock_mhz": NOMINAL_CLOCK_MHZ,
           "estimated_latency_ns": float(latency.mean()) * 1e3 / NOMINAL_CLOCK_MHZ}
    if back_to_back:
        k = n if stream_images is None else min(n, stream_images)
        stream, _ = replay(deploy, layer_pe, {name: v[:k].reshape(1, k * passes, *v.shape[2:])
                                              for name, v in inputs.items()}, 1, mode,
                           layer_simd, layer_lanes, layer_rows, passes)
        interval = float(stream[0, -1]) / k
        out.update({"stream_cycles_each": stream[0], "stream_cycles_per_image": interval,
                    "estimated_throughput_fps": NOMINAL_CLOCK_MHZ * 1e6 / interval})
    return out


def design_cycles(design, deploy: Deploy, images: np.ndarray, trace: GoldenTrace, back_to_back: bool = True,
                  stream_images: int | None = None) -> dict:
    """cycle_model of a generated design (codegen.rtl.RtlDesign): its mode and knobs."""
    return cycle_model(deploy, design.layer_pe, images, trace, design.mode, design.layer_simd, design.layer_lanes,
                       back_to_back, design.layer_rows, stream_images, design.time_chunk)
