"""The outcome archive (``ablation.archive``): each finished evaluation's per-case outcomes, kept under the
hash of its evaluation stage, so that a fresh checkout continues, or rebuilds the report, without the run
folders.  The hash covers the whole configuration and the content of the data (``PipelineConfig.stage_hash``);
an entry under another hash is another experiment and is not used."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from ..jsonl import write_text_atomic


def eval_hash(config) -> str:
    """The hash the pipeline gives the config's evaluation stage (its section, and every stage before it)."""
    from ..pipeline.config import STAGES

    hashes: list[str] = []
    for stage in STAGES:
        hashes.append(config.stage_hash(stage, hashes) if config.enabled(stage) else f"{stage}:off")
    return hashes[-1]


def entry_path(base, *parts: str) -> Path | None:
    """``<archive>/<parts...>.json``, or None when the config keeps no archive."""
    folder = base.ablation.get("archive")
    return Path(folder, *parts).with_suffix(".json") if folder else None


def read(path: Path | None, digest: str, label: str) -> dict[str, Any] | None:
    """The archived entry at ``path`` when it was written under ``digest``, else None (and why, on stderr)."""
    if not (path and path.is_file()):
        return None
    entry = json.loads(path.read_text())
    if entry.get("hash") == digest:
        print(f"ablation: {label}: outcomes taken from {path}", file=sys.stderr)
        return entry
    # Another configuration, or the same one over other data (the code that converts or prepares it changed).
    print(f"ablation: {label}: {path} holds outcomes of another configuration or other data; "
          "not used (a grid continues on the code it started with: BENCHMARKS.md names it)", file=sys.stderr)
    return None


def write(path: Path | None, digest: str, entry: dict[str, Any]) -> None:
    """Keep ``entry`` under ``digest`` at ``path`` (whole or not at all); nothing when there is no archive."""
    if not path:
        return
    write_text_atomic(path, json.dumps({"hash": digest, **entry}))
