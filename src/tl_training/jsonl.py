"""Streaming JSONL reading and writing with an honest tally: what was read, written and rejected, and why.

Nothing here loads a whole file: records flow one line at a time, so a many-GB file costs the memory of
one record.  ``orjson`` parses and serialises several times faster than the standard library.

Every command writes its outputs through ``AtomicFile`` (``RecordWriter`` uses it): under a temporary name
beside the target, renamed into place only when the command succeeds, so a failed or interrupted run
leaves the previous output whole.  ``refuse_overwriting`` stops a command whose output is one of its
inputs before it writes anything; ``require_written`` fails a command that wrote nothing usable.
"""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import orjson

from .errors import RecordError, UserError
from .record import validate_record

MAX_EXAMPLES = 5
TOP_REASONS = 3  # reasons named in the error of a run that wrote nothing
BOM = b"\xef\xbb\xbf"


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


def json_lines(path: str | Path) -> Iterator[tuple[str, Any]]:
    """``(file:line, value)`` of each non-blank line of a benchmark's JSON-lines file, read by the standard
    ``json`` module as the benchmark's own scripts read it; a line that is not JSON is a UserError naming it."""
    try:
        handle = open(path, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{path}: {exc.strerror}") from None
    with handle:
        for lineno, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    yield f"{path}:{lineno}", json.loads(line)
                except json.JSONDecodeError as exc:
                    raise UserError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None


def numbered_lines(handle: io.BufferedReader) -> Iterator[tuple[int, bytes]]:
    """The non-blank lines of a binary file with their 1-based numbers; a UTF-8 byte order mark before the
    first line is dropped (editors on Windows write one; it is no part of the first record)."""
    for lineno, line in enumerate(handle, start=1):
        if lineno == 1 and line.startswith(BOM):
            line = line[len(BOM):]
        if line.strip():
            yield lineno, line


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
        for lineno, line in numbered_lines(handle):
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


def locate_undecodable(paths: Iterable[str | Path]) -> str | None:
    """``file:line`` of the first line that is not UTF-8 text in these files (folders: their files, in
    sorted order), for an error that names where a decoding failure lies; None when every line decodes."""
    for path in map(Path, paths):
        for file in sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]:
            if not file.is_file():
                continue
            with open(file, "rb") as handle:
                for lineno, line in enumerate(handle, start=1):
                    try:
                        line.decode("utf-8")
                    except UnicodeDecodeError:
                        return f"{file}:{lineno}"
    return None


def reading_notice(path: str | Path, command: str) -> None:
    """Say on stderr which file a command starts reading and how big it is, before a long silent read."""
    size = Path(path).stat().st_size
    print(f"{command}: reading {path} ({size / 1e6:.1f} MB)", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------ safe outputs


def _new_file_mode(target: Path) -> int:
    """The mode ``open`` would give ``target``: its own if it exists, else 0o666 less the umask (mkstemp
    creates 0o600)."""
    if target.exists():
        return target.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


class AtomicFile:
    """``target`` written under a temporary name beside it (same folder, so the rename is atomic).

    ``commit()`` renames it onto ``target``; ``discard()`` removes it.  As a context manager it gives the
    temporary path, commits when the block succeeds and discards when it fails or is interrupted (Ctrl-C),
    so ``target`` holds either its previous content or the whole new one, never a part.  The temporary
    name keeps the target's suffix, for writers that read the format from it (matplotlib).
    """
    def __init__(self, target: str | Path):
        self.target = Path(target)
        self.target.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=self.target.parent, prefix=f".{self.target.name}.",
                                        suffix=f".partial{self.target.suffix}")
        os.close(handle)
        self.temp = Path(name)

    def commit(self) -> None:
        os.chmod(self.temp, _new_file_mode(self.target))
        os.replace(self.temp, self.target)

    def discard(self) -> None:
        self.temp.unlink(missing_ok=True)

    def __enter__(self) -> Path:
        return self.temp

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()


def write_text_atomic(path: str | Path, text: str) -> None:
    with AtomicFile(path) as temp:
        temp.write_text(text, encoding="utf-8")


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    with AtomicFile(path) as temp:
        temp.write_bytes(data)


def _same_file(a: Path, b: Path) -> bool:
    if a.exists() and b.exists():
        return os.path.samefile(a, b)  # hard links and symlinks too
    return a.resolve() == b.resolve()


Named = Iterable[tuple[str, "str | Path | None"]]


def refuse_overwriting(inputs: Named, outputs: Named) -> None:
    """Stop before anything is written when an output is an input or two outputs are one file.

    ``inputs`` and ``outputs`` pair how the user named each file (``IN``, ``-o``, ``--report``) with its
    path; None paths are options not given.  Writing an input would destroy it (an output is created
    before its input is read through), so this is checked on resolved paths and inodes, not on spellings.
    """
    given_inputs = [(label, Path(p)) for label, p in inputs if p is not None]
    given_outputs = [(label, Path(p)) for label, p in outputs if p is not None]
    for out_label, out in given_outputs:
        for in_label, source in given_inputs:
            if source.is_file() and _same_file(out, source):
                raise UserError(f"{out_label} {out} is the same file as the input {in_label} {source}: writing it "
                                "would destroy the input; write to another file")
    for i, (label, out) in enumerate(given_outputs):
        for other_label, other in given_outputs[i + 1:]:
            if _same_file(out, other):
                raise UserError(f"{label} {out} and {other_label} {other} are the same file: give each output its own")


def require_written(tally: Tally, output: str | Path, allow_empty: bool) -> None:
    """Fail a run that wrote nothing usable, naming how much was read and the top reasons it was rejected;
    called before the output is committed, so the previous output stays.  ``--allow-empty`` lets it pass."""
    if tally.written or allow_empty:
        return
    if not tally.read:
        found = "the input holds no records"
    else:
        reasons = "; ".join(f"{reason} ({count})" for reason, count in tally.reasons.most_common(TOP_REASONS))
        found = f"all {tally.read} records read were rejected" + (f": {reasons}" if reasons else "")
    raise UserError(f"nothing written to {output}: {found}; any previous {Path(output).name} is kept "
                    "(--allow-empty writes the empty output and exits 0)")


class RecordWriter:
    """Write records as JSONL, counting them in a tally; use as a context manager.

    The records go to a temporary file (``AtomicFile``) that replaces ``path`` when the block ends without
    an error (or at ``close()``); an error or Ctrl-C inside the block leaves the previous ``path`` whole.
    """

    def __init__(self, path: str | Path, tally: Tally | None = None):
        self.path = Path(path)
        self.tally = tally if tally is not None else Tally()
        self._file = AtomicFile(self.path)
        self._handle: io.BufferedWriter = open(self._file.temp, "wb")

    def write(self, record: dict[str, Any]) -> None:
        self._handle.write(orjson.dumps(record) + b"\n")
        self.tally.written += 1

    def close(self) -> None:
        """Finish: the records written replace the previous file."""
        if not self._handle.closed:
            self._handle.close()
            self._file.commit()

    def discard(self) -> None:
        """Give up: the previous file stays as it was."""
        if not self._handle.closed:
            self._handle.close()
            self._file.discard()

    def __enter__(self) -> "RecordWriter":
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        if kind is None:
            self.close()
        else:
            self.discard()


def write_records(path: str | Path, records: Iterable[dict[str, Any]], tally: Tally | None = None) -> Tally:
    with RecordWriter(path, tally) as writer:
        for record in records:
            writer.write(record)
    return writer.tally
