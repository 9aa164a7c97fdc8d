"""The MAE positive control: does masking erroneous calls stop a model from learning them?

On the built-in tool world, where errors are injected on purpose and answered by real error feedback
(``synth --error-rate``), three arms train standard SFT (no PKT, the config's budget) on the same
trajectories of a seed:

- ``no_mae``: every turn trained, the injected errors included;
- ``mae``: MAE marks the turns its classifier finds adverse (``train: false``);
- ``random_drop``: as many turns as MAE masks, drawn at random among the turns MAE does *not* flag, are
  masked instead (the injected errors stay trained).

``mae`` against ``random_drop`` separates removing the errors from removing the same amount of data.  On
held-out cases over tools never seen in training (``synth --eval``, the same cases for every seed), the
outcome is whether the model's call repeats an injected kind (``synth.errors.repeated_kind``: a
near-miss tool name, a dropped required argument, an alias or stock extra argument, a mistyped or
off-enum value), beside CF.
"""

from __future__ import annotations

import copy
import json
import random
import sys
from pathlib import Path
from typing import Any

import orjson

from ..jsonl import write_bytes_atomic, write_text_atomic
from . import archive
from .stats import Outcomes, case_outcomes, contrast

ARMS = ("no_mae", "mae", "random_drop")
CONTROL_CONTRASTS = {
    "MAE vs no MAE": {"mae": 1.0, "no_mae": -1.0},
    "random drop vs no MAE": {"random_drop": 1.0, "no_mae": -1.0},
    "MAE vs random drop (errors removed vs as much data removed)": {"mae": 1.0, "random_drop": -1.0},
}


def random_drop(records: list[dict[str, Any]], marked: list[dict[str, Any]], seed: int) -> tuple[list[dict], dict[str, int]]:
    """``records`` with as many clean call turns masked, drawn at random, as MAE masked in ``marked``; and
    the two counts (as many unless there are fewer clean turns)."""
    masked = [(r, i) for r, record in enumerate(marked) for i, m in enumerate(record["messages"])
              if m.get("role") == "assistant" and m.get("train", True) is False]
    clean = [(r, i) for r, record in enumerate(marked) for i, m in enumerate(record["messages"])
             if m.get("role") == "assistant" and m.get("tool_calls") and m.get("train", True) is not False]
    chosen = set(random.Random(seed).sample(clean, min(len(masked), len(clean))))
    out = copy.deepcopy(records)
    for r, i in chosen:
        out[r]["messages"][i].update({"train": False, "mae_reason": "random_drop_control"})
    return out, {"turns_masked_by_mae": len(masked), "turns_dropped_at_random": len(chosen)}


def arm_data(base, ablation, seed: int, out: Path) -> dict[str, Any]:
    """The seed's synthetic trajectories for each arm, and the shared held-out cases.  Each file is made
    again when the settings it was made from (``ablation.control``, the MAE section) have changed; the
    seed's ``seed<S>.json``, written last, records them."""
    from ..mae.config import load_config as load_mae_config
    from ..mae.mark import mark_record
    from ..pipeline.stages import call_command

    out.mkdir(parents=True, exist_ok=True)
    cases, cases_stamp = out / "heldout.jsonl", {"eval_n": ablation.control.eval_n}
    if not _made_from(out / "heldout.json", cases_stamp):
        call_command(["synth", "--eval", "-o", str(cases), "--n", str(ablation.control.eval_n), "--seed", "0"])
        write_text_atomic(out / "heldout.json", json.dumps({"made_from": cases_stamp}))
    train, dropped = out / f"train_seed{seed}.jsonl", out / f"train_seed{seed}.random_drop.jsonl"
    mae_fields = {k: v for k, v in base.stage_fields("mae").items() if k != "enabled"}
    stamp = {"n": ablation.control.n, "error_rate": ablation.control.error_rate, "mae": mae_fields}
    summary = out / f"seed{seed}.json"
    if not _made_from(summary, stamp):
        call_command(["synth", "-o", str(train), "--n", str(ablation.control.n), "--seed", str(seed),
                      "--error-rate", str(ablation.control.error_rate)])
        records = [orjson.loads(line) for line in train.read_bytes().splitlines() if line.strip()]
        marked = copy.deepcopy(records)
        mae_config = load_mae_config(None, **mae_fields)
        for record in marked:
            mark_record(record, mae_config)
        arm, counts = random_drop(records, marked, seed)
        write_bytes_atomic(dropped, b"".join(orjson.dumps(r) + b"\n" for r in arm))
        write_text_atomic(summary, json.dumps({"made_from": stamp, **counts}, default=str))
    return {"no_mae": train, "mae": train, "random_drop": dropped, "cases": cases,
            "turns_masked_by_mae": json.loads(summary.read_text())["turns_masked_by_mae"]}


