"""The headless entry points, run as a learner runs them, in the `ci` profile: `python -m rlhf_lib.train_reward`,
then `python -m rlhf_lib.train_ppo` and `python -m rlhf_lib.iterate` on the reward model it saved, and the course runner
`python -m rlhf_lib.course`.

The base model is a tiny random Llama saved as a folder (`--set model.name=<folder>`: a local folder loads
through the same code as SmolLM2); the sizes are the ci row of the table, a few cut further, so each run takes
seconds (most of it the fresh process importing transformers). The
course runner executes two one-cell notebooks, not the course's (those run under nbval in `make notebooks-test`).
"""

import json
import os
import subprocess
import sys

import nbformat
import pytest

from rlhf_lib import config, course, iterate, models, report


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """`python -m rlhf_lib.<module> --config ci --set model.name=<a tiny model folder> ...` in a fresh process,
    with the artifacts (feature cache, reward model) in a temporary folder shared by the module's runs."""
    root = tmp_path_factory.mktemp("entry_points")
    base = root / "tiny_base"
    model, tokenizer = models.load_tiny_model(seed=0, layers=3)  # ci: top 2 layers trained, 1 frozen
    model.save_pretrained(base)
    tokenizer.save_pretrained(base)
    env = {**os.environ, "RLHF_ARTIFACTS": str(root / "artifacts"), "RLHF_PROFILE": "ci", "OMP_NUM_THREADS": "1"}

    def call(module: str, *args: str) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-m", f"rlhf_lib.{module}", "--config", "ci", "--set", f"model.name={base}", *args]
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=config.REPO_ROOT)
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
        return out

    call.artifacts = root / "artifacts"
    return call


def test_train_reward_saves_a_reward_model(run):
    out = run("train_reward", "--output-dir", str(run.artifacts),  # where train_ppo's load_reward_model looks
              "--set", "reward.max_train_pairs=16", "--set", "reward.max_eval_pairs=8", "--set", "reward.max_length=64")
    saved = run.artifacts / "reward_model"
    info = json.loads((saved / "reward_info.json").read_text())
    assert (saved / "model.safetensors").is_file() and (saved / "tokenizer.json").is_file()
    assert info["profile"] == "ci" and info["engine"] == "ours" and info["top_k"] == config.load("ci").reward.top_k
    assert 0.0 <= info["val_accuracy"] <= 1.0
    assert f"saved to {saved}" in out.stdout


def test_train_ppo_trains_on_that_reward_model_and_saves_the_policy(run):
    if not (run.artifacts / "reward_model" / "model.safetensors").is_file():
        pytest.skip("needs the reward model of test_train_reward_saves_a_reward_model")
    out_dir = run.artifacts / "ppo_run"
    out = run("train_ppo", "--output-dir", str(out_dir), "--set", "ppo.max_new_tokens=8", "--set", "reward.max_length=64")
    history = json.loads((out_dir / "ppo_history.json").read_text())
    assert len(history) == config.load("ci").ppo.steps  # no reward model was trained on the way (load_or_train)
    assert all(h["episodes"] == (i + 1) * config.load("ci").ppo.batch_size for i, h in enumerate(history))
    assert (out_dir / "ppo_policy" / "model.safetensors").is_file() and (out_dir / "ppo_ckpt").is_dir()
    info = json.loads((out_dir / "ppo_policy" / "ppo_info.json").read_text())
    assert info["profile"] == "ci" and info["final"]["step"] == len(history)
    assert "no reward model" not in out.stdout and f"{len(history)} PPO steps" in out.stdout


def test_iterate_runs_both_rounds_and_judges_every_policy_on_the_same_prompts(run):
    if not (run.artifacts / "reward_model" / "model.safetensors").is_file():
        pytest.skip("needs the reward model of test_train_reward_saves_a_reward_model")
    out_dir = run.artifacts / "iterate_run"
    out = run("iterate", "--output-dir", str(out_dir), "--set", "ppo.max_new_tokens=8", "--set", "reward.max_length=64",
              "--set", "reward.max_train_pairs=16", "--set", "reward.max_eval_pairs=8", "--set", "apps.iter_lm_prompts=4")
    res = json.loads((out_dir / "iterate_lm" / "results.json").read_text())
    assert list(res["policies"]) == list(iterate.POLICIES)
    assert {tuple(m.split(" vs ")) for m in res["versus"]} == set(iterate.MATCHES)
    assert {v["prompts"] for v in res["versus"].values()} == {config.load("ci").ppo.eval_prompts}  # the same prompts
    rm2 = out_dir / "iterate_lm" / "reward_model_round2"
    assert res["feedback"]["pairs"] >= 1 and (rm2 / "model.safetensors").is_file()
    assert (rm2 / "round2_train.sha256").is_file()  # what a rerun checks before it reuses RM2
    for tag in ("refreshed", "stale"):  # both round-2 runs checkpointed, so a rerun resumes them
        assert (out_dir / "iterate_lm" / f"round2-{tag}_ckpt").is_dir()
    assert "refreshed RM2 vs round 2, stale RM1" in out.stdout and "results written to" in out.stdout


