"""Streaming JSONL reading and writing with an honest tally: what was read, written and rejected, and why.

Nothing here loads a whole file: records flow one line at a time, so a many-GB file costs the memory of
one record.  ``orjson`` parses and serialises several times faster than the standard library.
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import orjson

from .record import RecordError, validate_record

MAX_EXAMPLES = 5


@dataclass
class Tally:
    """Counts of one pass over records; every rejected record is counted under its reason."""

    read: int = 0
    written: int = 0
    rejected: int = 0
    reasons: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def reject(self, reason: str, example: str) -> None:
        self.rejected += 1
        self.reasons[reason] += 1
        shown = self.examples.setdefault(reason, [])
        if len(shown) < MAX_EXAMPLES:
            shown.append(example)

    def summary(self) -> str:
        lines = [f"read {self.read}, written {self.written}, rejected {self.rejected}"]
        for reason, count in self.reasons.most_common():
            lines.append(f"  rejected {count}: {reason}")
            lines.extend(f"    e.g. {example}" for example in self.examples.get(reason, []))
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {"read": self.read, "written": self.written, "rejected": self.rejected,
                "reasons": dict(self.reasons), "examples": self.examples}


def loads(text: str | bytes) -> Any:
    return orjson.loads(text)


def dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


def read_records(
    path: str | Path,
    tally: Tally | None = None,
    *,
    strict: bool = True,
    validate: Callable[[Any], Any] = validate_record,
) -> Iterator[dict[str, Any]]:
    """Yield the records of a JSONL file one by one.

    A line that is not JSON or not a valid record raises ``RecordError`` naming ``file:line`` when
    ``strict``; otherwise it is counted in ``tally`` with its reason and skipped.  Blank lines are ignored.
    """
    tally = tally if tally is not None else Tally()
    with open(path, "rb") as handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            tally.read += 1
            where = f"{path}:{lineno}"
            try:
                try:
                    obj = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    raise RecordError(f"not valid JSON ({exc})")
                yield validate(obj)
            except RecordError as exc:
                located = exc.located(where)
                if strict:
                    raise located from None
                tally.reject(exc.message if not exc.field else f"{exc.field}: {exc.message}", str(located))


class RecordWriter:
    """Write records as JSONL, counting them in a tally; use as a context manager."""

    def __init__(self, path: str | Path, tally: Tally | None = None):
        self.path = Path(path)
        self.tally = tally if tally is not None else Tally()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle: io.BufferedWriter = open(self.path, "wb")

    def write(self, record: dict[str, Any]) -> None:
        self._handle.write(orjson.dumps(record) + b"\n")
        self.tally.written += 1

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> "RecordWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_records(path: str | Path, records: Iterable[dict[str, Any]], tally: Tally | None = None) -> Tally:
    with RecordWriter(path, tally) as writer:
        for record in records:
            writer.write(record)
    return writer.tally
