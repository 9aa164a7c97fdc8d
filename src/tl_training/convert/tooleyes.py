"""tooleyes: ToolEyes' multi-turn test prompts (no gold calls: the tools are live).

IN is ``scenario_data_zero_processed.json`` (ReAct: system text with the tool list, then the user query),
``scenario_data_raw.json`` (``{"query", "path": ".../Tool_Library/<Category>/<Tool>", "scenario"}``, tools
read from ``tool_schemas/<Category>__<Tool>.json`` beside it), or the folder holding them (the processed
file is used).  Each query becomes ``tooleyes/<file stem>/<index>`` with ``meta.scenario``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from ..jsonl import Tally
from .common import build_one, fail, iter_items, item_or_fail, load_json_list
from .schema import openai_tool
from .react import INSTRUCTION_META, convert_conversation

PROCESSED = "scenario_data_zero_processed.json"


def _from_processed(item: Any, record_id: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        fail("expected an object with id and conversations", "conversations")
    messages, tools, flags = convert_conversation(item.get("conversations"))
    return {"id": record_id, "tools": tools, "messages": messages,
            "meta": {"source": "tooleyes", "source_id": item.get("id"), "scenario": item.get("scenario"),
                     **INSTRUCTION_META, **({"flags": flags} if flags else {})}}


def _from_raw(item: Any, record_id: str, schemas: Path) -> dict[str, Any]:
    if not isinstance(item, dict) or not isinstance(item.get("query"), str) or not isinstance(item.get("path"), str):
        fail('expected {"query", "path", "scenario"}', "query")
    category, tool = Path(item["path"]).parts[-2:]
    schema_file = schemas / f"{category}__{tool}.json"
    if not schema_file.is_file():
        fail(f"no tool schema {schema_file}", "path")
    tools = [openai_tool(spec, f"{schema_file.name}[{i}]") for i, spec in enumerate(load_json_list(schema_file))]
    return {"id": record_id, "tools": tools, "messages": [{"role": "user", "content": item["query"]}],
            "meta": {"source": "tooleyes", "scenario": item.get("scenario"), "tool": f"{category}/{tool}"}}


def convert(path: Path, tally: Tally, strict: bool) -> Iterator[dict[str, Any]]:
    if path.is_dir():
        path = path / PROCESSED
    schemas = path.parent / "tool_schemas"
    for index, (where, item) in enumerate(iter_items(path)):
        record_id = f"tooleyes/{path.stem}/{index}"
        raw = isinstance(item, dict) and "conversations" not in item
        record = build_one(tally, strict, where, lambda: _from_raw(item, record_id, schemas) if raw
                           else _from_processed(item_or_fail(item), record_id))
        if record is not None:
            yield record
