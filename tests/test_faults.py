"""The fault suite: every command under the ordinary mistakes of a user (docs/faults.md lists them).

Each fault asserts what the user must get: a clear one-line message, a non-zero exit, the previous outputs
intact, and ``read = written + rejected``.  Commands run in-process through the console script's ``main``
(the same parser and function), and as child processes where a signal or a launcher is the point.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tl_training.cli import UserError, main
from tl_training.jsonl import Tally, read_records

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "convert"
PREVIOUS = b'{"previous": "output, to be kept"}\n'
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}


# ------------------------------------------------------------------------------------------------ helpers


def run(argv: list, capsys) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def tool(name: str, *params: str) -> dict:
    return {"type": "function", "function": {"name": name, "description": f"{name} tool.", "parameters": {
        "type": "object", "properties": {p: {"type": "string"} for p in params}, "required": list(params)}}}


def call(name: str, arguments: dict, **extra) -> dict:
    return {"role": "assistant", "content": "",
            "tool_calls": [{"type": "function", "function": {"name": name, "arguments": arguments}}], **extra}


def trajectory(i: int, feedback: str = "18C") -> dict:
    return {"id": f"t{i}", "tools": [tool("get_weather", "city")],
            "messages": [{"role": "user", "content": f"Weather in city {i}?"}, call("get_weather", {"city": f"c{i}"}),
                         {"role": "tool", "name": "get_weather", "content": feedback},
                         {"role": "assistant", "content": f"It is {feedback}."}]}


def eval_case(i: int) -> dict:
    return {"id": f"s{i}", "tools": [tool("get_weather", "city")],
            "messages": [{"role": "user", "content": "Weather in Paris?"}],
            "gold": [[{"name": "get_weather", "arguments": {"city": "Paris"}}]]}


def scored_case(i: int) -> dict:
    return {**eval_case(i), "prediction": "get_weather(city='Paris')"}


def write_jsonl(path: Path, records: list[dict], *extra_lines: bytes) -> Path:
    path.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in records) + b"".join(extra_lines))
    return path


def previous_output(path: Path) -> Path:
    path.write_bytes(PREVIOUS)
    return path


def assert_untouched(path: Path) -> None:
    assert path.read_bytes() == PREVIOUS
    assert not list(path.parent.glob(f".{path.name}.*")), "a temporary file was left behind"


def counts(summary: str) -> tuple[int, int, int]:
    found = re.search(r"read (\d+), written (\d+), rejected (\d+)", summary)
    assert found, summary
    return tuple(map(int, found.groups()))


def assert_one_line_error(err: str, *needles: str) -> None:
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    from tl_training.tiny import save_tiny_model

    return save_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


# ------------------------------------------------------------------------------- 1. output over input


def command_over_itself(command: str, source: Path) -> list:
    return {"mae": ["mae", source, "-o", source],
            "convert": ["convert", "--from", "openai", source, "-o", source],
            "score": ["score", source, "-o", source]}[command]


@pytest.mark.parametrize("command", ["mae", "convert", "score"])
def test_output_over_its_input_is_refused_and_the_input_kept(command, tmp_path, capsys):
    source = write_jsonl(tmp_path / "x.jsonl", [scored_case(i) if command == "score" else trajectory(i) for i in range(20)])
    before = source.read_bytes()
    code, _, err = run(command_over_itself(command, source), capsys)
    assert code == 2
    assert_one_line_error(err, "same file as the input")
    assert source.read_bytes() == before


def test_another_name_for_the_input_is_the_input(tmp_path, capsys):
    source = write_jsonl(tmp_path / "x.jsonl", [trajectory(0)])
    os.link(source, tmp_path / "hard_link.jsonl")
    (tmp_path / "sub").mkdir()
    for output in (tmp_path / "hard_link.jsonl", tmp_path / "sub" / ".." / "x.jsonl"):
        code, _, err = run(["mae", source, "-o", output], capsys)
        assert code == 2 and "same file as the input" in err
    code, _, err = run(["mae", source, "-o", tmp_path / "out.jsonl", "--report", source], capsys)
    assert code == 2 and "--report" in err
    code, _, err = run(["mae", source, "-o", tmp_path / "out.jsonl", "--split-turns", tmp_path / "out.jsonl"], capsys)
    assert code == 2 and "are the same file" in err
    assert source.read_bytes() == json.dumps(trajectory(0)).encode() + b"\n"


# ------------------------------------------------------------------ 2. a failed run keeps the previous output


def test_atomic_file_commits_on_success_and_keeps_the_previous_content_on_failure(tmp_path):
    from tl_training.jsonl import AtomicFile

    target = previous_output(tmp_path / "out.jsonl")
    with pytest.raises(KeyboardInterrupt):
        with AtomicFile(target) as temp:
            temp.write_bytes(b"half")
            raise KeyboardInterrupt
    assert_untouched(target)
    with AtomicFile(target) as temp:
        temp.write_bytes(b"new\n")
    assert target.read_bytes() == b"new\n" and not list(tmp_path.glob(".out.jsonl.*"))


def strict_failure(command: str, source: Path, out: Path) -> list:
    return {"mae": ["mae", source, "-o", out, "--strict"],
            "convert": ["convert", "--from", "openai", source, "-o", out, "--strict"],
            "score": ["score", source, "-o", out]}[command]


@pytest.mark.parametrize("command", ["mae", "convert", "score"])
def test_a_run_stopped_by_a_bad_record_keeps_the_previous_output(command, tmp_path, capsys):
    good = [scored_case(i) if command == "score" else trajectory(i) for i in range(3)]
    source = write_jsonl(tmp_path / "in.jsonl", good, b"{not json\n", json.dumps(good[0]).encode() + b"\n")
    out = previous_output(tmp_path / "keep.jsonl")
    code, _, err = run(strict_failure(command, source, out), capsys)
    assert code == 2
    assert_one_line_error(err, f"{source}:4")
    assert_untouched(out)


def test_convert_with_the_wrong_format_keeps_the_previous_output(tmp_path, capsys):
    out = previous_output(tmp_path / "keep.jsonl")
    code, _, err = run(["convert", "--from", "glaive", FIXTURES / "rotbench_eval.json", "-o", out], capsys)
    assert code == 2
    assert_untouched(out)


@pytest.mark.parametrize("command", ["convert", "mae"])
def test_non_utf8_input_is_one_line_naming_the_file_and_line(command, tmp_path, capsys):
    source = tmp_path / "latin1.jsonl"
    source.write_bytes(json.dumps(trajectory(0)).encode() + b"\n"
                       + json.dumps(trajectory(1)).encode().replace(b"c1", b"caf\xe9") + b"\n")
    out = previous_output(tmp_path / "keep.jsonl")
    argv = (["convert", "--from", "openai", source, "-o", out] if command == "convert"
            else ["mae", source, "-o", out, "--strict"])
    code, _, err = run(argv, capsys)
    assert code == 2
    assert_one_line_error(err, f"{source}:2", "UTF-8")
    assert_untouched(out)


def test_synth_interrupted_keeps_the_previous_output(tmp_path, capsys, monkeypatch):
    from tl_training.synth import records

    real = records.generate

    def interrupted(*args, **kwargs):
        for n, record in enumerate(real(*args, **kwargs)):
            if n == 3:
                raise KeyboardInterrupt
            yield record

    monkeypatch.setattr(records, "generate", interrupted)
    out = previous_output(tmp_path / "keep.jsonl")
    code, _, err = run(["synth", "-o", out, "--n", "10"], capsys)
    assert code == 130 and "interrupted" in err
    assert_untouched(out)


def test_ctrl_c_mid_write_keeps_the_previous_output(tmp_path):
    """A real SIGINT to a child process while it writes: the output is replaced whole or not at all."""
    line = json.dumps(trajectory(0)).encode() + b"\n"
    big = tmp_path / "big.jsonl"
    big.write_bytes(line * 150_000)
    out = previous_output(tmp_path / "out.jsonl")
    child = subprocess.Popen([sys.executable, "-m", "tl_training", "mae", str(big), "-o", str(out)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    deadline = time.monotonic() + 60
    while not [p for p in tmp_path.glob(".out.jsonl.*") if p.stat().st_size > 0]:
        assert child.poll() is None, "the command finished before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 130, err.decode()
    assert b"interrupted" in err and b"Traceback" not in err
    assert_untouched(out)


def test_eval_outputs_are_replaced_together_or_not_at_all(tmp_path, capsys, monkeypatch):
    from tl_training.eval import report

    cases = write_jsonl(tmp_path / "cases.jsonl", [eval_case(i) for i in range(2)])
    predictions = write_jsonl(tmp_path / "p.jsonl", [{"id": "s0", "prediction": "get_weather(city='Paris')"}])
    run_dir = tmp_path / "run"
    argv = ["eval", "--predictions", predictions, "--benchmark", f"openai:{cases}", "-o", run_dir]
    assert run(argv, capsys)[0] == 0
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}

    def broken_charts(*args):
        raise OSError("disk full")

    monkeypatch.setattr(report, "write_charts", broken_charts)
    write_jsonl(predictions, [{"id": "s1", "prediction": "nothing"}])
    with pytest.raises(OSError):
        main([str(a) for a in argv])
    assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == before


def test_inspect_html_is_written_whole(tiny_model, tmp_path, capsys):
    source = write_jsonl(tmp_path / "x.jsonl", [trajectory(0)])
    page = previous_output(tmp_path / "view.html")
    code, _, err = run(["inspect", source, "--tokenizer", tiny_model, "--index", "5", "--html", page], capsys)
    assert code == 2 and "no record at index 5" in err
    assert_untouched(page)
    code, _, _ = run(["inspect", source, "--tokenizer", tiny_model, "--html", page], capsys)
    assert code == 0 and page.read_text().startswith("<!doctype html>") and not list(tmp_path.glob(".view.html.*"))
    code, _, err = run(["inspect", source, "--tokenizer", tiny_model, "--html", source], capsys)
    assert code == 2 and "same file as the input" in err


# -------------------------------------------------------------------- 3. eval resumes only its own run


@pytest.fixture(scope="module")
def two_models(tmp_path_factory) -> tuple[Path, Path]:
    from tl_training.tiny import save_tiny_model

    folder = tmp_path_factory.mktemp("models")
    return save_tiny_model(folder / "a", seed=0), save_tiny_model(folder / "b", seed=1)


def eval_argv(model: Path, cases: Path, run_dir: Path, *extra) -> list:
    return ["eval", "--model", model, "--benchmark", f"openai:{cases}", "-o", run_dir, "--max-new-tokens", "4",
            "--no-fast-path", "--no-margin", "--batch-size", "4", *extra]


def generation(run_dir: Path, cases: Path) -> dict:
    return json.loads((run_dir / "results.json").read_text())["benchmarks"][f"openai:{cases}"]["generation"]


def test_eval_does_not_resume_another_models_predictions(two_models, tmp_path, capsys):
    model_a, model_b = two_models
    cases = write_jsonl(tmp_path / "cases.jsonl", [eval_case(i) for i in range(3)])
    run_dir = tmp_path / "run"
    assert run(eval_argv(model_a, cases, run_dir, "--limit", "2"), capsys)[0] == 0
    results = (run_dir / "results.json").read_bytes()
    for other in (eval_argv(model_b, cases, run_dir, "--limit", "3"),     # another model, more cases
                  eval_argv(model_a, cases, run_dir, "--max-new-tokens", "8"),   # other generation settings
                  eval_argv(model_a, cases, run_dir, "--instruction", "drop"),   # another layout
                  eval_argv(model_a, cases, run_dir, "--prompt-format", "paper")):
        code, _, err = run(other, capsys)
        assert code == 2
        assert_one_line_error(err, "predictions of another run")
        assert (run_dir / "results.json").read_bytes() == results
    assert "model" in run(eval_argv(model_b, cases, run_dir), capsys)[2]
    # The same run with a larger --limit resumes its own predictions and generates the rest.
    assert run(eval_argv(model_a, cases, run_dir, "--limit", "3"), capsys)[0] == 0
    resumed = generation(run_dir, cases)
    assert (resumed["resumed"], resumed["generated"]) == (2, 1)


# ------------------------------------------------------- 4. a pipeline override never destroys a finished stage


def pipeline_config(tmp_path: Path) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(f"run_dir: {tmp_path / 'run'}\nmodel: tiny\ndata: {{n: 3}}\nsft: {{enabled: false}}\n"
                    "eval: {models: [base], limit: 2}\n")
    return path


def fake_eval(cfg, out: Path, ctx) -> tuple[dict, dict]:
    """What an eval stage leaves: a run folder per model with its results and report."""
    run_dir = out / "base"
    run_dir.mkdir(parents=True, exist_ok=True)
    figures = {"cases": 2, "TS": 50.0, "PI": 50.0, "CF": 50.0}
    (run_dir / "results.json").write_text(json.dumps({"model": "base", "benchmarks": {"b:x": figures}}))
    (run_dir / "report.md").write_text("# base\n")
    return {"runs": {"base": str(run_dir)}}, {"notes": [], "base": {"b:x": figures}}


def failing_eval(cfg, out: Path, ctx):
    (out / "base").mkdir(parents=True, exist_ok=True)
    raise UserError("benchmark 'rotbench:clean' reads rotbench/First_Turn/clean.json under --data-dir")


def must_not_run(cfg, out: Path, ctx):
    raise AssertionError("the stage ran again")


def report_links(run_dir: Path) -> list[Path]:
    text = (run_dir / "report.md").read_text()
    named = re.findall(r"\]\(([^)]+)\)", text) + re.findall(r"`([^`\s]+\.(?:md|png|json))`", text)
    return [run_dir / name for name in named]


def assert_report_is_honest(run_dir: Path, eval_done: bool) -> None:
    text = (run_dir / "report.md").read_text()
    assert ("| eval | done" in text) == eval_done, text
    missing = [str(p) for p in report_links(run_dir) if not p.exists()]
    assert not missing, f"report.md links to missing files: {missing}"


def test_a_failed_override_keeps_the_finished_stage_and_the_report_honest(tmp_path, capsys, monkeypatch):
    from tl_training.pipeline import stages

    config = pipeline_config(tmp_path)
    run_dir = tmp_path / "run"
    monkeypatch.setitem(stages.STAGE_FUNCTIONS, "eval", fake_eval)
    assert run(["pipeline", "--config", config], capsys)[0] == 0
    finished = (run_dir / "eval" / "base" / "results.json").read_bytes()
    assert_report_is_honest(run_dir, eval_done=True)

    monkeypatch.setitem(stages.STAGE_FUNCTIONS, "eval", failing_eval)
    code, _, err = run(["pipeline", "--config", config, "eval.benchmarks=[rotbench:clean]"], capsys)
    assert code == 2 and "--data-dir" in err
    assert (run_dir / "eval.previous" / "base" / "results.json").read_bytes() == finished
    assert_report_is_honest(run_dir, eval_done=False)
    assert "eval.previous" in (run_dir / "report.md").read_text()

    # Back to the finished config: its stage comes back from eval.previous, without running again.
    monkeypatch.setitem(stages.STAGE_FUNCTIONS, "eval", must_not_run)
    assert run(["pipeline", "--config", config], capsys)[0] == 0
    assert (run_dir / "eval" / "base" / "results.json").read_bytes() == finished
    assert_report_is_honest(run_dir, eval_done=True)

    # An override that succeeds replaces the stage; the old outputs go only then.
    monkeypatch.setitem(stages.STAGE_FUNCTIONS, "eval", fake_eval)
    assert run(["pipeline", "--config", config, "eval.limit=1"], capsys)[0] == 0
    assert not (run_dir / "eval.previous").exists()
    assert_report_is_honest(run_dir, eval_done=True)


# ------------------------------------------------------------------------ 5. nothing written is an error


def test_convert_that_rejects_everything_fails_unless_allow_empty(tmp_path, capsys):
    out = previous_output(tmp_path / "keep.jsonl")
    argv = ["convert", "--from", "glaive", FIXTURES / "rotbench_eval.json", "-o", out]
    code, stdout, err = run(argv, capsys)
    assert code == 2
    assert_one_line_error(err, "nothing written", "all 3 records read were rejected", "conversations[*]")
    assert counts(stdout) == (3, 0, 3)
    assert_untouched(out)
    code, stdout, _ = run(argv + ["--allow-empty"], capsys)
    assert code == 0 and out.read_bytes() == b""


def test_mae_and_score_that_reject_everything_fail(tmp_path, capsys):
    source = write_jsonl(tmp_path / "bad.jsonl", [], b"{not json\n", b'{"id": 3}\n')
    out = previous_output(tmp_path / "keep.jsonl")
    for argv in (["mae", source, "-o", out], ["score", source, "-o", out, "--skip-invalid"]):
        code, stdout, err = run(argv, capsys)
        assert code == 2
        assert_one_line_error(err, "nothing written", "all 2 records read were rejected")
        assert counts(stdout + err) == (2, 0, 2)
        assert_untouched(out)
    assert run(["mae", source, "-o", out, "--allow-empty"], capsys)[0] == 0


def test_eval_predictions_matching_no_case_fail(tmp_path, capsys):
    cases = write_jsonl(tmp_path / "cases.jsonl", [eval_case(i) for i in range(2)])
    predictions = write_jsonl(tmp_path / "p.jsonl", [{"id": "bfcl/simple/0", "prediction": "x"}])
    argv = ["eval", "--predictions", predictions, "--benchmark", f"openai:{cases}", "-o", tmp_path / "run"]
    code, _, err = run(argv, capsys)
    assert code == 2
    assert_one_line_error(err, "none of the 1 predictions", "bfcl/simple/0", "s0")
    assert not (tmp_path / "run" / "results.json").exists()
    assert run(argv + ["--allow-empty"], capsys)[0] == 0


# --------------------------------------------------------------------- 6. the documented launch lines work


def launch_lines() -> list[tuple[str, str]]:
    """(file, line) of every launch line the docs and config headers show (``-m tl_training...``)."""
    files = [ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("configs/**/*.yaml"), *ROOT.glob("configs/**/*.md")]
    return [(str(f.relative_to(ROOT)), line) for f in files for line in f.read_text().splitlines()
            if re.search(r"-m tl_training", line)]


def test_every_documented_launch_line_uses_a_module_that_runs_the_command():
    modules = {m for _, line in launch_lines() for m in re.findall(r"-m (tl_training[\w.]*)", line)}
    assert modules and modules <= {"tl_training", "tl_training.cli"}, modules


@pytest.mark.parametrize("module", ["tl_training", "tl_training.cli"])
def test_python_m_runs_the_command_and_its_errors_are_one_line(module, tmp_path):
    out = tmp_path / "x.jsonl"
    done = subprocess.run([sys.executable, "-m", module, "synth", "-o", str(out), "--n", "2"], capture_output=True,
                          text=True, env=ENV, timeout=60)
    assert done.returncode == 0, done.stderr
    assert len(out.read_text().splitlines()) == 2
    failed = subprocess.run([sys.executable, "-m", module, "synth", "-o", str(out), "--n", "0"], capture_output=True,
                            text=True, env=ENV, timeout=60)
    assert failed.returncode == 2
    assert_one_line_error(failed.stderr, "--n must be at least 1")


def sft_config(tmp_path: Path, model: Path, records: list[dict] | None = None, **fields) -> Path:
    data = write_jsonl(tmp_path / "train.jsonl", records if records is not None else [trajectory(i) for i in range(2)])
    values = {"model": str(model), "train_files": [str(data)], "prompt_format": "paper", "max_steps": 1,
              "per_device_train_batch_size": 2, "save_strategy": "no", "report_to": "none", "use_cpu": True,
              "output_dir": str(tmp_path / "out"), **fields}
    path = tmp_path / "sft.yaml"
    path.write_text(json.dumps(values))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("launcher", [
    [sys.executable, "-m", "tl_training.cli"],
    ["accelerate", "launch", "--cpu", "--num_processes", "1", "--num_machines", "1", "--mixed_precision", "no",
     "--dynamo_backend", "no", "-m", "tl_training.cli"],
    ["torchrun", "--nproc_per_node", "1", "-m", "tl_training.cli"],
], ids=["python", "accelerate", "torchrun"])
def test_each_documented_launch_form_trains_the_tiny_model(launcher, tiny_model, tmp_path):
    if shutil.which(launcher[0]) is None:
        pytest.skip(f"{launcher[0]} is not on PATH")
    config = sft_config(tmp_path, tiny_model)
    done = subprocess.run([*launcher, "sft", "--config", str(config)], capture_output=True, text=True, env=ENV,
                          timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert json.loads((tmp_path / "out" / "sft_report.json").read_text())["steps"] == 1


# ------------------------------------------------------------------- 7. fail fast, naming the field


def test_a_mistyped_embedded_name_suggests_it_without_trying_the_hub(monkeypatch):
    import transformers

    from tl_training import models

    def no_hub(*args, **kwargs):
        raise AssertionError("the hub was tried")

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", no_hub)
    with pytest.raises(models.ModelNotFound, match="did you mean smollm2-135m"):
        models.load_tokenizer("smollm2-135")
    with pytest.raises(models.ModelNotFound, match="no such directory"):
        models.load_tokenizer("./runs/no/such/model")
    assert models.resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct") == "HuggingFaceTB/SmolLM2-135M-Instruct"


@pytest.mark.parametrize("override, needles", [
    ("model=smollm2-135", ["field model", "did you mean smollm2-135m"]),
    ("model=./no/such/dir", ["field model", "no such directory"]),
    ("pkt=maybe", ["field pkt", "true or false", "'maybe'"]),
    ("w_max=0", ["field w_max", ">= 1"]),
    ("max_length=0", ["field max_length"]),
    ("lora_dropout=1.5", ["field lora_dropout"]),
    ("resume_from_checkpoint=true", ["field resume_from_checkpoint", "no checkpoint"]),
    ("resume_from_checkpoint=ckpt/none", ["field resume_from_checkpoint", "ckpt/none"]),
])
def test_sft_config_mistakes_are_one_line_naming_the_field(override, needles, tiny_model, tmp_path, capsys):
    code, _, err = run(["sft", "--config", sft_config(tmp_path, tiny_model), override], capsys)
    assert code == 2
    assert_one_line_error(err, *needles)
    assert not (tmp_path / "out" / "sft_report.json").exists()


def test_sft_report_to_a_missing_integration_is_one_line(tiny_model, tmp_path, capsys):
    import importlib.util

    if importlib.util.find_spec("tensorboard") is not None:
        pytest.skip("tensorboard is installed here")
    code, _, err = run(["sft", "--config", sft_config(tmp_path, tiny_model), "report_to=tensorboard"], capsys)
    assert code == 2
    assert_one_line_error(err, "field report_to", "tensorboard")


@pytest.mark.parametrize("override, needles", [
    ("do_sample=maybe", ["field do_sample", "true or false"]),
    ("gamma=2", ["field gamma"]),
    ("steps=0", ["field steps"]),
    ("temperature=0", ["field temperature"]),
    ("model=smollm2-135", ["field model", "did you mean smollm2-135m"]),
    ("resume_from_checkpoint=true", ["field resume_from_checkpoint", "no checkpoint"]),
])
def test_rl_config_mistakes_are_one_line_naming_the_field(override, needles, tiny_model, tmp_path, capsys):
    data = write_jsonl(tmp_path / "train.jsonl", [trajectory(0)])
    config = tmp_path / "rl.yaml"
    config.write_text(json.dumps({"model": str(tiny_model), "train_files": [str(data)], "output_dir": str(tmp_path / "rl"),
                                  "steps": 1, "batch_size": 1, "mini_batch_size": 1}))
    code, _, err = run(["rl", "--config", config, override], capsys)
    assert code == 2
    assert_one_line_error(err, *needles)


@pytest.mark.parametrize("option", [["--batch-size", "0"], ["--max-new-tokens", "0"], ["--limit", "0"]])
def test_eval_numeric_options_are_checked(option, tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["eval", "--predictions", str(tmp_path / "p.jsonl"), "--benchmark", "bfcl:simple_python",
              "-o", str(tmp_path), *option])
    assert stopped.value.code == 2 and option[0] in capsys.readouterr().err


def test_inspect_negative_index_is_one_line(tiny_model, tmp_path, capsys):
    source = write_jsonl(tmp_path / "x.jsonl", [trajectory(0)])
    with pytest.raises(SystemExit) as stopped:
        main(["inspect", str(source), "--tokenizer", str(tiny_model), "--index", "-1"])
    assert stopped.value.code == 2 and "--index" in capsys.readouterr().err


def test_pipeline_checks_the_model_and_the_stage_fields_before_any_stage_runs(tmp_path, capsys):
    config = pipeline_config(tmp_path)
    for override, needles in (("model=smollm2-135", ["field model", "did you mean smollm2-135m"]),
                              ("model=runs/none/model", ["field model", "no such directory"]),
                              ("sft.pkt=maybe", ["section sft", "field pkt"]),
                              ("rl.gamma=2", ["section rl", "field gamma"]),
                              ("eval.limit=0", ["section eval", "--limit", "must be >= 1"]),
                              ("eval.batchsize=4", ["section eval", "--batchsize"])):
        extra = ["sft.enabled=true", "rl.enabled=true"] if override.startswith(("sft", "rl")) else []
        code, _, err = run(["pipeline", "--config", config, override, *extra], capsys)
        assert code == 2
        assert_one_line_error(err, *needles)
        assert not (tmp_path / "run" / "data").exists()


# -------------------------------------------------------------- 8. bounded work on a huge record


def huge_record(megabytes: int) -> dict:
    """A trajectory whose tool message before the trained answer is huge: no trained turn fits max_length."""
    record = trajectory(0, feedback="x " * (megabytes * 500_000))
    record["messages"][1]["train"] = False
    return record


def test_a_huge_record_is_rejected_without_tokenizing_it_whole(monkeypatch):
    from tl_training.pkt import data
    from tl_training.render import get_renderer
    from tl_training.tiny import build_tokenizer

    tokenizer = build_tokenizer()
    tokenized: list[int] = []
    real = data.tokenize_with_offsets
    monkeypatch.setattr(data, "tokenize_with_offsets", lambda tok, text: tokenized.append(len(text)) or real(tok, text))
    tally = Tally()
    features, _ = data.build_features([huge_record(5), trajectory(1)], get_renderer("paper", tokenizer), tokenizer,
                                      tally, max_length=1024)
    assert len(features) == 1 and tally.rejected == 1
    assert "max_length=1024" in next(iter(tally.reasons))
    assert max(tokenized) < 200_000  # of a 5 MB text


def test_sft_and_inspect_say_what_they_read_and_stay_bounded_on_a_huge_line(tiny_model, tmp_path, capsys):
    config = sft_config(tmp_path, tiny_model, records=[huge_record(20)], max_length=256)
    started = time.perf_counter()
    code, out, err = run(["sft", "--config", config], capsys)
    assert code == 2 and "no trainable record" in err
    assert "sft: reading" in err and "MB" in err
    assert counts(out.replace("trainable", "written")) == (1, 0, 1)
    code, out, err = run(["inspect", tmp_path / "train.jsonl", "--tokenizer", tiny_model, "--max-length", "256"], capsys)
    assert code == 0 and "inspect: reading" in err
    assert "first 256 tokens" in out
    assert time.perf_counter() - started < 60


# ----------------------------------------------------------------------------------- 9. the smaller items


def test_compare_shows_case_counts_and_flags_differing_ones(tmp_path, capsys):
    for name, cases in (("big", 105), ("small", 10)):
        (tmp_path / name).mkdir()
        figures = {"cases": cases, "TS": 50.0, "PI": 40.0, "CF": 30.0}
        (tmp_path / name / "results.json").write_text(json.dumps({"benchmarks": {"rotbench:clean": figures}}))
    code, out, _ = run(["compare", tmp_path / "big", tmp_path / "small"], capsys)
    assert code == 0
    assert "105" in out and "10" in out and "differ" in out


def test_a_byte_order_mark_does_not_reject_the_first_record(tmp_path, capsys):
    source = tmp_path / "bom.jsonl"
    source.write_bytes(b"\xef\xbb\xbf" + b"".join(json.dumps(trajectory(i)).encode() + b"\n" for i in range(3)))
    tally = Tally()
    assert [r["id"] for r in read_records(source, tally, strict=False)] == ["t0", "t1", "t2"] and not tally.rejected
    code, _, err = run(["mae", source, "-o", tmp_path / "out.jsonl"], capsys)
    assert code == 0 and counts(err) == (3, 3, 0)


def test_a_byte_order_mark_does_not_reject_the_first_converted_record(tmp_path, capsys):
    source = tmp_path / "bom.jsonl"
    source.write_bytes(b"\xef\xbb\xbf" + (FIXTURES / "openai.jsonl").read_bytes())
    plain = tmp_path / "plain.jsonl"
    shutil.copyfile(FIXTURES / "openai.jsonl", plain)
    _, with_bom, _ = run(["convert", "--from", "openai", source, "-o", tmp_path / "a.jsonl", "--allow-empty"], capsys)
    _, without, _ = run(["convert", "--from", "openai", plain, "-o", tmp_path / "b.jsonl", "--allow-empty"], capsys)
    assert counts(with_bom) == counts(without)


def test_inspect_writes_colour_only_to_a_terminal_without_no_color(tiny_model, tmp_path, capsys, monkeypatch):
    source = write_jsonl(tmp_path / "x.jsonl", [trajectory(0)])
    argv = ["inspect", source, "--tokenizer", tiny_model]
    assert "\x1b[" not in run(argv, capsys)[1]  # captured: not a terminal
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert "\x1b[" in run(argv, capsys)[1]
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in run(argv, capsys)[1]


def test_mae_says_where_it_wrote(tmp_path, capsys):
    source = write_jsonl(tmp_path / "x.jsonl", [trajectory(0), trajectory(1, feedback="name 'x' is not defined")])
    out, split = tmp_path / "out.jsonl", tmp_path / "split.jsonl"
    code, _, err = run(["mae", source, "-o", out, "--split-turns", split, "--report", tmp_path / "r.json"], capsys)
    assert code == 0
    assert f"wrote {out}" in err and f"wrote {split}" in err and f"wrote {tmp_path / 'r.json'}" in err


def test_nothing_cites_the_internal_pages_a_users_clone_lacks():
    internal = re.compile("|".join(re.escape(name + ".md") for name in ("DESIGN", "METHOD")))  # not spelled here
    files = [ROOT / "README.md", ROOT / "BENCHMARKS.md", *ROOT.glob("docs/*.md"), *ROOT.glob("configs/**/*.yaml"),
             *ROOT.glob("configs/**/*.md"), *ROOT.glob("src/**/*.py"), *ROOT.glob("tests/*.py"),
             *ROOT.glob("benchmarks/*.py"), *ROOT.glob("scripts/*")]
    citing = [str(f.relative_to(ROOT)) for f in files if f.is_file() and internal.search(f.read_text())]
    assert not citing


def test_chart_labels_fit_and_zero_bars_show(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from tl_training.eval.report import metrics_figure

    names = ["openai:runs/demo-quick/data/eval_synth.jsonl", "bfcl:simple_python"]
    results = {"benchmarks": {n: {"cases": 2, "TS": 0.0, "PI": 0.0, "CF": 0.0} for n in names}}
    figure = metrics_figure(results)
    figure.canvas.draw()
    box = figure.bbox
    (ax,) = figure.axes
    for label in ax.get_xticklabels():
        extent = label.get_window_extent()
        assert extent.x0 >= box.x0 - 1 and extent.x1 <= box.x1 + 1 and extent.y0 >= box.y0 - 1, label.get_text()
    shown = {text.get_text() for text in ax.texts}
    assert "0" in shown  # the 0 % bars carry their value


def test_rotbench_in_the_chat_format_drops_its_react_instruction(tmp_path, capsys):
    """Already built (render/layout.py, instruction: auto); shown here from the source file to the prompt."""
    from tl_training.convert import FORMATS
    from tl_training.render import get_renderer
    from tl_training.tiny import build_tokenizer

    records = list(FORMATS["rotbench"](FIXTURES / "rotbench_train", Tally(), False))
    assert records and all("following tools:" in r["messages"][0]["content"] for r in records)
    renderer = get_renderer("chat", build_tokenizer())
    for record in records:
        text = renderer.render(record).text
        assert record["messages"][0]["content"] not in text
        assert "following tools:" not in text and "Action Input:" not in text and "<tool_call>" in text
