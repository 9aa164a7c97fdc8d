"""Reward throughput: verdicts per second of ``verdict.judge`` on a generated mix of model outputs.

Baseline, measured in the same run on the same texts: ``calls.parse_calls`` alone (the parse step every
verdict needs).  The ratio judge/parse shows what grading adds on top of parsing.  Also reported: judging
already parsed calls (no parse step), and the mix's breakdown by category.  Runs pinned to one core.

    python benchmarks/reward_throughput.py [--cases 4000] [--repeats 5] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import time
from collections import Counter, defaultdict

from tl_training.calls import format_calls, parse_calls
from tl_training.verdict import CATEGORIES, judge

SYNTAXES = ("python", "json", "hermes", "react")
WORDS = ["paris", "rome", "weather", "flight", "hotel", "price", "date", "query", "user", "report"]


def make_tools(rng: random.Random) -> list[dict]:
    tools = []
    for t in range(rng.randint(2, 8)):
        params = [f"{rng.choice(WORDS)}_{p}" for p in range(rng.randint(1, 6))]
        tools.append({"type": "function", "function": {
            "name": f"{rng.choice(WORDS)}_{rng.choice(WORDS)}_{t}", "description": "generated",
            "parameters": {"type": "object", "properties": {p: {"type": "string"} for p in params},
                           "required": params[:1]}}})
    return tools


def random_value(rng: random.Random):
    return rng.choice([lambda: rng.choice(WORDS) + " " + rng.choice(WORDS), lambda: rng.randint(0, 999),
                       lambda: round(rng.random() * 100, 2), lambda: rng.random() < 0.5,
                       lambda: [rng.choice(WORDS) for _ in range(rng.randint(1, 3))]])()


def make_case(rng: random.Random) -> tuple[str, list, list]:
    """One (prediction text, gold, tools): the gold call perturbed into one of the categories."""
    tools = make_tools(rng)
    spec = rng.choice(tools)["function"]
    keys = list(spec["parameters"]["properties"])
    gold_args = {k: random_value(rng) for k in keys[: rng.randint(1, len(keys))]}
    gold_call = {"name": spec["name"], "arguments": dict(gold_args)}
    if len(keys) > 1 and rng.random() < 0.3:  # an optional gold key
        gold_call["arguments"][keys[-1]] = {"any_of": [random_value(rng), None]}
    call = {"name": spec["name"], "arguments": dict(gold_args)}
    kind = rng.choice(["correct", "correct", "content", "drop", "extra", "undeclared", "wrong", "unknown",
                       "text", "broken"])
    if kind == "content":
        key = rng.choice(list(gold_args))
        call["arguments"][key] = "changed"
    elif kind == "drop":
        call["arguments"].pop(next(iter(gold_args)))
    elif kind == "extra":
        call["arguments"]["zz_extra"] = 1
    elif kind == "undeclared":
        call["arguments"]["undeclared_key"] = "x"
    elif kind == "wrong":
        call["name"] = rng.choice([t["function"]["name"] for t in tools])
    elif kind == "unknown":
        call["name"] = "made_up_tool"
    syntax = rng.choice(SYNTAXES)
    text = format_calls([call], syntax)
    if kind == "text":
        text = "I think the answer is " + " ".join(rng.choice(WORDS) for _ in range(12)) + "."
    elif kind == "broken":
        text = text[: max(1, len(text) - rng.randint(2, 8))]
    return text, [[gold_call]], tools


def best_rates(runs: dict, repeats: int) -> dict[str, float]:
    """Items per second of each (func, items), best of ``repeats``; interleaved, so load hits all alike."""
    best = {name: float("inf") for name in runs}
    for _ in range(repeats):
        for name, (func, items) in runs.items():
            start = time.perf_counter()
            for item in items:
                func(*item)
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: len(runs[name][1]) / best[name] for name in runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    rng = random.Random(args.seed)
    cases = [make_case(rng) for _ in range(args.cases)]
    parsed = [(parse_calls(text).calls, gold, tools) for text, gold, tools in cases]

    rates = best_rates({"parse": (lambda text, gold, tools: parse_calls(text), cases), "judge": (judge, cases),
                        "judge_parsed": (judge, [p for p in parsed if p[0]])}, args.repeats)
    parse_rate, judge_rate, judge_parsed_rate = rates["parse"], rates["judge"], rates["judge_parsed"]

    counts, rewards = Counter(), defaultdict(float)
    for case in cases:
        verdict = judge(*case)
        counts[verdict.category] += 1
        rewards[verdict.category] += verdict.reward
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}, 1 core")
    print(f"cases: {len(cases)} (syntaxes {', '.join(SYNTAXES)}), best of {args.repeats} passes")
    print(f"baseline parse_calls only:      {parse_rate:10,.0f} texts/s")
    print(f"judge (parse + grade):          {judge_rate:10,.0f} verdicts/s   "
          f"= {judge_rate / parse_rate:.2f}x the parse-only rate")
    print(f"judge on already parsed calls:  {judge_parsed_rate:10,.0f} verdicts/s")
    print("breakdown by category:")
    for category in reversed(CATEGORIES):
        if counts[category]:
            print(f"  {category:<20} {counts[category]:6d}  {counts[category] / len(cases):6.1%}  "
                  f"mean reward {rewards[category] / counts[category]:+.3f}")


if __name__ == "__main__":
    main()
