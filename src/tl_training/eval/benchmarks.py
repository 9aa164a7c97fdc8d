"""Benchmarks named ``NAME:SPLIT``, read through the converters (``convert.FORMATS``) into evaluation cases.

- ``bfcl:<category>``: the single-turn BFCL categories shipped in the ``bfcl-eval`` package
  (``simple_python``, ``multiple``, ``parallel``, ``parallel_multiple``, ``irrelevance``, ``live_*``), and
  the multi-turn ones (``multi_turn_base``, ``multi_turn_miss_func``, ``multi_turn_miss_param``,
  ``multi_turn_long_context``): episodes run by ``multiturn.py``, cases without ``gold``.
- ``rotbench:<level>``: RoTBench First_Turn, ``clean``, ``slight``, ``medium``, ``heavy``, ``union``;
  ``rotbench:third_turn`` (or ``third_turn_<level>``) for Third_Turn.
- ``toolalpaca:simulated`` / ``toolalpaca:real``: the first golden step of each instruction.
- ``NAME:path/to/file.json``: any file the ``NAME`` converter reads; ``openai:cases.jsonl`` reads
  canonical records (README, The record), such as the held-out cases of ``tl-training synth --eval``;
  ``xlam:apibank_l2.json`` a benchmark redistributed in the xLAM layout (Hammer's API-Bank, Seal-Tools).
- ``acebench:<category>``: ACEBench's English ``data_<category>.json`` and its answers (``acebench.py``).
- ``tooleyes:first_turn`` / ``prefix`` / ``replay``: ToolEyes offline, scored by ``tooleyes.py``.
- ``gsm8k:test``, ``ifeval:input_data``: the general-task check, scored by ``general.py``.

Benchmarks read by an eval module of their own (``OWN_READERS``) rather than a converter; those whose
outputs that module also scores (``SCORED_APART``: no TS/PI/CF) land in their own section of results.json.

Files other than BFCL's come from ``--data-dir``, laid out like ``../shared/data`` (its README lists the
sources).  Case ids are the converters' (``<format>/<file stem>/<index>``); two benchmarks may share ids
(RoTBench First_Turn and Third_Turn both have ``clean``), so results are keyed by (benchmark, id).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..jsonl import Tally

NOISE_LEVELS = ("clean", "slight", "medium", "heavy", "union")
DATA_FILES = {  # NAME -> SPLIT -> path relative to --data-dir
    "rotbench": {
        **{level: f"rotbench/First_Turn/{level}.json" for level in NOISE_LEVELS},
        "third_turn": "rotbench/Third_Turn/clean.json",
        **{f"third_turn_{level}": f"rotbench/Third_Turn/{level}.json" for level in NOISE_LEVELS},
    },
    "toolalpaca": {"simulated": "toolalpaca/eval_simulated.json", "real": "toolalpaca/eval_real.json"},
    "gsm8k": {"test": "gsm8k/test.jsonl"},
    "ifeval": {"input_data": "ifeval/input_data.jsonl"},
}
FILE_ONLY = ("openai", "xlam")  # converters whose benchmarks are files the user names, with no built-in splits
SCORED_APART = {"tooleyes": "tooleyes", "gsm8k": "general", "ifeval": "general"}  # NAME -> module scoring it
OWN_READERS = {"acebench": "acebench", **SCORED_APART}  # NAME -> eval module reading its files
NAMES = ("bfcl", *DATA_FILES, *FILE_ONLY, "acebench", "tooleyes")


@dataclass(frozen=True)
class Benchmark:
    name: str  # as the user wrote it: "rotbench:clean"
    format: str  # the converter: a key of convert.FORMATS
    source: str  # the file (or, for BFCL, the category) given to the converter
    multi_turn: bool = False  # BFCL multi-turn: episodes for multiturn.py, not single-call cases
    scorer: str | None = None  # the eval module that scores it (SCORED_APART); None: TS/PI/CF


def _looks_like_path(split: str) -> bool:
    return "/" in split or split.endswith((".json", ".jsonl"))


def resolve(spec: str, data_dir: str | Path | None = None) -> Benchmark:
    """The benchmark a ``NAME:SPLIT`` names; a UserError says what exists when it names nothing."""
    name, sep, split = spec.partition(":")
    if not sep or not split:
        raise UserError(f"benchmark {spec!r}: expected NAME:SPLIT, e.g. bfcl:simple_python or rotbench:clean")
    if name not in NAMES:
        raise UserError(f"benchmark {spec!r}: unknown name {name!r}; known: {', '.join(NAMES)}")
    if name == "tooleyes":
        from .tooleyes import tier_of

        tier_of(spec)
        if data_dir is None or not Path(data_dir).is_dir():
            raise UserError(f"benchmark {spec!r} reads tooleyes/ and rotbench_train/ under --data-dir "
                            "(laid out like ../shared/data)")
        return Benchmark(spec, name, str(data_dir), scorer=SCORED_APART[name])
    if _looks_like_path(split):
        if not Path(split).is_file():
            raise UserError(f"benchmark {spec!r}: file {split} not found")
        from ..convert.bfcl import MULTI_TURN, category_of

        return Benchmark(spec, name, split, multi_turn=name == "bfcl" and category_of(Path(split)) in MULTI_TURN,
                         scorer=SCORED_APART.get(name))
    if name == "acebench":
        from .acebench import data_file, kind_of

        kind_of(split)
        if data_dir is None:
            raise UserError(f"benchmark {spec!r} reads acebench/data_en/data_{split}.json under --data-dir")
        path = data_file(data_dir, split)
        if not path.is_file():
            raise UserError(f"benchmark {spec!r}: {path} not found (ACEBench's data_en/ layout under --data-dir/acebench)")
        return Benchmark(spec, name, str(path))
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
    return Benchmark(spec, name, str(path), scorer=SCORED_APART.get(name))


def own_module(name: str):
    """The eval module (``acebench``, ``tooleyes``, ``general``) of a benchmark name in OWN_READERS."""
    import importlib

    return importlib.import_module(f".{OWN_READERS[name]}", __package__)


def load_cases(benchmark: Benchmark, tally: Tally | None = None, strict: bool = False) -> list[dict[str, Any]]:
    """The evaluation cases of a benchmark (records with ``gold``); a case without gold is an error.

    Not strict by default: an item the converter rejects is counted in ``tally`` with its reason (the
    command reports them beside the figures, which cover the accepted cases only).
    """
    from ..convert import FORMATS

    tally = tally if tally is not None else Tally()
    cases = []
    records = own_module(benchmark.format).read_cases(benchmark, tally, strict) if benchmark.format in OWN_READERS \
        else FORMATS[benchmark.format](Path(benchmark.source), tally, strict)
    for record in records:
        if "gold" not in record and not benchmark.multi_turn and not benchmark.scorer:
            raise UserError(f"{benchmark.name}: case {record['id']} has no gold answer; not an evaluation file")
        cases.append(record)
    return cases
