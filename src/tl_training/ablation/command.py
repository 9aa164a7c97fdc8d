"""``tl-training ablate --config C.yaml [--seeds N] [--variants ...]``: the paper's ablation, over seeds.

Standard SFT, +MAE, +PKT, +IRM and all three, each a pipeline run on the same data (one data stage,
shared), the same budget (the config's sft and rl sections) and the same seeds; every run keeps its
own resume markers under ``<run_dir>/<variant>/seed<S>``; a stage identical to another variant's (+IRM's SFT
is standard SFT's) is trained once and reused.  Writes ``ablation.md`` (mean and spread over
seeds, the size of one case in points, a paired per-case comparison with standard SFT and the error
categories), ``ablation.json`` and ``ablation.png``.
"""

from __future__ import annotations

import collections
import copy
import json
import math
import statistics
import sys
from pathlib import Path
from typing import Any

from .config import PipelineConfig

# variant -> (MAE on, PKT on, IRM on); standard SFT is the same code path with pkt: false.
VARIANTS = {
    "standard_sft": (False, False, False),
    "+mae": (True, False, False),
    "+pkt": (False, True, False),
    "+irm": (False, False, True),
    "all_three": (True, True, True),
}
LEVELS = ("TS", "PI", "CF")
# variant -> seed -> benchmark -> case id -> {"TS", "PI", "CF": passed, "category": ...} (``case_outcomes``)
Outcomes = dict[str, dict[int, dict[str, dict[str, dict[str, Any]]]]]


def register(subparsers) -> None:
    parser = subparsers.add_parser("ablate", help="standard SFT vs +MAE, +PKT, +IRM and all three, over seeds",
                                   description=__doc__.split("\n\n")[0].replace("``", ""))
    parser.add_argument("--config", required=True, help="pipeline YAML (the budget of every variant)")
    parser.add_argument("--seeds", type=int, default=1, help="training seeds 0..N-1 (default 1)")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS), metavar="VARIANT",
                        help=f"subset to run, in this order (default all: {', '.join(VARIANTS)})")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="override a field, e.g. sft.max_steps=50")
    parser.set_defaults(func=run)


def variant_config(base: PipelineConfig, variant: str, seed: int, data: dict[str, Any]) -> PipelineConfig:
    mae, pkt, irm = VARIANTS[variant]
    config = copy.deepcopy(base)
    config.run_dir = str(base.path / variant.lstrip("+") / f"seed{seed}")
    config.seed = seed
    config.data = {"source": "file", "input": data["train"], **({"eval_cases": data["eval_cases"]} if data.get("eval_cases") else {})}
    config.mae = {**base.mae, "enabled": mae}
    config.sft = {**base.sft, "enabled": True, "pkt": pkt}
    config.rl = {**base.rl, "enabled": irm}
    config.eval = {**base.eval, "enabled": True, "models": ["rl" if irm else "sft"]}
    return config


def _spread(values: list[float]) -> tuple[float, float | None]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else None)


def summarize(results: dict[str, dict[int, dict[str, dict[str, Any]]]]) -> dict[str, Any]:
    """variant -> seed -> benchmark -> figures  =>  variant -> benchmark -> level -> (mean, sd, per seed)."""
    table: dict[str, Any] = {}
    for variant, by_seed in results.items():
        benchmarks = list(dict.fromkeys(b for figures in by_seed.values() for b in figures))
        for benchmark in benchmarks:
            for level in LEVELS:
                values = [by_seed[s][benchmark][level] for s in sorted(by_seed) if benchmark in by_seed[s]]
                mean, sd = _spread(values)
                table.setdefault(variant, {}).setdefault(benchmark, {})[level] = {"mean": mean, "sd": sd, "seeds": values}
    return table


def case_outcomes(eval_dir: str | Path) -> dict[str, dict[str, dict[str, Any]]]:
    """benchmark -> case id -> {"TS", "PI", "CF": passed, "category": error category}, from an eval run's
    ``scores/<benchmark>.jsonl``."""
    from ..eval.report import slug

    results = json.loads((Path(eval_dir) / "results.json").read_text())
    outcomes = {}
    for benchmark in results["benchmarks"]:
        lines = (Path(eval_dir) / "scores" / f"{slug(benchmark)}.jsonl").read_text().splitlines()
        outcomes[benchmark] = {score["id"]: {**{level: score[level.lower()] for level in LEVELS},
                                             "category": score["category"]} for score in map(json.loads, lines)}
    return outcomes


