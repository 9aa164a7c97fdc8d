"""Running the stages in order, each through the library function its command calls (synth: the command
itself; a training stage with ``launch``: its command in a child process), with resume markers.

Layout of a run directory: ``<stage>/`` holds everything a stage wrote, ``<stage>/DONE.json`` (hash,
outputs, metrics, seconds) is written last and atomically, so a crash or Ctrl-C leaves no marker and the
next run redoes that stage only.  ``<stage>/STARTED.json`` records the hash a partial output belongs to:
a stage resumes its own partial work (SFT checkpoints, eval predictions) only under the same hash, and
starts clean otherwise.  A done stage is skipped while its hash (its section, the shared fields and the
hashes of the stages before it) is unchanged.

A finished stage is never deleted to make room for another config's run of it: it moves to
``<stage>.previous/`` and is removed only once the new run of the stage is done.  So an override that
fails leaves it there, and going back to the config it was made under moves it back instead of rerunning.
"""

from __future__ import annotations

import json
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Callable

import yaml

from ..errors import ConfigError, ModelNotFound, UserError
from .config import PipelineConfig

MARKER = "DONE.json"
STARTED = "STARTED.json"
PREVIOUS = ".previous"  # <stage>.previous/: the finished stage of the config before, kept until a new one is done
TINY_MODEL = "tiny"
SFT_DEFAULTS = {"report_to": "none", "logging_steps": 5, "save_strategy": "steps", "save_steps": 50, "save_total_limit": 1}


def call_command(argv: list[str]) -> int:
    """Run a ``tl-training`` subcommand in-process: the same parser and function the console script uses."""
    from ..cli import build_parser

    args = build_parser().parse_args(argv)
    code = int(args.func(args) or 0)
    if code:
        raise UserError(f"stage command {' '.join(argv[:1])} exited with {code}")
    return code


def launch_command(launch: str, argv: list[str]) -> None:
    """Run a training stage's command under ``launch`` (e.g. ``accelerate launch --config_file
    configs/accelerate/deepspeed_zero2.yaml --num_processes 4``) as a child process on several devices;
    without a launcher a stage calls its library function in this process."""
    import shlex
    import subprocess

    command = [*shlex.split(launch), "-m", "tl_training", *argv]
    print(f"pipeline: {shlex.join(command)}", file=sys.stderr)
    code = subprocess.call(command)
    if code:
        raise UserError(f"stage command {shlex.join(command)} exited with {code}")


def count_lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(1 for line in handle if line.strip())


def sample_lines(source: Path, target: Path, n: int, seed: int) -> int:
    """A seeded uniform sample of ``n`` lines (all of them when fewer), kept in file order."""
    lines = [line for line in source.read_bytes().splitlines(keepends=True) if line.strip()]
    keep = sorted(random.Random(seed).sample(range(len(lines)), min(n, len(lines))))
    target.write_bytes(b"".join(lines[i] for i in keep))
    return len(keep)


# ------------------------------------------------------------------------------------------------ stages


def run_data(cfg: PipelineConfig, out: Path, ctx: dict[str, Any]) -> tuple[dict, dict]:
    data = cfg.data
    source, seed = data.get("source", "synth"), data.get("seed", cfg.seed)
    train, outputs, metrics = out / "train.jsonl", {}, {"source": source}
    if source == "synth":
        argv = ["synth", "-o", str(train), "--n", str(data.get("n", 300)), "--seed", str(seed)]
        if "error_rate" in data:
            argv += ["--error-rate", str(data["error_rate"])]
        call_command(argv)
        if data.get("eval_n", 0):
            cases = out / "eval_synth.jsonl"
            call_command(["synth", "--eval", "-o", str(cases), "--n", str(data["eval_n"]), "--seed", str(seed)])
            outputs["eval_cases"] = str(cases)
            metrics["eval_cases"] = count_lines(cases)
    else:
        if not Path(data["input"]).exists():
            raise UserError(f"{cfg.source}: field data.input: {data['input']} not found")
        converted = out / "converted.jsonl" if data.get("sample") else train
        if source == "convert":
            from ..convert.command import convert

            convert(data["format"], data["input"], converted, exclude_queries=data.get("exclude_queries") or [])
        else:
            shutil.copyfile(data["input"], converted)
            if data.get("eval_cases"):  # held-out cases made with the records (the ablation's shared data)
                outputs["eval_cases"] = str(data["eval_cases"])
        if data.get("sample"):
            metrics["pool"] = count_lines(converted)
            sample_lines(converted, train, int(data["sample"]), seed)
    outputs["train"] = str(train)
    metrics["train_records"] = count_lines(train)
    return outputs, metrics


