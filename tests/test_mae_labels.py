"""The hand labels: each one still points at its message in ../shared/data, and the classifier agrees with them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tl_training.mae import classify_feedback

LABELS = sorted((Path(__file__).parent / "labels").glob("mae_*.jsonl"))


def _load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _raw_feedback(shared: Path, label: dict) -> str:
    source = shared / label["source"]
    if "case" in label:  # RoTBench Third_Turn: a JSON list of cases
        return json.loads(source.read_text())[label["case"]]["conversations"][label["message_index"]]["value"]
    if "line" in label:  # RoTBench pool: JSONL, one record per line
        record = json.loads(source.read_text().splitlines()[label["line"] - 1])
        assert record["id"] == label["id"]
        return record["conversations"][label["message_index"]]["value"]
    conv = json.loads(source.read_text())["answer_generation"]["train_messages"][-1]  # ToolBench
    return conv[label["message_index"]]["content"]


@pytest.mark.shared_data
@pytest.mark.parametrize("path", LABELS, ids=lambda p: p.stem)
def test_labels_point_at_their_messages(shared_data, path):
    for label in _load(path):
        assert _raw_feedback(shared_data, label) == label["feedback"], label


@pytest.mark.parametrize("path", LABELS, ids=lambda p: p.stem)
def test_classifier_agrees_with_hand_labels(path):
    labels = _load(path)
    assert len(labels) >= 30 and any(x["adverse"] for x in labels) and not all(x["adverse"] for x in labels)
    tp = fp = fn = 0
    for label in labels:
        arguments = label["call"]["arguments"] if isinstance(label["call"]["arguments"], dict) else {}
        predicted = classify_feedback(label["feedback"], {"name": label["call"]["name"], "arguments": arguments}) is not None
        tp += predicted and label["adverse"]
        fp += predicted and not label["adverse"]
        fn += label["adverse"] and not predicted
    assert tp / (tp + fp) >= 0.95 and tp / (tp + fn) >= 0.95, (tp, fp, fn)
