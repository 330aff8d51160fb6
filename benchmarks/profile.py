"""`python -m benchmarks.profile`: where the compiled train step's time goes, reimpl and
official side by side, from XLA's own per-operation times.

Both train steps are built as `python -m benchmarks` builds them (same preset, batch and
float32 compute), compiled, called once, then traced with `jax.profiler` over `--repeats`
alternating rounds (reimpl, official, reimpl, ...). XLA:CPU's thunk executor records one
event per executed HLO operation (a fusion, a convolution, a dot, a copy), on whichever
thread ran it; its time is attributed to a part of the agent by the operation's `op_name`
metadata, the JAX name stack both sides leave in the compiled HLO (flax module methods such
as `Encoder` and `RSSM.observe_step`; ninjax module names such as `enc` and `dyn`; the
official layer names that both sides share). The innermost module named wins, so a policy
head called inside the imagination scan counts as a head, and random numbers drawn inside
the RSSM count as random numbers. Operations outside the differentiated loss (no `jvp` in the
name stack) are the optimizer update and its bookkeeping.

The table goes into BENCHMARKS.md as a section of its own (`python -m benchmarks` keeps it).
Times are summed over threads, so their total can exceed the wall time of a call when XLA
runs independent operations at once; the wall time is given next to it.
"""

from __future__ import annotations

import argparse
import collections
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import jax
from jax.profiler import ProfileData

from reimpl import cli
from reimpl.config import PRESETS, preset

from . import programs, report, workload
from .timing import Program, progress

SECTION = "profile"
# Parts of the agent and the names that mark them, on either side. Order does not matter:
# the part whose name comes last in an operation's name stack (the innermost) wins.
PARTS = {
    "encoder": r"\benc\b|\bEncoder\b",
    "decoder": r"\bdec\b|\bDecoder\b",
    "RSSM (observe and imagination steps)": r"\bdyn\b|\bRSSM\b",
    "heads (reward, continuation, policy, value)": (
        r"\b(rew|con|pol|val|slowval)\b|\bMLPHead\b"),
    "random numbers": r"_threefry|_gumbel|_uniform|random_bits",
}
OPTIMIZER = "optimizer update and bookkeeping (outside the loss)"
LOSSES = "losses, returns and their gradients (outside any module)"
UNNAMED = "no name stack near it (operations XLA made itself)"
# Operations whose events contain those of the operations they run.
CONTROL_FLOW = {"while", "conditional", "call"}
TOP_OPS = 6


@dataclass(frozen=True)
class Operation:
    opcode: str
    op_name: str  # the JAX name stack, "" when XLA made the operation itself


_COMPUTATION = re.compile(r"^(?:ENTRY\s+)?%?([\w.\-]+)\s*\(.*\{\s*$")
_INSTRUCTION = re.compile(r"^\s+(?:ROOT\s+)?%?([\w.\-]+)\s*=\s*(.*)$")
_OPCODE = re.compile(r"\s*([a-z][\w\-]*)\(")
_OP_NAME = re.compile(r'op_name="([^"]*)"')
_CALLS = re.compile(r"calls=%?([\w.\-]+)")
_OPERAND = re.compile(r"%([\w.\-]+)")
# How far back through its operands an operation XLA made itself looks for a name.
INHERIT_DEPTH = 4
# The operations that carry a fusion's work: a fusion is named after the first of them.
HEAVY = ("convolution", "dot", "custom-call")


def hlo_operations(hlo_text: str) -> dict[str, Operation]:
    """Every instruction of a compiled module's HLO text: name -> opcode and op_name.
    An instruction reads `name = SHAPE opcode(operands), attributes`; a shape is one word or
    a parenthesised tuple. A fusion takes the name stack of the first convolution or dot it
    calls (XLA names it after its root, often a trailing add or reduction), else its own, else
    that of the first named instruction inside. An operation XLA made itself (a layout copy, a
    weight-gradient convolution it rewrote) takes the name of the nearest named operation that
    feeds it, up to INHERIT_DEPTH operands back."""
    found, calls, bodies, current = {}, {}, collections.defaultdict(list), ""
    operands: dict[str, list[str]] = {}
    for line in hlo_text.splitlines():
        header = _COMPUTATION.match(line)
        if header:
            current = header.group(1)
            continue
        match = _INSTRUCTION.match(line)
        if not match:
            continue
        rest = match.group(2)
        shape_end = _closing(rest) + 1 if rest.startswith("(") else rest.find(" ")
        opcode = _OPCODE.match(rest[shape_end:]) if shape_end > 0 else None
        name = _OP_NAME.search(rest)
        operation = Operation(opcode.group(1) if opcode else "", name.group(1) if name else "")
        found[match.group(1)] = operation
        bodies[current].append(operation)
        operands[match.group(1)] = _OPERAND.findall(rest[shape_end:].split("), ", 1)[0])
        callee = _CALLS.search(rest)
        if callee and operation.opcode == "fusion":
            calls[match.group(1)] = callee.group(1)
    for fusion, callee in calls.items():
        inside = [op for op in bodies.get(callee, []) if op.op_name]
        heavy = [op for op in inside if op.opcode in HEAVY]
        if heavy or not found[fusion].op_name and inside:
            found[fusion] = Operation("fusion", (heavy or inside)[0].op_name)
    return {name: _named(name, op, found, operands) for name, op in found.items()}


