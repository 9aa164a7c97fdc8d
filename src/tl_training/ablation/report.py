"""``ablation.md``, ``ablation.json`` and ``ablation.png`` from the outcomes of the runs done so far.

Rebuilt from scratch on every call (the command calls it at the end, after the pilot, and it can be
called on a partial run): nothing here is a second source of figures.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..jsonl import AtomicFile, write_text_atomic
from .design import CONTRASTS, PARENTS, VARIANTS
from .stats import METRICS, PRIMARY, Outcomes, category_counts, contrast, variant_figures

TABLE_METRICS = ("CF", "TS", "PI", "TS by name", "format errors", "gold-name margin")


def _cell(entry: dict[str, Any] | None, digits: int = 1) -> str:
    if not entry:
        return "-"
    return f"{entry['mean']:.{digits}f}" + (f" ± {entry['sd']:.{digits}f}" if entry["sd"] is not None else "")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows]


def label(benchmark: str) -> str:
    """A benchmark's name as a table shows it (the held-out turns' file path is long)."""
    return "held-out first turns" if benchmark.startswith("openai:") and benchmark.endswith("heldout.jsonl") else benchmark


def _unit(metric: str) -> str:
    return "nats" if METRICS[metric][1] == 1.0 else "points"


def comparison_rows(comparisons: dict[str, dict[str, Any]], metrics: tuple[str, ...]) -> list[list[str]]:
    rows = []
    for name, by_metric in comparisons.items():
        for metric in metrics:
            c = by_metric.get(metric)
            if not c:
                continue
            digits = 2 if _unit(metric) == "nats" else 1
            p_t = f"{c['p_t']:.2f}" if c["p_t"] is not None else "-"
            rows.append([name, metric, f"{c['estimate']:+.{digits}f} {_unit(metric)}",
                         f"[{c['ci95'][0]:+.{digits}f}, {c['ci95'][1]:+.{digits}f}]", f"{c['p_bootstrap']:.3f}", p_t,
                         f"{c['mde']:.{digits}f}", " / ".join(f"{v:+.{digits}f}" for v in c["per_seed"])])
    return rows


COMPARISON_HEADER = ["comparison", "metric", "estimate", "95% CI (case-and-seed bootstrap)", "p (bootstrap)",
                     "p (paired t over seeds)", "minimum detectable effect", "per seed"]


def costs(run_dir: Path) -> dict[str, float]:
    """Seconds spent by stage over every run of the ablation (stages adopted from a sibling not counted)."""
    totals: dict[str, float] = {}
    for marker in run_dir.glob("**/DONE.json"):
        entry = json.loads(marker.read_text())
        if "stage" in entry and entry.get("enabled") and "reused_from" not in entry:
            totals[entry["stage"]] = totals.get(entry["stage"], 0.0) + float(entry.get("seconds", 0.0))
    return totals


def markdown(outcomes: Outcomes, data_report: dict[str, Any], comparisons: dict[str, Any],
             pilot: dict[str, Any] | None, control: dict[str, Any] | None, spent: dict[str, float]) -> str:
    seeds = sorted({s for by_seed in outcomes.values() for s in by_seed})
    figures = variant_figures(outcomes)
    lines = ["# Ablation", "", f"Variants run: {', '.join(outcomes) or 'none'}; seeds: {', '.join(map(str, seeds)) or 'none'}. "
             f"IRM variants continue from their parent's SFT model ({', '.join(f'{k} <- {v}' for k, v in PARENTS.items())}).",
             "", f"Data: {json.dumps(data_report)}", ""]
    if pilot:
        lines += [f"Pilot gate: standard SFT (seed 0) writes format errors on {pilot['format_errors']:.1f}% of "
                  f"{pilot['cases']} held-out first turns; the gate is under {pilot['gate']}%: "
                  f"**{'passed' if pilot['passed'] else 'failed'}**.", ""]
    benchmarks = [b for b in next(iter(figures.values()), {}) if b != "macro"]
    if figures:
        lines += [f"Macro average over the {len(benchmarks)} benchmarks (each weighs the same), mean ± sample sd over "
                  "seeds (no spread with one seed); rates in %, the gold-name margin in nats:", ""]
        lines += _table(["variant"] + list(TABLE_METRICS),
                        [[v] + [_cell(f.get("macro", {}).get(m), 2 if m == "gold-name margin" else 1) for m in TABLE_METRICS]
                         for v, f in figures.items()])
        lines += ["", "CF / TS by name / format errors (%) per benchmark:", ""]
        lines += _table(["variant"] + [label(b) for b in benchmarks], [[v] + [" / ".join(_cell(f.get(b, {}).get(m)) for m in
                                                                  ("CF", "TS by name", "format errors")) for b in benchmarks]
                                                 for v, f in figures.items()])
        cases = {b: len(next(iter(next(iter(outcomes.values())).values()))[b]) for b in benchmarks}
        lines += ["", "One case is worth " + ", ".join(f"{100 / n:.2f} points on {label(b)} ({n} cases)" for b, n in cases.items())
                  + "."]
    if comparisons:
        lines += ["", f"Comparisons (paired, case by case and seed by seed; the primary metric, fixed before the grid "
                  f"ran, is {PRIMARY}, macro-averaged over the benchmarks):", ""]
        lines += _table(COMPARISON_HEADER, comparison_rows(comparisons, TABLE_METRICS))
    categories = category_counts(outcomes)
    if categories:
        names = list(next(iter(categories.values())))
        lines += ["", "Error categories (the judge's, as the reward grades), cases over all benchmarks, mean over seeds:", ""]
        lines += _table(["variant"] + names, [[v] + [_cell(c[n]) for n in names] for v, c in categories.items()])
    if control:
        lines += ["", "## MAE positive control", "",
                  f"Synthetic trajectories: {control['config']}; turns MAE masked per seed: {control['turns_masked_by_mae']} "
                  "(the random-drop arm masks as many clean ones). Held-out cases over unseen tools:", ""]
        arms = variant_figures(control["outcomes"])
        lines += _table(["arm", "repeats an injected kind (%)", "CF (%)", "kinds repeated, per seed"],
                        [[arm, _cell(f["macro"].get("repeats an injected kind")), _cell(f["macro"].get("CF")),
                          "; ".join(json.dumps(control["kinds"][arm][s]) for s in sorted(control["kinds"][arm]))]
                         for arm, f in arms.items()])
        lines += [""] + _table(COMPARISON_HEADER, comparison_rows(control["comparisons"], ("repeats an injected kind", "CF")))
    if spent:
        lines += ["", "Cost (seconds by stage, over every run so far, stages reused from a sibling not counted): "
                  + ", ".join(f"{stage} {seconds:.0f}" for stage, seconds in spent.items())
                  + f"; total {sum(spent.values()) / 3600:.2f} h."]
    return "\n".join(lines) + "\n"


def chart(figures: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    variants = list(figures)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for ax, metric, label in ((axes[0], PRIMARY, f"{PRIMARY} (%), macro"), (axes[1], "gold-name margin", "margin (nats), macro")):
        entries = [figures[v].get("macro", {}).get(metric) or {"mean": 0.0, "sd": None} for v in variants]
        ax.bar(range(len(variants)), [e["mean"] for e in entries], yerr=[e["sd"] or 0.0 for e in entries], capsize=3,
               color="tab:blue", edgecolor="black")
        ax.axhline(0, color="black", linewidth=0.8)  # a 0 bar stays visible as the axis line
        ax.set_xticks(range(len(variants)), variants, rotation=30, ha="right")
        ax.set_ylabel(label + ", mean ± sd over seeds")
    fig.tight_layout()
    with AtomicFile(path) as partial:
        fig.savefig(partial, dpi=100)
    plt.close(fig)
    return path


def write_report(run_dir: Path, outcomes: Outcomes, data_report: dict[str, Any], *,
                 pilot: dict[str, Any] | None = None, control: dict[str, Any] | None = None) -> str:
    comparisons = {name: {m: contrast(outcomes, weights, m) for m in TABLE_METRICS}
                   for name, weights in CONTRASTS.items() if all(v in outcomes for v in weights)}
    spent = costs(run_dir)
    text = markdown(outcomes, data_report, comparisons, pilot, control, spent)
    write_text_atomic(run_dir / "ablation.md", text)
    payload = {"variants": list(VARIANTS), "figures": variant_figures(outcomes), "comparisons": comparisons,
               "categories": category_counts(outcomes), "data": data_report, "pilot": pilot, "costs": spent,
               "control": {k: v for k, v in control.items() if k != "outcomes"} | {
                   "figures": variant_figures(control["outcomes"])} if control else None}
    write_text_atomic(run_dir / "ablation.json", json.dumps(payload, indent=2, default=str))
    if outcomes:
        chart(variant_figures(outcomes), run_dir / "ablation.png")
    return text
