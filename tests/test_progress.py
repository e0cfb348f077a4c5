"""Progress display: a running clock and a counted bar drawn on a terminal, nothing in a log."""

import io
import time

from qpsnn.progress import counted, running_clock


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_running_clock_ticks_on_a_terminal_and_is_silent_in_a_log():
    term, log = Terminal(), io.StringIO()
    with running_clock("yosys", stream=term, every=0.1):
        time.sleep(1.3)
    with running_clock("yosys", stream=log, every=0.1):
        time.sleep(0.2)
    assert "[qpsnn] yosys 00:01" in term.getvalue()
    assert log.getvalue() == ""


def test_counted_bar_reaches_its_total():
    term = Terminal()
    assert list(counted(range(5), "seeds", stream=term)) == list(range(5))
    assert "5/5" in term.getvalue()
    assert counted([1, 2], "seeds", stream=io.StringIO()) == [1, 2]
