import pytest

from rlhf_lib import config


def test_every_row_has_one_value_per_profile():
    for key, row in config.TABLE.items():
        assert len(row) == len(config.COLUMNS), key
        assert key.count(".") == 1, key


def test_load_builds_sections_from_the_table():
    cfg = config.load("cpu")
    assert cfg.profile == "cpu"
    col = config.COLUMNS.index("cpu")
    assert cfg.data.samples_per_prompt == config.TABLE["data.samples_per_prompt"][col]
    assert config.load("ci").data.samples_per_prompt == config.TABLE["data.samples_per_prompt"][0]


def test_overrides_and_unknown_names():
    assert config.load("ci", data__max_prompts=3).data.max_prompts == 3
    with pytest.raises(KeyError, match="data.nope"):
        config.load("ci", data__nope=1)
    with pytest.raises(ValueError, match="unknown profile"):
        config.load("tpu")


@pytest.mark.parametrize(
    ("env", "expected"),
    [({"RLHF_PROFILE": "gpu"}, "gpu"), ({"RLHF_PROFILE": " CI "}, "ci"), ({"CI": "true"}, "ci")],
)
def test_detect_profile_from_environment(monkeypatch, env, expected):
    monkeypatch.delenv("RLHF_PROFILE", raising=False)
    monkeypatch.delenv("CI", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert config.detect_profile() == expected


def test_detect_profile_rejects_a_typo(monkeypatch):
    monkeypatch.setenv("RLHF_PROFILE", "cpux")
    with pytest.raises(ValueError, match="RLHF_PROFILE='cpux'"):
        config.detect_profile()


def test_detect_profile_from_hardware(monkeypatch):
    monkeypatch.delenv("RLHF_PROFILE", raising=False)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(config.torch.cuda, "is_available", lambda: False)
    assert config.detect_profile() == "cpu"
    monkeypatch.setattr(config.torch.cuda, "is_available", lambda: True)
    assert config.detect_profile() == "gpu"


def test_artifacts_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("RLHF_ARTIFACTS", str(tmp_path / "a"))
    assert config.artifacts_dir() == tmp_path / "a"
    assert (tmp_path / "a").is_dir()


def test_each_profile_has_its_own_artifacts(monkeypatch):
    monkeypatch.delenv("RLHF_ARTIFACTS", raising=False)
    monkeypatch.setenv("RLHF_PROFILE", "ci")
    assert config.artifacts_dir() == config.REPO_ROOT / "artifacts" / "ci"
    assert config.artifacts_dir("cpu") == config.REPO_ROOT / "artifacts" / "cpu"


def test_artifacts_are_git_ignored():
    ignored = (config.REPO_ROOT / ".gitignore").read_text().split()
    assert "artifacts/" in ignored and "build/" in ignored


def test_seed_everything_repeats():
    config.seed_everything(3)
    a = config.torch.rand(3)
    config.seed_everything(3)
    assert config.torch.equal(a, config.torch.rand(3))


def test_gpu_smoke_is_the_gpu_choices_at_ci_sizes(monkeypatch):
    smoke, ci, gpu = config.load("gpu-smoke"), config.load("ci"), config.load("gpu")
    assert smoke.profile == "gpu-smoke"
    for key in config.TABLE:
        section, name = key.split(".")
        want = gpu if key in config.GPU_CHOICES else ci
        assert getattr(getattr(smoke, section), name) == getattr(getattr(want, section), name), key
    assert all(config.TABLE[k][0] != config.TABLE[k][2] for k in config.GPU_CHOICES)  # each one is a change
    assert config.load("gpu-smoke", ppo__lora_layers=1).ppo.lora_layers == 1  # overrides still win
    monkeypatch.setenv("RLHF_PROFILE", "gpu-smoke")
    assert config.detect_profile() == "gpu-smoke"
