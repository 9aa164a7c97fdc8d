"""``tl-training mae IN.jsonl -o OUT.jsonl [--report R.json] [--config mae.yaml] [--split-turns S.jsonl]``.

Streams records (one line in memory at a time), marks adverse turns, writes every valid record (an
untouched record is copied byte for byte, not re-serialised), copies malformed lines verbatim to a
rejects file with their reasons, and prints a summary: turns seen, adverse by reason, trajectories with
nothing left to train, a few examples of each.
"""

from __future__ import annotations

import sys
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Mapping

import orjson

from ..errors import ConfigError, RecordError, UserError
from ..jsonl import AtomicFile, Tally, numbered_lines, refuse_overwriting, require_written, write_bytes_atomic
from ..record import validate_record
from .config import MAEConfig, load_config
from .feedback import REASONS
from .mark import MarkResult, mark_record

EXAMPLES_PER_REASON = 3


@dataclass
class MAEReport:
    trajectories: int = 0
    turns: int = 0
    call_turns: int = 0
    masked_turns: int = 0
    adverse_calls: Counter = field(default_factory=Counter)       # by reason, masked
    unmasked_calls: Counter = field(default_factory=Counter)      # environment errors kept trained
    by_source: Counter = field(default_factory=Counter)           # "feedback" / "call" findings
    nothing_to_train: int = 0
    examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    nothing_to_train_examples: list[str] = field(default_factory=list)

    def add(self, record: dict[str, Any], result: MarkResult) -> None:
        self.trajectories += 1
        self.turns += result.turns
        self.call_turns += result.call_turns
        self.masked_turns += result.masked_turns
        for item in result.findings:
            reason = item.finding.reason
            (self.adverse_calls if item.masked else self.unmasked_calls)[reason] += 1
            self.by_source[item.finding.source] += 1
            shown = self.examples.setdefault(reason, [])
            if len(shown) < EXAMPLES_PER_REASON:
                shown.append({"id": record["id"], "message_index": item.message_index, "call": item.call_name,
                              "evidence": item.finding.evidence, "source": item.finding.source,
                              "masked": item.masked})
        if result.turns and result.trained_left == 0:
            self.nothing_to_train += 1
            if len(self.nothing_to_train_examples) < EXAMPLES_PER_REASON:
                self.nothing_to_train_examples.append(record["id"])

    def as_dict(self, tally: Tally, config: MAEConfig) -> dict[str, Any]:
        return {"records": tally.as_dict(), "trajectories": self.trajectories, "assistant_turns": self.turns,
                "turns_with_calls": self.call_turns, "turns_masked": self.masked_turns,
                "adverse_calls_masked": {r: self.adverse_calls[r] for r in REASONS if self.adverse_calls[r]},
                "environment_errors_not_masked": self.unmasked_calls.get("environment_error", 0),
                "findings_by_source": dict(self.by_source),
                "trajectories_with_nothing_to_train": self.nothing_to_train,
                "nothing_to_train_examples": self.nothing_to_train_examples, "examples": self.examples,
                "config": {k: v for k, v in vars(config).items() if not k.startswith("_")}}

    def summary(self, tally: Tally) -> str:
        share = f" ({self.masked_turns / self.call_turns:.1%} of turns with calls)" if self.call_turns else ""
        lines = [tally.summary(),
                 f"trajectories {self.trajectories}, assistant turns {self.turns}, with calls {self.call_turns}",
                 f"turns masked (train: false) {self.masked_turns}{share}"]
        for reason in REASONS:
            if self.adverse_calls[reason] or self.unmasked_calls[reason]:
                kept = f", {self.unmasked_calls[reason]} kept trained" if self.unmasked_calls[reason] else ""
                lines.append(f"  {reason}: {self.adverse_calls[reason]} masked{kept}")
                for ex in self.examples.get(reason, []):
                    lines.append(f"    e.g. {ex['id']} message {ex['message_index']} {ex['call']}: {ex['evidence']}")
        lines.append(f"trajectories with no trained turn left: {self.nothing_to_train}")
        lines.extend(f"    e.g. {rid}" for rid in self.nothing_to_train_examples)
        return "\n".join(lines)


