"""The element stream between the window/serializer stages and an accumulate engine.

Per output position the producer walks the engine's N_IN input elements in ROM order, grouped
in vectors (a conv tap's pixel of C channels, or one input beat of a dense layer), and sends
beats {last, index, element}. In event mode only the non-zero elements are sent, plus the
position's final element (it carries `last`); in dense mode every element. A vector with
nothing to send costs its producer one cycle. This module is the protocol's reference: the
testbenches and the cycle model use it.
"""

from __future__ import annotations

import numpy as np


def index_bits(n_in: int) -> int:
    """Bits of an element's index: Verilog's $clog2(N_IN), at least 1."""
    return max(1, (n_in - 1).bit_length())


def line_buffer_rows(kernel: int, stride: int, height: int) -> int:
    """The rows a conv_window's line buffer holds: the K a window reads and the STRIDE rows the
    next row of windows adds, so those come in while a row of windows is walked (the whole map
    when it has fewer rows)."""
    return min(kernel + stride, height)


def sent(elements: np.ndarray, skip_zeros: bool) -> np.ndarray:
    """Which elements are sent: (..., N_IN) bool, from the element values (..., N_IN) (an
    element is non-zero when any of its T values is: pass values already reduced over T)."""
    mask = np.ones(elements.shape, bool) if not skip_zeros else elements != 0
    mask[..., -1] = True
    return mask


def beats(elements: np.ndarray, skip_zeros: bool) -> list[tuple[int, int, int]]:
    """(last, index, element word) of every beat sent for positions (P, N_IN) of element
    words (an element's T values already packed into one integer)."""
    out = []
    mask = sent(elements, skip_zeros)
    n = elements.shape[-1]
    for row, keep in zip(elements, mask):
        for i in np.flatnonzero(keep):
            out.append((int(i == n - 1), int(i), int(row[i])))
    return out


def pack_beat(beat: tuple[int, int, int], n_in: int, elem_bits: int) -> int:
    last, index, elem = beat
    return (last << (index_bits(n_in) + elem_bits)) | (index << elem_bits) | elem