def sign_test(gains: int, losses: int) -> float:
    """Exact two-sided sign test on the discordant cases: how often a coin would split them this unevenly."""
    n = gains + losses
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(gains, losses) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def _case_pairs(by_seed: dict[int, dict[str, dict[str, Any]]], base_by_seed: dict[int, dict[str, dict[str, Any]]]):
    """(variant's outcome, baseline's outcome) for every case both scored, on the same seed and benchmark."""
    for seed, by_benchmark in by_seed.items():
        for benchmark, cases in by_benchmark.items():
            base = base_by_seed.get(seed, {}).get(benchmark, {})
            yield from ((outcome, base[case]) for case, outcome in cases.items() if case in base)


def paired(outcomes: Outcomes, baseline: str = "standard_sft") -> dict[str, Any]:
    """Each variant against the baseline, case by case on the same cases and seed, at each level (TS, PI, CF):
    cases gained (passed where the baseline failed) and lost, over every benchmark and seed, with the sign
    test's p."""
    table: dict[str, Any] = {}
    if baseline not in outcomes:
        return table
    for variant, by_seed in outcomes.items():
        if variant == baseline:
            continue
        pairs = list(_case_pairs(by_seed, outcomes[baseline]))
        for level in LEVELS:
            gains = sum(1 for mine, base in pairs if mine[level] and not base[level])
            losses = sum(1 for mine, base in pairs if base[level] and not mine[level])
            table.setdefault(variant, {})[level] = {"gained": gains, "lost": losses, "p": sign_test(gains, losses)}
    return table


def category_counts(outcomes: Outcomes) -> dict[str, Any]:
    """variant -> error category -> (mean, sd, per seed) of its case count over all benchmarks."""
    from ..verdict import CATEGORIES

    table: dict[str, Any] = {}
    for variant, by_seed in outcomes.items():
        per_seed = [collections.Counter(case["category"] for cases in by_seed[seed].values() for case in cases.values())
                    for seed in sorted(by_seed)]
        for category in reversed(CATEGORIES):  # worst first, as the judge ranks them
            values = [float(counts[category]) for counts in per_seed]
            mean, sd = _spread(values)
            table.setdefault(variant, {})[category] = {"mean": mean, "sd": sd, "seeds": values}
    return table


def _p_value(p: float) -> str:
    return f"{p:.2f}" if p >= 0.01 else f"{p:.1g}"  # 0.0014 is not "0.00"


def _cell(entry: dict[str, Any]) -> str:
    return f"{entry['mean']:.1f}" + (f" ± {entry['sd']:.1f}" if entry["sd"] is not None else "")


