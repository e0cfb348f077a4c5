"""What the hardware library builds for a layer's knobs, where more than one part of codegen
must agree on it: the RTL generator sets the parameters, the cycle model counts the cycles
they add and the resource model the registers."""

from __future__ import annotations

# a LIF lane picks among at most this many currents in one stage (lif_layer's FLAT_PICK), among
# more in two: a cycle more. Flat, the small end's lif1 picked among 128, its critical path.
LIF_FLAT_PICK = 16

# An engine of at least this many products per cycle (steps x PE x SIMD) is a large one: its
# wide enables are copied (accumulate_engine's FANOUT; the fast end's conv1 engine, 2,048
# products and 35k LUT4s, placed alone went from 43.7 to 63.1 MHz with them) and its weight ROM
# is in block RAM whatever its shape (ROM_BLOCK_RAM: built from logic, the fast end's conv1 ROM
# of 18 words x 1,024 bits held it at 75.9 MHz). The default network's largest (64) placed at
# 98.6-118.8 MHz with its paths elsewhere, and copies there cost LUTs (66 in the default, 121 in
# the small end). (Its products registered before the tree as well placed worse: synth_ecp5
# makes each a flip-flop reset by its spike, and the slices' shared resets held the fast end at
# 50.4 MHz.)
LARGE_ENGINE_PRODUCTS = 512


def large_engine(steps: int, pe: int, simd: int) -> bool:
    """Whether an engine of `steps` x `pe` x `simd` products per cycle copies its enables and
    keeps its weights in block RAM (LARGE_ENGINE_PRODUCTS)."""
    return steps * pe * simd >= LARGE_ENGINE_PRODUCTS


def lif_pick_stages(neurons: int, lanes: int, steps: int, one_current: bool) -> int:
    """The register stages of a LIF lane's pick of its current (lif_layer): among the slots'
    currents, or the groups' when one current serves all steps; more than LIF_FLAT_PICK in two."""
    groups = -(-neurons // lanes)
    choices = groups if one_current and steps > 1 and groups > 1 else groups * steps
    return 2 if choices > max(LIF_FLAT_PICK, 4) else 1
