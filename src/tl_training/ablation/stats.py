"""Per-case outcomes of the ablation's evaluations, and the comparisons drawn from them.

A comparison is a contrast (``design.CONTRASTS``): per seed and case, the weighted sum of the variants'
outcomes on that case.  Its estimate is the mean over seeds of the **macro average over benchmarks**
(each benchmark weighs the same, whatever its size) of the mean over cases.  Outcomes are pass/fail
levels (reported in percentage points) or the gold-name margin (nats; cases where it is defined).

Uncertainty, both paired (the same cases and seeds in every variant):

- a **case-and-seed bootstrap**: each replicate redraws the seeds and, independently, the cases of each
  benchmark (a crossed design: the cases are the same across seeds), recomputes the estimate; the 95%
  interval is the 2.5th and 97.5th percentiles, the two-sided p the doubled smaller tail at zero;
- a **paired t-test over seeds** on the per-seed estimates (n = seeds, n - 1 degrees of freedom), which
  sees only the seed-to-seed spread (training-order and sample noise).

The minimum detectable effect is 2.8 standard errors of the bootstrap (80% power at a two-sided 5%
level: 1.96 + 0.84): a true effect smaller than that is likely to go unseen.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

# metric -> (key in a case's outcome, scale to report: points for pass/fail rates, nats for the margin)
METRICS = {"CF": ("cf", 100.0), "TS": ("ts", 100.0), "PI": ("pi", 100.0), "TS by name": ("ts_name", 100.0),
           "format errors": ("format_error", 100.0), "gold-name margin": ("margin", 1.0),
           "repeats an injected kind": ("repeated", 100.0),  # the positive control's outcome (control.py)
           "task success": ("success", 100.0), "episode reward": ("episode_reward", 1.0)}  # rl/episode_eval.py
PRIMARY = "CF"
BOOTSTRAP_REPLICATES = 2000
POWER_FACTOR = 1.96 + 0.84  # 80% power, two-sided alpha 0.05

# variant -> seed -> benchmark -> case id -> outcome
Outcomes = dict[str, dict[int, dict[str, dict[str, dict[str, Any]]]]]


def case_outcomes(eval_dir: str | Path) -> dict[str, dict[str, dict[str, Any]]]:
    """benchmark -> case id -> outcome (``cf``, ``ts``, ``pi``, ``ts_name``, ``format_error``, ``margin``,
    ``category``), from an eval run's ``scores/<benchmark>.jsonl``."""
    from ..eval.report import slug

    results = json.loads((Path(eval_dir) / "results.json").read_text())
    outcomes = {}
    for benchmark in results["benchmarks"]:
        lines = (Path(eval_dir) / "scores" / f"{slug(benchmark)}.jsonl").read_text().splitlines()
        outcomes[benchmark] = {score["id"]: {
            "cf": score["cf"], "ts": score["ts"], "pi": score["pi"], "ts_name": score.get("ts_name"),
            "format_error": score["category"] == "format_error", "margin": score.get("margin"),
            "category": score["category"]} for score in map(json.loads, lines)}
    return outcomes


def _aligned(outcomes: Outcomes, weights: dict[str, float], key: str):
    """(seeds, {benchmark: array seeds x cases of the contrast}) over what every weighted variant has."""
    import numpy as np

    variants = list(weights)
    if any(v not in outcomes for v in variants):
        return [], {}
    seeds = sorted(set.intersection(*(set(outcomes[v]) for v in variants)))
    if not seeds:
        return [], {}
    benchmarks = [b for b in outcomes[variants[0]][seeds[0]]
                  if all(b in outcomes[v][s] for v in variants for s in seeds)]
    arrays = {}
    for benchmark in benchmarks:
        cases = [c for c in outcomes[variants[0]][seeds[0]][benchmark]
                 if all(outcomes[v][s][benchmark].get(c, {}).get(key) is not None for v in variants for s in seeds)]
        if cases:
            arrays[benchmark] = np.array([[sum(w * float(outcomes[v][s][benchmark][c][key]) for v, w in weights.items())
                                           for c in cases] for s in seeds])
    return seeds, arrays


