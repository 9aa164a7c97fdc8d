"""MAE throughput end to end (read JSONL, classify, write JSONL) and peak memory at two file sizes.

Builds the file itself in a temporary folder: real RoTBench pool trajectories (converted with
``tl_training.convert``) when ../shared/data exists, else synthetic ones from the hand-labelled
feedback in tests/labels; repeated with fresh ids up to N.  Each run is a separate process (one core);
its peak RSS is read with ``resource.getrusage(RUSAGE_CHILDREN)``.  Baseline, same run: the standard
library's json reading and writing every record untouched.  The file is deleted afterwards.

    python benchmarks/mae_throughput.py [--trajectories 200000] [--small 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
SHARED_POOL = ROOT.parent / "shared" / "data" / "rotbench_train" / "Tools_gpt4"

MAE_CHILD = """
import sys
from tl_training.mae import MAEConfig
from tl_training.mae.command import run_mae
tally, report = run_mae(sys.argv[1], sys.argv[2], MAEConfig())
print(tally.written, report.masked_turns)
"""
STDLIB_CHILD = """
import json, sys
with open(sys.argv[1]) as src, open(sys.argv[2], "w") as out:
    for line in src:
        out.write(json.dumps(json.loads(line)) + "\\n")
"""


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


def run(child: str, src: Path, dst: Path) -> tuple[float, int]:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", child, str(src), str(dst)], check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    return seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux, max so far


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trajectories", type=int, default=200_000)
    parser.add_argument("--small", type=int, default=20_000)
    args = parser.parse_args()
    records, kind = pool_records()
    print(f"source: {kind}, {len(records)} distinct trajectories; cpu: {os.cpu_count()} cores, one used per run")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        results = {}
        for label, count in (("small", args.small), ("large", args.trajectories)):
            src = tmp / f"{label}.jsonl"
            size = build(src, records, count)
            if label == "small":  # baseline on the small file: the cost per trajectory does not depend on size
                base_s, _ = run(STDLIB_CHILD, src, tmp / "base.jsonl")
                (tmp / "base.jsonl").unlink()
            seconds, peak = run(MAE_CHILD, src, tmp / "out.jsonl")
            results[label] = (count, size, seconds, peak)
            (tmp / "out.jsonl").unlink()
            src.unlink()
            print(f"{label}: {count} trajectories, {size / 1e6:.0f} MB ({size / count / 1e3:.1f} KB each): "
                  f"{count / seconds:,.0f} trajectories/s, {size / 1e6 / seconds:.1f} MB/s, "
                  f"peak RSS so far {peak / 1024:.0f} MiB")
        count, size, seconds, _ = results["small"]
        print(f"baseline (stdlib json read+write, small file): {count / base_s:,.0f} trajectories/s; "
              f"MAE is {base_s / seconds:.2f}x its speed")
        print(f"peak RSS small -> large ({results['large'][0] // results['small'][0]}x the file): "
              f"{results['small'][3] / 1024:.0f} -> {results['large'][3] / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
