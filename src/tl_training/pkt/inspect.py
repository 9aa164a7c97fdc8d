"""``tl-training inspect RECORDS.jsonl --tokenizer T``: one rendered sample as training sees it.

Untrained tokens are dimmed, trained ones plain, key tokens highlighted with their weight.  ``--json``
lists every token as ``{"token", "text", "trained", "key", "weight"}``; the ``text`` pieces concatenate
to the rendered text exactly (see ``weights.display_boundaries``).
"""

from __future__ import annotations

import html
import json
from itertools import islice

from ..render.layout import INSTRUCTION_CHOICES, THOUGHT_CHOICES

DIM, KEY, WEIGHT, RESET = "\x1b[2m", "\x1b[1;30;43m", "\x1b[35m", "\x1b[0m"


def register(subparsers) -> None:
    parser = subparsers.add_parser("inspect", help="show a rendered sample: trained tokens, key tokens, weights")
    parser.add_argument("records", help="JSONL record file")
    parser.add_argument("--tokenizer", required=True, help="local path, hub id, or 'smollm2-135m'")
    parser.add_argument("--index", type=int, default=0, help="which record (0-based line among records)")
    parser.add_argument("--prompt-format", default="chat", choices=["chat", "paper"])
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
    from ..cli import UserError
    from ..jsonl import read_records
    from ..models import ModelNotFound, load_tokenizer
    from ..record import RecordError
    from ..render import Layout, get_renderer
    from .data import encode_record

    try:
        tokenizer = load_tokenizer(args.tokenizer, trust_remote_code=args.trust_remote_code)
        record = next(islice(read_records(args.records), args.index, None), None)
        if record is None:
            raise UserError(f"{args.records} has no record at index {args.index}")
        encoded = encode_record(
            record, get_renderer(args.prompt_format, tokenizer, Layout(args.instruction, args.thoughts)), tokenizer,
            w_max=args.w_max, argument_key_weight=args.argument_key_weight,
        )
    except (ModelNotFound, RecordError, OSError, ValueError) as exc:
        raise UserError(str(exc)) from None
    rows = token_rows(encoded, tokenizer)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
    else:
        print(ansi_view(rows))
        keys = [f"{r['text']!r}x{r['weight']:g}" for r in rows if r["key"]]
        print(f"\n{record['id']}: {len(rows)} tokens, {sum(r['trained'] for r in rows)} trained, "
              f"{len(keys)} key: {', '.join(keys) or '-'}")
    if args.html:
        with open(args.html, "w", encoding="utf-8") as handle:
            handle.write(html_view(rows, record["id"]))
    return 0
