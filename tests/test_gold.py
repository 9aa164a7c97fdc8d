"""Gold semantics and call pairing in one home (tl_training/gold.py), read alike by judge, metrics and fast path."""

from __future__ import annotations

from tl_training.gold import best_pairing, is_optional, literal_answer, map_literals, spec_kind, values_match


def test_only_the_exact_one_key_shapes_are_specs():
    assert spec_kind({"any_of": [1]}) == "any_of" and spec_kind({"any_value": True}) == "any_value"
    for literal in ({"any_value": False}, {"any_of": 1}, {"any_of": [1], "x": 2}, [1], "any_of"):
        assert spec_kind(literal) is None
    # {"any_value": false} is a dict literal everywhere: matched as one, forced as one
    assert values_match({"any_value": False}, {"any_value": False}) and not values_match(3, {"any_value": False})
    assert literal_answer([[{"name": "f", "arguments": {"a": {"any_value": False}}}]]) == [
        {"name": "f", "arguments": {"a": {"any_value": False}}}]
    assert literal_answer([[{"name": "f", "arguments": {"a": {"any_value": True}}}]]) is None
    assert literal_answer([[{"name": "f", "arguments": {"a": {"any_of": [None]}, "b": {"any_of": ["x", "y"]}}}]]) == [
        {"name": "f", "arguments": {"b": "x"}}]
    assert is_optional({"any_of": ["x", None]}) and not is_optional({"any_value": True})


def test_map_literals_keeps_the_spec_shapes():
    spec = {"a": {"any_of": ["X", None]}, "b": ["Y", {"any_value": True}], "c": 3}
    assert map_literals(spec, lambda v: v.lower() if isinstance(v, str) else v) == {
        "a": {"any_of": ["x", None]}, "b": ["y", {"any_value": True}], "c": 3}


def test_best_pairing_maximises_the_objective_it_is_given():
    score = [[3, 2], [2, 0]]
    assert sum(score[i][j] for i, j in best_pairing(score)) == 4   # the total: (0, 1) and (1, 0)
    assert min(score[i][j] for i, j in best_pairing(score, objective=min)) == 2  # the weakest pair: 2
    assert best_pairing([[1, 5, 0]]) == [(0, 1)] and best_pairing([]) == []
    big = [[1 if i == j else 0 for j in range(8)] for i in range(8)]  # beyond the exact limit: greedy
    assert sorted(best_pairing(big)) == [(i, i) for i in range(8)]