def split_turns(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The authors' layout: one sample per trained assistant turn, earlier turns as untrained history."""
    samples = []
    for index, message in enumerate(record["messages"]):
        if message.get("role") != "assistant" or message.get("train", True) is False:
            continue
        history = [dict(m, train=False) if m.get("role") == "assistant" and m.get("train", True) is not False else m
                   for m in record["messages"][:index]]
        samples.append(dict(record, id=f"{record['id']}#turn{index}", messages=history + [message]))
    return samples


def default_rejects_path(out_path: str | Path) -> Path:
    return Path(str(out_path) + ".rejected.jsonl")


def _staged(outputs: ExitStack, path: str | Path) -> BinaryIO:
    """A handle on a temporary file that replaces ``path`` when ``outputs`` closes without an error."""
    return outputs.enter_context(open(outputs.enter_context(AtomicFile(path)), "wb"))


def run_mae(in_path: str | Path, out_path: str | Path, config: MAEConfig, *, rejects_path: str | Path | None = None,
            split_path: str | Path | None = None, strict: bool = False,
            allow_empty: bool = False) -> tuple[Tally, MAEReport]:
    """Mark ``in_path`` into ``out_path`` (and the rejects and split-turns files) and print the summary.

    The outputs replace their previous versions only when the whole run succeeds: a malformed record under
    ``strict``, Ctrl-C, or a run that wrote nothing (unless ``allow_empty``) leaves them as they were.
    """
    tally, report = Tally(), MAEReport()
    with ExitStack() as outputs:
        out = _staged(outputs, out_path)
        split = _staged(outputs, split_path) if split_path else None
        rejects = None
        with open(in_path, "rb") as source:
            for lineno, line in numbered_lines(source):
                tally.read += 1
                try:
                    try:
                        record = orjson.loads(line)
                    except orjson.JSONDecodeError as exc:
                        raise RecordError(f"not valid JSON ({exc})") from None
                    validate_record(record)
                except RecordError as exc:
                    located = exc.located(f"{in_path}:{lineno}")
                    if strict:
                        raise located from None
                    tally.reject(exc.message if not exc.field else f"{exc.field}: {exc.message}", str(located))
                    if rejects is None:
                        rejects = _staged(outputs, rejects_path or default_rejects_path(out_path))
                    rejects.write(line if line.endswith(b"\n") else line + b"\n")
                    continue
                result = mark_record(record, config)
                report.add(record, result)
                if result.changed:
                    out.write(orjson.dumps(record) + b"\n")
                else:  # untouched: the input line is already the output
                    out.write(line if line.endswith(b"\n") else line + b"\n")
                tally.written += 1
                if split:
                    for sample in split_turns(record):
                        split.write(orjson.dumps(sample) + b"\n")
        print(report.summary(tally), file=sys.stderr)
        require_written(tally, out_path, allow_empty)
    return tally, report


@dataclass(frozen=True)
class MAEResult:
    """What ``mark_adverse`` wrote (the marked records, and the split turns, rejects and report when asked
    for), the tally of records, and the report (``MAEReport.as_dict``: turns masked, by reason, examples)."""

    output: Path
    split_turns: Path | None
    rejects: Path | None
    report_path: Path | None
    read: int
    written: int
    rejected: int
    report: dict[str, Any]


def mark_adverse(input: str | Path, output: str | Path, *,
                 config: MAEConfig | str | Path | Mapping[str, Any] | None = None,
                 report: str | Path | None = None, split_turns: str | Path | None = None,
                 rejects: str | Path | None = None, strict: bool = False, allow_empty: bool = False) -> MAEResult:
    """Mark the adverse calls of ``input`` into ``output`` (``config``: an MAEConfig, its YAML file, a mapping
    of its fields, or None for the defaults) and print what was found; the command and the API."""
    if not Path(input).is_file():
        raise UserError(f"{input}: no such file")
    rejects = rejects or default_rejects_path(output)
    refuse_overwriting([("IN", input)], [("-o", output), ("--split-turns", split_turns),
                                         ("--rejects", rejects), ("--report", report)])
    if not isinstance(config, MAEConfig):
        try:
            config = load_config(None, **config) if isinstance(config, Mapping) else load_config(config)
        except ConfigError as exc:
            raise UserError(str(exc)) from None
    try:
        tally, found = run_mae(input, output, config, rejects_path=rejects, split_path=split_turns, strict=strict,
                               allow_empty=allow_empty)
    except RecordError as exc:
        raise UserError(str(exc)) from None
    figures = found.as_dict(tally, config)
    if report:
        write_bytes_atomic(report, orjson.dumps(figures, option=orjson.OPT_INDENT_2))
    written = [output, split_turns, rejects if tally.rejected else None, report]
    print("\n".join(f"wrote {path}" for path in written if path), file=sys.stderr)
    if tally.rejected:
        print(f"malformed records copied to {rejects}", file=sys.stderr)
    return MAEResult(Path(output), _optional_path(split_turns), _optional_path(rejects if tally.rejected else None),
                     _optional_path(report), tally.read, tally.written, tally.rejected, figures)


def _optional_path(path: str | Path | None) -> Path | None:
    return Path(path) if path else None


def _run(args: Any) -> int:
    mark_adverse(args.input, args.output, config=args.config, report=args.report, split_turns=args.split_turns,
                 rejects=args.rejects, strict=args.strict, allow_empty=args.allow_empty)
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("mae", help="mark adverse tool calls (train: false, mae_reason)",
                                   description=__doc__.split("\n\n")[0])
    parser.add_argument("input", help="canonical records (JSONL; README.md, The record)")
    parser.add_argument("-o", "--output", required=True, help="marked records (JSONL)")
    parser.add_argument("--report", help="write the summary as JSON here")
    parser.add_argument("--config", help="MAEConfig as YAML (see docs/mae.md)")
    parser.add_argument("--split-turns", help="also write one sample per trained assistant turn (the authors' layout)")
    parser.add_argument("--rejects", help="where malformed lines go (default: OUTPUT.rejected.jsonl)")
    parser.add_argument("--strict", action="store_true", help="stop at the first malformed record")
    parser.add_argument("--allow-empty", action="store_true",
                        help="exit 0 when every record is malformed (default: exit 2, outputs left as they were)")
    parser.set_defaults(func=_run)
