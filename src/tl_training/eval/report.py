"""Writing a run: ``results.json`` (figures), ``scores/<benchmark>.jsonl`` (per case), ``report.md`` and charts.

``report.md`` holds the paper-style TS/PI/CF table (RoTBench's official empty-arguments rule and the
corrected one side by side), per-scenario / per-category breakdowns, the distribution of error categories
from the shared classifier (``verdict.judge``), and the worst examples of each category, model output
beside the gold.  ``compare`` puts several runs' tables side by side, with their case counts.

The files of a run are replaced together, once every one of them is ready (``jsonl.AtomicFile``): a run
that fails while writing leaves the previous run's files as they were, never a mix of the two.
"""

from __future__ import annotations

import json
import re
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable, Iterable

from ..errors import UserError
from ..jsonl import AtomicFile
from ..verdict import CATEGORIES
from .metrics import CaseScore

EXAMPLES_PER_CATEGORY = 3


def slug(benchmark: str) -> str:
    """A file name for a benchmark name (``rotbench:clean`` -> ``rotbench_clean``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", benchmark).strip("_")


def _cut(text: str, width: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[:width - 1] + "…"


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def margin_cell(figures: dict[str, Any]) -> str:
    margin = figures.get("margin")
    return f'{margin["mean"]:+.2f} ({margin["positive"]}% > 0)' if margin else "-"


def main_table(results: dict[str, Any]) -> list[str]:
    rows = []
    for name, figures in results["benchmarks"].items():
        rows.append([name, figures["cases"], figures["TS"], figures["PI"], figures["CF"],
                     f'{figures["TS_corrected"]} / {figures["PI_corrected"]} / {figures["CF_corrected"]}',
                     figures.get("TS_name", "-"), figures.get("format_errors", "-"), margin_cell(figures),
                     figures.get("irrelevance", "")])
    return _table(["benchmark", "cases", "TS", "PI", "CF", "TS / PI / CF corrected rule", "TS by name",
                   "format errors", "gold-name margin (nats)", "irrelevance"], rows)


def _prf(figures: dict[str, Any], kind: str) -> str:
    prf = figures["precision_recall"][kind]
    return f'{prf["P"]} / {prf["R"]} / {prf["F1"]}'


def benchmark_figure_lines(results: dict[str, Any]) -> list[str]:
    """Tool-name and parameter P / R / F1 of every benchmark, and ACEBench's own accuracy where it applies."""
    scored = {name: f for name, f in results["benchmarks"].items() if "precision_recall" in f}
    lines = []
    if scored:
        lines += ["", "Tool-name and parameter precision / recall / F1 (%), counted as Hammer's evaluation does "
                  "(the figures xLAM-format sets are reported with; docs/eval.md):", ""]
        lines += _table(["benchmark", "tool name P / R / F1", "parameter P / R / F1"],
                        [[name, _prf(f, "tool_name"), _prf(f, "parameter")] for name, f in scored.items()])
    official = {name: f["acebench"] for name, f in results["benchmarks"].items() if "acebench" in f}
    if official:
        lines += ["", "ACEBench's own accuracy (%), by its published rules (docs/eval.md):", ""]
        lines += _table(["benchmark", "cases", "accuracy", "process accuracy"],
                        [[name, a["cases"], a["accuracy"], a.get("process_accuracy", "-")] for name, a in official.items()])
    return lines


def section_modules() -> list:
    """The eval modules whose benchmarks have a section of their own in results.json (``SECTION``)."""
    from . import general, tooleyes

    return [tooleyes, general]


