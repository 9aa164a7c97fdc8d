"""apigen_mt: APIGen-MT multi-turn trajectories (Salesforce/APIGen-MT-5k), read as ``sharegpt`` describes.

Source: a JSON list (or JSONL) of ``{"conversations": [{"from": "human"|"gpt"|"function_call"|"observation",
"value": str}], "tools": "<JSON list of function specs>", "system": "<domain policy>"}``.  The domain policy
(tau-bench's airline or retail rules) becomes the system message, verbatim: it is the instruction the
trajectories follow.  Each ``function_call`` is one assistant turn, its ``observation`` the tool message
that answers it (kept verbatim for MAE).  One trajectory per item: ``apigen_mt/<file stem>/<index>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from ..jsonl import Tally
from .common import build_one, case_id, item_or_fail, iter_items
from .sharegpt import convert_conversation


def convert(path: Path, tally: Tally, strict: bool) -> Iterator[dict[str, Any]]:
    for index, (where, item) in enumerate(iter_items(path)):
        record = build_one(tally, strict, where, lambda: convert_conversation(
            item_or_fail(item), case_id("apigen_mt", path, index), "apigen_mt"))
        if record is not None:
            yield record
