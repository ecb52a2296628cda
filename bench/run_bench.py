"""Benchmark detect and plan on generated fleets, as ratios to a read floor measured in the same run.

    python bench/run_bench.py [--sizes 100,500] [--big] [--shapes flat,overlays] [--runs 3]

For each fleet shape and size N it generates two fleets (bench/gen_fleet.py): one at Linkerd
stable-2.11.5 and the same one patch behind (2.11.3). Each measurement runs in a fresh
interpreter that first measures the read floor (walk the repo and read every YAML file's
bytes, twice, the faster kept) and then, in the same process, one operation:

- detect: every component's instances, as `waypath detect` finds them;
- split: `plan` from stable-2.11.5 to the next release (the 2.12 chart split, six phases);
- bump: `plan` of the 2.11.3 fleet to 2.11.5 (one chart-version edit per instance);
- model: building the Flux repo model (engine/repo/flux) once, as a run will.

A run measures the operations; each ratio is the operation's CPU time / the floor's CPU time
in the same process (CPU time, not wall time: on a shared machine a busy moment stretches
wall time for one and not the other), and the table gives the median over the runs with the
spread (min–max); wall times are in the JSON. Peak memory is the
process's peak RSS. Growth compares the median seconds of one size with the next. The
start-up row times `waypath --help` and `waypath detect` on examples/ against bare
`python -c pass` (median of 9, interleaved). Results are printed as Markdown and written to
bench/results/ (ignored by git). Nothing asserts: the goals are read by people
(bench/README.md).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OPS = ("detect", "split", "bump", "model")

# Each probe runs in its own interpreter; it prints one JSON line.
PROBE = r"""
import json, os, resource, sys, time
from pathlib import Path
kind, root, target = sys.argv[1], Path(sys.argv[2]), sys.argv[3]

def clock():
    return time.perf_counter(), time.process_time()

def floor():
    start = clock()
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            if name.endswith((".yaml", ".yml")):
                with open(os.path.join(dirpath, name), "rb") as fh:
                    total += len(fh.read())
    end = clock()
    return end[0] - start[0], end[1] - start[1]

floors = [floor(), floor()]
read_s = min(f[0] for f in floors)
read_cpu = min(f[1] for f in floors)
import gc
gc.disable(); gc.freeze()  # as the `waypath` executable runs (engine.cli.entry)
from engine.commands.detect import find_all
from engine.planning.planner import PlanRequest, make_plan
from engine.recipe.loading import load_library
from engine.repo.workspace import Workspace
start = clock()
if kind == "detect":
    n = len(find_all(root, [], {}))
elif kind == "model":
    try:
        from engine.repo.flux import build_model
    except ImportError:  # an engine from before the Flux model
        print(json.dumps(None)); sys.exit(0)
    n = len(build_model(Workspace(root)).cluster_names)
else:
    plan = make_plan(Workspace(root), load_library(), PlanRequest(target=target))
    n = sum(len(c.changes) for c in plan.commits)
end = clock()
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"read_s": read_s, "read_cpu": read_cpu, "op_s": end[0] - start[0],
                  "op_cpu": end[1] - start[1], "peak_mb": peak_mb, "n": n}))
