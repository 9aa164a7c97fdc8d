"""``tl-training eval`` (run a model, or score given predictions, on benchmarks) and ``tl-training compare``."""

from __future__ import annotations

import argparse
import datetime
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ..cli import positive_int
from ..errors import ModelNotFound, UserError
from ..jsonl import Tally, numbered_lines, refuse_overwriting, write_text_atomic
from ..config import PROMPT_FORMATS
from ..models import DTYPES
from ..render.layout import INSTRUCTION_CHOICES, THOUGHT_CHOICES
from .config import BACKENDS, BATCH_ORDERS, EvalConfig


def register(subparsers) -> None:
    p = subparsers.add_parser("eval", help="evaluate a model (or given predictions) on tool-use benchmarks",
                              description="Evaluate a model, or predictions made elsewhere, with TS/PI/CF, "
                                          "BFCL pass rate and error categories; writes results.json, report.md, charts.")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="local directory, hub id, or smollm2-135m (the embedded default)")
    source.add_argument("--predictions", help='JSONL of {"id", "prediction"[, "benchmark"]} to score')
    p.add_argument("--benchmark", dest="benchmarks", action="append", required=True, metavar="NAME:SPLIT",
                   help="e.g. bfcl:simple_python, rotbench:clean, toolalpaca:simulated, rotbench:path/to/file.json")
    p.add_argument("-o", "--output", required=True, help="run directory")
    p.add_argument("--data-dir", help="benchmark files laid out like ../shared/data (not needed for BFCL)")
    p.add_argument("--limit", type=positive_int, help="first N cases of each benchmark")
    p.add_argument("--adapter", help="a peft (LoRA) adapter directory applied to --model")
    p.add_argument("--prompt-format", choices=PROMPT_FORMATS, default=EvalConfig.prompt_format)
    p.add_argument("--instruction", choices=INSTRUCTION_CHOICES, default=EvalConfig.instruction,
                   help="the benchmark's own system instruction: auto drops one written for another call syntax "
                        "(RoTBench's ReAct instruction), keep, drop (tool list only; the paper's layout)")
    p.add_argument("--thoughts", choices=THOUGHT_CHOICES, default=EvalConfig.thoughts,
                   help="drop: the history's assistant turns show their calls only (as the model was trained)")
    p.add_argument("--backend", choices=BACKENDS, default=EvalConfig.backend)
    p.add_argument("--batch-size", type=positive_int, default=EvalConfig.batch_size)
    p.add_argument("--max-new-tokens", type=positive_int, default=EvalConfig.max_new_tokens)
    p.add_argument("--no-fast-path", action="store_true", help="generate every case (no teacher-forced exact-match check)")
    p.add_argument("--no-margin", action="store_true",
                   help="skip the teacher-forced gold-name log-probability margin (eval/margin.py)")
    p.add_argument("--batch-order", choices=BATCH_ORDERS, default=EvalConfig.batch_order,
                   help="prefix: prefill prompt heads shared by several cases (a tool list) once (default); "
                        "length: whole prompts sorted by length; file: in file order (baselines for measuring)")
    p.add_argument("--dtype", choices=DTYPES, default=EvalConfig.dtype)
    p.add_argument("--syntax", default=None, help="call syntax of the predictions (default: the renderer's; auto for --predictions)")
    p.add_argument("--trust-remote-code", action="store_true")
    p.add_argument("--max-steps", type=positive_int, default=EvalConfig.max_steps,
                   help="BFCL multi-turn: generations per user turn before the task fails (BFCL: 20)")
    p.add_argument("--allow-empty", action="store_true",
                   help="write the results even when no prediction matches a case or no case could be read "
                        "(default: exit 2, writing nothing)")
    p.set_defaults(func=run)

    c = subparsers.add_parser("compare", help="put evaluation runs side by side",
                              description="One table of TS / PI / CF per benchmark, one column per run directory.")
    c.add_argument("runs", nargs="+", help="directories written by tl-training eval -o DIR")
    c.add_argument("-o", "--output", help="also write the table (markdown) to this file")
    c.set_defaults(func=run_compare)


# ---------------------------------------------------------------------------------------------- inputs