def mae_config(cfg: PipelineConfig):
    """The MAEConfig the mae section describes (a UserError naming the section and the field)."""
    from ..mae.config import load_config

    try:
        return load_config(None, **cfg.stage_fields("mae"))
    except ConfigError as exc:
        raise UserError(f"{cfg.source}: section mae: {exc}") from None


def run_mae(cfg: PipelineConfig, out: Path, ctx: dict[str, Any]) -> tuple[dict, dict]:
    from ..mae.command import run_mae as mark

    config = mae_config(cfg)
    train = out / "train.jsonl"
    tally, report = mark(ctx["data"]["train"], train, config)
    figures = report.as_dict(tally, config)
    (out / "report.json").write_text(json.dumps(figures, indent=2))
    metrics = {k: figures[k] for k in ("trajectories", "turns_with_calls", "turns_masked", "adverse_calls_masked",
                                       "trajectories_with_nothing_to_train")}
    metrics["rejected"] = tally.rejected
    return {"train": str(train)}, metrics


def stage_values(cfg: PipelineConfig, stage: str, defaults: dict, wiring: dict) -> dict[str, Any]:
    """A training stage's config: pipeline defaults < the stage YAML named by ``config`` (e.g. a paper
    recipe) < the pipeline's wiring (model, data, output, seed) < the fields written in the section."""
    fields = cfg.stage_fields(stage)
    recipe = yaml.safe_load(Path(fields.pop("config")).read_text()) if "config" in fields else {}
    return {**defaults, **(recipe or {}), **wiring, **fields}


def training_wiring(cfg: PipelineConfig, model: str, train: str, model_dir: Path) -> dict[str, Any]:
    """What the pipeline sets in a training stage's config: the model, the data, the output, the layout."""
    return {"model": model, "train_files": [train], "prompt_format": cfg.prompt_format, **cfg.layout_fields(),
            "output_dir": str(model_dir), "seed": cfg.seed}


def check_config(cfg: PipelineConfig) -> None:
    """What would stop a stage, checked before the first runs: the model name, and the mae, sft, rl and eval
    sections read by their own loaders and config classes (their mistakes would otherwise surface after
    the stages before them ran, hours later)."""
    import tempfile

    from ..models import check_model
    from ..pkt.config import load_config as load_sft
    from ..rl.config import load_config as load_rl

    try:
        check_model(cfg.model, also=[TINY_MODEL])
    except ModelNotFound as exc:
        raise UserError(f"{cfg.source}: field model: {exc}") from None
    if cfg.enabled("mae"):
        mae_config(cfg)
    if cfg.enabled("eval"):
        # The benchmark list is known once the data stage ran (its held-out cases): a stand-in spec here.
        eval_config(cfg, cfg.model, str(cfg.path / "eval"), ["openai:eval_synth.jsonl"])
    for stage, loader, defaults in (("sft", load_sft, SFT_DEFAULTS), ("rl", load_rl, {})):
        if not cfg.enabled(stage):
            continue
        values = stage_values(cfg, stage, defaults, training_wiring(cfg, cfg.model, "train.jsonl", cfg.path / stage / "model"))
        values.pop("launch", None)
        with tempfile.TemporaryDirectory() as folder:
            try:
                loader(_write_stage_yaml(Path(folder) / f"{stage}.yaml", values))
            except (OSError, ValueError, TypeError) as exc:
                raise UserError(f"{cfg.source}: section {stage}: {exc}") from None


def _write_stage_yaml(path: Path, values: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(values, sort_keys=False))
    return path


def _last_checkpoint(directory: Path) -> Path | None:
    from transformers.trainer_utils import get_last_checkpoint  # the rule the trainers resume by

    found = get_last_checkpoint(directory) if directory.is_dir() else None
    return Path(found) if found else None