def markdown(table: dict[str, Any], cases: dict[str, int], seeds: int, pairs: dict[str, Any] | None = None,
             categories: dict[str, Any] | None = None) -> str:
    benchmarks = list(cases)
    lines = [f"Mean ± sample standard deviation over {seeds} seed(s) (no spread with one seed), TS / PI / CF in %.", "",
             "| variant | " + " | ".join(benchmarks) + " |", "|---|" + "---|" * len(benchmarks)]
    for variant, by_benchmark in table.items():
        cells = [" / ".join(_cell(by_benchmark[b][level]) for level in LEVELS) if b in by_benchmark else "-"
                 for b in benchmarks]
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    lines += ["", "One case is worth " + ", ".join(f"{100 / n:.2f} points on {b} ({n} cases)" for b, n in cases.items()) + "."]
    if "standard_sft" in table:
        lines += ["", "CF difference to standard SFT (points, mean over seeds):", ""]
        for variant, by_benchmark in table.items():
            if variant != "standard_sft":
                lines.append(f"- {variant}: " + ", ".join(
                    f"{b} {by_benchmark[b]['CF']['mean'] - table['standard_sft'][b]['CF']['mean']:+.1f}"
                    for b in benchmarks if b in by_benchmark and b in table["standard_sft"]))
    if pairs:
        lines += ["", "Case by case against standard SFT (same cases, same seed, over every benchmark and seed): "
                  "cases gained / lost, and the exact two-sided sign test on them (p near 1: a coin splits them "
                  "as evenly):", "", "| variant | " + " | ".join(LEVELS) + " |", "|---|" + "---|" * len(LEVELS)]
        lines += [f"| {v} | " + " | ".join(f"+{e[level]['gained']} / -{e[level]['lost']}, p = {_p_value(e[level]['p'])}"
                                          for level in LEVELS) + " |" for v, e in pairs.items()]
    if categories:
        names = list(next(iter(categories.values())))
        lines += ["", f"Error categories (the judge's, as the reward grades), cases over all benchmarks, mean "
                  f"over seeds ({sum(cases.values())} cases a seed):", "",
                  "| variant | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        lines += [f"| {v} | " + " | ".join(_cell(counts[name]) for name in names) + " |" for v, counts in categories.items()]
    return "\n".join(lines) + "\n"


def chart(table: dict[str, Any], benchmarks: list[str], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    variants = list(table)
    width = 0.8 / max(1, len(variants))
    fig, ax = plt.subplots(figsize=(max(6, 1.8 * len(benchmarks)), 3.8))
    for k, variant in enumerate(variants):
        entries = [table[variant].get(b, {}).get("CF", {"mean": 0.0, "sd": None}) for b in benchmarks]
        ax.bar([i + (k - (len(variants) - 1) / 2) * width for i in range(len(benchmarks))],
               [e["mean"] for e in entries], width, yerr=[e["sd"] or 0.0 for e in entries], capsize=2, label=variant)
    ax.set_xticks(range(len(benchmarks)), benchmarks, rotation=15, ha="right")
    ax.set_ylabel("CF (%), mean ± sd over seeds")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def run(args) -> int:
    from ..cli import UserError
    from .command import load
    from .stages import run_pipeline

    if args.seeds < 1:
        raise UserError("--seeds must be at least 1")
    base = load(args.config, args.overrides, quick=False)
    base.path.mkdir(parents=True, exist_ok=True)
    shared = copy.deepcopy(base)
    shared.run_dir = str(base.path / "shared")
    print("ablation: the shared data stage", file=sys.stderr)
    data = run_pipeline(shared, only_until="data")["data"]["outputs"]
    results: dict[str, dict[int, dict[str, Any]]] = {}
    outcomes: Outcomes = {}
    cases: dict[str, int] = {}
    for seed in range(args.seeds):  # seed by seed: a run cut short still leaves complete comparisons
        for variant in args.variants:
            print(f"ablation: {variant}, seed {seed}", file=sys.stderr)
            # the other variants of this seed: a stage identical to one of theirs (same hash) is not trained twice
            siblings = [base.path / other.lstrip("+") / f"seed{seed}" for other in VARIANTS if other != variant]
            markers = run_pipeline(variant_config(base, variant, seed, data), reuse_from=siblings)
            evaluation = markers["eval"]
            (model,) = evaluation["outputs"]["runs"]
            results.setdefault(variant, {})[seed] = evaluation["metrics"][model]
            outcomes.setdefault(variant, {})[seed] = case_outcomes(evaluation["outputs"]["runs"][model])
            cases.update({b: f["cases"] for b, f in evaluation["metrics"][model].items()})
    results = {v: results[v] for v in VARIANTS if v in results}  # the paper's order, whatever order they ran in
    outcomes = {v: outcomes[v] for v in VARIANTS if v in outcomes}
    table, pairs, categories = summarize(results), paired(outcomes), category_counts(outcomes)
    text = markdown(table, cases, args.seeds, pairs, categories)
    (base.path / "ablation.md").write_text("# Ablation\n\n" + text, encoding="utf-8")
    (base.path / "ablation.json").write_text(json.dumps({"seeds": args.seeds, "cases": cases, "table": table,
                                                         "paired": pairs, "categories": categories}, indent=2))
    chart(table, list(cases), base.path / "ablation.png")
    print(text, end="")
    print(f"wrote {base.path}/ablation.md, ablation.json, ablation.png", file=sys.stderr)
    return 0