def read_predictions(path: str) -> dict[tuple[str | None, str], str]:
    """(benchmark or None, id) -> prediction text; a bad line is an error naming file:line and field."""
    if not Path(path).is_file():
        raise UserError(f"{path}: predictions file not found")
    predictions: dict[tuple[str | None, str], str] = {}
    with open(path, "rb") as handle:
        for lineno, line in numbered_lines(handle):
            where = f"{path}:{lineno}"
            try:
                entry = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise UserError(f"{where}: not valid JSON ({exc})") from None
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                raise UserError(f"{where}: field id: expected a string id as the converters assign it")
            if not isinstance(entry.get("prediction"), str):
                raise UserError(f"{where}: field prediction: expected the model's output text")
            key = (entry.get("benchmark"), entry["id"])
            if key in predictions:
                raise UserError(f"{where}: duplicate prediction for {entry['id']}")
            predictions[key] = entry["prediction"]
    return predictions


def _lookup(predictions: dict, benchmark: str, case_id: str) -> str | None:
    return predictions.get((benchmark, case_id), predictions.get((None, case_id)))


# ------------------------------------------------------------------------------------------ generation


def run_fingerprint(name: str, cases: list[dict], config: EvalConfig) -> dict[str, Any]:
    """What decides a benchmark's predictions: the model and adapter (their files' identity), the prompt
    format and layout, the generation settings, the benchmark and each case's input."""
    from ..models import model_identity
    from .generate import case_hash

    return {"model": model_identity(config.model), "adapter": model_identity(config.adapter) if config.adapter else None,
            "prompt_format": config.prompt_format, "layout": {"instruction": config.instruction, "thoughts": config.thoughts},
            "generation": {"backend": config.backend, "dtype": config.dtype, "max_new_tokens": config.max_new_tokens},
            "benchmark": name, "cases": {c["id"]: case_hash(c) for c in cases}}


def _generate_benchmark(name: str, cases: list[dict], out_dir: Path, config: EvalConfig, state: dict) -> dict[str, Any]:
    """Fill ``predictions/<benchmark>.jsonl`` for ``cases``, resuming the predictions of this same run
    (refusing another's); returns generation statistics."""
    from .fastpath import fast_path
    from .generate import PredictionLog, generate_transformers, generate_vllm
    from .margin import candidates_of, margin_of, name_margins
    from .report import slug

    log = PredictionLog(out_dir / "predictions" / f"{slug(name)}.jsonl", run_fingerprint(name, cases, config))
    todo = [c for c in cases if c["id"] not in log.done]
    stats = {"resumed": len(cases) - len(todo), "fast_path": 0, "generated": 0, "seconds": 0.0}
    scoring = config.backend == "transformers" and not config.no_margin

    def with_margins(generation_stats: dict[str, Any]) -> dict[str, Any]:
        """The predictions, each with its margin: scored during generation, else (fast path, resumed) now."""
        if scoring:
            missing = [c for c in cases if "margin" not in log.done[c["id"]]]
            clock = time.perf_counter()
            margins = name_margins(state["model"], state["tokenizer"], state["renderer"], missing,
                                   batch_size=config.batch_size) if missing else []
            for case, margin in zip(missing, margins):
                log.done[case["id"]]["margin"] = margin
            generation_stats["margin_seconds_apart"] = round(time.perf_counter() - clock, 2)
        return generation_stats | {"predictions": log.done}

    if not todo:
        return with_margins(stats)
    start = time.perf_counter()
    renderer = state["renderer"]
    prompts_of = lambda subset: [renderer.render_prompt(c) for c in subset]  # noqa: E731
    if config.backend == "vllm":
        texts = generate_vllm(config.model, config.adapter, prompts_of(todo), stop_strings=renderer.stop_strings,
                              max_new_tokens=config.max_new_tokens, trust_remote_code=config.trust_remote_code)
        log.write({"id": c["id"], "prediction": t, "source": "generate"} for c, t in zip(todo, texts))
        stats["generated"] = len(todo)
    else:
        model, tokenizer = state["model"], state["tokenizer"]
        proven = {} if config.no_fast_path else fast_path(
            model, tokenizer, renderer, todo, max_new_tokens=config.max_new_tokens, batch_size=config.batch_size)
        stats["fast_path_seconds"] = round(time.perf_counter() - start, 2)
        log.write({"id": todo[i]["id"], "prediction": text, "source": "fast_path"} for i, text in sorted(proven.items()))
        stats["fast_path"] = len(proven)
        rest = [c for i, c in enumerate(todo) if i not in proven]
        found = [candidates_of(c, renderer, tokenizer) for c in rest] if scoring else None
        margins: dict[int, float | None] = {}

        def on_scores(indices: list[int], scores: list[list[float]]) -> None:
            margins.update((i, margin_of(found[i], s) if found[i] else None) for i, s in zip(indices, scores))

        def on_batch(indices: list[int], texts: list[str]) -> None:
            log.write({"id": rest[i]["id"], "prediction": t, "source": "generate",
                       **({"margin": margins.get(i)} if i in margins else {})} for i, t in zip(indices, texts))
            stats["generated"] += len(indices)
            print(f"  {name}: {stats['resumed'] + stats['fast_path'] + stats['generated']}/{len(cases)} "
                  f"({time.perf_counter() - start:.0f} s)", flush=True)

        generate_transformers(model, tokenizer, prompts_of(rest), stop_strings=renderer.stop_strings,
                              max_new_tokens=config.max_new_tokens, batch_size=config.batch_size, on_batch=on_batch,
                              order=config.batch_order, on_scores=on_scores if scoring else None,
                              continuations=[f.tokens if f else [] for f in found] if scoring else None)
    stats["seconds"] = round(time.perf_counter() - start, 2)
    return with_margins(stats)


