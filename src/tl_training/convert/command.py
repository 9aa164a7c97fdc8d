"""``tl-training convert --from FORMAT IN -o OUT.jsonl``: source data -> canonical JSONL records."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Iterable

from ..errors import RecordError, UserError



def register(subparsers: argparse._SubParsersAction) -> None:
    from . import FORMATS

    parser = subparsers.add_parser(
        "convert", help="convert a source format to canonical JSONL records",
        description="Convert tool-use data to canonical records (docs/formats.md describes each format). "
                    "Malformed source records are skipped and counted with their reason, or stop the run "
                    "with --strict.")
    parser.add_argument("--from", dest="fmt", required=True, choices=sorted(FORMATS), metavar="FORMAT",
                        help=f"source format: {', '.join(FORMATS)}")
    parser.add_argument("input", metavar="IN", help="source file or folder (for bfcl: a category name)")
    parser.add_argument("-o", "--output", required=True, type=Path, metavar="OUT.jsonl")
    parser.add_argument("--strict", action="store_true",
                        help="stop at the first malformed source record (default: skip it, count it, report it)")
    parser.add_argument("--exclude-queries", nargs="+", type=Path, default=[], metavar="FILE",
                        help="drop trajectories whose user query appears in these benchmark files")
    parser.add_argument("--limit", type=int, default=None, metavar="N", help="write at most N records")
    parser.add_argument("--allow-empty", action="store_true",
                        help="exit 0 and write the empty output when every record is rejected (default: exit 2, "
                             "leaving the previous output as it was)")
    parser.set_defaults(func=run)


@dataclass(frozen=True)
class ConvertResult:
    """What a conversion wrote: the output file and its counts (read = written + rejected, plus records
    folded into another), the rejections by reason, and how many of them were benchmark queries excluded."""

    output: Path
    read: int
    written: int
    rejected: int
    reasons: dict[str, int]
    excluded: int


def convert(fmt: str, source: str | Path, output: str | Path, *, exclude_queries: Iterable[str | Path] = (),
            strict: bool = False, limit: int | None = None, allow_empty: bool = False) -> ConvertResult:
    """Convert ``source`` (in format ``fmt``) to canonical records in ``output``; the command and the API."""
    from tqdm import tqdm

    from ..jsonl import RecordWriter, locate_undecodable, refuse_overwriting, require_written
    from . import FORMATS
    from .common import ConvertTally
    from .exclude import EXCLUDED_REASON, exclude_queries as drop_queries, load_queries

    if fmt not in FORMATS:
        raise UserError(f"--from {fmt}: not a source format; one of {', '.join(sorted(FORMATS))}")
    source, output, excluded_files = Path(source), Path(output), [Path(p) for p in exclude_queries]
    if fmt != "bfcl" and not source.exists():
        raise UserError(f"{source}: no such file or folder")
    for path in excluded_files:
        if not path.is_file():
            raise UserError(f"{path}: no such benchmark file (--exclude-queries)")
    if limit is not None and limit < 0:
        raise UserError("--limit must be >= 0")
    refuse_overwriting([("IN", source), *[("--exclude-queries", p) for p in excluded_files]], [("-o", output)])
    tally = ConvertTally()
    matched: set[str] = set()
    try:
        queries = load_queries(excluded_files)
        records = FORMATS[fmt](source, tally, strict)
        if excluded_files:
            records = drop_queries(records, queries, tally, matched)
        with RecordWriter(output, tally) as writer:
            for record in tqdm(islice(records, limit), desc=f"convert {fmt}", unit=" records",
                               file=sys.stderr, disable=None):
                writer.write(record)
            print(tally.summary())
            require_written(tally, output, allow_empty)
    except RecordError as exc:
        raise UserError(f"{exc} (--strict stops at the first malformed record; without it they are skipped and counted)"
                        if strict else str(exc)) from None
    except UnicodeDecodeError as exc:  # a reader that decodes whole chunks cannot say where: find the line
        where = locate_undecodable([source, *excluded_files]) or source
        raise UserError(f"{where}: not UTF-8 text ({exc.reason}); re-encode the file as UTF-8 (e.g. with iconv)") from None
    excluded = tally.reasons.get(EXCLUDED_REASON, 0)
    if excluded_files:
        print(f"excluded {excluded} "
              f"trajectories whose query appears in the given benchmark files ({len(matched)} distinct queries "
              f"of {len(queries)})")
    print(f"wrote {output}")
    return ConvertResult(output, tally.read, tally.written, tally.rejected, dict(tally.reasons), excluded)


def run(args: argparse.Namespace) -> int:
    convert(args.fmt, args.input, args.output, exclude_queries=args.exclude_queries, strict=args.strict,
            limit=args.limit, allow_empty=args.allow_empty)
    return 0
