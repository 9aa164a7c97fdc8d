"""glaive: ShareGPT conversations (LLaMA-Factory's glaive_toolcall files), read as ``sharegpt`` describes.

Source: ``[{"conversations": [{"from": "human"|"gpt"|"function_call"|"observation", "value": str}], "tools":
"<JSON list of function specs>"}]``.  One record per conversation: ``glaive/<file stem>/<index>``.  The raw
glaive-function-calling-v2 text (``SYSTEM:`` / ``USER:`` / ``ASSISTANT: <functioncall>``) is ``glaive_v2``.
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
            item_or_fail(item), case_id("glaive", path, index), "glaive"))
        if record is not None:
            yield record
