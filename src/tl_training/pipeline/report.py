"""The run's report: each stage's figures side by side, the evaluated models compared, training curves.

Reads only what the stages left in the run directory (their ``DONE.json`` markers, the eval runs'
``results.json``, the trainers' ``trainer_state.json``), so it can be rebuilt at any time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .config import STAGES
from .stages import read_marker

CURVE_KEYS = ("loss", "reward", "rewards/mean", "objective/scores", "kl")


def log_history(model_dir: Path) -> list[dict[str, Any]]:
    """The trainer's logged steps: its final ``trainer_state.json`` or the newest checkpoint's."""
    rl_log = model_dir / "rl_log.jsonl"  # the rl stage's own log, one JSON line per step
    if rl_log.is_file():
        return [json.loads(line) for line in rl_log.read_text().splitlines() if line.strip()]
    candidates = [model_dir / "trainer_state.json"]
    candidates += sorted(model_dir.glob("checkpoint-*/trainer_state.json"), key=lambda p: int(p.parent.name.split("-")[-1]),
                         reverse=True)
    for path in candidates:
        if path.is_file():
            return json.loads(path.read_text()).get("log_history", [])
    return []


def curves(run_dir: Path) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """stage -> logged quantity -> [(step, value)] for the training stages that logged any."""
    found = {}
    for stage in ("sft", "rl"):
        series: dict[str, list[tuple[int, float]]] = {}
        for entry in log_history(run_dir / stage / "model"):
            for key in CURVE_KEYS:
                if isinstance(entry.get(key), (int, float)) and "step" in entry:
                    series.setdefault(key, []).append((entry["step"], float(entry[key])))
        if series:
            found[stage] = series
    return found


def plot_curves(found: dict[str, dict[str, list[tuple[int, float]]]], path: Path) -> Path | None:
    if not found:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(stage, key, points) for stage, series in found.items() for key, points in series.items()]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.2), squeeze=False)
    for ax, (stage, key, points) in zip(axes[0], panels):
        ax.plot([s for s, _ in points], [v for _, v in points], marker=".")
        ax.set_title(f"{stage}: {key}")
        ax.set_xlabel("step")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _stage_line(stage: str, marker: dict[str, Any] | None) -> list[str]:
    if marker is None:
        return [f"| {stage} | not run yet | | |"]
    if not marker.get("enabled", True):
        return [f"| {stage} | disabled | | |"]
    figures = ", ".join(f"{k}: {round(v, 4) if isinstance(v, float) else v}" for k, v in marker["metrics"].items()
                        if k not in ("base", "sft", "rl", "notes") and v not in ({}, []))
    return [f"| {stage} | done {marker['finished']} | {marker['seconds']} | {figures} |"]


def write_report(run_dir: str | Path, markers: dict[str, Any] | None = None) -> Path:
    """Write ``report.md`` (and ``curves.png``) in the run directory; returns the report's path.

    ``markers`` are those ``run_pipeline`` returned (they also say which stages are disabled); without
    them the report reads the markers on disk.
    """
    from ..eval.report import compare_table, load_results

    run_dir = Path(run_dir)
    markers = {s: (markers or {}).get(s) or read_marker(run_dir / s) for s in STAGES}
    lines = [f"# TL-Training pipeline run: {run_dir}", "", "## Stages", "",
             "| stage | status | seconds | figures |", "|---|---|---|---|"]
    for stage in STAGES:
        lines += _stage_line(stage, markers[stage])
    evaluation = markers["eval"]
    if evaluation and evaluation.get("enabled", True):
        runs = evaluation["outputs"]["runs"]
        lines += ["", "## Evaluation, models side by side (TS / PI / CF, %)", "",
                  compare_table([(name, load_results(path)) for name, path in runs.items()]).rstrip(), ""]
        lines += [f"Per-model details: `{Path(path).relative_to(run_dir)}/report.md`." for path in runs.values()]
        cases = {b: f["cases"] for figures in (evaluation["metrics"].get(n, {}) for n in runs) for b, f in figures.items()}
        lines += ["", "One case is worth " + ", ".join(f"{100 / n:.1f} points on {b}" for b, n in cases.items() if n) + "."]
        lines += [f"- note: {note}" for note in evaluation["metrics"].get("notes", [])]
    chart = plot_curves(curves(run_dir), run_dir / "curves.png")
    lines += ["", "## Training curves", ""]
    lines += [f"![training curves]({chart.name})"] if chart else ["No training stage logged a curve."]
    path = run_dir / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
