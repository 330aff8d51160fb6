"""Time a jitted program: compile once ahead of time, call it once, then time `repeats` calls.

Compile time is `jit(f).lower(*args).compile()` (trace, lower to StableHLO, XLA compile); the
timed calls go to that compiled executable and wait for every output (`block_until_ready`),
so a figure is device work plus one Python dispatch, never tracing or compilation. The untimed
first call is there because a compiled program's first execution can be several times slower
than later ones (seen for the Craftax collect: 0.95 s against 0.25 s).

Peak memory is taken over the calls (the untimed one included), not the compilation. On a
device that reports memory statistics (GPU) it is jax's `peak_bytes_in_use`, a
process-lifetime high-water mark. On the CPU it is the rise of the process's peak resident set
above the resident set just before the calls: Linux resets the peak (VmHWM) on writing 5 to
/proc/self/clear_refs, so each measurement gets its own peak; where that is not possible,
`getrusage` gives the process-lifetime peak, which earlier (larger) measurements can mask, and
the figure is marked as such.
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def progress(message: str) -> None:
    """One line per step of a long run, so a user sees it working."""
    print(f"[bench] {message}", flush=True)


@dataclass(frozen=True)
class Program:
    """A jitted function and the arguments of one call."""

    name: str
    fn: Callable  # a jax.jit-wrapped function
    args: tuple[Any, ...]


@dataclass(frozen=True)
class Measurement:
    compile_s: float
    seconds: tuple[float, ...]  # one per timed call
    peak_bytes: int | None
    memory_method: str  # how peak_bytes was measured (see the module docstring)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def low(self) -> float:
        return min(self.seconds)

    @property
    def high(self) -> float:
        return max(self.seconds)


def _status_kib(field: str) -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(f"{field} not in {_STATUS}")


def _maxrss_bytes() -> int:
    # ru_maxrss is KiB on Linux, bytes on macOS.
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


class _PeakMemory:
    """Peak memory over a `with` block, by the best method the platform offers."""

    def __enter__(self) -> _PeakMemory:
        self.stats = jax.devices()[0].memory_stats()
        if self.stats and "peak_bytes_in_use" in self.stats:
            self.method = "device peak_bytes_in_use (process lifetime)"
            return self
        try:
            _CLEAR_REFS.write_text("5")
            self.method = "peak RSS above the RSS before the calls (VmHWM reset)"
            self.before = _status_kib("VmRSS") * 1024
        except OSError:
            self.method = "ru_maxrss rise (process-lifetime peak; may be masked)"
            self.before = _maxrss_bytes()
        return self

    def __exit__(self, *exc) -> None:
        if self.method.startswith("device"):
            self.peak = int(jax.devices()[0].memory_stats()["peak_bytes_in_use"])
        elif self.method.startswith("peak RSS"):
            self.peak = _status_kib("VmHWM") * 1024 - self.before
        else:
            self.peak = _maxrss_bytes() - self.before


def compile_program(program: Program) -> tuple[jax.stages.Compiled, float]:
    """The compiled executable and the seconds it took to trace, lower and compile."""
    start = time.perf_counter()
    compiled = program.fn.lower(*program.args).compile()
    return compiled, time.perf_counter() - start


def measure(program: Program, repeats: int, label: str
            ) -> tuple[Measurement, jax.stages.Compiled]:
    """Compile, call once, then time `repeats` calls; returns the measurement and the
    executable."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    progress(f"{label}: compiling")
    compiled, compile_s = compile_program(program)
    progress(f"{label}: compiled in {compile_s:.1f} s; one call, then {repeats} timed")
    seconds = []
    with _PeakMemory() as memory:
        jax.block_until_ready(compiled(*program.args))
        for _ in range(repeats):
            start = time.perf_counter()
            jax.block_until_ready(compiled(*program.args))
            seconds.append(time.perf_counter() - start)
    measurement = Measurement(compile_s, tuple(seconds), memory.peak, memory.method)
    progress(f"{label}: median {measurement.median:.4g} s "
             f"[{measurement.low:.4g}-{measurement.high:.4g}]")
    return measurement, compiled
