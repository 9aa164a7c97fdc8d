"""The run's report: each stage's figures side by side, the evaluated models compared, training curves.

Reads only what the stages left in the run directory (their ``DONE.json`` markers, the eval runs'
``results.json``, the trainers' ``trainer_state.json``) and the config, so it can be rebuilt at any time,
after a failure too: a stage is ``done`` only when its marker carries the config's current hash, and the
report links only to files that exist.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..jsonl import AtomicFile, write_text_atomic
from .config import STAGES, PipelineConfig
from .stages import previous_dir, read_marker, stage_hashes, started_hash

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
    with AtomicFile(path) as temp:
        fig.savefig(temp, dpi=100)
    plt.close(fig)
    return path


def stage_status(stage_dir: Path, enabled: bool, digest: str | None) -> tuple[str, dict[str, Any] | None]:
    """(what the report says of a stage, its marker when it is done under ``digest``; None: any marker)."""
    if not enabled:
        return "disabled", None
    marker = read_marker(stage_dir)
    if marker and digest in (None, marker.get("hash")):
        status = f"done {marker['finished']}"
    elif marker:
        status, marker = "not done: its outputs are of another config (a rerun redoes it)", None
    elif started_hash(stage_dir) == digest:
        status = "not done: stopped before the end (a rerun resumes it)"
    else:
        status = "not run yet"
    if read_marker(previous_dir(stage_dir)):
        status += f"; the outputs of the config before are kept in `{previous_dir(stage_dir).name}/`"
    return status, marker


def _stage_line(stage: str, status: str, marker: dict[str, Any] | None) -> str:
    if marker is None:
        return f"| {stage} | {status} | | |"
    figures = ", ".join(f"{k}: {round(v, 4) if isinstance(v, float) else v}" for k, v in marker["metrics"].items()
                        if k not in ("base", "sft", "rl", "notes") and v not in ({}, []))
    return f"| {stage} | {status} | {marker['seconds']} | {figures} |"


def evaluation_lines(run_dir: Path, evaluation: dict[str, Any]) -> list[str]:
    """The evaluated models side by side, and where each one's report is (those that exist)."""
    from ..eval.report import compare_table, load_results

    runs = {name: Path(path) for name, path in evaluation["outputs"]["runs"].items() if (Path(path) / "results.json").is_file()}
    if not runs:
        return []
    lines = ["", "## Evaluation, models side by side (TS / PI / CF, %)", "",
             compare_table([(name, load_results(path)) for name, path in runs.items()]).rstrip(), ""]
    lines += [f"Per-model details: `{path.relative_to(run_dir)}/report.md`." for path in runs.values()
              if (path / "report.md").is_file()]
    cases = {b: f["cases"] for figures in (evaluation["metrics"].get(n, {}) for n in runs) for b, f in figures.items()}
    lines += ["", "One case is worth " + ", ".join(f"{100 / n:.1f} points on {b}" for b, n in cases.items() if n) + "."]
    return lines + [f"- note: {note}" for note in evaluation["metrics"].get("notes", [])]


def write_report(run_dir: str | Path, config: PipelineConfig | None = None) -> Path:
    """Write ``report.md`` (and ``curves.png``) in the run directory, as the stages stand under ``config``
    (without one, rebuilt from the folder alone, every marker there counts as done); returns its path."""
    run_dir = Path(run_dir)
    hashes = stage_hashes(config) if config else {}
    lines = [f"# TL-Training pipeline run: {run_dir}", "", "## Stages", "",
             "| stage | status | seconds | figures |", "|---|---|---|---|"]
    done = {}
    for stage in STAGES:
        enabled = config.enabled(stage) if config else True
        status, done[stage] = stage_status(run_dir / stage, enabled, hashes.get(stage))
        lines.append(_stage_line(stage, status, done[stage]))
    if done["eval"]:
        lines += evaluation_lines(run_dir, done["eval"])
    chart = plot_curves(curves(run_dir), run_dir / "curves.png")
    lines += ["", "## Training curves", ""]
    lines += [f"![training curves]({chart.name})"] if chart else ["No training stage logged a curve."]
    path = run_dir / "report.md"
    write_text_atomic(path, "\n".join(lines) + "\n")
    return path
