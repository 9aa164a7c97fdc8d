"""``tl-training score IN.jsonl [-o OUT.jsonl]``: the error category and reward of each prediction.

Input records are evaluation cases (canonical records with ``tools``, ``messages``, ``gold``) with a ``prediction``
field holding the raw model output.  Each output record gains ``category``, ``flags``, ``reward`` and
``explanation`` (from ``verdict.judge``); the command prints counts and mean reward per category.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from typing import Any

from .errors import RecordError, UserError
from .jsonl import RecordWriter, Tally, read_records, refuse_overwriting, require_written
from .record import validate_record
from .verdict import CATEGORIES, RewardTable, Verdict, judge


def validate_scored_case(record: Any) -> dict[str, Any]:
    """An evaluation case with a prediction: a valid record with ``gold`` and a ``prediction``."""
    validate_record(record)
    if "gold" not in record:
        raise RecordError("an evaluation case needs gold answers", "gold")
    if not isinstance(record.get("prediction"), (str, list)):
        raise RecordError("needs the raw model output as a string (or a list of parsed calls)", "prediction")
    return record


class CategoryTable:
    """Counts and reward sums per category, for the summary table."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = defaultdict(int)
        self.reward_sums: dict[str, float] = defaultdict(float)

    def add(self, verdict: Verdict) -> None:
        self.counts[verdict.category] += 1
        self.reward_sums[verdict.category] += verdict.reward

    def render(self) -> str:
        total = sum(self.counts.values())
        lines = [f"{'category':<20} {'count':>7} {'share':>7} {'mean reward':>12}"]
        for category in reversed(CATEGORIES):  # worst first, as the paper's reward table lists them
            count = self.counts.get(category, 0)
            mean = f"{self.reward_sums[category] / count:12.3f}" if count else f"{'-':>12}"
            lines.append(f"{category:<20} {count:>7} {count / max(total, 1):>7.1%} {mean}")
        overall = sum(self.reward_sums.values()) / total if total else 0.0
        lines.append(f"{'all':<20} {total:>7} {'':>7} {overall:12.3f}")
        return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    try:
        rewards = RewardTable.from_yaml(args.rewards) if args.rewards else None
    except (OSError, ValueError) as exc:
        raise UserError(f"reward table: {exc}") from None
    refuse_overwriting([("IN", args.input), ("--rewards", args.rewards)], [("-o", args.output)])
    tally, table = Tally(), CategoryTable()
    try:
        if args.output:
            with RecordWriter(args.output, tally) as writer:
                score_records(args, rewards, tally, table, writer)
                require_written(tally, args.output, args.allow_empty)  # before the writer replaces -o
        else:
            score_records(args, rewards, tally, table, None)
    except (OSError, RecordError) as exc:
        raise UserError(str(exc)) from None
    return 0


def score_records(args: argparse.Namespace, rewards: RewardTable | None, tally: Tally, table: CategoryTable,
                  writer: RecordWriter | None) -> None:
    """Judge every record (writing each with its verdict when there is a ``writer``), print the table and the tally."""
    for record in read_records(args.input, tally, strict=not args.skip_invalid, validate=validate_scored_case):
        verdict = judge(record["prediction"], record["gold"], record.get("tools") or [],
                        syntax=args.syntax, rewards=rewards)
        table.add(verdict)
        if writer:
            writer.write({**record, **verdict.as_dict()})
    print(table.render())
    print(tally.summary())


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "score", help="error category and reward of each prediction against its gold",
        description="Grade each record's `prediction` against its `gold` and `tools` (IRM categories and "
                    "rewards); print counts and mean reward per category.")
    parser.add_argument("input", help="evaluation cases (JSONL) with a `prediction` field")
    parser.add_argument("-o", "--output", help="write each record with category, flags, reward, explanation")
    parser.add_argument("--rewards", help="YAML mapping overriding the reward table (e.g. `correct: 1.0`)")
    parser.add_argument("--syntax", default="auto", help="call syntax of the predictions (default: auto)")
    parser.add_argument("--skip-invalid", action="store_true",
                        help="skip invalid records (counted with their reason) instead of stopping at the first")
    parser.add_argument("--allow-empty", action="store_true",
                        help="with -o: exit 0 when no record could be scored (default: exit 2, -o left as it was)")
    parser.set_defaults(func=run)