def _model_state(config: EvalConfig) -> dict[str, Any]:
    from ..render import Layout, get_renderer
    from .generate import load_model

    if config.backend == "vllm":
        from ..models import load_tokenizer

        tokenizer, model = load_tokenizer(config.model, trust_remote_code=config.trust_remote_code), None
    else:
        model, tokenizer = load_model(config.model, config.adapter, config.dtype, config.trust_remote_code)
    return {"model": model, "tokenizer": tokenizer, "renderer": get_renderer(config.prompt_format, tokenizer,
                                                                          Layout(config.instruction, config.thoughts))}


# ---------------------------------------------------------------------------------------------- command


@dataclass(frozen=True)
class EvalResult:
    """An evaluation's run directory and what ``results.json`` there holds (``benchmarks``: the figures
    of each benchmark, TS/PI/CF and the rest; the own-module and multi-turn sections beside it)."""

    output_dir: Path
    results: dict[str, Any]

    @property
    def benchmarks(self) -> dict[str, Any]:
        return self.results["benchmarks"]


def run(args: argparse.Namespace) -> int:
    evaluate(EvalConfig.from_args(args))
    return 0


def evaluate(config: EvalConfig) -> EvalResult:
    """Run a model (or score predictions) on the config's benchmarks and write the run directory
    (results.json, report.md, charts); the command and the API."""
    from .benchmarks import load_cases, resolve
    from .metrics import score_case, summarize
    from .report import write_report

    started = time.perf_counter()
    check_model_options(config)
    benchmarks = [resolve(spec, config.data_dir) for spec in dict.fromkeys(config.benchmarks)]
    multi_turn = {b.name for b in benchmarks if b.multi_turn}
    if multi_turn and (config.predictions or config.backend == "vllm"):
        raise UserError(f"{', '.join(sorted(multi_turn))}: multi-turn needs a live model turn by turn: "
                        "give --model with --backend transformers")
    tallies = {b.name: Tally() for b in benchmarks}
    cases = {b.name: load_cases(b, tallies[b.name])[:config.limit] for b in benchmarks}
    if not any(cases.values()) and not config.allow_empty:
        raise UserError(f"no case to evaluate in {', '.join(cases)}: "
                        + "; ".join(f"{n}: {t.read} read, {t.rejected} rejected" for n, t in tallies.items())
                        + "; nothing written (--allow-empty writes the empty results)")
    out_dir = Path(config.output)
    predictions = read_predictions(config.predictions) if config.predictions else None
    state = _model_state(config) if config.model else None
    syntax = config.syntax or (state["renderer"].call_syntax if state else "auto")
    results: dict[str, Any] = {
        "model": config.model or f"predictions {config.predictions}", "adapter": config.adapter,
        "prompt_format": config.prompt_format if config.model else None, "syntax": syntax,
        "layout": {"instruction": config.instruction, "thoughts": config.thoughts} if config.model else None,
        "date": datetime.date.today().isoformat(), "benchmarks": {},
    }
    all_scores = {}
    used_keys = set()
    by_name = {b.name: b for b in benchmarks}
    for name, benchmark_cases in cases.items():
        if by_name[name].scorer:  # ToolEyes, GSM8K, IFEval: their own module scores them, in their own section
            from .benchmarks import own_module
            from .outputs import Outputs

            outputs = Outputs(name, out_dir, config, state, predictions, syntax)
            module = own_module(by_name[name].format)
            figures = module.run(by_name[name], benchmark_cases, outputs, out_dir)
            figures["rejected_by_converter"] = {"count": tallies[name].rejected, "reasons": dict(tallies[name].reasons)}
            results.setdefault(module.SECTION, {})[name] = figures
            used_keys |= outputs.used
            continue
        if name in multi_turn:
            from .multiturn import run_benchmark

            results.setdefault("multi_turn", {})[name] = run_benchmark(
                name, benchmark_cases, out_dir, state, syntax, config.max_new_tokens, config.max_steps, tallies[name])
            continue
        generation = None
        if state is not None:
            generation = _generate_benchmark(name, benchmark_cases, out_dir, config, state)
            entries = generation.pop("predictions")
            found = [entries[c["id"]]["prediction"] if c["id"] in entries else None for c in benchmark_cases]
        else:
            found = [_lookup(predictions, name, c["id"]) for c in benchmark_cases]
            used_keys.update(k for k in predictions if k[1] in {c["id"] for c in benchmark_cases} and k[0] in (None, name))
        scores = [score_case(c, text or "", name, syntax) for c, text in zip(benchmark_cases, found)]
        if generation is not None:
            for case, score in zip(benchmark_cases, scores):
                score.margin = entries.get(case["id"], {}).get("margin")
        figures = summarize(scores)
        figures["missing_predictions"] = sum(text is None for text in found)
        figures["rejected_by_converter"] = {"count": tallies[name].rejected, "reasons": dict(tallies[name].reasons)}
        if generation:
            figures["generation"] = generation
        results["benchmarks"][name] = figures
        all_scores[name] = scores
        print(f"{name}: {figures['cases']} cases  TS {figures['TS']}  PI {figures['PI']}  CF {figures['CF']}  "
              f"(corrected rule {figures['TS_corrected']} / {figures['PI_corrected']} / {figures['CF_corrected']})  "
              f"TS by name {figures['TS_name']}  format errors {figures['format_errors']}"
              + (f"  margin {figures['margin']['mean']:+.2f}" if "margin" in figures else "")
              + (f"  irrelevance {figures['irrelevance']}" if "irrelevance" in figures else "")
              + (f"  missing predictions {figures['missing_predictions']}" if figures["missing_predictions"] else "")
              + (f"  ({tallies[name].rejected} items rejected by the converter, not scored)" if tallies[name].rejected else ""))
    if predictions is not None:
        if not used_keys and not config.allow_empty:
            raise UserError(no_match_message(config.predictions, predictions, cases))
        results["unmatched_predictions"] = len(set(predictions) - used_keys)
        if results["unmatched_predictions"]:
            print(f"{results['unmatched_predictions']} predictions match no case of the chosen benchmarks")
    results["wall_seconds"] = round(time.perf_counter() - started, 2)
    write_report(out_dir, results, all_scores, appendix_lines(results, out_dir))
    print(f"wrote {out_dir}/results.json, report.md, metrics.png, error_categories.png ({results['wall_seconds']} s)")
    return EvalResult(out_dir, results)