def _made_from(summary: Path, stamp: dict[str, Any]) -> bool:
    """Whether ``summary`` exists and records ``stamp`` (compared through JSON, as it was written)."""
    return summary.is_file() and json.loads(summary.read_text()).get("made_from") == json.loads(json.dumps(stamp, default=str))


def arm_config(base, arm: str, seed: int, train: Path, cases: Path):
    config = copy.deepcopy(base)
    config.run_dir = str(base.path / "control" / arm / f"seed{seed}")
    config.seed = seed
    config.data = {"source": "file", "input": str(train)}
    config.mae = {**base.mae, "enabled": arm == "mae"}
    config.sft = {**base.sft, "enabled": True, "pkt": False, "train_sampling_strategy": "sequential"}
    config.rl = {"enabled": False}
    config.eval = {**base.eval, "enabled": True, "models": ["sft"], "benchmarks": [f"openai:{cases}"],
                   "synthetic": False}
    return config


def repeated_outcomes(eval_dir: str) -> dict[str, dict[str, dict[str, Any]]]:
    """The run's case outcomes, each with ``repeated`` (did the call repeat an injected kind) and its kind."""
    from ..calls import parse_calls
    from ..eval.report import slug
    from ..synth.errors import repeated_kind

    outcomes = case_outcomes(eval_dir)
    syntax = json.loads((Path(eval_dir) / "results.json").read_text())["syntax"]
    for benchmark, cases in outcomes.items():
        scores = (Path(eval_dir) / "scores" / f"{slug(benchmark)}.jsonl").read_text().splitlines()
        for score in map(json.loads, scores):
            calls = parse_calls(score["prediction"], syntax).calls
            kind = repeated_kind(calls[0], score["gold"][0][0]) if calls and score["gold"] and score["gold"][0] else None
            cases[score["id"]] |= {"repeated": kind is not None, "repeated_kind": kind}
    return outcomes


def run_control(base, ablation, seeds: int, report_only: bool = False) -> dict[str, Any] | None:
    """Every arm over the seeds (each taken from the archive when it holds it); the arms' figures and the
    three comparisons.  With ``report_only``, the archived arms only (None when there are none)."""
    from ..pipeline.stages import run_pipeline

    outcomes: Outcomes = {}
    masked = {}
    for seed in range(seeds):
        data = arm_data(base, ablation, seed, base.path / "control" / "data")
        for arm in ARMS:
            config = arm_config(base, arm, seed, data[arm], data["cases"])
            digest, where = archive.eval_hash(config), archive.entry_path(base, "control", arm, f"seed{seed}")
            entry = archive.read(where, digest, f"positive control, {arm}, seed {seed}")
            if entry is None and not report_only:
                print(f"ablation: positive control, {arm}, seed {seed}", file=sys.stderr)
                markers = run_pipeline(config)
                entry = {"arm": arm, "seed": seed, "turns_masked_by_mae": data["turns_masked_by_mae"],
                         "outcomes": repeated_outcomes(markers["eval"]["outputs"]["runs"]["sft"])}
                archive.write(where, digest, entry)
            if entry is not None:
                outcomes.setdefault(arm, {})[seed] = entry["outcomes"]
                masked[seed] = entry["turns_masked_by_mae"]
    if not outcomes:
        return None
    kinds = {arm: {seed: _kind_counts(by_benchmark) for seed, by_benchmark in by_seed.items()}
             for arm, by_seed in outcomes.items()}
    comparisons = {name: {metric: contrast(outcomes, weights, metric) for metric in ("repeats an injected kind", "CF")}
                   for name, weights in CONTROL_CONTRASTS.items() if all(arm in outcomes for arm in weights)}
    return {"outcomes": outcomes, "kinds": kinds, "comparisons": comparisons, "turns_masked_by_mae": masked,
            "config": vars(ablation.control)}


def _kind_counts(by_benchmark: dict[str, dict[str, dict[str, Any]]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for cases in by_benchmark.values():
        for case in cases.values():
            if case.get("repeated_kind"):
                counts[case["repeated_kind"]] = counts.get(case["repeated_kind"], 0) + 1
    return counts
