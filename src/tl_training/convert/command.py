"""``tl-training convert --from FORMAT IN -o OUT.jsonl``: source data -> canonical JSONL records."""

from __future__ import annotations

import argparse
import sys
from itertools import islice
from pathlib import Path

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


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..jsonl import RecordWriter, locate_undecodable, refuse_overwriting, require_written
    from . import FORMATS
    from .common import ConvertTally
    from .exclude import EXCLUDED_REASON, exclude_queries, load_queries

    source = Path(args.input)
    if args.fmt != "bfcl" and not source.exists():
        raise UserError(f"{source}: no such file or folder")
    for path in args.exclude_queries:
        if not path.is_file():
            raise UserError(f"{path}: no such benchmark file (--exclude-queries)")
    if args.limit is not None and args.limit < 0:
        raise UserError("--limit must be >= 0")
    refuse_overwriting([("IN", source), *[("--exclude-queries", p) for p in args.exclude_queries]], [("-o", args.output)])
    tally = ConvertTally()
    matched: set[str] = set()
    try:
        queries = load_queries(args.exclude_queries)
        records = FORMATS[args.fmt](source, tally, args.strict)
        if args.exclude_queries:
            records = exclude_queries(records, queries, tally, matched)
        with RecordWriter(args.output, tally) as writer:
            for record in tqdm(islice(records, args.limit), desc=f"convert {args.fmt}", unit=" records",
                               file=sys.stderr, disable=None):
                writer.write(record)
            print(tally.summary())
            require_written(tally, args.output, args.allow_empty)
    except RecordError as exc:
        raise UserError(f"{exc} (--strict stops at the first malformed record; without it they are skipped and counted)"
                        if args.strict else str(exc)) from None
    except UnicodeDecodeError as exc:  # a reader that decodes whole chunks cannot say where: find the line
        where = locate_undecodable([source, *args.exclude_queries]) or source
        raise UserError(f"{where}: not UTF-8 text ({exc.reason}); re-encode the file as UTF-8 (e.g. with iconv)") from None
    if args.exclude_queries:
        print(f"excluded {tally.reasons.get(EXCLUDED_REASON, 0)} "
              f"trajectories whose query appears in the given benchmark files ({len(matched)} distinct queries "
              f"of {len(queries)})")
    print(f"wrote {args.output}")
    return 0
