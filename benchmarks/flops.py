"""FLOPs per train step, achieved GFLOP/s, and the share of an estimated peak.

Two counts, because XLA's cost analysis alone undercounts this program: XLA:CPU's
`cost_analysis()` counts the body of a while loop once, whatever its trip count (a 100-step
`lax.scan` of a matmul reports the FLOPs of one step; jax 0.10.2), and the RSSM observe scan
(T steps) and imagination scan (H steps) hold 14% (size1m) to 17% (size12m) of a train
step's matmul and convolution FLOPs at batch 16x64 (the image convolutions hold 65-70%). So the
achieved rate uses a count from the jaxpr instead: 2 FLOPs per multiply-add of every
`dot_general` and `conv_general_dilated` (padding and input-dilation holes excluded, as XLA
counts them), the body of each `scan` counted `length` times, the costlier branch of each
`cond`, after removing dead code as XLA does (the official step, traced through ninjax,
carries unused equations worth 37% more matmul FLOPs at the debug preset; without them the
sides differ only where the reimpl computes the same function with fewer multiply-adds: the
decoder's upsampling fused into its convolutions, reimpl/upsample_conv.py). On loop-free
programs the count equals XLA's less XLA's elementwise FLOPs (checked for matmuls, strided
and transposed convolutions and their gradients).
Elementwise work is left out, as it is from the peak it is compared with (fused multiply-adds
per cycle).

Peak: cores x clock x fp32 FLOPs per cycle per core from the /proc/cpuinfo flags (the
assumption is printed with the figure; it is an estimate, not a measured roof).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import jax
from jax._src.interpreters.partial_eval import dce_jaxpr  # no public DCE; roofline uses it
from jax.extend import core as jax_core

from . import report
from .timing import Program

if TYPE_CHECKING:
    from .train_step import Result

# fp32 FLOPs per cycle per core, first matching flag wins.
_FLOPS_PER_CYCLE = (
    ("avx512f", 32, "one 512-bit FMA per cycle (16 lanes x 2); 64 on cores with two 512-bit "
                    "FMA pipes (Xeon Scalable Gold/Platinum, Zen 5); Zen 4 double-pumps 256-bit "
                    "units and stays at 32"),
    ("fma", 32, "two 256-bit FMA pipes (8 lanes x 2 x 2)"),
    ("avx", 16, "one 256-bit add and one 256-bit multiply per cycle"),
    ("sse2", 8, "one 128-bit add and one 128-bit multiply per cycle"),
)


@dataclass(frozen=True)
class Peak:
    gflops: float
    assumption: str


def cpu_peak(cpuinfo: Path = Path("/proc/cpuinfo")) -> Peak | None:
    """None where /proc/cpuinfo says nothing usable (not Linux, or no clock reported)."""
    try:
        lines = cpuinfo.read_text().splitlines()
    except OSError:
        return None
    fields = [line.split(":", 1) for line in lines if ":" in line]
    mhz = [float(v) for k, v in fields if k.strip() == "cpu MHz"]
    flags = next((v.split() for k, v in fields if k.strip() == "flags"), [])
    cores = len(os.sched_getaffinity(0))
    match = next(((f, n, why) for f, n, why in _FLOPS_PER_CYCLE if f in flags), None)
    if not mhz or match is None:
        return None
    flag, per_cycle, why = match
    ghz = max(mhz) / 1000
    return Peak(cores * ghz * per_cycle,
                f"{cores} cores x {ghz:.2f} GHz (cpu MHz in /proc/cpuinfo, no boost) x "
                f"{per_cycle} fp32 FLOPs/cycle ({flag}: {why})")


def xla_flops(compiled: jax.stages.Compiled) -> float | None:
    """XLA's own count; `cost_analysis()` is a dict, or a list of one per device program in
    some jax versions, or None where the backend has no cost model."""
    analysis = compiled.cost_analysis()
    if isinstance(analysis, (list, tuple)):
        analysis = analysis[0] if analysis else None
    flops = (analysis or {}).get("flops")
    return float(flops) if flops is not None else None


@dataclass(frozen=True)
class JaxprCount:
    flops: float  # matmul and convolution FLOPs, loops multiplied out
    while_loops: int  # loops of unknown trip count, counted once


def _sub_jaxprs(params) -> list[jax_core.Jaxpr]:
    found = []
    for value in params.values():
        for item in value if isinstance(value, (list, tuple)) else (value,):
            if isinstance(item, jax_core.ClosedJaxpr):
                found.append(item.jaxpr)
            elif isinstance(item, jax_core.Jaxpr):
                found.append(item)
    return found


def _dot_flops(eqn) -> float:
    (lhs_contract, _), _ = eqn.params["dimension_numbers"]
    lhs = eqn.invars[0].aval.shape
    return 2.0 * math.prod(eqn.outvars[0].aval.shape) * math.prod(lhs[d] for d in lhs_contract)


def _valid_taps(size: int, window: int, out: int, stride: int, pad_low: int, lhs_dilation: int,
                rhs_dilation: int) -> int:
    """(output position, kernel tap) pairs along one spatial axis that meet a real input
    element rather than padding or a hole of input dilation (a transposed convolution): the
    multiply-adds XLA performs and counts."""
    last = (size - 1) * lhs_dilation
    return sum(1 for i in range(out) for j in range(window)
               if 0 <= (p := i * stride + j * rhs_dilation - pad_low) <= last
               and p % lhs_dilation == 0)


def _conv_flops(eqn) -> float:
    params = eqn.params
    lhs_spec, rhs_spec, out_spec = params["dimension_numbers"]
    lhs, rhs = eqn.invars[0].aval.shape, eqn.invars[1].aval.shape
    out = eqn.outvars[0].aval.shape
    taps = math.prod(
        _valid_taps(lhs[i], rhs[k], out[o], stride, low, lhs_dil, rhs_dil)
        for i, k, o, stride, (low, _), lhs_dil, rhs_dil in zip(
            lhs_spec[2:], rhs_spec[2:], out_spec[2:], params["window_strides"],
            params["padding"], params["lhs_dilation"], params["rhs_dilation"], strict=True))
    # Per (output batch, output feature): input features per group x valid taps.
    return 2.0 * out[out_spec[0]] * out[out_spec[1]] * rhs[rhs_spec[1]] * taps


def _count(jaxpr: jax_core.Jaxpr) -> JaxprCount:
    flops, whiles = 0.0, 0
    for eqn in jaxpr.eqns:
        name = eqn.primitive.name
        if name == "dot_general":
            flops += _dot_flops(eqn)
        elif name == "conv_general_dilated":
            flops += _conv_flops(eqn)
        elif name == "scan":
            inner = _count(eqn.params["jaxpr"].jaxpr)
            flops += eqn.params["length"] * inner.flops
            whiles += inner.while_loops
        elif name == "cond":
            branches = [_count(b.jaxpr) for b in eqn.params["branches"]]
            flops += max(b.flops for b in branches)
            whiles += max(b.while_loops for b in branches)
        else:
            inner = [_count(j) for j in _sub_jaxprs(eqn.params)]
            flops += sum(c.flops for c in inner)
            whiles += (name == "while") + sum(c.while_loops for c in inner)
    return JaxprCount(flops, whiles)


def jaxpr_flops(program: Program) -> JaxprCount:
    jaxpr = jax.make_jaxpr(program.fn)(*program.args).jaxpr
    live, _ = dce_jaxpr(jaxpr, [True] * len(jaxpr.outvars))
    return _count(live)


def table(results: list[Result], peak: Peak | None, on_cpu: bool) -> report.Table:
    """Achieved rate over each train step's median time (range: over its slowest and
    fastest call)."""
    rates = report.Table("FLOPs per train step", [
        "preset", "side", "GFLOP/step (matmul+conv, loops unrolled)",
        "XLA cost analysis GFLOP (loop bodies once)", "achieved GFLOP/s", "share of peak"])
    for r in results:
        m = r.measurement
        flops = r.counted.flops
        share = (report.spread(*(100 * flops / t / 1e9 / peak.gflops
                                 for t in (m.median, m.high, m.low)), "%") if peak else "n/a")
        xla = f"{r.xla_flops / 1e9:.3g}" if r.xla_flops is not None else "n/a"
        rates.rows.append([r.preset, r.side, f"{flops / 1e9:.3g}", xla,
                           report.spread(*(flops / t / 1e9 for t in (m.median, m.high, m.low))),
                           share])
    if peak:
        rates.notes.append(f"Peak {peak.gflops:.0f} GFLOP/s, estimated: {peak.assumption}.")
    else:
        rates.notes.append("Peak not estimated: " + ("/proc/cpuinfo gave no clock or vector "
                           "flags." if on_cpu else "only CPU peaks are (from /proc/cpuinfo)."))
    rates.notes.append("XLA:CPU counts each while-loop body once, so its figure misses all "
                       "but one step of the RSSM observe and imagination scans; the achieved "
                       "rate uses the jaxpr count, dead code removed (see benchmarks/flops.py).")
    whiles = sorted({r.side for r in results if r.counted.while_loops})
    if whiles:
        rates.notes.append(f"{', '.join(whiles)}: while loops of unknown trip count, counted "
                           f"once (a lower bound).")
    return rates
