"""Tables as aligned text (terminal) and markdown (BENCHMARKS.md), the machine description,
and the formatting of a median with its spread."""

from __future__ import annotations

import datetime
import os
import platform
import shlex
import statistics
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import jax
import jaxlib

from .timing import Measurement, paired_ratios, progress

ROOT = Path(__file__).resolve().parent.parent  # the repository
DEFAULT_OUT = ROOT / "BENCHMARKS.md"  # the report every benchmark writes into


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        widths = [max(len(row[i]) for row in [self.header, *self.rows])
                  for i in range(len(self.header))]

        def line(row: list[str]) -> str:
            return "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()

        body = [line(self.header), line(["-" * w for w in widths]), *map(line, self.rows)]
        return "\n".join([f"== {self.title}", *body, *(f"  * {n}" for n in self.notes)])

    def markdown(self) -> str:
        def line(row: list[str]) -> str:
            return "| " + " | ".join(row) + " |"

        body = [line(self.header), line(["---"] * len(self.header)), *map(line, self.rows)]
        notes = [f"- {n}" for n in self.notes]
        return "\n".join([f"## {self.title}", "", *body, *([""] + notes if notes else [])])


def _unit(seconds: float) -> tuple[float, str]:
    """Seconds, else milliseconds down to 0.01 ms, so the two sides of a sub-millisecond
    policy step read in one unit."""
    if seconds >= 1:
        return 1.0, "s"
    if seconds >= 1e-5:
        return 1e3, "ms"
    return 1e6, "us"


def _number(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"


def spread(median: float, low: float, high: float, unit: str = "") -> str:
    """`median [min-max] unit`: every figure comes with the range of its repeats."""
    suffix = f" {unit}" if unit else ""
    return f"{_number(median)} [{_number(low)}-{_number(high)}]{suffix}"


def duration(m: Measurement) -> str:
    scale, unit = _unit(m.median)
    return spread(m.median * scale, m.low * scale, m.high * scale, unit)


def seconds(value: float) -> str:
    scale, unit = _unit(value)
    return f"{_number(value * scale)} {unit}"


def ratio(ours: Measurement, theirs: Measurement) -> str:
    """Ratio of medians; the range pairs our fastest with their slowest call and back."""
    return spread(ours.median / theirs.median, ours.low / theirs.high,
                  ours.high / theirs.low)


def paired_ratio(ours: Measurement, theirs: Measurement) -> str:
    """Median [min-max] of the per-round ratios of two programs timed in alternation."""
    ratios = paired_ratios(ours, theirs)
    return spread(statistics.median(ratios), min(ratios), max(ratios))


def size(num_bytes: int | None) -> str:
    if num_bytes is None:
        return "n/a"
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(num_bytes) >= scale:
            return f"{num_bytes / scale:.3g} {unit}"
    return f"{num_bytes} B"


def _cpuinfo() -> dict[str, str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    pairs = (line.split(":", 1) for line in text.splitlines() if ":" in line)
    info: dict[str, str] = {}
    for key, value in pairs:
        info.setdefault(key.strip(), value.strip())
    return info


def _git_revision() -> str:
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True,
                             text=True, check=True, cwd=Path(__file__).parent)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> dict[str, str]:
    """What a reader needs to compare these figures with their own."""
    cpu = _cpuinfo()
    flags = set(cpu.get("flags", "").split())
    vector = [f for f in ("avx512f", "avx2", "fma") if f in flags]
    device = jax.devices()[0]
    model = cpu.get("model name", platform.processor() or "unknown")
    if "cpu family" in cpu:
        model += f" (family {cpu['cpu family']}, model {cpu.get('model', '?')})"
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "CPU": model,
        "cores": f"{len(os.sched_getaffinity(0))} usable of {os.cpu_count()}",
        "clock": f"{cpu['cpu MHz']} MHz (/proc/cpuinfo)" if "cpu MHz" in cpu else "unknown",
        "vector units": ", ".join(vector) or "none of avx512f/avx2/fma",
        "device": f"{device.platform} ({device.device_kind}), {jax.device_count()} device(s)",
        "jax": f"jax {jax.__version__}, jaxlib {jaxlib.__version__}",
        "python": platform.python_version(),
        "revision": _git_revision(),
        "load average": "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg()),
    }


def markdown(command: str, header: dict[str, str], tables: list[Table], notes: list[str],
             load_after: str, title: str = "Benchmarks",
             regenerate: str = "python -m benchmarks") -> str:
    lines = [f"# {title}", "",
             f"Generated by `{command}`; regenerate with `{regenerate}` on a quiet "
             f"machine (other processes distort the times: see the load average).", ""]
    lines += [f"**{n}**" for n in notes] + ([""] if notes else [])
    lines += [f"- {key}: {value}" for key, value in header.items()]
    lines += [f"- load average at the end: {load_after}", ""]
    lines += [item for table in tables for item in (table.markdown(), "")]
    return "\n".join(lines)


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}: begin -->", f"<!-- {name}: end -->"


def section(text: str, name: str) -> str | None:
    """The marked section `name` of a report, markers included, or None."""
    start, end = _markers(name)
    if start not in text or end not in text:
        return None
    return text[text.index(start):text.index(end) + len(end)]


def with_section(text: str, name: str, body: str) -> str:
    """The report with its section `name` replaced by `body` (appended if it has none)."""
    start, end = _markers(name)
    new = f"{start}\n{body}\n{end}"
    old = section(text, name)
    if old is not None:
        return text.replace(old, new)
    return f"{text.rstrip()}\n\n{new}\n" if text else f"{new}\n"


def write_section(path: Path, name: str, table: Table, command: str,
                  header: dict[str, str]) -> None:
    """Put `table` into the report's section `name` with the command and the machine that made
    it (header: `machine()` taken at the start); the rest of the report stays."""
    end = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    body = "\n".join([table.markdown(), "", f"Generated by `{command}` on {header['CPU']} "
                      f"({header['vector units']}; {header['cores']} cores), {header['date']}, "
                      f"revision {header['revision']}; load average {header['load average']} "
                      f"at the start, {end} at the end (other jobs lengthen every time)."])
    path.write_text(with_section(path.read_text() if path.exists() else "", name, body))


def publish(module: str, argv: list[str], name: str, out: Path,
            make: Callable[[], Table]) -> int:
    """The main of a benchmark that fills one section of the report: says what runs where,
    makes the table, prints it and writes it into section `name` of `out`."""
    command = shlex.join(["python", "-m", module, *argv])
    header = machine()
    progress(f"{command} on {header['CPU']}, {header['cores']} cores")
    table = make()
    print("\n" + table.text(), flush=True)
    write_section(out, name, table, command, header)
    progress(f"wrote the {name} section of {out}")
    return 0