def _named(name: str, operation: Operation, found: dict[str, Operation],
           operands: dict[str, list[str]]) -> Operation:
    """The operation, with the name stack of its nearest named operand if it has none."""
    frontier = [name]
    for _ in range(INHERIT_DEPTH):
        if operation.op_name:
            return operation
        frontier = [o for n in frontier for o in operands.get(n, []) if o in found]
        named = [found[o].op_name for o in frontier if found[o].op_name]
        if named:
            return Operation(operation.opcode, named[0])
    return operation


def _closing(text: str) -> int:
    """Index of the parenthesis that closes the one `text` starts with."""
    depth = 0
    for index, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return index
    return len(text) - 1


def part(operation: Operation) -> str:
    """The part of the agent an operation belongs to (see PARTS)."""
    if not operation.op_name:
        return UNNAMED
    best, position = None, -1
    for name, pattern in PARTS.items():
        for match in re.finditer(pattern, operation.op_name):
            if match.start() > position:
                best, position = name, match.start()
    if best:
        return best
    return LOSSES if "jvp(" in operation.op_name else OPTIMIZER


def module_name(hlo_text: str) -> str:
    match = re.match(r"\s*HloModule\s+([\w.\-]+)", hlo_text)
    if not match:
        raise ValueError("not an HLO module's text: its first line names no HloModule")
    return match.group(1)


def operation_times(trace_dir: str, module: str) -> dict[str, float]:
    """Seconds per HLO operation of `module` in a jax.profiler trace: each executed
    operation's event, summed over calls and threads."""
    paths = list(Path(trace_dir).rglob("*.xplane.pb"))
    if not paths:
        raise RuntimeError(f"jax.profiler wrote no trace under {trace_dir}")
    times: dict[str, float] = collections.defaultdict(float)
    for path in paths:
        for plane in ProfileData.from_file(str(path)).planes:
            for line in plane.lines:
                for event in line.events:
                    stats = dict(event.stats)
                    if stats.get("hlo_module") == module and "hlo_op" in stats:
                        times[stats["hlo_op"]] += event.duration_ns * 1e-9
    return dict(times)


@dataclass(frozen=True)
class Profile:
    side: str
    calls: int
    wall_s: float  # per call
    by_part: dict[str, float]  # seconds per call
    top: list[tuple[float, str, Operation]]  # (seconds per call, HLO name, operation)

    @property
    def total(self) -> float:
        return sum(self.by_part.values())


def attribute(times: dict[str, float], operations: dict[str, Operation], calls: int,
              side: str, wall_s: float) -> Profile:
    """Per-call seconds by part, control-flow operations left out (their events contain
    their bodies' operations, which are counted themselves)."""
    by_part: dict[str, float] = collections.defaultdict(float)
    ranked = []
    for name, seconds in times.items():
        operation = operations.get(name, Operation("", ""))
        if operation.opcode in CONTROL_FLOW:
            continue
        by_part[part(operation)] += seconds / calls
        ranked.append((seconds / calls, name, operation))
    ranked.sort(key=lambda item: -item[0])
    return Profile(side, calls, wall_s, dict(by_part), ranked[:TOP_OPS])


def _traced_call(program: Program, compiled, args, workdir: str, label: str):
    """One call under the profiler -> (next arguments, wall seconds, trace directory)."""
    directory = tempfile.mkdtemp(prefix=f"{label}-", dir=workdir)
    with jax.profiler.trace(directory):
        start = time.perf_counter()
        args = program.call(compiled, args)
        wall = time.perf_counter() - start
    return args, wall, directory


