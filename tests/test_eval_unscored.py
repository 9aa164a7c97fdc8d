"""An evaluation that scores fewer cases than its benchmark has says so in the report's first lines."""

from __future__ import annotations

import json
from pathlib import Path

from tl_training.cli import main

FIXTURE = Path(__file__).parent / "fixtures" / "convert" / "toolalpaca_real.json"


def test_report_warns_first_when_cases_are_not_scored(tmp_path):
    predictions = tmp_path / "predictions.jsonl"
    predictions.write_text(json.dumps({"id": "toolalpaca/toolalpaca_real/0", "prediction": "{}"}) + "\n")
    out = tmp_path / "eval"
    assert main(["eval", "--predictions", str(predictions), "--benchmark", f"toolalpaca:{FIXTURE}", "-o", str(out)]) == 0
    head = (out / "report.md").read_text(encoding="utf-8").splitlines()[:4]
    assert head[2].startswith(f"> **WARNING: toolalpaca:{FIXTURE} scores 5 of its 7 cases: 2 could not be read")