def contrast(outcomes: Outcomes, weights: dict[str, float], metric: str = PRIMARY,
             replicates: int = BOOTSTRAP_REPLICATES, rng_seed: int = 0) -> dict[str, Any] | None:
    """The contrast's estimate, per-seed values, bootstrap interval and p, paired t over seeds and the
    minimum detectable effect (None when no seed has every variant of the contrast)."""
    import numpy as np
    from scipy import stats as scipy_stats

    key, scale = METRICS[metric]
    seeds, arrays = _aligned(outcomes, weights, key)
    if not arrays:
        return None
    per_seed = [float(np.mean([x[s].mean() for x in arrays.values()])) * scale for s in range(len(seeds))]
    rng = np.random.default_rng(rng_seed)
    pick_seeds = rng.integers(0, len(seeds), size=(replicates, len(seeds)))
    boot = np.zeros(replicates)
    for x in arrays.values():
        pick_cases = rng.integers(0, x.shape[1], size=(replicates, x.shape[1]))
        boot += x[pick_seeds[:, :, None], pick_cases[:, None, :]].mean(axis=(1, 2))
    boot = boot / len(arrays) * scale
    estimate = statistics.fmean(per_seed)
    se = float(boot.std(ddof=1))
    result = {"estimate": estimate, "per_seed": per_seed, "seeds": seeds,
              "cases": {b: int(x.shape[1]) for b, x in arrays.items()},
              "ci95": [float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))],
              "p_bootstrap": float(min(1.0, 2 * min((boot <= 0).mean(), (boot >= 0).mean()))),
              "se": se, "mde": POWER_FACTOR * se, "t": None, "p_t": None}
    if len(per_seed) > 1:
        sd = statistics.stdev(per_seed)
        if sd > 0:
            t = estimate / (sd / math.sqrt(len(per_seed)))
            result |= {"t": t, "p_t": float(2 * scipy_stats.t.sf(abs(t), len(per_seed) - 1))}
    return result


def variant_figures(outcomes: Outcomes) -> dict[str, Any]:
    """variant -> benchmark -> metric -> {mean, sd, seeds}: each seed's rate (or mean margin) on the benchmark,
    with a ``macro`` benchmark averaging the benchmarks."""
    table: dict[str, Any] = {}
    for variant, by_seed in outcomes.items():
        per: dict[str, dict[str, list[float]]] = {}
        for seed in sorted(by_seed):
            macro: dict[str, list[float]] = {}
            for benchmark, cases in by_seed[seed].items():
                for metric, (key, scale) in METRICS.items():
                    values = [float(c[key]) for c in cases.values() if c.get(key) is not None]
                    if values:
                        value = statistics.fmean(values) * scale
                        per.setdefault(benchmark, {}).setdefault(metric, []).append(value)
                        macro.setdefault(metric, []).append(value)
            for metric, values in macro.items():
                per.setdefault("macro", {}).setdefault(metric, []).append(statistics.fmean(values))
        table[variant] = {b: {m: {"mean": statistics.fmean(v), "sd": statistics.stdev(v) if len(v) > 1 else None,
                                  "seeds": v} for m, v in metrics.items()} for b, metrics in per.items()}
    return table


def category_counts(outcomes: Outcomes) -> dict[str, Any]:
    """variant -> error category -> (mean, sd, per seed) of its case count over all benchmarks."""
    from ..verdict import CATEGORIES

    table: dict[str, Any] = {}
    for variant, by_seed in outcomes.items():
        per_seed = [Counter(case["category"] for cases in by_seed[seed].values() for case in cases.values())
                    for seed in sorted(by_seed)]
        for category in reversed(CATEGORIES):  # worst first, as the judge ranks them
            values = [float(counts[category]) for counts in per_seed]
            table.setdefault(variant, {})[category] = {
                "mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1 else None,
                "seeds": values}
    return table
