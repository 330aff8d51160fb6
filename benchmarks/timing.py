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
    # The function donates its first argument and returns the replacement as its first
    # output (reimpl.train's collect and update): each call gets the previous call's state.
    chained: bool = False

    def call(self, compiled: jax.stages.Compiled, args: tuple[Any, ...]) -> tuple[Any, ...]:
        """One call, waited for -> the arguments of the next call."""
        out = jax.block_until_ready(compiled(*args))
        return (out[0], *args[1:]) if self.chained else args


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


def _peak_memory_probe() -> tuple[str, Callable[[], int]]:
    """Start a peak-memory measurement: (method, read), `read()` giving the peak in bytes
    since this call, by the best method the platform offers (see the module docstring)."""
    device = jax.devices()[0]
    if "peak_bytes_in_use" in (device.memory_stats() or {}):
        return ("device peak_bytes_in_use (process lifetime)",
                lambda: int(device.memory_stats()["peak_bytes_in_use"]))
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        before = _maxrss_bytes()
        return ("ru_maxrss rise (process-lifetime peak; may be masked)",
                lambda: _maxrss_bytes() - before)
    before = _status_kib("VmRSS") * 1024
    return ("peak RSS above the RSS before the calls (VmHWM reset)",
            lambda: _status_kib("VmHWM") * 1024 - before)


def measure(program: Program, repeats: int, label: str
            ) -> tuple[Measurement, jax.stages.Compiled]:
    """Compile, call once, then time `repeats` calls; returns the measurement and the
    executable."""
    return measure_interleaved([program], repeats, label)[0]


def measure_interleaved(programs: list[Program], repeats: int, label: str
                        ) -> list[tuple[Measurement, jax.stages.Compiled]]:
    """Compile each program and call it once (its peak memory is taken over that call), then
    time `repeats` rounds that call every program once in turn (A B A B ...). A slow drift of
    the machine (another job, clock changes) then lands on both sides of a round alike, so the
    per-round ratios `paired_ratios` compare like with like; timing one program's calls after
    the other's does not."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    executables, compile_times, peaks, arguments = [], [], [], []
    for program in programs:
        name = _name(label, program, programs)
        progress(f"{name}: compiling")
        start = time.perf_counter()
        compiled = program.fn.lower(*program.args).compile()
        compile_times.append(time.perf_counter() - start)
        progress(f"{name}: compiled in {compile_times[-1]:.1f} s; one untimed call")
        method, read_peak = _peak_memory_probe()
        next_args = program.call(compiled, program.args)
        peaks.append((read_peak(), method))
        executables.append(compiled)
        arguments.append(next_args)
    names = " and ".join(program.name for program in programs)
    progress(f"{label}: {repeats} timed rounds of {names}")
    seconds: list[list[float]] = [[] for _ in programs]
    for _ in range(repeats):
        for index, (program, compiled) in enumerate(zip(programs, executables, strict=True)):
            start = time.perf_counter()
            arguments[index] = program.call(compiled, arguments[index])
            seconds[index].append(time.perf_counter() - start)
    results = []
    for program, compiled, compile_s, (peak, method), times in zip(
            programs, executables, compile_times, peaks, seconds, strict=True):
        measurement = Measurement(compile_s, tuple(times), peak, method)
        progress(f"{_name(label, program, programs)}: median {measurement.median:.4g} s "
                 f"[{measurement.low:.4g}-{measurement.high:.4g}]")
        results.append((measurement, compiled))
    return results


def _name(label: str, program: Program, programs: list[Program]) -> str:
    """A lone program's label names it already (`measure`); interleaved ones add their name."""
    return label if len(programs) == 1 else f"{label} {program.name}"


def paired_ratios(ours: Measurement, theirs: Measurement) -> tuple[float, ...]:
    """Per-round ratios of two measurements timed in the same rounds (`measure_interleaved`)."""
    if len(ours.seconds) != len(theirs.seconds):
        raise ValueError("paired ratios need measurements of the same rounds")
    return tuple(a / b for a, b in zip(ours.seconds, theirs.seconds, strict=True))