def write_report(out_dir: Path, results: dict[str, Any], scores: dict[str, list[CaseScore]],
                 appendix: Iterable[str] = ()) -> None:
    """Write ``results.json``, ``scores/<benchmark>.jsonl``, the charts and ``report.md`` (ending with the
    ``appendix`` lines), all replaced together once all are written."""
    with ExitStack() as files:
        def stage(path: Path) -> Path:
            return files.enter_context(AtomicFile(path))

        stage(out_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        for name, case_scores in scores.items():
            stage(out_dir / "scores" / f"{slug(name)}.jsonl").write_text(
                "".join(json.dumps(s.as_dict()) + "\n" for s in case_scores), encoding="utf-8")
        charts = write_charts(out_dir, results, stage)
        lines = report_lines(results, scores, charts) + list(appendix)
        stage(out_dir / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def report_lines(results: dict[str, Any], scores: dict[str, list[CaseScore]], charts: list[Path]) -> list[str]:
    lines = [f"# Evaluation of {results['model']}", ""]
    unscored = {name: f["rejected_by_converter"]["count"] for name, f in results["benchmarks"].items()
                if (f.get("rejected_by_converter") or {}).get("count")}  # fewer cases scored than the benchmark has
    lines += [f"> **WARNING: {name} scores {results['benchmarks'][name].get('cases', 0)} of its "
              f"{results['benchmarks'][name].get('cases', 0) + missed} cases: {missed} could not be read and are not "
              "scored, so its figures do not compare with the whole benchmark's (reasons below).**" for name, missed in unscored.items()]
    lines += [""] if unscored else []
    lines += [f"- {key}: {results[key]}" for key in ("prompt_format", "date", "wall_seconds") if key in results]
    if results["benchmarks"]:  # a run of only ToolEyes or general tasks has none of these figures
        lines += ["", "## TS / PI / CF (%)", "",
                  "TS, PI, CF follow RoTBench's official scorer, which fails every prediction with empty arguments "
                  "(only RoTBench has that rule); the corrected rule does not. BFCL's pass rate is CF. "
                  "TS by name reads the called name even from a call that does not parse (a lenient reading, beside "
                  "the strict TS); format errors are the cases whose output does not parse as the expected call; "
                  "the gold-name margin is log p(gold tool name) minus log p(best other candidate), teacher-forced "
                  "(mean over the cases where it is defined, and the share where the gold name ranks first).", ""]
        lines += main_table(results)
    lines += benchmark_figure_lines(results)
    lines += [""] + [f"![{c.stem}]({c.name})" for c in charts]
    for name, figures in results["benchmarks"].items():
        lines += ["", f"## {name}", ""]
        if figures.get("missing_predictions"):
            lines += [f"- predictions missing for {figures['missing_predictions']} cases (scored as empty output)"]
        rejected = figures.get("rejected_by_converter") or {}
        if rejected.get("count"):
            lines += [f"- {rejected['count']} items rejected by the converter and not scored: {rejected['reasons']}"]
        if figures.get("generation"):
            lines += [f"- generation: {figures['generation']}"]
        lines += ["", "Error categories (shared classifier):", ""]
        lines += _table(["category", "cases", "%"], [[c, n, round(100 * n / figures["cases"], 2)]
                                                    for c, n in figures["categories"].items()])
        if figures["scenarios"]:
            lines += ["", "By scenario / category:", ""]
            lines += _table(["scenario", "cases", "TS", "PI", "CF"],
                            [[s, f["cases"], f["TS"], f["PI"], f["CF"]] for s, f in figures["scenarios"].items()])
        lines += ["", "Worst examples per error category:", ""]
        for category in reversed(CATEGORIES[1:]):
            # worst first: the lowest IRM reward within the category
            examples = sorted((s for s in scores[name] if s.category == category), key=lambda s: s.reward)
            for s in examples[:EXAMPLES_PER_CATEGORY]:
                # ~~~ fences: model output often holds ``` of its own
                lines += [f"- **{category}** `{s.id}`: {_cut(s.explanation)}",
                          "  - output:", "    ~~~", f"    {_cut(s.prediction, 300)}", "    ~~~",
                          "  - gold:", "    ~~~", f"    {_cut(json.dumps(s.gold), 300)}", "    ~~~"]
    return lines


LABEL_WIDTH = 18  # characters per line of a benchmark's name under its bars


def wrapped_label(name: str, width: int = LABEL_WIDTH) -> str:
    """A benchmark name on lines of at most ``width`` characters, broken after ``:``, ``/`` or ``_`` (a
    name such as ``openai:runs/demo/data/eval_synth.jsonl`` has no space to break at)."""
    pieces = [part[i:i + width] for part in re.split(r"(?<=[:/_])", name) for i in range(0, len(part), width)]
    lines = [""]
    for piece in pieces:
        if lines[-1] and len(lines[-1]) + len(piece) > width:
            lines.append("")
        lines[-1] += piece
    return "\n".join(lines)


def _bar_axes(names: list[str]):
    """A figure wide enough for the benchmarks and tall enough for their wrapped names, and the labels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [wrapped_label(n) for n in names]
    fig, ax = plt.subplots(figsize=(max(5, 1.9 * len(names)), 3.5 + 0.15 * max(l.count("\n") for l in labels)))
    return fig, ax, labels


def metrics_figure(results: dict[str, Any]):
    """TS / PI / CF bars per benchmark, each with its value above it (a 0 % bar has no height to see)."""
    names = list(results["benchmarks"])
    fig, ax, labels = _bar_axes(names)
    width = 0.27
    for k, level in enumerate(("TS", "PI", "CF")):
        bars = ax.bar([i + (k - 1) * width for i in range(len(names))],
                      [results["benchmarks"][n][level] for n in names], width, label=level)
        ax.bar_label(bars, fmt="%g", fontsize=7, padding=1)
    ax.set_xticks(range(len(names)), labels)
    ax.set_ylim(0, 108)  # room for the value above a 100 % bar
    ax.set_ylabel("%")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1, 1))
    fig.tight_layout()
    return fig


def categories_figure(results: dict[str, Any]):
    """The error-category shares of each benchmark, stacked."""
    names = list(results["benchmarks"])
    fig, ax, labels = _bar_axes(names)
    bottom = [0.0] * len(names)
    for category in CATEGORIES:
        share = [100 * results["benchmarks"][n]["categories"].get(category, 0) / max(1, results["benchmarks"][n]["cases"])
                 for n in names]
        ax.bar(range(len(names)), share, bottom=bottom, label=category)
        bottom = [b + s for b, s in zip(bottom, share)]
    ax.set_xticks(range(len(names)), labels)
    ax.set_ylabel("% of cases")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1, 1))
    fig.tight_layout()
    return fig


def percent_bars(path: Path, names: list[str], series: dict[str, list[float]], ylabel: str,
                 figsize: tuple[float, float], width: float = 0.8) -> Path:
    """Save bars of 0-100 % values, a group per name with a bar per series (a legend when there are
    several); the charts of the sections scored by their own module.  Returns ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=figsize)
    for k, (label, values) in enumerate(series.items()):
        offset = (k - (len(series) - 1) / 2) * width
        ax.bar([i + offset for i in range(len(names))], values, width, label=label)
    ax.set_xticks(range(len(names)), names, rotation=20, ha="right")
    ax.set_ylim(0, 100)
    ax.set_ylabel(ylabel)
    if len(series) > 1:
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_charts(out_dir: Path, results: dict[str, Any], stage: Callable[[Path], Path]) -> list[Path]:
    """Save ``metrics.png`` and ``error_categories.png`` where ``stage`` puts each (a temporary file beside
    it); returns their final paths."""
    import matplotlib.pyplot as plt

    if not results["benchmarks"]:
        return []
    charts = []
    for path, build in ((out_dir / "metrics.png", metrics_figure), (out_dir / "error_categories.png", categories_figure)):
        fig = build(results)
        fig.savefig(stage(path), dpi=100, bbox_inches="tight")
        plt.close(fig)
        charts.append(path)
    return charts


def load_results(run_dir: str | Path) -> dict[str, Any]:
    path = Path(run_dir) / "results.json"
    if not path.is_file():
        raise UserError(f"{path} not found: give directories written by tl-training eval -o DIR")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON ({exc})") from None


def compare_table(runs: list[tuple[str, dict[str, Any]]]) -> str:
    """One row per benchmark: its case count, then TS / PI / CF of each run side by side (a dash where a run
    lacks it).  Runs over different numbers of cases are flagged: those figures are not comparable."""
    benchmarks = list(dict.fromkeys(name for _, results in runs for name in results["benchmarks"]))
    header = ["benchmark", "cases"] + [f"{label} TS / PI / CF" for label, _ in runs]
    rows, differing = [], []
    for name in benchmarks:
        found = [results["benchmarks"].get(name) for _, results in runs]
        counts = [f["cases"] if f else "-" for f in found]
        if len({c for c in counts if c != "-"}) > 1:
            differing.append(name)
        cases = " / ".join(map(str, counts)) + " (differ)" if name in differing else next(c for c in counts if c != "-")
        rows.append([name, cases] + [f'{f["TS"]} / {f["PI"]} / {f["CF"]}' if f else "-" for f in found])
    lines = _table(header, rows)
    if differing:
        lines += ["", f"Case counts differ on {', '.join(differing)}: those figures are not over the same cases."]
    lines += _compare_figures(runs, benchmarks)
    for module in section_modules():
        lines += module.compare_lines(runs)
    return "\n".join(lines) + "\n"


def _compare_figures(runs: list[tuple[str, dict[str, Any]]], benchmarks: list[str]) -> list[str]:
    """Tool-name / parameter F1 and ACEBench's accuracy of each run, for the benchmarks that have them."""
    lines = []
    for title, has, cell in (
            ("tool-name F1 / parameter F1 (%)", lambda f: "precision_recall" in f,
             lambda f: f'{f["precision_recall"]["tool_name"]["F1"]} / {f["precision_recall"]["parameter"]["F1"]}'),
            ("ACEBench's own accuracy (%)", lambda f: "acebench" in f, lambda f: str(f["acebench"]["accuracy"]))):
        rows = [[name] + [cell(f) if (f := results["benchmarks"].get(name)) and has(f) else "-" for _, results in runs]
                for name in benchmarks if any(has(r["benchmarks"].get(name) or {}) for _, r in runs)]
        if rows:
            lines += ["", title, ""] + _table(["benchmark"] + [label for label, _ in runs], rows)
    return lines