"""


def probe(kind: str, repo: Path, target: str = "") -> dict[str, float] | None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, kind, str(repo), target],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]
    # None: the engine has no such operation (the Flux model before it existed)


def fleet(work: Path, shape: str, n: int, linkerd: str) -> Path:
    repo = work / f"{shape}-{n}-{linkerd}"
    if not repo.exists():
        subprocess.run(
            [sys.executable, str(HERE / "gen_fleet.py"), str(repo), "--clusters", str(n),
             "--shape", shape, "--linkerd-version", linkerd],
            check=True,
            capture_output=True,
        )  # fmt: skip
    return repo


def repo_stats(repo: Path) -> tuple[int, float]:
    files = size = 0
    for dirpath, dirnames, filenames in os.walk(repo):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            if name.endswith((".yaml", ".yml")):
                files += 1
                size += os.path.getsize(os.path.join(dirpath, name))
    return files, size / 1024 / 1024


def measure(
    work: Path, shape: str, n: int, runs: int, split: str, bump: str, ops: tuple[str, ...] = OPS
) -> dict[str, Any]:
    current = fleet(work, shape, n, "2.11.5")
    behind = fleet(work, shape, n, "2.11.3")
    jobs = {
        "detect": (current, ""),
        "split": (current, split),
        "bump": (behind, bump),
        "model": (current, ""),
    }
    samples: dict[str, list[dict[str, float]]] = {op: [] for op in OPS}
    for _ in range(runs):
        for op in ops:  # interleaved: a slow moment of the machine hits every operation
            repo, target = jobs[op]
            found = probe(op, repo, target)
            if found is not None:
                samples[op].append(found)
    files, size = repo_stats(current)
    row: dict[str, Any] = {"shape": shape, "clusters": n, "files": files, "repo_mb": round(size, 1)}
    floors = [s["read_cpu"] for op in OPS for s in samples[op]]
    row["read_s"] = round(statistics.median(floors), 3)
    row["read_spread"] = [round(min(floors), 3), round(max(floors), 3)]
    row["read_wall_s"] = round(statistics.median(s["read_s"] for op in OPS for s in samples[op]), 3)
    for op in OPS:
        if not samples[op]:
            continue
        ratios = [s["op_cpu"] / s["read_cpu"] for s in samples[op]]
        row[f"{op}_s"] = round(statistics.median(s["op_cpu"] for s in samples[op]), 3)
        row[f"{op}_wall_s"] = round(statistics.median(s["op_s"] for s in samples[op]), 3)
        row[f"{op}_x"] = round(statistics.median(ratios), 2)
        row[f"{op}_spread"] = [round(min(ratios), 2), round(max(ratios), 2)]
        row[f"{op}_peak_mb"] = round(max(s["peak_mb"] for s in samples[op]), 1)
        row[f"{op}_n"] = int(samples[op][0]["n"])
    return row


def startup(runs: int = 9) -> dict[str, float]:
    """Median wall and CPU seconds (`cpu_<name>`) of each command. Python's bytecode
    caches are written by a first, unmeasured run (an installed wheel ships them): with
    PYTHONDONTWRITEBYTECODE set, every run would compile the engine from source again."""
    cli = [sys.executable, "-m", "engine"]  # this checkout's engine, as `waypath` runs it
    commands = {
        "bare": [sys.executable, "-c", "pass"],
        "help": [*cli, "--help"],
        "detect": [*cli, "detect", str(ROOT / "examples")],
    }
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for argv in commands.values():
        subprocess.run(argv, check=True, capture_output=True, cwd=ROOT, env=env)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(argv, check=True, capture_output=True, cwd=ROOT, env=env)
            samples[name].append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[name].append(
                after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
            )
    found = {name: statistics.median(values) for name, values in samples.items()}
    found.update({f"cpu_{name}": statistics.median(values) for name, values in cpu.items()})
    return found


def spread(values: list[float]) -> str:
    return f"{values[0]}–{values[1]}"


def report(rows: list[dict[str, Any]], start: dict[str, float], header: str) -> str:
    lines = [
        header,
        "",
        "| shape | N | files | repo MB | read floor s | detect | split 2.11→2.12 | patch bump "
        "| Flux model | split peak MB | peak − repo MB | model peak MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        peak = max(r.get(f"{op}_peak_mb", 0) for op in ("detect", "split", "bump"))
        cells = [
            r["shape"], r["clusters"], r["files"], r["repo_mb"],
            f"{r['read_s']} ({spread(r['read_spread'])})",
            *(
                f"{r[f'{op}_x']}x ({spread(r[f'{op}_spread'])})" if f"{op}_x" in r else "–"
                for op in OPS
            ),
            r.get("split_peak_mb", "–"), f"+{round(peak - r['repo_mb'], 1)}",
            r.get("model_peak_mb", "–"),
        ]  # fmt: skip
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    lines.append("")
    for shape, group in itertools.groupby(rows, key=lambda r: r["shape"]):
        for a, b in itertools.pairwise(list(group)):
            factor = b["clusters"] / a["clusters"]
            grown = ", ".join(
                f"{op} x{b[f'{op}_s'] / a[f'{op}_s']:.2f}" for op in OPS if f"{op}_s" in a
            )
            lines.append(
                f"- growth {shape} {a['clusters']} → {b['clusters']} (x{factor:g} clusters): "
                f"{grown}; read floor x{b['read_s'] / a['read_s']:.2f}"
            )
    if not start:  # --no-startup
        return "\n".join(lines) + "\n"
    lines.append(
        f"- start-up (wall): `waypath --help` {start['help'] * 1000:.0f} ms "
        f"({start['help'] / start['bare']:.1f}x), `waypath detect examples/` "
        f"{start['detect'] * 1000:.0f} ms ({start['detect'] / start['bare']:.1f}x), bare "
        f"`python -c pass` {start['bare'] * 1000:.0f} ms"
    )
    if "cpu_bare" in start:
        bare = start["cpu_bare"]
        lines.append(
            f"- start-up (CPU, with child processes): `waypath --help` "
            f"{start['cpu_help'] * 1000:.0f} ms ({start['cpu_help'] / bare:.1f}x), "
            f"`waypath detect examples/` {start['cpu_detect'] * 1000:.0f} ms "
            f"({start['cpu_detect'] / bare:.1f}x), bare {bare * 1000:.0f} ms"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,500", help="cluster counts (default 100,500)")
    parser.add_argument("--big", action="store_true", help="add N=2000 (slow: minutes)")
    parser.add_argument(
        "--shapes", default="flat,overlays", help="fleet shapes (gen_fleet --shape)"
    )
    parser.add_argument("--work", type=Path, default=None, help="where fleets are generated")
    parser.add_argument("--runs", type=int, default=3, help="runs per size (median kept)")
    parser.add_argument("--target", default="linkerd@stable-2.12")
    parser.add_argument("--patch-target", default="linkerd@stable-2.11.5")
    parser.add_argument("--no-startup", action="store_true", help="skip the start-up row")
    parser.add_argument("--ops", default=",".join(OPS), help="operations (default: all)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="waypath-bench-"))
    sizes = [int(s) for s in args.sizes.split(",") if s] + ([2000] if args.big else [])

    rows = []
    for shape in args.shapes.split(","):
        for n in sizes:
            ops = tuple(args.ops.split(","))
            rows.append(measure(work, shape, n, args.runs, args.target, args.patch_target, ops))
            print(json.dumps(rows[-1]), flush=True)
    start = {} if args.no_startup else startup()
    header = (
        f"detect: every component; split: {args.target} from stable-2.11.5 (6 phases); bump: "
        f"{args.patch_target} from 2.11.3 (one edit per instance). Ratios of CPU time to the "
        f"read floor's in the same process, median of {args.runs} runs (min–max); Python "
        f"{sys.version.split()[0]}"
    )
    text = report(rows, start, header)
    print(text)
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / "latest.md").write_text(text)
    (results / "latest.json").write_text(json.dumps({"rows": rows, "startup": start}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
