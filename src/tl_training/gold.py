"""What a gold answer means, and how predicted calls pair with gold calls: the one home of both.

An evaluation case's ``gold`` is a list of acceptable answers, each a list of calls ``{"name",
"arguments"}``.  An argument's gold is a **spec**:

- a literal (compared by type-aware equality: ``1 == 1.0``, ``True != 1``, ``'1' != 1``, lists in order with
  tuples counting as lists, dicts by key, strings exactly);
- ``{"any_of": [...]}``: any of the listed specs; ``null`` among them means the key may be left out;
- ``{"any_value": true}``: the key must be present, its value is not checked.

Only those exact one-key shapes are specs (``{"any_value": false}`` is a literal dict).  Specs may sit
inside a gold list or dict; inside a dict, a key whose spec allows null may be left out.

``best_pairing`` pairs a turn's predicted calls with an answer's gold calls one to one for the best
objective (the judge maximises the total reward, the metrics the weakest pair's level): exact over all
orders up to ``EXACT_MATCH_LIMIT`` calls, greedy beyond.
"""

from __future__ import annotations

from itertools import permutations
from typing import Any, Callable

EXACT_MATCH_LIMIT = 6  # calls per turn up to which calls are paired exactly (6! = 720 orders), greedy beyond


def spec_kind(gold: Any) -> str | None:
    """``"any_of"`` or ``"any_value"`` when ``gold`` is a value spec rather than a literal."""
    if type(gold) is dict and len(gold) == 1:
        if type(gold.get("any_of")) is list:
            return "any_of"
        if gold.get("any_value") is True:
            return "any_value"
    return None


def is_optional(gold_spec: Any) -> bool:
    """Whether an argument with this gold may be left out (``{"any_of": [..., null, ...]}``)."""
    return spec_kind(gold_spec) == "any_of" and None in gold_spec["any_of"]


def values_match(value: Any, gold_spec: Any) -> bool:
    """Whether a predicted value satisfies its gold spec (module docstring)."""
    gold_type = type(gold_spec)
    if gold_type is dict:
        kind = spec_kind(gold_spec)
        if kind == "any_of":
            return any(values_match(value, option) for option in gold_spec["any_of"])
        if kind == "any_value":
            return True
        if type(value) is not dict:
            return False
        if any(key not in gold_spec for key in value):
            return False
        return all(values_match(value[key], sub) if key in value else is_optional(sub)
                   for key, sub in gold_spec.items())
    value_type = type(value)
    if gold_type is bool or value_type is bool:
        return value_type is gold_type and value == gold_spec
    if gold_type in (int, float):
        return value_type in (int, float) and value == gold_spec
    if gold_type is list:
        return (value_type is list or value_type is tuple) and len(value) == len(gold_spec) and all(
            values_match(v, g) for v, g in zip(value, gold_spec))
    return value_type is gold_type and value == gold_spec


def map_literals(spec: Any, function: Callable[[Any], Any]) -> Any:
    """The spec with ``function`` applied to each literal leaf it holds (spec shapes kept as they are)."""
    kind = spec_kind(spec)
    if kind == "any_of":
        return {"any_of": [map_literals(option, function) for option in spec["any_of"]]}
    if kind == "any_value":
        return spec
    if isinstance(spec, list):
        return [map_literals(item, function) for item in spec]
    if isinstance(spec, dict):
        return {key: map_literals(sub, function) for key, sub in spec.items()}
    return function(spec)


class _NoLiteral(Exception):
    """A spec that no literal stands for (``any_value``)."""


_LEFT_OUT = object()


def _literal(spec: Any) -> Any:
    kind = spec_kind(spec)
    if kind == "any_value":
        raise _NoLiteral
    if kind == "any_of":
        options = [option for option in spec["any_of"] if option is not None]
        return _literal(options[0]) if options else _LEFT_OUT
    if isinstance(spec, dict):
        values = {key: _literal(sub) for key, sub in spec.items()}
        return {key: value for key, value in values.items() if value is not _LEFT_OUT}
    if isinstance(spec, list):
        items = [_literal(item) for item in spec]
        if any(item is _LEFT_OUT for item in items):
            raise _NoLiteral
        return items
    return spec


def literal_answer(gold: list[list[dict]]) -> list[dict] | None:
    """The first acceptable answer with every spec replaced by a literal satisfying it (``any_of``: its first
    non-null option; all null: the key is left out), or None when a spec has no literal (``any_value``)."""
    try:
        return [{"name": call["name"], "arguments": _literal(call.get("arguments") or {})} for call in gold[0]]
    except _NoLiteral:
        return None


def best_pairing(score: list[list[float]], objective: Callable[[list[float]], float] = sum) -> list[tuple[int, int]]:
    """Pairs (row, column), as many as the shorter side, maximising ``objective`` over the paired scores
    (``sum`` for the total, ``min`` for the weakest pair): every order up to ``EXACT_MATCH_LIMIT``, else
    greedily from the best remaining pair."""
    rows, cols = len(score), len(score[0]) if score else 0
    if min(rows, cols) == 0:
        return []
    if max(rows, cols) <= EXACT_MATCH_LIMIT:
        if rows <= cols:
            best = max(permutations(range(cols), rows), key=lambda p: objective([score[i][j] for i, j in enumerate(p)]))
            return list(enumerate(best))
        best = max(permutations(range(rows), cols), key=lambda p: objective([score[i][j] for j, i in enumerate(p)]))
        return [(i, j) for j, i in enumerate(best)]
    ranked = sorted(((score[i][j], i, j) for i in range(rows) for j in range(cols)), key=lambda t: -t[0])
    used_rows, used_cols, pairs = set(), set(), []
    for _, i, j in ranked:
        if i not in used_rows and j not in used_cols:
            used_rows.add(i), used_cols.add(j), pairs.append((i, j))
    return pairs
