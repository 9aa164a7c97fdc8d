"""``--exclude-queries``: drop trajectories whose user query appears in benchmark files.

RoTBench's training pool holds 95 of RoTBench's 105 test queries, so training data must pass through
this filter.  Queries compare after normalisation (ReAct's trailing "Begin!" cue removed, lower case,
whitespace collapsed).  Benchmark files may be in any source format read here or canonical JSONL.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..jsonl import Tally
from ..record import first_user_query
from .common import iter_items

EXCLUDED_REASON = "excluded: the user query appears in the given benchmark files"


def normalise_query(text: str) -> str:
    text = re.sub(r"\s*Begin!\s*$", "", text)
    return " ".join(text.lower().split())


def _queries_of(item: Any) -> list[str]:
    """The user queries one benchmark item holds, whatever its source shape."""
    if not isinstance(item, dict):
        return []
    if isinstance(item.get("query"), str):  # ToolEyes raw, ToolBench instructions
        return [item["query"]]
    if isinstance(item.get("query"), list):  # xLAM-layout benchmarks: the query is a conversation
        return _queries_of({"messages": item["query"]})
    if isinstance(item.get("Instructions"), list):  # ToolAlpaca
        return [q for q in item["Instructions"] if isinstance(q, str)]
    for key in ("conversations", "messages"):  # RoTBench/ToolEyes, ShareGPT, paper, canonical, OpenAI
        for message in item.get(key) or []:
            if isinstance(message, dict) and (message.get("from") or message.get("role")) in ("user", "human"):
                content = message.get("value", message.get("content"))
                return [content] if isinstance(content, str) else []
    if isinstance(item.get("question"), list):  # BFCL
        return [q for turn in item["question"] for q in _queries_of({"messages": turn})]
    return []


def load_queries(paths: Iterable[Path]) -> set[str]:
    queries: set[str] = set()
    for path in paths:
        for _, item in iter_items(path):
            queries.update(normalise_query(q) for q in _queries_of(item))
    return queries


def exclude_queries(records: Iterable[dict[str, Any]], queries: set[str], tally: Tally,
                    matched: set[str] | None = None) -> Iterator[dict[str, Any]]:
    """Yield the records whose first user query is not in ``queries``; count the others in ``tally``
    (an exclusion is a decision, not a defect, so it never stops a ``--strict`` run) and collect the
    distinct matched queries in ``matched``."""
    for record in records:
        query = normalise_query(first_user_query(record) or "")
        if query and query in queries:
            tally.reject(EXCLUDED_REASON, record["id"])
            if matched is not None:
                matched.add(query)
            continue
        yield record
