"""The ablation's shared data: one pool, filtered once; held-out first turns; a sample per seed.

From the converted pool (the config's data section, benchmark queries already excluded):

1. **Fit.** A trajectory is kept when its tool list renders (in the run's format and layout) to at most
   ``max_tool_tokens`` tokens, and when, *after MAE marks it*, at least one trained turn ends within
   ``sft.max_length`` tokens.  Filtering on the marked copy means MAE rejects nothing of its own later:
   every variant of a seed trains on the same trajectories, in the same order (MAE only masks turns).
2. **Held-out first turns.** ``holdout`` queries (drawn with ``holdout_seed``) whose first assistant
   turn is a call that MAE accepts become evaluation cases: the conversation up to that turn, the
   recorded call as the gold answer (free-text arguments of ``finish`` / ``ask_to_user`` unchecked, as
   RoTBench scores them).  Every trajectory of a held-out query leaves the training pool.
3. **Per seed.** ``sample`` trajectories drawn with the seed (the seed redraws the sample), in the drawn
   order, which is the training order of every variant (``train_sampling_strategy: sequential``); and
   the RL prompts of both IRM variants: the first turn of each of those trajectories whose first call
   MAE accepts, made into a case exactly as the held-out ones are (so neither IRM variant is rewarded
   for imitating a recorded error, and RL practises what the benchmarks ask: a first call).

Everything is counted (read, kept, excluded by reason) in ``data_report.json``; the preparation is done
once per configuration (a hash in ``DONE.json``), and a seed's files are written the first time it runs.
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ..jsonl import Tally, read_records
from ..pipeline.config import PipelineConfig
from ..record import first_user_query, is_trained, iter_assistant, message_calls
from .design import AblationConfig

MARKER = "DONE.json"


@dataclass(frozen=True)
class SeedData:
    train: Path       # the seed's trajectories in training order
    rl_train: Path    # their first turns as cases with gold (the RL prompts)
    eval_cases: Path | None


def _digest(pool: Path, cfg: PipelineConfig, ablation: AblationConfig) -> str:
    hasher = hashlib.sha256(pool.read_bytes())
    fields = {"max_tool_tokens": ablation.max_tool_tokens, "holdout": ablation.holdout,
              "holdout_seed": ablation.holdout_seed, "model": cfg.model, "prompt_format": cfg.prompt_format,
              "layout": cfg.layout_fields(), "mae": cfg.stage_fields("mae"), "max_length": cfg.sft.get("max_length")}
    hasher.update(json.dumps(fields, sort_keys=True, default=str).encode())
    return hasher.hexdigest()[:16]


def _fits(record: dict[str, Any], renderer, tokenizer, max_tool_tokens: int | None, max_length: int | None) -> str | None:
    """Why a marked trajectory does not fit, or None."""
    from ..pkt.data import build_features

    first_user = next((i for i, m in enumerate(record["messages"]) if m["role"] == "user"), 0)
    if max_tool_tokens is not None:
        head = renderer.render_prompt(record, upto=first_user)
        if len(tokenizer(head, add_special_tokens=False)["input_ids"]) > max_tool_tokens:
            return f"tool list over max_tool_tokens={max_tool_tokens}"
    tally = Tally()
    features, _ = build_features([record], renderer, tokenizer, tally, max_length=max_length, pkt=False)
    return None if features else next(iter(tally.reasons), "nothing to train")


def heldout_case(record: dict[str, Any], prefix: str = "heldout") -> dict[str, Any] | None:
    """The (MAE-marked) record's first turn as an evaluation case, when that turn is a call MAE accepts."""
    from ..convert.rotbench import gold_arguments

    first = next(iter_assistant(record), None)
    if first is None or not message_calls(first[1]) or not is_trained(first[1]):
        return None
    index, message = first
    gold = [[{"name": c["name"], "arguments": gold_arguments(c["name"], c["arguments"])} for c in message_calls(message)]]
    return {"id": f"{prefix}/{record['id']}", "tools": record["tools"], "messages": record["messages"][:index],
            "gold": gold, "meta": {**record.get("meta", {}), "first_turn_of": record["id"]}}


