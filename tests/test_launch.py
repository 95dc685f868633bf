"""Run configurations of the headless entry points (rlhf_lib.launch): profiles, run files, --set, bad input."""

import json

import pytest

from rlhf_lib import launch


def test_profile_name_and_set_overrides(tmp_path):
    cfg = launch.load_run("ci", ["ppo.steps=7", "ppo.lr=0.001"], output_dir=str(tmp_path / "out"))
    assert cfg.profile == "ci" and cfg.ppo.steps == 7 and cfg.ppo.lr == 0.001
    assert cfg.ppo.batch_size == 4  # the rest is the ci row of the table
    assert cfg.output_dir == tmp_path / "out" and cfg.output_dir.is_dir()


def test_run_file_json_and_yaml(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps({"profile": "cpu", "overrides": {"ppo.steps": 3},
                                                   "output_dir": str(tmp_path / "o")}))
    cfg = launch.load_run(str(tmp_path / "run.json"), ["ppo.batch_size=8"])
    assert (cfg.profile, cfg.ppo.steps, cfg.ppo.batch_size) == ("cpu", 3, 8)
    (tmp_path / "run.yaml").write_text("profile: ci\noverrides:\n  reward.epochs: 5\n")
    assert launch.load_run(str(tmp_path / "run.yaml"), output_dir=str(tmp_path / "o")).reward.epochs == 5


@pytest.mark.parametrize("content, match", [
    ('{"profile": "ci", "steps": 3}', r"run.json: unknown field\(s\) steps"),
    ('{"profile": "ci", "overrides": {"ppo.stepz": 3}}', r"run.json: .*ppo.stepz"),
    ('{"profile": "ci", "overrides": {"ppo.steps": "3"}}', r"run.json: .*ppo.steps"),
    ('{"profile": "ci",\n "overrides": }', r"run.json:2: not valid JSON"),
    ('[1, 2]', r"run.json: a run file is a mapping"),
])
def test_bad_run_files_are_named(tmp_path, content, match):
    (tmp_path / "run.json").write_text(content)
    with pytest.raises(ValueError, match=match):
        launch.load_run(str(tmp_path / "run.json"), output_dir=str(tmp_path / "o"))


def test_bad_command_line_is_named(tmp_path):
    with pytest.raises(ValueError, match="expected KEY=VALUE"):
        launch.load_run("ci", ["ppo.steps"], output_dir=str(tmp_path))
    with pytest.raises(FileNotFoundError, match="neither a profile"):
        launch.load_run("nosuch.json", output_dir=str(tmp_path))
