"""The Python API: docs/api.md's example runs as written, the names are the commands' own functions,
and a script's mistake is a TLTrainingError naming the field."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import tl_training
from tl_training.errors import ConfigError, TLTrainingError

DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"


def test_the_documented_example_runs(tmp_path, monkeypatch, capsys):
    (code,) = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, str(DOC), "exec"), {})
    said = capsys.readouterr().out
    assert "8 records converted" in said
    assert "2 SFT steps" in said and "ppo 1 step(s)" in said and "\nTS " in said
    assert "unknown field(s) learning_rat (did you mean learning_rate?)" in said
    assert (tmp_path / "sft" / "sft_report.json").is_file() and (tmp_path / "rl" / "rl_report.json").is_file()
    assert (tmp_path / "eval" / "results.json").is_file() and (tmp_path / "mae.json").is_file()


def test_the_api_is_the_code_the_commands_run(monkeypatch):
    from tl_training.convert import command as convert_command  # the package bound on tl_training first
    from tl_training.eval import command as eval_command
    from tl_training.mae import command as mae_command
    from tl_training.pkt import command as sft_command

    monkeypatch.setattr(convert_command, "convert", lambda *args, **kwargs: ("converted", args, kwargs))
    assert tl_training.convert("xlam", "in.json", "out.jsonl", strict=True) == (
        "converted", ("xlam", "in.json", "out.jsonl"), {"strict": True})
    assert tl_training.mark_adverse is mae_command.mark_adverse
    assert tl_training.train_sft is sft_command.train_sft
    assert tl_training.evaluate is eval_command.evaluate
    with pytest.raises(AttributeError, match="no attribute 'trian_sft'"):
        tl_training.trian_sft  # noqa: B018


def test_import_loads_no_torch():
    code = "import sys, tl_training; tl_training.TLTrainingError; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


@pytest.mark.parametrize(("fields", "message"), [
    ({"benchmarks": ["bfcl:simple"], "output": "o", "model": "m", "batch_size": 0}, "field batch_size: must be >= 1"),
    ({"benchmarks": ["bfcl:simple"], "output": "o"}, "give exactly one"),
    ({"benchmarks": ["bfcl:simple"], "output": "o", "model": "m", "dtype": "fp8"}, "field dtype: one of auto"),
    ({"benchmarks": [], "output": "o", "model": "m"}, "field benchmarks"),
])
def test_eval_config_names_the_bad_field(fields, message):
    with pytest.raises(ConfigError, match=message):
        tl_training.EvalConfig(**fields)


def test_errors_of_every_stage_are_one_family(tmp_path):
    with pytest.raises(TLTrainingError, match="no such file"):
        tl_training.mark_adverse(tmp_path / "missing.jsonl", tmp_path / "out.jsonl")
    (tmp_path / "in.jsonl").write_text("")
    with pytest.raises(TLTrainingError, match=r"unknown field\(s\) check_feedbak"):
        tl_training.mark_adverse(tmp_path / "in.jsonl", tmp_path / "out.jsonl", config={"check_feedbak": True})
    with pytest.raises(TLTrainingError, match="--from nope: not a source format"):
        tl_training.convert("nope", tmp_path, tmp_path / "out.jsonl")
    with pytest.raises(TLTrainingError, match="field lora_r: must be >= 1"):
        tl_training.train_sft({"output_dir": str(tmp_path), "train_files": ["t.jsonl"], "lora_r": 0})


def test_run_pipeline_returns_the_run_its_report_and_each_stage(tmp_path):
    config = tmp_path / "p.yaml"
    config.write_text(f"run_dir: {tmp_path / 'run'}\nmodel: tiny\ndata: {{n: 3}}\n"
                      "sft: {enabled: false}\neval: {enabled: false}\n")
    result = tl_training.run_pipeline(config, ["mae.check_schema=false"])
    assert result.run_dir == tmp_path / "run" and result.report == tmp_path / "run" / "report.md"
    assert result.report.is_file() and result.stages["data"]["metrics"]["train_records"] == 3
    assert result.stages["mae"]["enabled"] and not result.stages["sft"]["enabled"]