def _keep_log_drop_checkpoints(model_dir: Path) -> None:
    """Checkpoints only serve a resume: once the stage is complete keep the trainer's log, free the disk."""
    last = _last_checkpoint(model_dir)
    if last and (last / "trainer_state.json").is_file():
        shutil.copyfile(last / "trainer_state.json", model_dir / "trainer_state.json")
    for checkpoint in model_dir.glob("checkpoint-*"):
        shutil.rmtree(checkpoint)


def train_stage(cfg: PipelineConfig, stage: str, defaults: dict, model: str, ctx: dict[str, Any], out: Path) -> Path:
    """Train the sft or rl stage into ``out/model`` (resuming a checkpoint this very config left): its
    library function in this process, or its command under the section's ``launch``; the model folder."""
    model_dir = out / "model"
    values = stage_values(cfg, stage, defaults, training_wiring(cfg, model, ctx["mae"]["train"], model_dir))
    launch = values.pop("launch", None)
    if _last_checkpoint(model_dir):  # a crash or Ctrl-C left a checkpoint of this very config
        values["resume_from_checkpoint"] = True
    recipe = _write_stage_yaml(out / f"{stage}.yaml", values)
    if launch:
        launch_command(launch, [stage, "--config", str(recipe)])
    elif stage == "sft":
        from ..pkt.command import train_sft

        train_sft(recipe)
    else:
        from ..api import train_rl

        train_rl(recipe)
    return model_dir


def run_sft(cfg: PipelineConfig, out: Path, ctx: dict[str, Any]) -> tuple[dict, dict]:
    model_dir = train_stage(cfg, "sft", SFT_DEFAULTS, ctx["base_model"], ctx, out)
    _keep_log_drop_checkpoints(model_dir)
    report = json.loads((model_dir / "sft_report.json").read_text())
    return {"model": str(model_dir)}, {k: report[k] for k in ("train_loss", "steps", "seconds", "pkt", "tokens_per_second")}


def run_rl(cfg: PipelineConfig, out: Path, ctx: dict[str, Any]) -> tuple[dict, dict]:
    model_dir = train_stage(cfg, "rl", {}, ctx["sft"]["model"], ctx, out)
    _keep_log_drop_checkpoints(model_dir)  # PPO's hold actor, critic and both optimisers: GBs each
    report = json.loads((model_dir / "rl_report.json").read_text())
    rewards = [entry["reward"] for entry in report["log"]]
    metrics = {k: report[k] for k in ("algorithm", "prompts", "steps", "seconds")}
    return {"model": str(model_dir)}, metrics | ({"reward_first": rewards[0], "reward_last": rewards[-1]} if rewards else {})


def eval_benchmarks(cfg: PipelineConfig, ctx: dict[str, Any]) -> list[str]:
    """The benchmark specs to run: the held-out synthetic cases (canonical records) first, then the named ones."""
    specs = list(cfg.eval.get("benchmarks", []))
    cases = ctx["data"].get("eval_cases")
    if cases and cfg.eval.get("synthetic", True):
        specs.insert(0, f"openai:{cases}")
    return specs


EVAL_OWN_FIELDS = ("benchmarks", "synthetic", "models")


def eval_config(cfg: PipelineConfig, model: str, output: str, specs: list[str]):
    """The EvalConfig of one evaluated model: the pipeline's wiring (model, run directory, rendering) under
    the section's other fields (a null field: the command's default); a bad field stops the run naming it."""
    from ..config import check_known
    from ..eval.config import EvalConfig

    options = {k: v for k, v in cfg.stage_fields("eval").items() if k not in EVAL_OWN_FIELDS and v is not None}
    wiring = {"model": model, "output": output, "benchmarks": specs, "prompt_format": cfg.prompt_format,
              "instruction": cfg.instruction, "thoughts": cfg.thoughts}
    try:
        check_known(options, EvalConfig)
        return EvalConfig(**{**wiring, **options})
    except ConfigError as exc:
        option = f"--{exc.field.replace('_', '-')}: " if exc.field else ""  # as the eval command names it
        raise UserError(f"{cfg.source}: section eval: {option}{exc}") from None


