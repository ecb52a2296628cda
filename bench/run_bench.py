"""Benchmark `plan` on generated fleets against two floors measured in the same run.

    python bench/run_bench.py [--sizes 10,100,500] [--work DIR] [--target linkerd@stable-2.12]

For each fleet size N it generates a fleet (bench/gen_fleet.py), then measures, each in a
fresh subprocess so caches and peak memory do not leak between measurements:

- floor 1: reading every YAML file's bytes;
- floor 2: PyYAML's C loader composing every YAML file;
- `plan` to the next release, as the CLI does it (detect, path, every phase, diffs held
  in memory), with its peak RSS.

It reports the ratios plan/floor, peak memory against the repo size, the growth from one
size to the next, and `waypath --help` start-up against bare `python -c pass`. Results are
printed as Markdown and written to bench/results/ (ignored by git). Nothing here asserts:
a benchmark measures; the goals are read by people (see bench/README.md).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# Each probe runs in its own interpreter; it prints one JSON line.
PROBE = r"""
import json, os, resource, sys, time
from pathlib import Path
root = Path(sys.argv[2])
kind = sys.argv[1]
files = []
for dirpath, dirnames, filenames in os.walk(root):
    dirnames[:] = [d for d in dirnames if d != ".git"]
    for name in filenames:
        if name.endswith((".yaml", ".yml")):
            files.append(os.path.join(dirpath, name))
files.sort()
start = time.perf_counter()
if kind == "read":
    total = 0
    for f in files:
        with open(f, "rb") as fh:
            total += len(fh.read())
elif kind == "pyyaml":
    import yaml
    total = 0
    for f in files:
        with open(f, "rb") as fh:
            for node in yaml.compose_all(fh.read(), Loader=yaml.CSafeLoader):
                total += 1
elif kind == "plan":
    from engine.recipe.loading import load_library
    from engine.planning.planner import PlanRequest, make_plan
    from engine.repo.workspace import Workspace
    start = time.perf_counter()
    plan = make_plan(Workspace(root), load_library(), PlanRequest(target=sys.argv[3]))
    total = sum(len(c.changes) for c in plan.commits)
elapsed = time.perf_counter() - start
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": elapsed, "peak_mb": peak_kb / 1024, "files": len(files), "n": total}))
"""


def probe(kind: str, repo: Path, target: str = "") -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, kind, str(repo), target],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def best_of(runs: int, kind: str, repo: Path, target: str = "") -> dict[str, float]:
    results = [probe(kind, repo, target) for _ in range(runs)]
    best = min(results, key=lambda r: r["seconds"])
    best["peak_mb"] = max(r["peak_mb"] for r in results)
    return best


def repo_size_mb(repo: Path) -> float:
    total = sum(p.stat().st_size for p in repo.rglob("*") if p.is_file())
    return total / 1024 / 1024


def startup(runs: int = 7) -> tuple[float, float]:
    def timed(argv: list[str]) -> float:
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(argv, check=True, capture_output=True, cwd=ROOT)
            samples.append(time.perf_counter() - start)
        return statistics.median(samples)

    bare = timed([sys.executable, "-c", "pass"])
    cli = timed([sys.executable, "-m", "engine.cli", "--help"])
    return bare, cli


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,100,500")
    parser.add_argument("--work", type=Path, default=None, help="where fleets are generated")
    parser.add_argument("--target", default="linkerd@stable-2.12")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (best kept)")
    parser.add_argument("--patch-target", default="linkerd@stable-2.11.5")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="waypath-bench-"))
    sizes = [int(s) for s in args.sizes.split(",")]

    rows = []
    for n in sizes:
        repo = work / f"fleet-{n}"
        if not repo.exists():
            subprocess.run(
                [sys.executable, str(HERE / "gen_fleet.py"), str(repo), "--clusters", str(n)],
                check=True,
                capture_output=True,
            )
        read = best_of(args.runs, "read", repo)
        pyyaml = best_of(args.runs, "pyyaml", repo)
        plan = best_of(args.runs, "plan", repo, args.target)
        # The same fleet one patch release behind (2.11.3): the next release is then a
        # chart bump with one edit per cluster, which shows the engine's own overhead
        # apart from the heavy 2.12 chart split.
        behind = work / f"fleet-{n}-2.11.3"
        if not behind.exists():
            shutil.copytree(repo, behind)
            for release in behind.glob("clusters/*/linkerd/helmrelease.yaml"):
                release.write_text(release.read_text().replace('"2.11.5"', '"2.11.3"'))
        bump = best_of(args.runs, "plan", behind, args.patch_target)
        size = repo_size_mb(repo)
        rows.append(
            {
                "clusters": n,
                "files": int(read["files"]),
                "repo_mb": round(size, 1),
                "read_s": round(read["seconds"], 3),
                "pyyaml_s": round(pyyaml["seconds"], 3),
                "plan_s": round(plan["seconds"], 3),
                "plan_vs_read": round(plan["seconds"] / read["seconds"], 2),
                "plan_vs_pyyaml": round(plan["seconds"] / pyyaml["seconds"], 2),
                "plan_peak_mb": round(plan["peak_mb"], 1),
                "bump_s": round(bump["seconds"], 3),
                "bump_vs_read": round(bump["seconds"] / read["seconds"], 2),
                "bump_peak_mb": round(bump["peak_mb"], 1),
                "read_peak_mb": round(read["peak_mb"], 1),
                "changed_files": int(plan["n"]),
            }
        )
        print(json.dumps(rows[-1]), flush=True)

    bare, cli = startup()
    lines = [
        f"plan: {args.target} from stable-2.11.5 (the chart split, 6 phases); bump: "
        f"{args.patch_target} from stable-2.11.3 (one edit per cluster); best of {args.runs} "
        f"runs; Python {sys.version.split()[0]}",
        "",
        "| clusters | files | repo MB | read s | PyYAML C s | plan s | plan/read | plan/PyYAML "
        "| plan peak MB | peak - repo MB | bump s | bump/read | bump peak MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['clusters']} | {r['files']} | {r['repo_mb']} | {r['read_s']} | {r['pyyaml_s']} "
            f"| {r['plan_s']} | {r['plan_vs_read']}x | {r['plan_vs_pyyaml']}x "
            f"| {r['plan_peak_mb']} | {round(r['plan_peak_mb'] - r['repo_mb'], 1)} "
            f"| {r['bump_s']} | {r['bump_vs_read']}x | {r['bump_peak_mb']} |"
        )
    for a, b in itertools.pairwise(rows):
        growth = (b["plan_s"] / a["plan_s"]) / (b["clusters"] / a["clusters"])
        lines.append(
            f"\ngrowth {a['clusters']} -> {b['clusters']} clusters: plan time x"
            f"{b['plan_s'] / a['plan_s']:.1f} for x{b['clusters'] / a['clusters']:.0f} clusters "
            f"(1.0 = linear: {growth:.2f})"
        )
    lines.append(
        f"\nstart-up: `waypath --help` {cli * 1000:.0f} ms vs `python -c pass` {bare * 1000:.0f} ms "
        f"({cli / bare:.1f}x)"
    )
    report = "\n".join(lines) + "\n"
    print(report)
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / "latest.md").write_text(report)
    (results / "latest.json").write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
