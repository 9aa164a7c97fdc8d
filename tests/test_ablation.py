"""The ablation (tl_training/ablation): its design, shared data, statistics, positive control and report."""

from __future__ import annotations

import json

import pytest

from tl_training.ablation.design import CONTRASTS, PARENTS, VARIANTS, AblationConfig, variant_config
from tl_training.ablation.stats import contrast, variant_figures
from tl_training.errors import ConfigError
from tl_training.pipeline.config import PipelineConfig


def outcome(cf=False, ts=False, margin=None, category="wrong_tool", **extra):
    return {"cf": cf, "ts": ts, "pi": cf, "ts_name": ts, "format_error": category == "format_error",
            "margin": margin, "category": category, **extra}


def test_every_contrast_weighs_variants_that_exist_and_sums_to_zero():
    for name, weights in CONTRASTS.items():
        assert set(weights) <= set(VARIANTS), name
        assert sum(weights.values()) == pytest.approx(0.0), name
    assert all(VARIANTS[child][2] and not VARIANTS[parent][2] for child, parent in PARENTS.items())
    assert VARIANTS[PARENTS["all_three"]][:2] == VARIANTS["all_three"][:2]  # same MAE and PKT as its parent


def test_variants_share_data_order_and_budget_and_differ_only_in_their_switches(tmp_path):
    base = PipelineConfig(run_dir=str(tmp_path / "run"), sft={"max_steps": 7}, rl={"steps": 3},
                          eval={"benchmarks": ["bfcl:multiple"]})
    data = {"train": "t.jsonl", "rl_train": "t.marked.jsonl", "eval_cases": "held.jsonl"}
    configs = {v: variant_config(base, v, seed=2, data=data) for v in VARIANTS}
    for variant, config in configs.items():
        mae, pkt, irm = VARIANTS[variant]
        assert (config.mae["enabled"], config.sft["pkt"], config.rl["enabled"]) == (mae, pkt, irm)
        assert config.sft["train_sampling_strategy"] == "sequential" and config.sft["max_steps"] == 7
        assert config.data == {"source": "file", "input": "t.jsonl"} and config.seed == 2
        assert config.rl["train_files"] == ["t.marked.jsonl"] and config.rl["steps"] == 3
        assert config.eval["benchmarks"] == ["openai:held.jsonl", "bfcl:multiple"]
        assert config.eval["models"] == (["rl"] if irm else ["sft"])
    assert len({c.run_dir for c in configs.values()}) == len(VARIANTS)
    # an IRM variant's SFT section is its parent's: the pipeline trains it once and reuses it
    for child, parent in PARENTS.items():
        assert configs[child].sft == configs[parent].sft and configs[child].mae == configs[parent].mae
    assert "pkt" not in base.sft  # the base config is not changed


