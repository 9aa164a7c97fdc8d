"""MAE throughput end to end (read JSONL, classify, write JSONL) and peak memory at two file sizes.

Builds the file itself in a temporary folder: real RoTBench pool trajectories (converted with
``tl_training.convert``) when ../shared/data exists, else synthetic ones from the hand-labelled
feedback in tests/labels; repeated with fresh ids up to N.  Each pass is a separate process (one core)
that reports its own CPU time and peak RSS.  Baselines, same run, same file: orjson and the standard
library's json reading and writing every record untouched.  On the small file the three passes are
interleaved ``--rounds`` times (machine load hits all alike) and the best of each is kept; the large file
gets one MAE pass and one orjson pass.  Wall time is what a user waits; CPU time is less disturbed by other
processes on a shared machine.  The files are deleted afterwards.

    python benchmarks/mae_throughput.py [--trajectories 200000] [--small 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
SHARED_POOL = ROOT.parent / "shared" / "data" / "rotbench_train" / "Tools_gpt4"

# Every child ends by printing its own CPU seconds and peak RSS (KiB) as the last line.  The peak is the
# kernel's VmHWM, which starts afresh at exec; ru_maxrss would carry over the parent's size from the fork.
USAGE = """
import re as _re, resource as _r
_u = _r.getrusage(_r.RUSAGE_SELF)
print(_u.ru_utime + _u.ru_stime, _re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1))
"""
CHILDREN = {
    "mae": """
import sys
from tl_training.mae import MAEConfig
from tl_training.mae.command import run_mae
tally, report = run_mae(sys.argv[1], sys.argv[2], MAEConfig())
""",
    "orjson": """
import orjson, sys
with open(sys.argv[1], "rb") as src, open(sys.argv[2], "wb") as out:
    for line in src:
        out.write(orjson.dumps(orjson.loads(line)) + b"\\n")
""",
    "stdlib json": """
import json, sys
with open(sys.argv[1]) as src, open(sys.argv[2], "w") as out:
    for line in src:
        out.write(json.dumps(json.loads(line)) + "\\n")
""",
}


def pool_records() -> tuple[list[dict], str]:
    if SHARED_POOL.is_dir():
        from tl_training.convert import FORMATS
        from tl_training.jsonl import Tally
        return list(FORMATS["rotbench"](SHARED_POOL, Tally(), False)), "RoTBench pool (converted)"
    records = []
    for path in sorted((ROOT / "tests" / "labels").glob("mae_*.jsonl")):
        labels = [json.loads(x) for x in path.read_text().splitlines() if x]
        for i in range(0, len(labels) - 3, 4):
            messages = [{"role": "user", "content": "question"}]
            for lab in labels[i:i + 4]:
                args = lab["call"]["arguments"] if isinstance(lab["call"]["arguments"], dict) else {}
                messages += [{"role": "assistant", "content": "Thought: ...", "tool_calls": [
                    {"type": "function", "function": {"name": lab["call"]["name"], "arguments": args}}]},
                    {"role": "tool", "name": lab["call"]["name"], "content": lab["feedback"]}]
            records.append({"id": f"synthetic/{path.stem}/{i}", "tools": [], "messages": messages})
    return records, "synthetic (hand-labelled feedback)"


def build(path: Path, records: list[dict], count: int) -> int:
    lines = [orjson.dumps(r) for r in records]
    with open(path, "wb") as out:
        for n in range(count):
            line = lines[n % len(lines)]
            out.write(line.replace(b'"id":"', b'"id":"%d/' % n, 1) + b"\n")
    return path.stat().st_size


def run(name: str, src: Path, dst: Path) -> tuple[float, float, int]:
    """One pass in a fresh process: (wall seconds, CPU seconds, peak RSS KiB)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILDREN[name] + USAGE, str(src), str(dst)], check=True,
                          stdout=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    dst.unlink()
    cpu, rss = done.stdout.split("\n")[-2].split()
    return wall, float(cpu), int(rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trajectories", type=int, default=200_000)
    parser.add_argument("--small", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved passes on the small file")
    args = parser.parse_args()
    records, kind = pool_records()
    load = os.getloadavg()[0]
    print(f"source: {kind}, {len(records)} distinct trajectories; cpu: {os.cpu_count()} cores, one used per pass; "
          f"load average at start {load:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for label, count, names, rounds in (("small", args.small, ("orjson", "stdlib json", "mae"), args.rounds),
                                            ("large", args.trajectories, ("orjson", "mae"), 1)):
            src = tmp / f"{label}.jsonl"
            size = build(src, records, count)
            best: dict[str, tuple[float, float, int]] = {}
            for _ in range(rounds):
                for name in names:
                    wall, cpu, rss = run(name, src, tmp / "out.jsonl")
                    old = best.get(name, (float("inf"), float("inf"), 0))
                    best[name] = (min(wall, old[0]), min(cpu, old[1]), max(rss, old[2]))
            src.unlink()
            print(f"{label}: {count} trajectories, {size / 1e6:.0f} MB ({size / count / 1e3:.1f} KB each), "
                  f"best of {rounds}:")
            for name, (wall, cpu, rss) in best.items():
                print(f"  {name:12s} wall {count / wall:8,.0f} trajectories/s {size / 1e6 / wall:6.1f} MB/s | "
                      f"CPU {count / cpu:8,.0f} trajectories/s {size / 1e6 / cpu:6.1f} MB/s | peak RSS {rss / 1024:.0f} MiB")
            for name in names[:-1]:
                print(f"  MAE / {name} speed: wall {best[name][0] / best['mae'][0]:.2f}x, "
                      f"CPU {best[name][1] / best['mae'][1]:.2f}x")
    print(f"load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
