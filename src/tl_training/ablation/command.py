"""``tl-training ablate --config C.yaml [--seeds N] [--variants ...] [--pilot]``: the ablation, over seeds.

The shared data is prepared once (``data.py``); then seed by seed, each variant (``design.VARIANTS``) is a
pipeline run in ``<run_dir>/<variant>/seed<S>`` on that seed's data with the config's budget; a stage
identical to another variant's (an IRM variant's SFT is its parent) is trained once and reused.  With a
pilot gate set, standard SFT of seed 0 runs and is evaluated first, and the grid runs only when its
format errors on the held-out first turns are under the gate (``--pilot`` stops there).  The MAE positive
control runs last when enabled.  Writes ``ablation.md``, ``ablation.json`` and ``ablation.png``; every
run keeps its resume markers, so rerunning the command resumes.

With ``ablation.archive`` set, each finished evaluation's per-case outcomes (the positive control's arms
too) are also kept there (``archive.py``): a later run, even in a fresh checkout without the run
directory, takes them instead of training and evaluating that (variant, seed) again, and ``--report-only``
rebuilds the report's results from them (its cost line comes from the run folder's stage markers).  Only
outcomes are kept, not models: an IRM variant whose parent's model is gone retrains it first.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

from ..errors import UserError
from . import archive
from .design import VARIANTS, AblationConfig, variant_config, variant_dir
from .stats import Outcomes, case_outcomes


def register(subparsers) -> None:
    parser = subparsers.add_parser("ablate", help="the ablation: MAE x PKT factorial, IRM from its parents, over seeds",
                                   description=__doc__.split("\n\n")[0].replace("``", ""))
    parser.add_argument("--config", required=True, help="pipeline YAML with an ablation section (the budget of every variant)")
    parser.add_argument("--seeds", type=int, default=1, help="training seeds 0..N-1 (default 1)")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS), metavar="VARIANT",
                        help=f"subset to run, in this order (default all: {', '.join(VARIANTS)})")
    parser.add_argument("--pilot", action="store_true",
                        help="run standard SFT of seed 0 only and report the pilot gate (ablation.pilot_max_format_errors)")
    parser.add_argument("--report-only", action="store_true",
                        help="train and evaluate nothing: rebuild the report from the archived outcomes (ablation.archive)")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="override a field, e.g. ablation.sample=300")
    parser.set_defaults(func=run)


def shared_data(base, ablation: AblationConfig) -> tuple[Path, dict[str, Any], str]:
    """(prepared data folder, its report, the base model): the data stage once, then ``data.prepare``."""
    from ..pipeline.stages import run_pipeline
    from .data import prepare

    shared = copy.deepcopy(base)
    shared.run_dir = str(base.path / "shared")
    print("ablation: the shared data", file=sys.stderr)
    markers = run_pipeline(shared, only_until="data")
    from ..pipeline.stages import base_model

    model = base_model(shared, {"data": markers["data"]["outputs"]})
    out = shared.path / "ablation_data"
    report = prepare(Path(markers["data"]["outputs"]["train"]), out, base, ablation, model)
    print(f"ablation data: {report}", file=sys.stderr)
    return out, report, model


def pilot_dir(run_dir: Path) -> Path:
    return run_dir / "pilot" / "seed0"


def _config(base, variant: str, seed: int, data: dict[str, Any], pilot: bool):
    """The variant's pipeline config.  The pilot is standard SFT of seed 0 evaluated on the held-out first
    turns only, in a run directory of its own (its SFT model is the grid's)."""
    config = variant_config(base, variant, seed, data)
    if pilot:
        config.run_dir = str(pilot_dir(base.path))
        config.eval["benchmarks"] = [b for b in config.eval["benchmarks"] if b.startswith("openai:")]
    return config


def archived_outcomes(base, variant: str, seed: int, data: dict[str, Any], pilot: bool = False):
    """The archived per-case outcomes of this (variant, seed) under its current configuration, or None."""
    entry = archive.read(_archive_path(base, variant, seed, pilot), archive.eval_hash(_config(base, variant, seed, data, pilot)),
                         f"{variant}, seed {seed}")
    return entry["outcomes"] if entry else None


def run_variant(base, variant: str, seed: int, data: dict[str, Any], pilot: bool = False) -> dict[str, dict[str, dict[str, Any]]]:
    """One (variant, seed) pipeline run, resumed where it stopped (or its archived outcomes); its
    per-case outcomes."""
    from ..pipeline.stages import run_pipeline

    print(f"ablation: {'pilot: ' if pilot else ''}{variant}, seed {seed}", file=sys.stderr)
    found = archived_outcomes(base, variant, seed, data, pilot)
    if found is not None:
        return found
    siblings = [variant_dir(base.path, other, seed) for other in VARIANTS if other != variant]
    if seed == 0 and not pilot:
        siblings.append(pilot_dir(base.path))
    config = _config(base, variant, seed, data, pilot)
    digest = archive.eval_hash(config)
    markers = run_pipeline(config, reuse_from=siblings)
    (model,) = markers["eval"]["outputs"]["runs"]
    outcomes = case_outcomes(markers["eval"]["outputs"]["runs"][model])
    archive.write(_archive_path(base, variant, seed, pilot), digest, {"variant": variant, "seed": seed, "outcomes": outcomes})
    return outcomes


def _archive_path(base, variant: str, seed: int, pilot: bool) -> Path | None:
    return archive.entry_path(base, "pilot" if pilot else variant.strip("+").replace("+", "_"), f"seed{seed}")


def pilot_summary(held_out: dict[str, dict[str, dict[str, Any]]], ablation: AblationConfig, base) -> dict[str, Any]:
    passed, rate, cases = pilot_verdict(held_out, ablation.pilot_max_format_errors)
    return {"passed": passed, "format_errors": rate, "cases": cases, "gate": ablation.pilot_max_format_errors,
            "sample": ablation.sample, "sft": base.sft}


def pilot_verdict(outcomes: dict[str, dict[str, dict[str, Any]]], gate: float) -> tuple[bool, float, int]:
    """(passed, format-error rate in % on the held-out cases, cases) of standard SFT's evaluation."""
    heldout = next((cases for name, cases in outcomes.items() if name.startswith("openai:")), {})
    errors = sum(case["format_error"] for case in heldout.values())
    rate = 100.0 * errors / len(heldout) if heldout else 100.0
    return rate < gate, rate, len(heldout)


def run(args) -> int:
    from ..pipeline.command import load
    from .control import run_control
    from .data import seed_data
    from .report import write_report

    if args.seeds < 1:
        raise UserError("--seeds must be at least 1")
    base = load(args.config, args.overrides, quick=False)
    ablation = AblationConfig.from_dict(base.ablation, base.source)
    base.path.mkdir(parents=True, exist_ok=True)
    folder, data_report, _ = shared_data(base, ablation)

    def data_of(seed: int) -> dict[str, Any]:
        files = seed_data(folder, seed, ablation.sample)
        return {"train": str(files.train), "rl_train": str(files.rl_train),
                **({"eval_cases": str(files.eval_cases)} if files.eval_cases else {})}

    outcomes: Outcomes = {}
    pilot = None
    if args.report_only:
        if not ablation.archive:
            raise UserError("--report-only reads the archived outcomes: set ablation.archive")
        for seed in range(args.seeds):
            for variant in args.variants:
                found = archived_outcomes(base, variant, seed, data_of(seed))
                if found is not None:
                    outcomes.setdefault(variant, {})[seed] = found
        outcomes = {v: outcomes[v] for v in VARIANTS if v in outcomes}
        held_out = archived_outcomes(base, "standard_sft", 0, data_of(0), pilot=True)
        if held_out is not None and ablation.pilot_max_format_errors is not None:
            pilot = pilot_summary(held_out, ablation, base)
        control = run_control(base, ablation, args.seeds, report_only=True) if ablation.control.enabled else None
        text = write_report(base.path, outcomes, data_report, pilot=pilot, control=control)
        print(text, end="")
        return 0
    if ablation.pilot_max_format_errors is not None:
        held_out = run_variant(base, "standard_sft", 0, data_of(0), pilot=True)
        pilot = pilot_summary(held_out, ablation, base)
        print(f"ablation: pilot gate {'passed' if pilot['passed'] else 'FAILED'}: standard SFT (seed 0) writes format "
              f"errors on {pilot['format_errors']:.1f}% of {pilot['cases']} held-out first turns (gate: under "
              f"{ablation.pilot_max_format_errors}%)", file=sys.stderr)
        passed = pilot["passed"]
        if args.pilot or not passed:
            write_report(base.path, {"standard_sft": {0: held_out}}, data_report, pilot=pilot)
            if not passed:
                raise UserError("the pilot gate failed: raise the budget (ablation.sample, sft.num_train_epochs, "
                                "sft.learning_rate) until standard SFT's format errors are under the gate, and write "
                                "the budget down before the grid runs")
            return 0
    elif args.pilot:
        raise UserError("--pilot needs ablation.pilot_max_format_errors (and ablation.holdout) in the config")
    for seed in range(args.seeds):  # seed by seed: a run cut short still leaves complete comparisons
        for variant in args.variants:
            outcomes.setdefault(variant, {})[seed] = run_variant(base, variant, seed, data_of(seed))
    outcomes = {v: outcomes[v] for v in VARIANTS if v in outcomes}  # the design's order, whatever order they ran in
    control = run_control(base, ablation, args.seeds) if ablation.control.enabled else None
    text = write_report(base.path, outcomes, data_report, pilot=pilot, control=control)
    print(text, end="")
    print(f"wrote {base.path}/ablation.md, ablation.json, ablation.png", file=sys.stderr)
    return 0
