"""Progress on a terminal: a bar where the amount of work is known (the rows of a compression
table, Keras' epochs), a running clock where it is not (a compiler, Verilator, Yosys or nextpnr
working in a subprocess). Both draw only on a terminal; a log file gets the plain
`[qpsnn] step ... done in N s` lines the flow prints anyway."""

from __future__ import annotations

import sys
import threading
import time
from contextlib import contextmanager, nullcontext


def on_terminal(stream=None) -> bool:
    stream = stream or sys.stderr
    return hasattr(stream, "isatty") and stream.isatty()


@contextmanager
def running_clock(name: str, stream=None, every: float = 0.5, force: bool = False):
    """`[qpsnn] name  00:12` redrawn every `every` seconds while the block runs."""
    stream = stream or sys.stderr
    if not (force or on_terminal(stream)):
        yield
        return
    from tqdm import tqdm

    bar = tqdm(desc=f"[qpsnn] {name}", bar_format="{desc} {elapsed}", file=stream, leave=False)
    done = threading.Event()

    def tick():
        while not done.wait(every):
            bar.refresh()

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()
        ticker.join()
        bar.close()


def counted(items, name: str, total: int | None = None, stream=None, force: bool = False):
    """Iterate `items` with a bar of `total` (default len(items)) steps."""
    stream = stream or sys.stderr
    if not (force or on_terminal(stream)):
        return items
    from tqdm import tqdm
    return tqdm(items, desc=f"[qpsnn] {name}", total=total, file=stream)


class Timer:
    """The wall time of each stage of a step, kept for the report."""

    def __init__(self):
        self.stages: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str, clock: bool = True):
        """A stage: its start and end printed, its wall time kept, a running clock on a terminal
        meanwhile (clock=False where the stage draws its own bar, as Keras does)."""
        print(f"[qpsnn] {name} ...", flush=True)
        start = time.perf_counter()
        with running_clock(name) if clock else nullcontext():
            yield
        self.stages[name] = round(time.perf_counter() - start, 3)
        print(f"[qpsnn] {name} done in {self.stages[name]:.1f} s", flush=True)