def appendix_lines(results: dict[str, Any], out_dir: Path) -> list[str]:
    """The report's sections of the benchmarks scored elsewhere: multi-turn episodes, own-module sections."""
    from .report import section_modules

    lines = []
    if "multi_turn" in results:
        from .multiturn import report_lines

        lines += report_lines(results["multi_turn"])
    for module in section_modules():
        if module.SECTION in results:
            lines += module.report_lines(results[module.SECTION], out_dir)
    return lines


def check_model_options(config: EvalConfig) -> None:
    """--model and --adapter name something that loads, before a benchmark is read or a model loaded."""
    from ..models import check_model

    if config.model:
        try:
            check_model(config.model)
        except ModelNotFound as exc:
            raise UserError(f"--model: {exc}") from None
    if config.adapter and not Path(config.adapter).is_dir():
        raise UserError(f"--adapter {config.adapter}: no such directory")


def no_match_message(path: str, predictions: dict, cases: dict[str, list[dict]]) -> str:
    """Why a predictions file scored nothing: its ids beside the cases' ids, for the user to see the mismatch."""
    example = next(iter(predictions), (None, "-"))[1]
    case_ids = next((c["id"] for found in cases.values() for c in found), "-")
    return (f"none of the {len(predictions)} predictions in {path} matches a case of {', '.join(cases)} "
            f"(prediction ids look like {example!r}, case ids like {case_ids!r}); nothing written "
            "(--allow-empty scores them anyway)")


def run_compare(args: argparse.Namespace) -> int:
    from .report import compare_table, load_results

    refuse_overwriting([(f"run {run}", Path(run) / "results.json") for run in args.runs], [("-o", args.output)])
    table = compare_table([(str(run), load_results(run)) for run in args.runs])
    print(table, end="")
    if args.output:
        write_text_atomic(args.output, table)
    return 0