def run_eval(cfg: PipelineConfig, out: Path, ctx: dict[str, Any]) -> tuple[dict, dict]:
    from ..eval.command import evaluate

    specs, notes = eval_benchmarks(cfg, ctx), []
    models = {"base": ctx["base_model"], "sft": ctx.get("sft", {}).get("model"), "rl": ctx.get("rl", {}).get("model")}
    runs, metrics = {}, {"notes": notes}
    for name in cfg.eval.get("models", ["sft", "rl"]):
        if name != "base" and not cfg.enabled(name):
            notes.append(f"model {name!r} not evaluated: its stage is disabled")
            continue
        target = out / name
        print(f"pipeline: evaluating the {name} model", file=sys.stderr)
        results = evaluate(eval_config(cfg, models[name], str(target), specs)).results
        runs[name] = str(target)
        metrics[name] = {b: {k: f[k] for k in ("cases", "TS", "PI", "CF")} for b, f in results["benchmarks"].items()}
    return {"runs": runs}, metrics


STAGE_FUNCTIONS: dict[str, Callable[[PipelineConfig, Path, dict], tuple[dict, dict]]] = {
    "data": run_data, "mae": run_mae, "sft": run_sft, "rl": run_rl, "eval": run_eval,
}


# ------------------------------------------------------------------------------------------------ runner


def read_marker(stage_dir: Path) -> dict[str, Any] | None:
    path = stage_dir / MARKER
    return json.loads(path.read_text()) if path.is_file() else None


def _write_json_atomic(path: Path, value: dict[str, Any]) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(value, indent=2))
    partial.replace(path)


def _pass_through(stage: str, ctx: dict[str, Any]) -> dict[str, Any]:
    """What a disabled stage hands on: its input, unchanged."""
    if stage == "mae":
        return {"train": ctx["data"]["train"]}
    if stage == "sft":
        return {"model": ctx["base_model"]}
    if stage == "rl":
        return {"model": ctx["sft"]["model"]}
    return {}


def base_model(cfg: PipelineConfig, ctx: dict[str, Any]) -> str:
    """The model to start from; ``tiny`` builds a random one (tokenizer trained on the run's data) once."""
    if cfg.model != TINY_MODEL:
        return cfg.model
    from ..tiny import save_tiny_model

    path = cfg.path / "tiny-model"
    if not (path / "config.json").is_file():
        corpus = Path(ctx["data"]["train"]).read_text(encoding="utf-8").splitlines()[:200]
        save_tiny_model(path.with_name("tiny-model.partial"), corpus=corpus, seed=cfg.seed)
        path.with_name("tiny-model.partial").rename(path)
    return str(path)


def _reusable(stage: str, digest: str, reuse_from: list[Path]) -> dict[str, Any] | None:
    """A finished marker of the same stage under the same hash in another run directory, if there is one."""
    for other in reuse_from:
        marker = read_marker(other / stage)
        if marker and marker.get("hash") == digest:
            return {**marker, "reused_from": str(other / stage)}
    return None


def stage_hashes(cfg: PipelineConfig) -> dict[str, str]:
    """Each stage's hash (``<stage>:off`` when disabled), each built on the hashes of the stages before it."""
    from .config import STAGES

    hashes: dict[str, str] = {}
    for stage in STAGES:
        hashes[stage] = cfg.stage_hash(stage, list(hashes.values())) if cfg.enabled(stage) else f"{stage}:off"
    return hashes


def previous_dir(stage_dir: Path) -> Path:
    return stage_dir.with_name(stage_dir.name + PREVIOUS)


def started_hash(stage_dir: Path) -> str | None:
    started = stage_dir / STARTED
    return json.loads(started.read_text()).get("hash") if started.is_file() else None


def _make_room(stage_dir: Path, digest: str | None) -> None:
    """Clear ``stage_dir`` for a run under ``digest`` without losing a finished stage: one finished under
    another config moves to ``<stage>.previous/`` (replacing an older one there); partial output of another
    config is deleted, never mixed in; partial output of this config stays, to be resumed."""
    if not stage_dir.exists():
        return
    if read_marker(stage_dir):
        previous = previous_dir(stage_dir)
        if previous.exists():
            shutil.rmtree(previous)
        stage_dir.rename(previous)
    elif started_hash(stage_dir) != digest:
        shutil.rmtree(stage_dir)


