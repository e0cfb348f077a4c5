"""Folding to a target, in the spirit of FINN's target_fps: every weight layer's `pe` and `simd`
and every LIF layer's `lanes` chosen from the exact cycle model (codegen/estimate.py, the images
streamed back to back) and the resource model (codegen/resources.py).

The search starts from the smallest design (every free knob 1) and speeds up one knob at a
time: each step tries the next value of every free knob of the slowest stages and keeps the move that takes the most
cycles off the interval per LUT it adds (if none shortens it, two stages tie as the bottleneck:
the one that leaves the fastest design, and the walk goes on while such moves can still pay). The
steps make a path from small to fast; a target interval picks the first point on it that meets
it, a LUT budget the fastest point within it; a local search then moves one knob up or down,
or one down and another up, while that keeps the target (budget) and saves LUTs (cycles): the
LUTs are not monotone in the knobs (a ROM's shape changes with pe and simd), nor are the cycles
(a wider sum's adder tree is deeper), so a target past the path's fastest point first gets a
local search for the fastest. Knobs the spec sets by hand stay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from qpsnn.codegen.estimate import NOMINAL_CLOCK_MHZ, design_cycles
from qpsnn.codegen.resources import design_resources
from qpsnn.codegen.rtl import KNOBS, design
from qpsnn.errors import InputError

MAX_STEPS = 96      # moves along the path: each adds one knob's next value
PAST_TARGET = 1.25  # the walk goes on past the target until the LUTs grow by this factor
SEEDS = 3               # the local search starts from this many of the path's best points
NEAR_BOTTLENECK = 0.9   # the walk speeds up the stages within this fraction of the slowest


@dataclass
class FoldPoint:
    knobs: dict                     # {"pe": {layer: n}, "simd": {...}, "lanes": {...}}
    interval: float                 # cycles per image, streamed back to back (the cycle model)
    luts: int                       # the resource model's LUTs
    stage_cycles: dict = field(default_factory=dict)   # layer -> its own cycles per image
    move: str = ""                  # what changed from the point before on the path

    def images_per_s(self, clock_mhz: float) -> float:
        return clock_mhz * 1e6 / self.interval

    @property
    def bottleneck(self) -> str:
        return max(self.stage_cycles, key=self.stage_cycles.get)

    @property
    def holding(self) -> list:
        """The stages that hold the interval: the slowest and those within NEAR_BOTTLENECK of it."""
        slowest = max(self.stage_cycles.values())
        return [layer for layer, cycles in self.stage_cycles.items() if cycles >= NEAR_BOTTLENECK * slowest]


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def knob_values(deploy) -> dict:
    """Every knob's values: pe divides a weight layer's outputs, simd the elements of its input
    beats, lanes are 1..N of a LIF layer (divisors: equal groups, no idle lane)."""
    values: dict = {k: {} for k in KNOBS}
    beat = deploy.meta["input"]["shape"][-1]
    for layer in deploy.layers:
        if layer["type"] in ("conv", "dense"):
            n_out = deploy.array(layer["weights"]).shape[-1]
            values["pe"][layer["name"]] = divisors(n_out)
            values["simd"][layer["name"]] = divisors(beat)
            beat = n_out
        elif layer["type"] == "lif":
            values["lanes"][layer["name"]] = divisors(layer["out_shape"][-1])
    return values


def lif_walk_cycles(deploy, lanes: dict, steps: int) -> dict:
    """Each LIF layer's update slots per image: positions x ceil(N / lanes) x T."""
    out = {}
    for layer in deploy.layers:
        if layer["type"] == "lif":
            shape = layer["out_shape"]
            positions = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
            out[layer["name"]] = positions * -(-shape[-1] // lanes[layer["name"]]) * steps
    return out


class Folder:
    """Evaluates foldings of one deploy form on a set of images (never the hold-out)."""

    def __init__(self, deploy, images: np.ndarray, trace, mode: str = "event", time_chunk: int | None = None,
                 weights: dict | None = None):
        self.deploy, self.images, self.trace, self.mode = deploy, images, trace, mode
        self.time_chunk, self.weights = time_chunk, weights
        self.values = knob_values(deploy)
        self.cache: dict = {}

    def design(self, knobs: dict):
        return design(self.deploy, pe=knobs["pe"], mode=self.mode, simd=knobs["simd"], lanes=knobs["lanes"],
                      time_chunk=self.time_chunk)

    def evaluate(self, knobs: dict, move: str = "") -> FoldPoint:
        key = repr(sorted((k, sorted(v.items())) for k, v in knobs.items()))
        if key not in self.cache:
            rtl = self.design(knobs)
            cycles = design_cycles(rtl, self.deploy, self.images, self.trace, back_to_back=True)
            luts = design_resources(rtl.stages, self.weights)["total"]["LUT"]
            stages = {**cycles["cycles_per_layer"],
                      **lif_walk_cycles(self.deploy, knobs["lanes"], self.deploy.time_steps)}
            self.cache[key] = FoldPoint(rtl.knobs(), cycles["stream_cycles_per_image"], luts, stages)
        point = self.cache[key]
        return FoldPoint(point.knobs, point.interval, point.luts, point.stage_cycles, move)

    def moves(self, knobs: dict, layer: str, fixed: dict) -> list[tuple[str, dict]]:
        """The next value of each free knob of `layer`."""
        out = []
        for knob in KNOBS:
            options = self.values[knob].get(layer)
            if not options or layer in fixed.get(knob, {}):
                continue
            bigger = [v for v in options if v > knobs[knob][layer]]
            if bigger:
                changed = {k: dict(v) for k, v in knobs.items()}
                changed[knob][layer] = bigger[0]
                out.append((f"{layer} {knob} {bigger[0]}", changed))
        return out

    def next_points(self, point: FoldPoint, layers, fixed: dict) -> list[FoldPoint]:
        """The points one move on from `point` on the free knobs of `layers`."""
        return [self.evaluate(k, move) for layer in layers for move, k in self.moves(point.knobs, layer, fixed)]

    def path(self, fixed: dict, stop=None) -> list[FoldPoint]:
        """From the smallest design towards the fastest, one knob at a time (module docstring);
        `stop(point)` ends the walk early."""
        knobs = {k: {layer: fixed.get(k, {}).get(layer, 1) for layer in self.values[k]} for k in KNOBS}
        points = [self.evaluate(knobs, "the smallest")]
        flat = 0            # moves in a row that did not shorten the interval
        for _ in range(MAX_STEPS):
            current = points[-1]
            if stop and stop(current):
                break
            # the moves of the stages that hold the interval: a faster stage elsewhere shortens
            # nothing; when their knobs are at their ends, any other's
            candidates = (self.next_points(current, current.holding, fixed)
                          or self.next_points(current, current.stage_cycles, fixed))
            if not candidates:
                break
            faster = [p for p in candidates if p.interval < current.interval]
            if faster:
                best = max(faster, key=lambda p: (current.interval - p.interval) / max(p.luts - current.luts, 1))
                flat = 0
            else:       # two stages tie as the bottleneck: one move alone shortens nothing
                best = min(candidates, key=lambda p: (p.interval, p.luts))
                flat += 1
                if flat > len(self.values["pe"]) + len(self.values["lanes"]):
                    break
            points.append(best)
        return points

    def neighbours(self, point: FoldPoint, fixed: dict) -> list[FoldPoint]:
        """Each free knob one value up or down, and pairs of one knob down and another up: the
        other a knob of the same layer (a ROM of another shape) or of a stage that holds the
        interval (within NEAR_BOTTLENECK of the slowest: what a knob down elsewhere pays for)."""
        free = [(k, layer) for k in KNOBS for layer in point.knobs[k] if layer not in fixed.get(k, {})]
        holding = point.holding

        def step(knobs, k, layer, direction):
            options = self.values[k][layer]
            i = options.index(knobs[k][layer]) + direction
            if not 0 <= i < len(options):
                return None
            changed = {kk: dict(v) for kk, v in knobs.items()}
            changed[k][layer] = options[i]
            return changed

        out = []
        for k, layer in free:
            up = step(point.knobs, k, layer, +1)     # a wider knob can be the smaller design (a ROM's shape)
            if up is not None:
                out.append(self.evaluate(up, f"{layer} {k} {up[k][layer]}"))
            down = step(point.knobs, k, layer, -1)
            if down is None:
                continue
            out.append(self.evaluate(down, f"{layer} {k} {down[k][layer]}"))
            for k2, layer2 in free:
                if (k2, layer2) != (k, layer) and (layer2 == layer or layer2 in holding):
                    both = step(down, k2, layer2, +1)
                    if both is not None:
                        out.append(self.evaluate(both, f"{layer} {k} {down[k][layer]}, {layer2} {k2} "
                                                       f"{both[k2][layer2]}"))
        return out

    def refine(self, point: FoldPoint, fixed: dict, allowed, better) -> FoldPoint:
        """Local search from `point`, steepest first: the best neighbour that is `allowed` and
        `better` replaces it, until none is."""
        while True:
            best = point
            for trial in self.neighbours(point, fixed):
                if allowed(trial) and better(trial, best):
                    best = trial
            if best is point:
                return point
            point = best


    def best(self, path: list, fixed: dict, allowed, order) -> FoldPoint:
        """The best point by `order` that is `allowed`: a local search from the SEEDS best allowed
        points of the path and from the best allowed one seen, the best of those."""
        seen = min((p for p in self.cache.values() if allowed(p)), key=order)
        seeds = sorted((p for p in path if allowed(p)), key=order)[:SEEDS] + [seen]
        return min((self.refine(p, fixed, allowed, lambda a, b: order(a) < order(b)) for p in seeds), key=order)


def fold(deploy, images: np.ndarray, trace, mode: str = "event", time_chunk: int | None = None,
         fixed: dict | None = None, target_images_per_s: float | None = None, lut_budget: int | None = None,
         clock_mhz: float | None = None, weights: dict | None = None) -> dict:
    """The folding that meets `target_images_per_s` at `clock_mhz` with the fewest predicted
    LUTs, or the fastest within `lut_budget` LUTs; `fixed`: {knob: {layer: value}} set by
    hand. Returns {"knobs", "point" (FoldPoint), "path", "clock_mhz"}; an unreachable target
    is an InputError naming the best reachable figure."""
    if (target_images_per_s is None) == (lut_budget is None):
        raise ValueError("fold: give one of target_images_per_s and lut_budget")
    clock = clock_mhz or NOMINAL_CLOCK_MHZ
    fixed = fixed or {}
    folder = Folder(deploy, images, trace, mode, time_chunk, weights)
    if target_images_per_s is not None:
        interval = clock * 1e6 / target_images_per_s
        first: list = []     # the first point that meets the target: the walk goes on a little past it,
                             # as a faster point can be the smaller one (the LUTs are not monotone)

        def far_enough(p):
            if p.interval <= interval and not first:
                first.append(p)
            return bool(first) and p.luts > PAST_TARGET * first[0].luts

        path = folder.path(fixed, stop=far_enough)
        if not first:       # past the path's fastest: a local search for a faster point (a wider
                            # sum's tree adds cycles, so the fastest can have a narrower knob)
            folder.best(path, fixed, lambda q: True, lambda p: (p.interval, p.luts))
        if not any(p.interval <= interval for p in folder.cache.values()):
            best = min(folder.cache.values(), key=lambda p: (p.interval, p.luts))
            raise InputError(
                f"rtl.target_images_per_s: {target_images_per_s:,.0f} images/s at {clock:g} MHz is out of reach; the "
                f"fastest folding found streams {best.images_per_s(clock):,.0f} images/s "
                f"({best.interval:,.0f} cycles per image, {best.luts:,} LUTs predicted), held by {best.bottleneck}; "
                f"accepted: a target up to that, or a higher rtl.clock_mhz")
        # the fewest LUTs that meet the target, then the shortest interval at them
        chosen = folder.best(path, fixed, lambda q: q.interval <= interval, lambda p: (p.luts, p.interval))
    else:
        path = folder.path(fixed, stop=lambda p: p.luts > lut_budget)
        if not any(p.luts <= lut_budget for p in folder.cache.values()):
            small = min(folder.cache.values(), key=lambda p: (p.luts, p.interval))
            raise InputError(f"rtl.lut_budget: {lut_budget:,} LUTs is below the smallest folding found, "
                             f"{small.luts:,} predicted LUTs ({small.images_per_s(clock):,.0f} images/s at "
                             f"{clock:g} MHz); accepted: a budget of at least that")
        chosen = folder.best(path, fixed, lambda q: q.luts <= lut_budget, lambda p: (p.interval, p.luts))
    return {"knobs": chosen.knobs, "point": chosen, "path": path, "clock_mhz": clock}
