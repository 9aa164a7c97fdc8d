"""Benchmarks named ``NAME:SPLIT``, read through the converters (``convert.FORMATS``) into evaluation cases.

- ``bfcl:<category>``: the single-turn BFCL categories shipped in the ``bfcl-eval`` package
  (``simple_python``, ``multiple``, ``parallel``, ``parallel_multiple``, ``irrelevance``, ``live_*``), and
  the multi-turn ones (``multi_turn_base``, ``multi_turn_miss_func``, ``multi_turn_miss_param``,
  ``multi_turn_long_context``): episodes run by ``multiturn.py``, cases without ``gold``.
- ``rotbench:<level>``: RoTBench First_Turn, ``clean``, ``slight``, ``medium``, ``heavy``, ``union``;
  ``rotbench:third_turn`` (or ``third_turn_<level>``) for Third_Turn.
- ``toolalpaca:simulated`` / ``toolalpaca:real``: the first golden step of each instruction.
- ``NAME:path/to/file.json``: any file the ``NAME`` converter reads; ``openai:cases.jsonl`` reads
  canonical records (DESIGN.md §2), such as the held-out cases of ``tl-training synth --eval``;
  ``xlam:apibank_l2.json`` a benchmark redistributed in the xLAM layout (Hammer's API-Bank, Seal-Tools).

Files other than BFCL's come from ``--data-dir``, laid out like ``../shared/data`` (its README lists the
sources).  Case ids are the converters' (``<format>/<file stem>/<index>``); two benchmarks may share ids
(RoTBench First_Turn and Third_Turn both have ``clean``), so results are keyed by (benchmark, id).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..cli import UserError
from ..jsonl import Tally

NOISE_LEVELS = ("clean", "slight", "medium", "heavy", "union")
DATA_FILES = {  # NAME -> SPLIT -> path relative to --data-dir
    "rotbench": {
        **{level: f"rotbench/First_Turn/{level}.json" for level in NOISE_LEVELS},
        "third_turn": "rotbench/Third_Turn/clean.json",
        **{f"third_turn_{level}": f"rotbench/Third_Turn/{level}.json" for level in NOISE_LEVELS},
    },
    "toolalpaca": {"simulated": "toolalpaca/eval_simulated.json", "real": "toolalpaca/eval_real.json"},
}
FILE_ONLY = ("openai", "xlam")  # converters whose benchmarks are files the user names, with no built-in splits
NAMES = ("bfcl", *DATA_FILES, *FILE_ONLY)


@dataclass(frozen=True)
class Benchmark:
    name: str  # as the user wrote it: "rotbench:clean"
    format: str  # the converter: a key of convert.FORMATS
    source: str  # the file (or, for BFCL, the category) given to the converter
    multi_turn: bool = False  # BFCL multi-turn: episodes for multiturn.py, not single-call cases


def _looks_like_path(split: str) -> bool:
    return "/" in split or split.endswith((".json", ".jsonl"))


def resolve(spec: str, data_dir: str | Path | None = None) -> Benchmark:
    """The benchmark a ``NAME:SPLIT`` names; a UserError says what exists when it names nothing."""
    name, sep, split = spec.partition(":")
    if not sep or not split:
        raise UserError(f"benchmark {spec!r}: expected NAME:SPLIT, e.g. bfcl:simple_python or rotbench:clean")
    if name not in NAMES:
        raise UserError(f"benchmark {spec!r}: unknown name {name!r}; known: {', '.join(NAMES)}")
    if _looks_like_path(split):
        if not Path(split).is_file():
            raise UserError(f"benchmark {spec!r}: file {split} not found")
        from ..convert.bfcl import MULTI_TURN, category_of

        return Benchmark(spec, name, split, multi_turn=name == "bfcl" and category_of(Path(split)) in MULTI_TURN)
    if name in FILE_ONLY:
        raise UserError(f"benchmark {spec!r}: {name} takes a file of evaluation cases, e.g. {name}:cases.jsonl")
    if name == "bfcl":
        from ..convert.bfcl import available_categories, multi_turn_categories

        if split in multi_turn_categories():
            return Benchmark(spec, "bfcl", split, multi_turn=True)
        categories = available_categories() + multi_turn_categories()
        if split not in categories:
            raise UserError(f"benchmark {spec!r}: no BFCL category {split!r}; known: {', '.join(categories)}")
        return Benchmark(spec, "bfcl", split)
    splits = DATA_FILES[name]
    if split not in splits:
        raise UserError(f"benchmark {spec!r}: unknown split {split!r}; known: {', '.join(splits)}")
    if data_dir is None:
        raise UserError(f"benchmark {spec!r} reads {splits[split]} under --data-dir (laid out like ../shared/data)")
    path = Path(data_dir) / splits[split]
    if not path.is_file():
        raise UserError(f"benchmark {spec!r}: {path} not found (--data-dir is laid out like ../shared/data)")
    return Benchmark(spec, name, str(path))


def load_cases(benchmark: Benchmark, tally: Tally | None = None, strict: bool = False) -> list[dict[str, Any]]:
    """The evaluation cases of a benchmark (records with ``gold``); a case without gold is an error.

    Not strict by default: an item the converter rejects is counted in ``tally`` with its reason (the
    command reports them beside the figures, which cover the accepted cases only).
    """
    from ..convert import FORMATS

    tally = tally if tally is not None else Tally()
    cases = []
    for record in FORMATS[benchmark.format](Path(benchmark.source), tally, strict):
        if "gold" not in record and not benchmark.multi_turn:
            raise UserError(f"{benchmark.name}: case {record['id']} has no gold answer; not an evaluation file")
        cases.append(record)
    return cases
