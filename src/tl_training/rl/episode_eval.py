"""Held-out multi-turn comparison: greedy episodes of a parent model and of RL models trained from it.

``tl-training rl-compare --cases EVAL.jsonl --parent SFT_DIR --rl RL_SEED0_DIR [RL_SEED1_DIR ...] -o OUT.json``: every case (a record an environment runs, e.g. ``tl-training synth --eval``) is played
greedily to its end by each model with the same runner, environment and reward as ``rl.mode: episode``
(``episodes.EpisodeRunner``); per model, the task success rate and the mean episode reward; then RL minus
parent, paired by case and over the RL seeds (``ablation.stats.contrast``: case-and-seed bootstrap, paired t
over seeds).  Greedy decoding makes the parent's episodes the same at every seed.

Each model's episodes are kept in ``OUT.parts/`` under a key of the model folder's files (name, size,
modification time; not its path), the cases' content and the settings, so a comparison cut short resumes
with the models it has played, and a model named twice is played once.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

BENCHMARK = "episodes"
PLAY_SETTINGS = ("prompt_format", "max_turns", "max_new_tokens", "max_episode_length", "outcome_reward", "batch_size")


def play(model_path: str, cases: list[dict[str, Any]], args) -> dict[str, dict[str, Any]]:
    """case id -> outcome (``success``, ``episode_reward``, ``turns``, ``categories``) of greedy episodes."""
    import torch

    from ..environments import environment_for
    from ..generation import pad_token_id, stop_token_ids
    from ..models import load_causal_lm, load_tokenizer
    from ..render import get_renderer
    from .episode import generate_turns
    from .episodes import EpisodeRunner

    tokenizer = load_tokenizer(model_path)
    model = load_causal_lm(model_path).eval()
    renderer = get_renderer(args.prompt_format, tokenizer)
    stop_ids = stop_token_ids(tokenizer, model)
    pad_id = pad_token_id(tokenizer, stop_ids)
    greedy = dict(do_sample=False, temperature=None, top_p=None, top_k=None)

    def sample(contexts):
        with torch.no_grad():
            return generate_turns(model, tokenizer, contexts, pad_id, stop_ids, renderer.stop_strings,
                                  args.max_new_tokens, greedy)

    runner = EpisodeRunner(tokenizer, renderer, sample, syntax=renderer.call_syntax, stop_ids=stop_ids,
                           max_turns=args.max_turns, max_new_tokens=args.max_new_tokens,
                           max_episode_length=args.max_episode_length, outcome_reward=args.outcome_reward)
    outcomes = {}
    for start in range(0, len(cases), args.batch_size):
        batch = cases[start:start + args.batch_size]
        for case, episode in zip(batch, runner.run(batch, [environment_for(c) for c in batch])):
            outcomes[str(case["id"])] = {"success": episode.outcome.success, "episode_reward": episode.total_reward,
                                         "turns": len(episode.sampled), "reason": episode.outcome.reason,
                                         "categories": dict(Counter(g.category for g in episode.grades))}
    return outcomes


def play_once(model_path: str, cases: list[dict[str, Any]], args, parts: Path) -> tuple[dict[str, dict[str, Any]], float]:
    """``play``'s outcomes and the seconds they took, taken from ``parts`` when this model, these cases and
    these settings were played before."""
    from ..jsonl import write_text_atomic

    # Every file of the model folder (weights, tokenizer, template, config): a model saved again is played again.
    # Not the folder's path, so a project moved or copied elsewhere keeps its episodes.
    files = sorted((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in Path(model_path).glob("*") if f.is_file())
    key = hashlib.sha256(json.dumps({"files": files, "cases": cases,
                                     "settings": {name: getattr(args, name) for name in PLAY_SETTINGS}},
                                    sort_keys=True, default=str).encode()).hexdigest()[:16]
    part = parts / f"{key}.json"
    if part.is_file():
        print(f"rl-compare: {model_path}: episodes taken from {part}", file=sys.stderr)
        kept = json.loads(part.read_text())
        return kept["outcomes"], kept["seconds"]
    print(f"rl-compare: {model_path}: playing {len(cases)} cases", file=sys.stderr)
    started = time.perf_counter()
    outcomes = play(model_path, cases, args)
    seconds = round(time.perf_counter() - started, 1)
    write_text_atomic(part, json.dumps({"model": model_path, "seconds": seconds, "outcomes": outcomes}))
    return outcomes, seconds


def figures(outcomes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    n = len(outcomes)
    categories = Counter()
    for outcome in outcomes.values():
        categories.update(outcome["categories"])
    return {"cases": n, "task_success": round(100 * sum(o["success"] for o in outcomes.values()) / n, 2),
            "mean_episode_reward": round(sum(o["episode_reward"] for o in outcomes.values()) / n, 4),
            "mean_turns": round(sum(o["turns"] for o in outcomes.values()) / n, 3), "call_categories": dict(categories)}


def register(subparsers) -> None:
    from ..cli import positive_int

    parser = subparsers.add_parser("rl-compare", help="held-out multi-turn episodes: RL models against their parent",
                                   description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", required=True, help="JSONL records an environment runs (tool world, BFCL multi-turn)")
    parser.add_argument("--parent", required=True, help="the model RL started from")
    parser.add_argument("--rl", nargs="+", required=True, help="RL models, one per seed")
    parser.add_argument("-o", "--output", required=True, help="JSON report")
    parser.add_argument("--prompt-format", default="chat", choices=("chat", "paper"))
    parser.add_argument("--max-turns", type=positive_int, default=4)
    parser.add_argument("--max-new-tokens", type=positive_int, default=96)
    parser.add_argument("--max-episode-length", type=positive_int, default=4096)
    parser.add_argument("--outcome-reward", type=float, default=1.0)
    parser.add_argument("--batch-size", type=positive_int, default=8)
    parser.add_argument("--limit", type=int, default=0, help="the first N cases only (0: all)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from ..ablation.stats import contrast
    from ..errors import UserError
    from ..jsonl import Tally, read_records, write_text_atomic

    tally = Tally()
    cases = list(read_records(args.cases, tally, strict=True))[:args.limit or None]
    if not cases:
        raise UserError(f"{args.cases}: no case")
    parts = Path(args.output).with_name(Path(args.output).name + ".parts")
    parent, parent_seconds = play_once(args.parent, cases, args, parts)
    played = [play_once(path, cases, args, parts) for path in args.rl]
    runs = [outcomes for outcomes, _ in played]
    seconds = {"parent": parent_seconds, **{f"rl seed {s}": spent for s, (_, spent) in enumerate(played)}}
    seeds = range(len(runs))
    outcomes = {"parent": {s: {BENCHMARK: parent} for s in seeds}, "rl": {s: {BENCHMARK: run} for s, run in zip(seeds, runs)}}
    settings = {k: v for k, v in vars(args).items() if k not in ("func", "command")}
    report = {"cases": args.cases, "parent": args.parent, "rl": args.rl, "settings": settings,
              "figures": {"parent": figures(parent), **{f"rl seed {s}": figures(run) for s, run in zip(seeds, runs)}},
              "rl_minus_parent": {metric: contrast(outcomes, {"rl": 1.0, "parent": -1.0}, metric)
                                  for metric in ("task success", "episode reward")},
              "seconds": seconds, "outcomes": {"parent": parent, "rl": runs}}
    write_text_atomic(Path(args.output), json.dumps(report, indent=2))
    for name, figure in report["figures"].items():
        print(f"{name}: task success {figure['task_success']}%  mean episode reward {figure['mean_episode_reward']:+.3f}  "
              f"turns {figure['mean_turns']}  calls {figure['call_categories']}")
    for metric, result in report["rl_minus_parent"].items():
        print(f"rl - parent, {metric}: {result['estimate']:+.3f}  95% CI [{result['ci95'][0]:+.3f}, {result['ci95'][1]:+.3f}]  "
              f"per seed {[round(v, 3) for v in result['per_seed']]}")
    print(f"{len(cases)} cases, {1 + len(runs)} models (seconds of playing each: {seconds}); wrote {args.output}")
    return 0