def _notebook(path, source: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def test_course_runner_runs_the_chosen_notebooks_reports_each_and_fails_on_a_failure(tmp_path, monkeypatch):
    monkeypatch.setenv("RLHF_PROFILE", "ci")  # the runner sets it for its kernels: restored after the test
    monkeypatch.setenv("RLHF_ARTIFACTS", str(tmp_path / "artifacts"))
    notebooks, build = tmp_path / "notebooks", tmp_path / "build"
    notebooks.mkdir()
    _notebook(notebooks / "00_ok.ipynb", "import os\nprint(6 * 7, os.environ['RLHF_PROFILE'])")
    _notebook(notebooks / "01_fails.ipynb", "raise RuntimeError('planted failure')")
    _notebook(notebooks / "02_not_chosen.ipynb", "print('never run')")
    monkeypatch.setattr(report, "NOTEBOOKS", notebooks)
    monkeypatch.setattr(course, "BUILD", build)
    assert course.main(["--profile", "ci", "--only", "00", "01", "--timeout", "60"]) == 1  # one notebook failed
    ran = nbformat.read(build / "notebooks" / "00_ok.ipynb", as_version=4)
    assert ran.cells[0].outputs[0]["text"].strip() == "42 ci"  # executed, in the profile the runner was given
    assert (build / "notebooks" / "01_fails.ipynb").is_file()  # the failed one is saved too, with its traceback
    assert not (build / "notebooks" / "02_not_chosen.ipynb").exists()
    written = (build / "REPORT.md").read_text()
    assert "| 00_ok.ipynb |" in written and "| ok |" in written
    assert "01_fails.ipynb" in written and "FAILED" in written and "planted failure" in written


def test_course_runner_builds_where_it_is_told(tmp_path, monkeypatch):
    """`--build DIR`: executed notebooks and report there, build/ left alone."""
    monkeypatch.setenv("RLHF_PROFILE", "ci")
    monkeypatch.setenv("RLHF_ARTIFACTS", str(tmp_path / "artifacts"))
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    _notebook(notebooks / "00_ok.ipynb", "print(1)")
    monkeypatch.setattr(report, "NOTEBOOKS", notebooks)
    monkeypatch.setattr(course, "BUILD", tmp_path / "build")
    assert course.main(["--profile", "ci", "--build", str(tmp_path / "elsewhere"), "--timeout", "60"]) == 0
    assert (tmp_path / "elsewhere" / "notebooks" / "00_ok.ipynb").is_file()
    assert (tmp_path / "elsewhere" / "REPORT.md").is_file() and not (tmp_path / "build").exists()


def test_freeze_reference_outside_the_cpu_profile_is_refused_before_any_notebook_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(course, "run_notebook", lambda *a, **k: pytest.fail("a notebook ran before the refusal"))
    with pytest.raises(SystemExit) as err:
        course.main(["--profile", "ci", "--only", "00", "--freeze-reference"])
    assert err.value.code == 2 and "cpu-profile runs, not 'ci'" in capsys.readouterr().err


def test_stale_lists_the_notebooks_without_a_current_reference_run(tmp_path, monkeypatch, capsys):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    _notebook(notebooks / "00_ok.ipynb", "print(1)")
    monkeypatch.setattr(report, "NOTEBOOKS", notebooks)
    monkeypatch.setattr(report, "REFERENCE_DIR", tmp_path / "none")
    monkeypatch.setattr(course, "run_notebook", lambda *a, **k: pytest.fail("--stale runs no notebook"))
    assert course.main(["--stale"]) == 0
    out = capsys.readouterr().out
    assert "1 of 1 notebooks" in out and "00_ok: no reference run" in out