def _restore_previous(stage_dir: Path, digest: str) -> dict[str, Any] | None:
    """The stage finished under ``digest`` in ``<stage>.previous/`` (an override moved it aside), moved back;
    a finished stage in its place takes its place there in turn.  None when there is no such stage."""
    previous = previous_dir(stage_dir)
    marker = read_marker(previous)
    if not marker or marker.get("hash") != digest:
        return None
    swap = stage_dir.with_name(stage_dir.name + ".swap")
    if stage_dir.exists():
        stage_dir.rename(swap)
    previous.rename(stage_dir)
    if swap.exists():
        if read_marker(swap):
            swap.rename(previous)
        else:
            shutil.rmtree(swap)  # partial work of the other config: never mixed in
    return marker


def run_pipeline(cfg: PipelineConfig, *, only_until: str | None = None, reuse_from: list[Path] = ()) -> dict[str, Any]:
    """Run every enabled stage not already done under its current hash; returns each stage's marker.

    A stage done under the same hash in one of the ``reuse_from`` run directories is adopted, not rerun:
    its marker is copied here and its outputs stay where they are (the ablation's +IRM starts from
    standard SFT's model, trained once)."""
    from .config import STAGES

    cfg.path.mkdir(parents=True, exist_ok=True)
    ctx: dict[str, Any] = {}
    markers: dict[str, Any] = {}
    hashes = stage_hashes(cfg)
    for number, stage in enumerate(STAGES, start=1):
        stage_dir, digest, step = cfg.path / stage, hashes[stage], f"[{number}/{len(STAGES)}] {stage}"
        if not cfg.enabled(stage):
            ctx[stage] = _pass_through(stage, ctx)
            markers[stage] = {"stage": stage, "enabled": False}
            print(f"{step}: disabled", file=sys.stderr)
            continue
        marker = read_marker(stage_dir)
        if marker and marker.get("hash") == digest:
            print(f"{step}: done before ({marker['seconds']} s), skipped", file=sys.stderr)
        elif restored := _restore_previous(stage_dir, digest):
            marker = restored
            print(f"{step}: done before under this config, moved back from {previous_dir(stage_dir).name}/",
                  file=sys.stderr)
        elif reused := _reusable(stage, digest, list(reuse_from)):
            _make_room(stage_dir, None)
            stage_dir.mkdir(parents=True)
            _write_json_atomic(stage_dir / MARKER, reused)
            _drop_previous(stage_dir)
            marker = reused
            print(f"{step}: same as {reused['reused_from']}, reused", file=sys.stderr)
        else:
            marker = _run_stage(cfg, stage, stage_dir, digest, ctx, step)
        ctx[stage] = marker["outputs"]
        markers[stage] = marker
        if stage == "data":
            ctx["base_model"] = base_model(cfg, ctx)
        if stage == only_until:
            break
    return markers


def _run_stage(cfg: PipelineConfig, stage: str, stage_dir: Path, digest: str, ctx: dict[str, Any], step: str) -> dict[str, Any]:
    """Run one stage into ``stage_dir``; its marker is written last, and only then does the finished stage
    of the config before (``<stage>.previous/``) go."""
    _make_room(stage_dir, digest)
    stage_dir.mkdir(parents=True, exist_ok=True)
    _write_json_atomic(stage_dir / STARTED, {"hash": digest})
    print(f"{step}: running", file=sys.stderr)
    clock = time.perf_counter()
    outputs, metrics = STAGE_FUNCTIONS[stage](cfg, stage_dir, ctx)
    marker = {"stage": stage, "enabled": True, "hash": digest, "outputs": outputs, "metrics": metrics,
              "seconds": round(time.perf_counter() - clock, 1), "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
    _write_json_atomic(stage_dir / MARKER, marker)
    _drop_previous(stage_dir)
    return marker


def _drop_previous(stage_dir: Path) -> None:
    """The stage is done under the current config: the one of the config before is no longer needed."""
    if previous_dir(stage_dir).exists():
        shutil.rmtree(previous_dir(stage_dir))
