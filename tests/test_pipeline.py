"""The pipeline end to end on a tiny random model (``--quick``), its resume rules and its config errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tl_training.cli import main
from tl_training.pipeline import stages
from tl_training.pipeline.config import PipelineConfigError, load_config

DEMO = Path(__file__).resolve().parents[1] / "configs" / "demo.yaml"


def documented_layout() -> list[str]:
    """The paths docs/pipeline.md lists for a run directory (glob patterns), less those it marks conditional
    and not met by --quick (synth data, tiny model, every stage on)."""
    text = (DEMO.parents[1] / "docs" / "pipeline.md").read_text()
    block = text.split("A run directory (")[1].split("```text\n")[1].split("```")[0]
    found = []
    for line in block.splitlines():
        path, _, comment = line.partition(" ")
        if "only when" in comment and not any(met in comment for met in ("model: tiny", "data.eval_n")):
            continue
        found.append(re.sub(r"<(model|benchmark)>", "*", path).rstrip("/"))
    return found


def _markers(run_dir: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in run_dir.glob("*/DONE.json")}


def test_quick_pipeline_runs_end_to_end_then_resumes(tmp_path, bfcl_installed, capsys):
    run_dir = tmp_path / "run"
    assert main(["pipeline", "--config", str(DEMO), "--quick", f"run_dir={run_dir}"]) == 0
    quick = tmp_path / "run-quick"
    done = _markers(quick)
    assert set(done) == {"data", "mae", "sft", "rl", "eval"}
    assert done["rl"]["metrics"]["algorithm"] == "ppo" and done["rl"]["metrics"]["steps"] == 2
    assert done["data"]["metrics"]["train_records"] == 12
    assert done["mae"]["metrics"]["trajectories"] == 12
    assert done["sft"]["metrics"]["steps"] == 4
    assert (quick / "sft" / "model" / "model.safetensors").is_file()
    for stage in ("sft", "rl"):  # each wrote checkpoints (rl at step 1 of 2), freed once the stage is done
        assert not list((quick / stage / "model").glob("checkpoint-*")), stage
    for model in ("base", "sft", "rl"):
        results = json.loads((quick / "eval" / model / "results.json").read_text())
        assert results["benchmarks"]["bfcl:simple_python"]["cases"] == 2
    report = (quick / "report.md").read_text()
    assert "| base TS / PI / CF | sft TS / PI / CF | rl TS / PI / CF |" in report and "curves.png" in report
    assert (quick / "curves.png").is_file()
    missing = [path for path in documented_layout() if not list(quick.glob(path))]
    assert not missing, f"docs/pipeline.md lists what a run does not hold: {missing}"

    # Unchanged config: every stage is skipped and keeps its marker.
    capsys.readouterr()
    assert main(["pipeline", "--config", str(DEMO), "--quick", f"run_dir={run_dir}"]) == 0
    assert _markers(quick) == done
    assert capsys.readouterr().err.count("done before") == 5

    # A changed eval section reruns eval only; the earlier stages' hashes do not depend on it.
    assert main(["pipeline", "--config", str(DEMO), "--quick", f"run_dir={run_dir}", "eval.limit=1",
                 "eval.models=[rl]"]) == 0
    again = _markers(quick)
    assert {s: again[s] for s in ("data", "mae", "sft", "rl")} == {s: done[s] for s in ("data", "mae", "sft", "rl")}
    assert again["eval"]["hash"] != done["eval"]["hash"]
    assert again["eval"]["metrics"]["rl"]["bfcl:simple_python"]["cases"] == 1 and "sft" not in again["eval"]["metrics"]


def _small_config(tmp_path: Path, *extra: str):
    path = tmp_path / "small.yaml"
    path.write_text(f"run_dir: {tmp_path / 'small'}\nmodel: tiny\ndata: {{n: 3}}\nsft: {{enabled: false}}\n"
                    "eval: {enabled: false}\n")
    return load_config(path, list(extra))


def test_interrupted_stage_leaves_no_marker_and_the_rerun_redoes_only_it(tmp_path, monkeypatch):
    config = _small_config(tmp_path)
    real_mae = stages.STAGE_FUNCTIONS["mae"]

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setitem(stages.STAGE_FUNCTIONS, "mae", interrupted)
    with pytest.raises(KeyboardInterrupt):
        stages.run_pipeline(config)
    assert (config.path / "data" / "DONE.json").is_file()
    assert not (config.path / "mae" / "DONE.json").exists()
    data_marker = json.loads((config.path / "data" / "DONE.json").read_text())

    monkeypatch.setitem(stages.STAGE_FUNCTIONS, "mae", real_mae)
    markers = stages.run_pipeline(config)
    assert markers["data"] == data_marker  # not redone
    assert markers["mae"]["metrics"]["trajectories"] == 3
    assert markers["sft"] == {"stage": "sft", "enabled": False}


def test_changed_upstream_config_reruns_downstream_and_clears_its_old_output(tmp_path):
    stages.run_pipeline(_small_config(tmp_path))
    stale = tmp_path / "small" / "mae" / "leftover.txt"
    stale.write_text("from the earlier config")
    markers = stages.run_pipeline(_small_config(tmp_path, "data.n=4"))
    assert markers["mae"]["metrics"]["trajectories"] == 4
    assert not stale.exists()


def test_a_stage_done_under_the_same_hash_in_a_sibling_run_is_reused_not_rerun(tmp_path, monkeypatch):
    first = _small_config(tmp_path)
    stages.run_pipeline(first)
    second = _small_config(tmp_path, f"run_dir={tmp_path / 'second'}")

    def must_not_run(*args):
        raise AssertionError("the stage was rerun")

    monkeypatch.setitem(stages.STAGE_FUNCTIONS, "mae", must_not_run)
    monkeypatch.setitem(stages.STAGE_FUNCTIONS, "data", must_not_run)
    markers = stages.run_pipeline(second, reuse_from=[tmp_path / "nowhere", first.path])
    assert markers["mae"]["reused_from"] == str(first.path / "mae")
    assert markers["mae"]["outputs"] == json.loads((first.path / "mae" / "DONE.json").read_text())["outputs"]
    assert json.loads((second.path / "mae" / "DONE.json").read_text()) == markers["mae"]

    # A different config upstream gives a different hash: nothing to reuse, the stage runs.
    third = _small_config(tmp_path, f"run_dir={tmp_path / 'third'}", "data.n=4")
    with pytest.raises(AssertionError, match="rerun"):
        stages.run_pipeline(third, reuse_from=[first.path])


def test_sample_lines_is_seeded_and_keeps_file_order(tmp_path):
    source = tmp_path / "pool.jsonl"
    source.write_text("".join(f'{{"i": {i}}}\n' for i in range(50)))
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert stages.sample_lines(source, first, 10, seed=1) == 10
    stages.sample_lines(source, second, 10, seed=1)
    kept = [json.loads(line)["i"] for line in first.read_text().splitlines()]
    assert first.read_text() == second.read_text() and kept == sorted(kept) and len(set(kept)) == 10
    assert stages.sample_lines(source, second, 80, seed=1) == 50


@pytest.mark.parametrize("content, overrides, message", [
    ("model: tiny\n", [], "field run_dir is required"),
    ("run_dir: x\nepochs: 3\n", [], "unknown field(s) epochs"),
    ("run_dir: x\ndata: {source: hub}\n", [], "field data.source"),
    ("run_dir: x\ndata: {source: convert, input: a.json}\n", [], "field data.format"),
    ("run_dir: x\neval: {models: [sft, final]}\n", [], "field eval.models"),
    ("run_dir: x\nsft: {enabled: maybe}\n", [], "field sft.enabled"),
    ("run_dir: x\n", ["sft.max_steps"], "is not key=value"),
    ("run_dir: x\ndata: {eval_N: 3}\n", [], "unknown field(s) data.eval_N"),
])
def test_config_errors_name_the_file_and_field(tmp_path, content, overrides, message):
    path = tmp_path / "c.yaml"
    path.write_text(content)
    with pytest.raises(PipelineConfigError, match=None) as info:
        load_config(path, overrides)
    assert message in str(info.value)


def test_missing_data_input_names_the_field(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text(f"run_dir: {tmp_path / 'run'}\ndata: {{source: file, input: {tmp_path / 'none.jsonl'}}}\n")
    assert main(["pipeline", "--config", str(path)]) == 2
    assert f"field data.input: {tmp_path / 'none.jsonl'} not found" in capsys.readouterr().err


def test_bad_config_is_a_one_line_error_exit_2(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text("run_dir: x\nepochs: 3\n")
    assert main(["pipeline", "--config", str(path)]) == 2
    assert f"{path}: unknown field(s) epochs" in capsys.readouterr().err


def test_stage_values_layer_defaults_recipe_wiring_and_section(tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("learning_rate: 1.0e-6\nlogging_steps: 1\nmodel: codellama/CodeLlama-7b-hf\nseed: 42\n")
    config = _small_config(tmp_path, f"sft.config={recipe}", "sft.enabled=true", "sft.learning_rate=2.0e-5")
    values = stages.stage_values(config, "sft", {"logging_steps": 5, "report_to": "none"},
                                 {"model": "runs/base", "seed": 3})
    assert values == {"logging_steps": 1, "report_to": "none", "learning_rate": 2.0e-5, "model": "runs/base", "seed": 3}
    before = config.stage_hash("sft", [])
    recipe.write_text("learning_rate: 3.0e-6\n")
    assert config.stage_hash("sft", []) != before  # an edited recipe file reruns the stage
    with pytest.raises(PipelineConfigError, match="field sft.config: stage config"):
        _small_config(tmp_path, "sft.config=missing.yaml")


def test_launch_runs_the_stage_command_as_a_child_process_and_reports_its_failure(tmp_path):
    import sys

    from tl_training.cli import UserError

    out = tmp_path / "records.jsonl"
    stages.launch_command(sys.executable, ["synth", "-o", str(out), "--n", "2"])
    assert stages.count_lines(out) == 2
    with pytest.raises(UserError, match="exited with 2"):
        stages.launch_command(sys.executable, ["synth", "-o", str(out), "--n", "0"])


def test_a_stage_reruns_when_a_file_it_names_changes_at_the_same_path(tmp_path):
    data = tmp_path / "train.jsonl"
    data.write_text('{"id": "a"}\n')
    cases = tmp_path / "cases.jsonl"
    cases.write_text('{"id": "c"}\n')
    config = _small_config(tmp_path, "data.source=file", f"data.input={data}", "eval.enabled=true",
                            f"eval.benchmarks=[openai:{cases}, bfcl:simple]")
    hashes = stages.stage_hashes(config)
    data.write_text('{"id": "b"}\n')  # re-converted input, same path
    changed = stages.stage_hashes(config)
    assert changed["data"] != hashes["data"]
    cases.write_text('{"id": "d"}\n')
    assert stages.stage_hashes(config)["eval"] != changed["eval"]
    assert stages.stage_hashes(config)["data"] == changed["data"]  # reading again changes nothing


@pytest.mark.parametrize("override, said", [
    ("mae.check_feedbak=true", ["section mae: config: unknown field(s) check_feedbak"]),
    ("sft.learning_rat=0.1", ["section sft: unknown field(s) learning_rat (did you mean learning_rate?)"]),
    ("rl.kl_cof=0.1", ["section rl: ", "kl_cof"]),
    ("eval.batchsize=8", ["section eval: --batchsize: unknown field(s) batchsize (did you mean batch_size?)"]),
    ("eval.limit=0", ["section eval: --limit: field limit: must be >= 1"]),
])
def test_a_typo_in_any_stage_section_fails_before_a_stage_runs(tmp_path, override, said):
    from tl_training.errors import UserError

    config = _small_config(tmp_path, "sft.enabled=true", "rl.enabled=true", "eval.enabled=true", override)
    with pytest.raises(UserError) as info:
        stages.check_config(config)
    assert all(part in str(info.value) for part in said), str(info.value)
    assert not config.path.exists()
