"""Converters: one module per source format, each a function ``(path, tally, strict) -> Iterator[record]``
yielding validated canonical records (README, The record).  ``docs/formats.md`` describes every source shape.

A defect in a source item raises ``RecordError`` naming file, line or index and field when ``strict``;
otherwise the item is counted in the tally under its reason and skipped.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any, Callable, Iterator

from ..jsonl import Tally
from . import (apibank, apigen_mt, bfcl, glaive, glaive_v2, hermes, openai, paper, rotbench, toolace, toolalpaca,
               toolbench, tooleyes, when2call, xlam)

Converter = Callable[[Path, Tally, bool], Iterator[dict[str, Any]]]

FORMATS: dict[str, Converter] = {
    "paper": paper.convert,
    "rotbench": rotbench.convert,
    "tooleyes": tooleyes.convert,
    "toolbench": toolbench.convert,
    "glaive": glaive.convert,
    "apibank": apibank.convert,
    "toolalpaca": toolalpaca.convert,
    "bfcl": bfcl.convert,
    "openai": openai.convert,
    "xlam": xlam.convert,
    "apigen_mt": apigen_mt.convert,
    "hermes": hermes.convert,
    "toolace": toolace.convert,
    "when2call": when2call.convert,
    "glaive_v2": glaive_v2.convert,
}


class _CallablePackage(types.ModuleType):
    """``tl_training.convert`` names both this package and the API's ``convert(...)``, and importing the
    package binds its name on ``tl_training`` whatever was there: so calling the package is the call."""

    def __call__(self, *args: Any, **kwargs: Any):
        from .command import convert

        return convert(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
