"""What a stage reads from outside the run directory, by content.

A stage's hash covers its section, so a changed path reruns it; this module makes a changed *file* at the
same path rerun it too (a re-converted input, a regenerated ablation sample).  A file's digest is its
bytes' SHA-256; a folder's covers every file under it, by relative path and digest.  Digests are kept per
process under the file's size and modification time, so a pipeline that hashes its stages several times
reads each file once.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ..eval.benchmarks import FILE_ONLY

_cache: dict[tuple[str, int, int], str] = {}


def section_inputs(stage: str, section: dict[str, Any]) -> list[str]:
    """The paths a stage's section names as its inputs."""
    if stage == "data":
        return ([section["input"]] if section.get("input") else []) + list(section.get("exclude_queries") or [])
    if stage in ("sft", "rl"):
        files = section.get("train_files") or []
        return [files] if isinstance(files, str) else list(files)
    if stage == "eval":
        named = (str(b).partition(":") for b in section.get("benchmarks") or [])
        return [path for name, _, path in named if name in FILE_ONLY and path]
    return []


def input_digests(stage: str, section: dict[str, Any]) -> dict[str, str]:
    """``{path: digest}`` of the section's inputs; a path that does not exist is ``"missing"`` (the stage
    itself says so when it runs)."""
    return {path: content_digest(Path(path)) for path in section_inputs(stage, section)}


def content_digest(path: Path) -> str:
    if path.is_file():
        return _file_digest(path)
    if path.is_dir():
        hasher = hashlib.sha256()
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            hasher.update(f"{file.relative_to(path).as_posix()}\0{_file_digest(file)}\n".encode())
        return hasher.hexdigest()[:16]
    return "missing"


def _file_digest(path: Path) -> str:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _cache:
        hasher = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                hasher.update(block)
        _cache[key] = hasher.hexdigest()[:16]
    return _cache[key]