@pytest.mark.parametrize("values, message", [
    ({"sampel": 3}, "unknown field(s) ablation.sampel"),
    ({"control": {"error": 0.5}}, "unknown field(s) ablation.control.error"),
    ({"sample": -1}, "ablation.sample"),
    ({"pilot_max_format_errors": 5.0}, "set ablation.holdout"),
    ({"holdout": 10, "pilot_max_format_errors": 0}, "pilot_max_format_errors"),
    ({"control": {"error_rate": 1.5}}, "ablation.control.error_rate"),
])
def test_a_bad_ablation_section_names_its_field(values, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        AblationConfig.from_dict(values, "c.yaml")


def test_a_pipeline_config_checks_its_ablation_section_at_load(tmp_path):
    from tl_training.pipeline.config import PipelineConfigError

    with pytest.raises(PipelineConfigError, match="ablation.holdot"):
        PipelineConfig(run_dir=str(tmp_path), ablation={"holdot": 3})


def _two_seeds(effect: int, n: int = 20) -> dict:
    """standard_sft passes the first 5 cases of each seed, +pkt ``effect`` more; the margin moves by 1 nat."""
    def cases(extra):
        return {"b": {f"c{i}": outcome(cf=i < 5 + extra, margin=float(extra > 0)) for i in range(n)}}
    return {"standard_sft": {0: cases(0), 1: cases(0)}, "+pkt": {0: cases(effect), 1: cases(effect)}}


def test_a_contrast_is_the_paired_difference_with_an_interval_that_excludes_zero_when_it_should():
    outcomes = _two_seeds(effect=10)
    result = contrast(outcomes, {"+pkt": 1.0, "standard_sft": -1.0}, "CF", replicates=500)
    assert result["estimate"] == pytest.approx(50.0) and result["per_seed"] == [50.0, 50.0]
    assert result["ci95"][0] > 0 and result["p_bootstrap"] < 0.01 and result["cases"] == {"b": 20}
    assert result["p_t"] is None  # no spread over seeds: the t-test has nothing to say
    assert result["mde"] == pytest.approx(2.8 * result["se"])
    margin = contrast(outcomes, {"+pkt": 1.0, "standard_sft": -1.0}, "gold-name margin", replicates=200)
    assert margin["estimate"] == pytest.approx(1.0)
    assert contrast(_two_seeds(effect=0), {"+pkt": 1.0, "standard_sft": -1.0}, "CF", replicates=200)["ci95"] == [0.0, 0.0]
    assert contrast(outcomes, {"+mae": 1.0, "standard_sft": -1.0}) is None  # +mae never ran


def test_the_estimate_is_a_macro_average_over_benchmarks_and_a_paired_t_over_seeds():
    big = {f"x{i}": outcome() for i in range(90)}
    small_pass, small_fail = {f"y{i}": outcome(cf=True) for i in range(10)}, {f"y{i}": outcome() for i in range(10)}
    outcomes = {"standard_sft": {0: {"big": big, "small": small_fail}, 1: {"big": big, "small": small_fail},
                                 2: {"big": big, "small": small_fail}},
                "+pkt": {0: {"big": big, "small": small_pass}, 1: {"big": big, "small": small_fail},
                         2: {"big": big, "small": small_pass}}}
    result = contrast(outcomes, {"+pkt": 1.0, "standard_sft": -1.0}, "CF", replicates=300)
    # small weighs as much as big: +100 points on it in two seeds of three -> +50 / 0 / +50 macro
    assert result["per_seed"] == [50.0, 0.0, 50.0] and result["estimate"] == pytest.approx(100 / 3)
    assert result["t"] == pytest.approx((100 / 3) / (28.8675 / 3 ** 0.5), rel=1e-4)
    assert 0 < result["p_t"] < 1
    figures = variant_figures(outcomes)
    assert figures["+pkt"]["macro"]["CF"]["seeds"] == [50.0, 0.0, 50.0]
    assert figures["standard_sft"]["small"]["CF"] == {"mean": 0.0, "sd": 0.0, "seeds": [0.0, 0.0, 0.0]}


def test_error_categories_are_counted_over_benchmarks_per_seed_worst_first():
    from tl_training.ablation.stats import category_counts

    hallucinated, right = outcome(category="tool_hallucination"), outcome(cf=True, category="correct")
    counts = category_counts({"+pkt": {0: {"a": {"1": hallucinated, "2": right}, "b": {"1": hallucinated}},
                                       1: {"a": {"1": right, "2": right}, "b": {"1": right}}}})["+pkt"]
    assert list(counts) == ["format_error", "tool_hallucination", "wrong_tool", "parameter_error", "content_error", "correct"]
    assert counts["tool_hallucination"] == {"mean": 1.0, "sd": pytest.approx(2 ** 0.5), "seeds": [2.0, 0.0]}
    assert counts["correct"]["seeds"] == [1.0, 3.0] and counts["format_error"]["seeds"] == [0.0, 0.0]


def test_case_outcomes_read_the_per_case_scores_of_an_eval_run(tmp_path):
    from tl_training.ablation.stats import case_outcomes

    (tmp_path / "scores").mkdir()
    (tmp_path / "results.json").write_text(json.dumps({"benchmarks": {"bfcl:multiple": {}}}))
    (tmp_path / "scores" / "bfcl_multiple.jsonl").write_text(
        '{"id": "a", "ts": true, "pi": true, "cf": true, "ts_name": true, "margin": 1.5, "category": "correct"}\n'
        '{"id": "b", "ts": false, "pi": false, "cf": false, "ts_name": true, "margin": null, "category": "format_error"}\n')
    assert case_outcomes(tmp_path) == {"bfcl:multiple": {
        "a": {"cf": True, "ts": True, "pi": True, "ts_name": True, "format_error": False, "margin": 1.5, "category": "correct"},
        "b": {"cf": False, "ts": False, "pi": False, "ts_name": True, "format_error": True, "margin": None,
              "category": "format_error"}}}


TINY_ABLATION = """
run_dir: {run}
model: tiny
prompt_format: paper
instruction: drop
thoughts: drop
data: {{source: synth, n: 24, error_rate: 0.5, seed: 0}}
ablation:
  holdout: 4
  sample: 8
  pilot_max_format_errors: 50.0
  archive: {archive}
  control: {{enabled: true, n: 6, error_rate: 0.5, eval_n: 3}}
sft: {{max_steps: 2, per_device_train_batch_size: 2, learning_rate: 0.001, max_length: 2048, save_steps: 10}}
rl: {{algorithm: ppo, steps: 1, batch_size: 2, mini_batch_size: 1, max_new_tokens: 8}}
eval: {{max_new_tokens: 8, batch_size: 4}}
"""


def test_the_control_data_is_made_again_when_its_settings_change(tmp_path):
    from pathlib import Path

    from tl_training.ablation.control import arm_data
    from tl_training.ablation.design import AblationConfig
    from tl_training.pipeline.command import load

    config = tmp_path / "ablation.yaml"
    config.write_text(TINY_ABLATION.format(run=tmp_path / "run", archive=tmp_path / "archive"))

    def data(*overrides):
        base = load(str(config), list(overrides), quick=False)
        made = arm_data(base, AblationConfig.from_dict(base.ablation, base.source), 0, tmp_path / "data")
        return made, [len(Path(made[k]).read_text().splitlines()) for k in ("no_mae", "cases")]

    first, sizes = data()
    assert sizes == [6, 3] and first["turns_masked_by_mae"] > 0
    made_at = {k: Path(first[k]).stat().st_mtime_ns for k in ("no_mae", "random_drop", "cases")}
    assert data()[1] == [6, 3]
    assert {k: Path(first[k]).stat().st_mtime_ns for k in made_at} == made_at  # the same settings: kept, not made again
    assert data("ablation.control.n=8", "ablation.control.eval_n=4")[1] == [8, 4]


@pytest.mark.slow
def test_ablate_runs_the_design_end_to_end_and_a_fresh_checkout_continues_from_the_archive(tmp_path, capsys):
    import shutil

    from tl_training.cli import main

    config = tmp_path / "ablation.yaml"
    run, archive = tmp_path / "run", tmp_path / "archive"
    config.write_text(TINY_ABLATION.format(run=run, archive=archive))
    # The gate: a random tiny model writes no call, so the pilot fails, and says what to raise.
    assert main(["ablate", "--config", str(config), "--pilot"]) == 2
    assert "the pilot gate failed: raise the budget" in capsys.readouterr().err
    pilot = json.loads((run / "ablation.json").read_text())["pilot"]
    assert pilot == {**pilot, "passed": False, "format_errors": 100.0, "cases": 4, "gate": 50.0}
    args = ["ablate", "--config", str(config), "ablation.pilot_max_format_errors=null", "--seeds", "1",
            "--variants", "standard_sft", "+irm"]
    assert main(args) == 0
    report = json.loads((run / "ablation.json").read_text())
    assert set(report["figures"]) == {"standard_sft", "+irm"}
    assert list(report["comparisons"]) == ["IRM after standard SFT"]
    comparison = report["comparisons"]["IRM after standard SFT"]["CF"]
    assert comparison["seeds"] == [0] and len(comparison["cases"]) == 1
    # standard SFT's model is the pilot's, +IRM's SFT is standard SFT's: trained once
    assert json.loads((run / "standard_sft" / "seed0" / "sft" / "DONE.json").read_text())["reused_from"].endswith(
        "pilot/seed0/sft")
    # +IRM's SFT stage is standard SFT's (reused, not retrained); the positive control ran its three arms
    assert "reused_from" in json.loads((run / "irm" / "seed0" / "sft" / "DONE.json").read_text())
    assert set(report["control"]["figures"]) == {"no_mae", "mae", "random_drop"}
    text = (run / "ablation.md").read_text()
    assert "## MAE positive control" in text and "minimum detectable effect" in text
    assert sorted(p.relative_to(archive).as_posix() for p in archive.rglob("*.json")) == [
        "control/mae/seed0.json", "control/no_mae/seed0.json", "control/random_drop/seed0.json",
        "irm/seed0.json", "pilot/seed0.json", "standard_sft/seed0.json"]
    # A fresh checkout (no run directory): the archived evaluations are taken, nothing is trained again.
    shutil.rmtree(run)
    capsys.readouterr()
    assert main(args) == 0
    err = capsys.readouterr().err
    assert err.count("outcomes taken from") == 5 and "sft: running" not in err
    assert json.loads((run / "ablation.json").read_text())["comparisons"] == report["comparisons"]
    # and the whole report alone, the positive control's included, from the archive
    shutil.rmtree(run)
    assert main(args + ["--report-only"]) == 0
    rebuilt = json.loads((run / "ablation.json").read_text())
    assert (rebuilt["comparisons"], rebuilt["control"]) == (report["comparisons"], report["control"])
    assert not (run / "irm").exists() and not (run / "control" / "mae").exists()  # nothing was trained
