"""Whole-network testbench: real images in through AXI-stream, every time step of every
readout current out, compared with the golden model; cycles per image recorded.

Configured by QPSNN_TB_CONFIG (a JSON file written by qpsnn.sim.network):
  vectors:  npz with images (N, H, W, C) uint8, golden logits (N, T, K) and classes (N,)
  results:  npz path the testbench writes: rtl logits (N, T, K), classes (N,), cycles (N,):
            each image's cycles alone (latency mode), else the cycle its class was received
            back to back, counted from the stream's first pixel; with mode both, stream_logits,
            stream_classes and stream_cycles from the back-to-back pass
  lane:     bits per readout lane (one output beat per pass: lane t*K + k = class k at step t of
            the pass; the passes of an image, T / the steps of a beat, end with tlast)
  mode:     "latency" (one image at a time) | "stream" (back to back) | "both" (latency, then
            the same images back to back)
  idle, backpressure: probability of an idle input cycle / a stalled output cycle
  probes:   optional [{layer, signal}]: record every beat of these internal LIF streams
            (stN_data at each valid & ready) into results as probe_<layer>
"""

import sys

import cocotb
import numpy as np
from cocotb.triggers import RisingEdge

sys.path.insert(0, __file__.rsplit("/", 2)[0])
from stream_tb import StreamTB, frame_user, load_config, pack, unpack  # noqa: E402


class NetworkTB(StreamTB):
    def __init__(self, dut, cfg):
        super().__init__(dut, cfg.get("idle", 0.0), cfg.get("backpressure", 0.0))
        self.lane = cfg["lane"]
        self.lanes = len(dut.m_axis_tdata) // self.lane
        self.chunk = 1          # the steps of a pass: set by run_network from the classes
        self.probed = {p["layer"]: [] for p in cfg.get("probes", [])}
        for probe in cfg.get("probes", []):
            cocotb.start_soon(self._record(probe["layer"], probe["signal"]))

    async def _record(self, layer, signal):
        data = getattr(self.dut, f"{signal}_data")
        valid = getattr(self.dut, f"{signal}_valid")
        ready = getattr(self.dut, f"{signal}_ready")
        while True:
            await RisingEdge(self.dut.clk)
            if int(valid.value) and int(ready.value):
                self.probed[layer].append(int(data.value))

    async def send_image(self, image, passes):
        """Each pass one beat per pixel: its C channels, channel 0 in the low bits; an image's
        channels are 8-bit codes (the same every pass), event frames' (T, H, W, C) channels
        the pass's S counts each (count s of channel c at value c*S + s), as wide as the top's
        input port makes them."""
        for p in range(passes):
            if image.ndim == 4:
                s = image.shape[0] // passes
                frames = image[p * s:(p + 1) * s]
                t, h, w, c = frames.shape
                values = frames.transpose(1, 2, 3, 0).reshape(h * w, c * t)
            else:
                values = image.reshape(-1, image.shape[-1])
            bits = len(self.dut.s_axis_tdata) // values.shape[1]
            await self.send_frame([pack(px, bits) for px in values])

    async def recv_steps(self, t_steps):
        """One output frame, a beat per pass: the readout currents of every time step, (T, K),
        and the class (the last beat's tuser)."""
        frame = await self.sink.recv()
        steps = [np.array(unpack(d, self.lanes, self.lane)).reshape(-1, self.classes) for d in frame.tdata]
        got = np.concatenate(steps)
        assert len(got) == t_steps, f"an image's frame has {len(got)} steps, expected {t_steps}"
        return got, frame_user(frame)


@cocotb.test()
async def run_network(dut):
    cfg = load_config()
    vectors = np.load(cfg["vectors"])
    images, golden, golden_class = vectors["images"], vectors["logits"], vectors["classes"]
    n = golden.shape[0]
    tb = NetworkTB(dut, cfg)
    tb.classes = golden.shape[2]
    passes = golden.shape[1] // (tb.lanes // tb.classes)      # T / the steps of a beat
    await tb.reset()
    out = np.zeros_like(golden)
    classes = np.zeros_like(golden_class)
    cycles = np.zeros(n, dtype=np.int64)
    mode = cfg.get("mode", "latency")
    if mode in ("latency", "both"):
        for i in range(n):
            start = tb.cycle
            await tb.send_image(images[i], passes)
            out[i], classes[i] = await tb.recv_steps(golden.shape[1])
            cycles[i] = tb.cycle - start
    stream_out, stream_classes = np.zeros_like(golden), np.zeros_like(golden_class)
    stream_cycles = np.zeros(n, dtype=np.int64)
    if mode in ("stream", "both"):      # after the latency pass, the pipeline idle again
        start = tb.cycle
        for i in range(n):
            await tb.send_image(images[i], passes)      # queued: the source sends them back to back
        for i in range(n):
            stream_out[i], stream_classes[i] = await tb.recv_steps(golden.shape[1])
            stream_cycles[i] = tb.cycle - start
        if mode == "stream":
            out, classes, cycles = stream_out, stream_classes, stream_cycles
    probes = {f"probe_{k}": np.array([str(v) for v in beats]) for k, beats in tb.probed.items()}
    np.savez(cfg["results"], logits=out, classes=classes, cycles=cycles, stream_logits=stream_out,
             stream_classes=stream_classes, stream_cycles=stream_cycles, **probes)
    mismatches = int((np.any(out != golden, axis=(1, 2)) | (classes != golden_class)).sum())
    if mode == "both":
        mismatches += int((np.any(stream_out != golden, axis=(1, 2)) | (stream_classes != golden_class)).sum())
    assert mismatches == 0, f"{mismatches} of {n} images differ from the golden model"
