"""Benchmark: the command line's start-up (issue #10: a single check ≤ 1.5 s, ``--help`` ≤ 0.3 s).

Runs, each as a fresh process exactly as a user types it (the ``trialreach`` entry point next to
this Python, a private cache folder, the offline geocoder):

* ``trialreach --help``;
* ``trialreach check "39.99, -83.02" --sites demo`` (default engine, the demo graph; the first
  run builds that graph in the private cache and is reported apart, as *first run*);
* ``python -c pass`` (the interpreter alone) and ``python -c "import pandas"`` (the floor any
  check pays while the answer is a pandas frame), for scale;

and prints median and min wall time, and the median against each target (≤ 1 meets it). Then
the import time of ``trialreach.api`` and of the whole check (``-X importtime``, the sum of every
module's own time): steadier than wall time on a shared machine, because it counts only this
process's work. The load average is printed before and after: on the 2-core development machine
other jobs run alongside, and wall times under load are several times the idle ones. Bytecode
caching is on for the runs, as for a user (``PYTHONDONTWRITEBYTECODE`` is dropped).

    python benchmarks/bench_cli.py [--runs 7] [--place "39.99, -83.02"] [--sites demo]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

CHECK_TARGET_S = 1.5
HELP_TARGET_S = 0.3


CPU_S: dict[str, list[float]] = {}
"""CPU time (user + system, s) of each timed run, by command label: less moved by other jobs'
load than wall time, which also counts the time spent waiting for a core."""


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wall(cmd: Sequence[str], env: dict[str, str], label: str = "") -> float:
    """Wall time of one run (s); the run must succeed. Its CPU time goes to ``CPU_S[label]``."""
    cpu0 = _children_cpu_s()
    t0 = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stderr[-2000:]}")
    if label:
        CPU_S.setdefault(label, []).append(_children_cpu_s() - cpu0)
    return elapsed


def import_times_ms(cmd: Sequence[str], env: dict[str, str]) -> dict[str, float]:
    """``-X importtime`` of one run: the sum of every module's own time, and each module's
    cumulative time (ms)."""
    out = subprocess.run(
        [cmd[0], "-X", "importtime", *cmd[1:]], env=env, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stderr[-2000:]}")
    total = 0.0
    cumulative: dict[str, float] = {}
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, cum, name = line.removeprefix("import time:").split("|")
        total += int(own) / 1000
        cumulative[name.strip()] = int(cum) / 1000
    return {"total": total, **cumulative}


def describe(label: str, times: list[float], target_s: float | None = None, cpu: str = "") -> str:
    med = statistics.median(times)
    text = f"  {label:44s} median {med:5.2f} s   min {min(times):5.2f} s"
    if cpu in CPU_S:
        text += f"   CPU median {statistics.median(CPU_S[cpu]):5.2f} s"
    if target_s is not None:
        text += f"   median/target {med / target_s:4.2f} (≤ 1 meets ≤ {target_s:g} s)"
    return text


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min) on {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--place", default="39.99, -83.02")
    parser.add_argument("--sites", default="demo")
    args = parser.parse_args()

    python = sys.executable
    exe = Path(python).with_name("trialreach")
    cli = [str(exe)] if exe.exists() else [python, "-m", "trialreach.cli"]
    print(f"load average before: {load()}")
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        # A user's Python caches bytecode; without it, every module edited since its cache was
        # written would be compiled again on every run and counted as start-up.
        print("note: PYTHONDONTWRITEBYTECODE is set here; dropped for the timed runs")
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as cache:
        env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("TRIALREACH_", "ORS_")) and k != "PYTHONDONTWRITEBYTECODE"
            },
            "TRIALREACH_CACHE_DIR": cache,
            "TRIALREACH_GEOCODER": "offline",
            "COLUMNS": "100",
        }
        check = [*cli, "check", args.place, "--sites", args.sites]
        first = wall(check, env)
        runs: dict[str, list[float]] = {"help": [], "check": [], "python": [], "pandas": []}
        for _ in range(args.runs):  # interleaved, so a change of load hits every command alike
            runs["help"].append(wall([*cli, "--help"], env, "help"))
            runs["check"].append(wall(check, env, "check"))
            runs["python"].append(wall([python, "-c", "pass"], env, "python"))
            runs["pandas"].append(wall([python, "-c", "import pandas"], env, "pandas"))
        api = [
            import_times_ms([python, "-c", "import trialreach.api"], env) for _ in range(args.runs)
        ]
        # The check under -X importtime: the entry script run by this Python.
        traced = [python, str(exe), *check[1:]] if exe.exists() else check
        whole = [import_times_ms(traced, env) for _ in range(3)]

    print(f"\nwall time with process start, {args.runs} runs each (interleaved)")
    print(f"  {'trialreach check (first run: builds the demo graph)':44s} {first:6.2f} s")
    print(
        describe(
            f"trialreach check {args.place!r} -s {args.sites}",
            runs["check"],
            CHECK_TARGET_S,
            "check",
        )
    )
    print(describe("trialreach --help", runs["help"], HELP_TARGET_S, "help"))
    print(describe("python -c pass (interpreter alone)", runs["python"], cpu="python"))
    print(describe("python -c 'import pandas' (floor of a check)", runs["pandas"], cpu="pandas"))

    print("\nimport time (-X importtime: sum of each module's own time; steadier under load)")
    api_ms = [r["trialreach.api"] for r in api]
    print(
        f"  import trialreach.api          median {statistics.median(api_ms):6.0f} ms   "
        f"min {min(api_ms):6.0f} ms"
    )
    totals = [r["total"] for r in whole]
    print(
        f"  everything a check imports     median {statistics.median(totals):6.0f} ms   "
        f"min {min(totals):6.0f} ms"
    )
    best = min(whole, key=lambda r: r["total"])
    shown = ("pandas", "geopandas", "pyproj", "typer", "typer._adapters", "pydantic", "requests")
    parts = ", ".join(f"{m} {best[m]:.0f}" for m in shown if m in best)
    print(f"  of which (cumulative ms, fastest run): {parts}")
    absent = [m for m in ("requests", "tenacity", "rich.progress") if m not in best]
    print(f"  not imported by the check: {', '.join(absent) or '—'}")
    print(f"\nload average after: {load()}")


if __name__ == "__main__":
    main()
