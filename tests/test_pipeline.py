"""The pipeline end to end on a tiny random model (``--quick``), its resume rules and its config errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tl_training.cli import main
from tl_training.pipeline import stages
from tl_training.pipeline.config import PipelineConfigError, load_config

DEMO = Path(__file__).resolve().parents[1] / "configs" / "demo.yaml"


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
    assert not list((quick / "sft" / "model").glob("checkpoint-*"))  # freed once the stage is done
    for model in ("base", "sft", "rl"):
        results = json.loads((quick / "eval" / model / "results.json").read_text())
        assert results["benchmarks"]["bfcl:simple_python"]["cases"] == 2
    report = (quick / "report.md").read_text()
    assert "| base TS / PI / CF | sft TS / PI / CF | rl TS / PI / CF |" in report and "curves.png" in report
    assert (quick / "curves.png").is_file()

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


def test_ablation_variants_share_data_and_budget_and_differ_only_in_the_three_switches(tmp_path):
    from tl_training.pipeline.ablate import VARIANTS, variant_config

    base = _small_config(tmp_path, "sft.enabled=true", "sft.max_steps=7", "rl.steps=3")
    data = {"train": "shared/train.jsonl", "eval_cases": "shared/eval.jsonl"}
    configs = {v: variant_config(base, v, seed=2, data=data) for v in VARIANTS}
    for variant, config in configs.items():
        mae, pkt, irm = VARIANTS[variant]
        assert (config.mae["enabled"], config.sft["pkt"], config.rl["enabled"]) == (mae, pkt, irm)
        assert config.sft["max_steps"] == 7 and config.rl["steps"] == 3 and config.seed == 2
        assert config.data == {"source": "file", "input": "shared/train.jsonl", "eval_cases": "shared/eval.jsonl"}
        assert config.eval["models"] == (["rl"] if irm else ["sft"])
    assert len({c.run_dir for c in configs.values()}) == len(VARIANTS)
    assert base.mae == {} and "pkt" not in base.sft  # the base config is not changed


def test_sign_test_matches_hand_computed_binomial_tails():
    from tl_training.pipeline.ablate import sign_test

    assert sign_test(0, 0) == 1.0
    assert sign_test(3, 3) == 1.0
    assert sign_test(5, 0) == pytest.approx(2 / 32)  # 2 * 0.5**5
    assert sign_test(1, 7) == pytest.approx(2 * (1 + 8) / 256)  # 2 * (C(8,0) + C(8,1)) / 2**8
    assert sign_test(7, 1) == sign_test(1, 7)


def _outcome(ts, pi, cf, category="wrong_tool"):
    return {"TS": ts, "PI": pi, "CF": cf, "category": category}


def test_paired_comparison_counts_only_cases_where_the_variant_and_the_baseline_differ():
    from tl_training.pipeline.ablate import paired

    right, wrong = _outcome(True, True, True), _outcome(True, False, False)
    outcomes = {
        "standard_sft": {0: {"b": {"1": right, "2": wrong, "3": wrong, "4": right}}, 1: {"b": {"1": wrong}}},
        "+pkt": {0: {"b": {"1": right, "2": right, "3": right, "4": wrong}}, 1: {"b": {"1": right}}},
        "+mae": {0: {"b": {"1": right, "2": wrong, "3": _outcome(False, False, False), "4": right, "extra": right}}},
    }
    table = paired(outcomes)
    assert table["+pkt"]["CF"] == table["+pkt"]["PI"] == {"gained": 3, "lost": 1, "p": pytest.approx(0.625)}  # 2 * 5/16
    assert table["+pkt"]["TS"] == {"gained": 0, "lost": 0, "p": 1.0}  # every case chose the tool in both
    assert table["+mae"]["CF"] == {"gained": 0, "lost": 0, "p": 1.0}  # "extra" has no baseline case to pair with
    assert table["+mae"]["TS"] == {"gained": 0, "lost": 1, "p": 1.0}
    assert "standard_sft" not in table


def test_error_categories_are_counted_over_benchmarks_per_seed_worst_first():
    from tl_training.pipeline.ablate import category_counts

    hallucinated, right = _outcome(False, False, False, "tool_hallucination"), _outcome(True, True, True, "correct")
    counts = category_counts({"+pkt": {0: {"a": {"1": hallucinated, "2": right}, "b": {"1": hallucinated}},
                                       1: {"a": {"1": right, "2": right}, "b": {"1": right}}}})["+pkt"]
    assert list(counts) == ["format_error", "tool_hallucination", "wrong_tool", "parameter_error", "content_error", "correct"]
    assert counts["tool_hallucination"] == {"mean": 1.0, "sd": pytest.approx(2 ** 0.5), "seeds": [2.0, 0.0]}
    assert counts["correct"]["seeds"] == [1.0, 3.0] and counts["format_error"]["seeds"] == [0.0, 0.0]


def test_case_outcomes_read_the_per_case_scores_of_an_eval_run(tmp_path):
    from tl_training.pipeline.ablate import case_outcomes

    (tmp_path / "scores").mkdir()
    (tmp_path / "results.json").write_text(json.dumps({"benchmarks": {"bfcl:simple_python": {}}}))
    (tmp_path / "scores" / "bfcl_simple_python.jsonl").write_text(
        '{"id": "a", "ts": true, "pi": true, "cf": true, "category": "correct"}\n'
        '{"id": "b", "ts": true, "pi": false, "cf": false, "category": "parameter_error"}\n')
    assert case_outcomes(tmp_path) == {"bfcl:simple_python": {"a": _outcome(True, True, True, "correct"),
                                                              "b": _outcome(True, False, False, "parameter_error")}}


def test_ablation_table_gives_mean_and_sample_sd_over_seeds_and_the_case_size():
    from tl_training.pipeline.ablate import markdown, summarize

    def figures(cf):
        return {"bench": {"cases": 8, "TS": 50.0, "PI": 25.0, "CF": cf}}

    table = summarize({"standard_sft": {0: figures(10.0), 1: figures(20.0)}, "+pkt": {0: figures(30.0), 1: figures(50.0)}})
    assert table["standard_sft"]["bench"]["CF"] == {"mean": 15.0, "sd": pytest.approx(7.0711, abs=1e-4), "seeds": [10.0, 20.0]}
    pairs = {"+pkt": {level: {"gained": 3, "lost": 1, "p": 0.625} for level in ("TS", "PI", "CF")}}
    categories = {v: {"correct": {"mean": 1.5, "sd": 0.7071, "seeds": [1.0, 2.0]}} for v in table}
    text = markdown(table, {"bench": 8}, seeds=2, pairs=pairs, categories=categories)
    assert "| +pkt | 50.0 ± 0.0 / 25.0 ± 0.0 / 40.0 ± 14.1 |" in text
    assert "12.50 points on bench (8 cases)" in text
    assert "- +pkt: bench +25.0" in text
    assert "| +pkt | +3 / -1, p = 0.62 | +3 / -1, p = 0.62 | +3 / -1, p = 0.62 |" in text
    assert "| variant | correct |" in text and "| standard_sft | 1.5 ± 0.7 |" in text
    pairs["+pkt"]["TS"] = {"gained": 1, "lost": 12, "p": 0.0034}
    assert "| +pkt | +1 / -12, p = 0.003 |" in markdown(table, {"bench": 8}, seeds=2, pairs=pairs)
    one_seed = summarize({"standard_sft": {0: figures(10.0)}})
    assert one_seed["standard_sft"]["bench"]["CF"]["sd"] is None


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