def profile(sides: list[Program], repeats: int, workdir: str) -> list[Profile]:
    """Compile every side, call it once untraced, then trace `repeats` alternating rounds."""
    compiled, arguments, texts = [], [], []
    for program in sides:
        progress(f"profile {program.name}: compiling")
        executable = program.fn.lower(*program.args).compile()
        progress(f"profile {program.name}: one untraced call")
        arguments.append(program.call(executable, program.args))
        compiled.append(executable)
        texts.append(executable.as_text())
    times = [collections.defaultdict(float) for _ in sides]
    walls = [0.0 for _ in sides]
    for round_ in range(repeats):
        for index, program in enumerate(sides):
            progress(f"profile {program.name}: traced call {round_ + 1}/{repeats}")
            arguments[index], wall, directory = _traced_call(
                program, compiled[index], arguments[index], workdir,
                f"{program.name}{round_}")
            walls[index] += wall
            for op, seconds in operation_times(directory, module_name(texts[index])).items():
                times[index][op] += seconds
    return [attribute(times[i], hlo_operations(texts[i]), repeats, program.name,
                      walls[i] / repeats) for i, program in enumerate(sides)]


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.0f} ms" if seconds >= 0.01 else f"{seconds * 1e3:.2f} ms"


def table(preset_name: str, batch: tuple[int, int], ours: Profile, theirs: Profile
          ) -> report.Table:
    parts = [*PARTS, LOSSES, OPTIMIZER, UNNAMED]
    result = report.Table(
        f"Where the train step's time goes ({preset_name}, batch {batch[0]}x{batch[1]})",
        ["part", "reimpl", "share", "official", "share", "reimpl/official"])
    for name in parts:
        mine, other = ours.by_part.get(name, 0.0), theirs.by_part.get(name, 0.0)
        result.rows.append([name, _ms(mine), f"{mine / ours.total:.1%}", _ms(other),
                            f"{other / theirs.total:.1%}",
                            f"{mine / other:.2f}" if other else "-"])
    result.rows.append(["all operations (summed over threads)", _ms(ours.total), "100%",
                        _ms(theirs.total), "100%", f"{ours.total / theirs.total:.2f}"])
    result.rows.append(["wall time of a traced call", _ms(ours.wall_s), "", _ms(theirs.wall_s),
                        "", f"{ours.wall_s / theirs.wall_s:.2f}"])
    for side in (ours, theirs):
        result.notes.append(f"Largest {side.side} operations: " + "; ".join(
            f"`{name}` {op.opcode} {_ms(seconds)} ({part(op)})"
            for seconds, name, op in side.top))
    result.notes += [
        f"Each side's XLA operations timed by jax.profiler over {ours.calls} alternating "
        "traced calls, per call; attributed to a part by each operation's JAX name stack "
        "(the innermost module named; benchmarks/profile.py). Times are summed over threads, "
        "so the total can exceed a call's wall time.",
        "Tracing adds a little to each call; compare the parts, and take step times from the "
        "train step table.",
    ]
    return result


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = cli.Parser(prog="python -m benchmarks.profile", description=(
        "Profile the compiled train step of the reimpl and the official agent, attribute "
        "XLA's per-operation times to the parts of the agent, and put the table into "
        "BENCHMARKS.md (its own section; the other tables stay)."))
    parser.add_argument("--preset", default="size12m", choices=PRESETS,
                        help="agent preset (default: size12m)")
    parser.add_argument("--batch", default="16x64", help="batch size x length (default: 16x64)")
    parser.add_argument("--repeats", type=int, default=3, help="traced calls per side "
                        "(default: 3)")
    parser.add_argument("--out", type=Path, default=report.DEFAULT_OUT,
                        help="the report to put the section in (default: BENCHMARKS.md)")
    args = parser.parse_args(argv)
    sizes = args.batch.split("x")
    if len(sizes) != 2 or not all(s.isdigit() and int(s) > 0 for s in sizes):
        parser.error(f"--batch: {args.batch!r} is not SIZExLENGTH, e.g. 16x64")
    args.batch = (int(sizes[0]), int(sizes[1]))
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def run(args: argparse.Namespace) -> report.Table:
    config = preset(args.preset, batch_size=args.batch[0], batch_length=args.batch[1])
    batch = workload.train_batch(config)
    progress(f"profile {args.preset}: building both train steps (official init)")
    sides = [programs.reimpl_train(config, batch),
             programs.official_train(programs.official_agent(config, args.preset), batch)]
    with tempfile.TemporaryDirectory() as workdir:
        ours, theirs = profile(sides, args.repeats, workdir)
    return table(args.preset, args.batch, ours, theirs)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parse(argv)
    from reference_adapter import ReferenceUnavailable, loader
    try:
        loader.load()
    except ReferenceUnavailable as error:
        raise SystemExit(f"python -m benchmarks.profile: the official agent is needed: "
                         f"{error}") from None
    return report.publish("benchmarks.profile", argv, SECTION, args.out, lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