def prepare(pool: Path, out: Path, cfg: PipelineConfig, ablation: AblationConfig, model: str) -> dict[str, Any]:
    """Filter the pool and hold out first turns (once per configuration); returns the data report."""
    digest = _digest(pool, cfg, ablation)
    marker = out / MARKER
    if marker.is_file() and json.loads(marker.read_text()).get("hash") == digest:
        return json.loads((out / "data_report.json").read_text())
    from ..mae.config import load_config as load_mae_config
    from ..mae.mark import mark_record
    from ..models import load_tokenizer
    from ..render import Layout, get_renderer

    out.mkdir(parents=True, exist_ok=True)
    marker.unlink(missing_ok=True)
    tokenizer = load_tokenizer(model)
    renderer = get_renderer(cfg.prompt_format, tokenizer, Layout(cfg.instruction, cfg.thoughts))
    mae_config = load_mae_config(None, **{k: v for k, v in cfg.stage_fields("mae").items() if k != "enabled"})
    max_length = cfg.sft.get("max_length", 2048)
    tally, excluded, kept = Tally(), Counter(), []  # kept: (raw line, marked record)
    for record in read_records(pool, tally, strict=False):
        marked = copy.deepcopy(record)
        mark_record(marked, mae_config)
        reason = _fits(marked, renderer, tokenizer, ablation.max_tool_tokens, max_length)
        if reason:
            excluded[reason] += 1
            continue
        kept.append((record, marked))
    cases, held_queries = [], set()
    if ablation.holdout:
        order = list(range(len(kept)))
        random.Random(ablation.holdout_seed).shuffle(order)
        for i in order:
            query = first_user_query(kept[i][0])
            case = heldout_case(kept[i][1]) if query not in held_queries else None
            if case is not None:
                cases.append(case)
                held_queries.add(query)
                if len(cases) == ablation.holdout:
                    break
    train = [pair for pair in kept if first_user_query(pair[0]) not in held_queries]
    _write(out / "pool.jsonl", [r for r, _ in train])
    _write(out / "pool.marked.jsonl", [m for _, m in train])
    if cases:
        _write(out / "heldout.jsonl", cases)
    report = {"read": tally.read, "rejected": tally.rejected, "excluded": dict(excluded), "kept": len(kept),
              "heldout_cases": len(cases), "heldout_queries_removed": len(kept) - len(train),
              "training_pool": len(train), "max_tool_tokens": ablation.max_tool_tokens, "max_length": max_length}
    (out / "data_report.json").write_text(json.dumps(report, indent=2))
    marker.write_text(json.dumps({"hash": digest}))
    return report


def seed_data(out: Path, seed: int, sample: int) -> SeedData:
    """The seed's sample, drawn from the prepared pool in a seeded random order (written once)."""
    train, prompts = out / f"train_seed{seed}.jsonl", out / f"rl_seed{seed}.jsonl"
    if not (train.is_file() and prompts.is_file()):
        raw = (out / "pool.jsonl").read_bytes().splitlines(keepends=True)
        marks = (out / "pool.marked.jsonl").read_bytes().splitlines(keepends=True)
        order = random.Random(seed).sample(range(len(raw)), min(sample, len(raw)) if sample else len(raw))
        cases = [heldout_case(orjson.loads(marks[i]), prefix="rl") for i in order]
        _write(prompts, [case for case in cases if case is not None])
        _write_lines(train, [raw[i] for i in order])
    heldout = out / "heldout.jsonl"
    return SeedData(train, prompts, heldout if heldout.is_file() else None)


def _write(path: Path, records: list[dict[str, Any]]) -> None:
    _write_lines(path, [orjson.dumps(r) + b"\n" for r in records])


def _write_lines(path: Path, lines: list[bytes]) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(b"".join(lines))
    partial.replace(path)
