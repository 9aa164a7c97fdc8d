"""``tl-training inspect RECORDS.jsonl --tokenizer T``: one rendered sample as training sees it.

Untrained tokens are dimmed, trained ones plain, key tokens highlighted with their weight; without a
terminal (or with ``NO_COLOR`` set) no colour codes are written: key tokens are marked ``«key»[weight]``.
``--json`` lists every token as ``{"token", "text", "trained", "key", "weight"}``; the ``text`` pieces
concatenate to the rendered text exactly (see ``weights.display_boundaries``).  A record is shown up to
``--max-length`` tokens, where sft cuts it; a huge one is tokenized only that far.
"""

from __future__ import annotations

import html
import json
import os
import sys
from itertools import islice

from ..cli import non_negative_int, positive_int
from ..config import PROMPT_FORMATS
from ..errors import ModelNotFound, RecordError, UserError
from ..render.layout import INSTRUCTION_CHOICES, THOUGHT_CHOICES

DIM, KEY, WEIGHT, RESET = "\x1b[2m", "\x1b[1;30;43m", "\x1b[35m", "\x1b[0m"


def register(subparsers) -> None:
    parser = subparsers.add_parser("inspect", help="show a rendered sample: trained tokens, key tokens, weights")
    parser.add_argument("records", help="JSONL record file")
    parser.add_argument("--tokenizer", required=True, help="local path, hub id, or 'smollm2-135m'")
    parser.add_argument("--index", type=non_negative_int, default=0, help="which record (0-based line among records)")
    parser.add_argument("--max-length", type=positive_int, default=2048,
                        help="tokens shown, as sft's max_length keeps them (default 2048, sft's default)")
    parser.add_argument("--prompt-format", default="chat", choices=PROMPT_FORMATS)
    parser.add_argument("--instruction", default="auto", choices=INSTRUCTION_CHOICES,
                        help="the source's own system instruction (as the sft field)")
    parser.add_argument("--thoughts", default="keep", choices=THOUGHT_CHOICES, help="keep, or drop (calls only)")
    parser.add_argument("--w-max", type=float, default=9.0)
    parser.add_argument("--argument-key-weight", type=float, default=0.0, help="our extension (0 = off)")
    parser.add_argument("--json", action="store_true", help="print the token list as JSON")
    parser.add_argument("--html", metavar="FILE", help="also write a coloured HTML view")
    parser.add_argument("--trust-remote-code", action="store_true")
    parser.set_defaults(func=run)


def token_rows(encoded, tokenizer) -> list[dict]:
    from .weights import display_boundaries

    pieces = display_boundaries(encoded.offsets, len(encoded.text))
    w = encoded.weights
    return [
        {"token": tokenizer.convert_ids_to_tokens(token_id), "text": encoded.text[s:e],
         "trained": w.trained[i], "key": w.key[i], "weight": w.weights[i]}
        for i, (token_id, (s, e)) in enumerate(zip(encoded.input_ids, pieces))
    ]


def wants_colour() -> bool:
    """Colour codes for a terminal only, and not when the user set NO_COLOR (no-color.org)."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def plain_view(rows: list[dict]) -> str:
    """The view without colour: key tokens between « » with their weight, other weights in brackets."""
    out = []
    for row in rows:
        if row["key"]:
            out.append(f"«{row['text']}»[{row['weight']:g}]")
        else:
            out.append(row["text"] if row["weight"] in (0, 1) else f"{row['text']}[{row['weight']:g}]")
    return "".join(out)


def ansi_view(rows: list[dict]) -> str:
    out = []
    for row in rows:
        if row["key"]:
            out.append(f"{KEY}{row['text']}{RESET}{WEIGHT}[{row['weight']:g}]{RESET}")
        elif not row["trained"]:
            out.append(f"{DIM}{row['text']}{RESET}")
        else:
            out.append(row["text"] if row["weight"] == 1 else f"{row['text']}{WEIGHT}[{row['weight']:g}]{RESET}")
    return "".join(out)


def html_view(rows: list[dict], title: str) -> str:
    spans = []
    for row in rows:
        text = html.escape(row["text"])
        if row["key"]:
            spans.append(f'<span class="key" title="{row["weight"]:g}">{text}<sub>{row["weight"]:g}</sub></span>')
        else:
            spans.append(f'<span class="{"trained" if row["trained"] else "untrained"}">{text}</span>')
    style = ".untrained{color:#999}.key{background:#fd4;font-weight:bold}pre{white-space:pre-wrap}"
    return f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title><style>{style}</style><pre>{''.join(spans)}</pre>\n"


def run(args) -> int:
    from ..jsonl import read_records, reading_notice, refuse_overwriting, write_text_atomic
    from ..models import load_tokenizer
    from ..render import Layout, get_renderer
    from .data import encode_record

    refuse_overwriting([("RECORDS", args.records)], [("--html", args.html)])
    try:
        tokenizer = load_tokenizer(args.tokenizer, trust_remote_code=args.trust_remote_code)
    except ModelNotFound as exc:
        raise UserError(f"--tokenizer: {exc}") from None
    try:
        reading_notice(args.records, "inspect")
        record = next(islice(read_records(args.records), args.index, None), None)
        if record is None:
            raise UserError(f"{args.records} has no record at index {args.index}")
        encoded = encode_record(
            record, get_renderer(args.prompt_format, tokenizer, Layout(args.instruction, args.thoughts)), tokenizer,
            w_max=args.w_max, argument_key_weight=args.argument_key_weight, max_length=args.max_length,
        )
    except (RecordError, OSError, ValueError) as exc:
        raise UserError(str(exc)) from None
    rows = token_rows(encoded, tokenizer)
    shown = rows[:args.max_length]
    if args.json:
        print(json.dumps(shown, ensure_ascii=False))
    else:
        print(ansi_view(shown) if wants_colour() else plain_view(shown))
        keys = [f"{r['text']!r}x{r['weight']:g}" for r in shown if r["key"]]
        extent = f"first {len(shown)} tokens of {len(rows)}{'' if encoded.complete else '+'} (--max-length)" \
            if len(shown) < len(rows) else f"{len(rows)} tokens"
        print(f"\n{record['id']}: {extent}, {sum(r['trained'] for r in shown)} trained, "
              f"{len(keys)} key: {', '.join(keys) or '-'}")
    if args.html:
        write_text_atomic(args.html, html_view(shown, record["id"]))
    return 0
