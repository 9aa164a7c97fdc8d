"""``tl-training synth -o OUT.jsonl --n N --seed S [--error-rate R] [--eval]``: records from the built-in world."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "synth", help="generate trajectories (or held-out eval cases) from the built-in tool world",
        description="Generate canonical records from the built-in executable tool world (docs/synth.md): "
                    "training trajectories whose tool messages come from really executing each call, a share "
                    "of them with an injected erroneous call followed by its correction, or with --eval "
                    "evaluation cases over held-out tools. The same seed gives byte-identical output.")
    parser.add_argument("-o", "--output", required=True, type=Path, metavar="OUT.jsonl")
    parser.add_argument("--n", type=int, default=1000, metavar="N", help="number of records (default 1000)")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="world and sampling seed (default 0)")
    parser.add_argument("--error-rate", type=float, default=None, metavar="R",
                        help="share of trajectories with an injected erroneous call (default 0.17)")
    parser.add_argument("--eval", action="store_true",
                        help="write held-out evaluation cases (tools never used in training) instead")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..errors import UserError
    from ..jsonl import RecordWriter
    from .records import DEFAULT_ERROR_RATE, Stats, generate

    if args.n < 1:
        raise UserError(f"--n must be at least 1, got {args.n}")
    if args.eval and args.error_rate is not None:
        raise UserError("--error-rate applies to training trajectories, not to --eval cases")
    error_rate = DEFAULT_ERROR_RATE if args.error_rate is None else args.error_rate
    if not 0.0 <= error_rate <= 1.0:
        raise UserError(f"--error-rate must be between 0 and 1, got {error_rate}")
    split = "eval" if args.eval else "train"
    stats = Stats()
    with RecordWriter(args.output) as writer:
        for record in tqdm(generate(args.seed, args.n, split=split, error_rate=error_rate, stats=stats),
                           total=args.n, desc=f"synth {split}", unit=" records", file=sys.stderr, disable=None):
            writer.write(record)
    print(f"{split} split, seed {args.seed}" + ("" if args.eval else f", error rate {error_rate}"))
    print(stats.summary(split))
    print(f"wrote {args.output}")
    return 0
