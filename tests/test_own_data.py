"""Bring your own preferences (issue 21): the data contract, multi-turn prompts as chat turns, splits carved by
prompt, the public-format files of data/make_public_format.py, and the two entry points on them:
`python -m rlhf_lib.train_reward --data` (an exported folder that transformers alone scores with, the same scores)
and `python -m rlhf_lib.train_ppo --reward-model --prompts` (a policy transformers loads).

Hermetic: a tiny random Llama over the tests' tokenizer, saved as a folder (`--set model.name=<folder>`).
"""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from datasets import Dataset, DatasetDict
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

from rlhf_lib import config, data, features, metrics, models, pairs, reward, train_reward

PUBLIC = data.DATA_DIR / "public_format"
DIALOGUE = [{"role": "user", "content": "Hi, I need a pasta recipe."}, {"role": "assistant", "content": "Sure: which kind?"},
            {"role": "user", "content": "Something quick with tomatoes."}]
HH_PROMPT = "\n\nHuman: Hi, I need a pasta recipe.\n\nAssistant: Sure: which kind?\n\nHuman: Something quick with tomatoes."


# ------------------------------------------------------------------------------------ multi-turn prompts
def test_a_dialogue_reaches_the_tokenizer_as_chat_turns_in_every_format(tokenizer):
    """HH-RLHF and conversational rows of one dialogue give one prompt: its chat messages, templated as turns."""
    hh = data.normalize({"chosen": HH_PROMPT + "\n\nAssistant: Penne all'arrabbiata.",
                         "rejected": HH_PROMPT + "\n\nAssistant: No."})
    conv = data.normalize({"chosen": [*DIALOGUE, {"role": "assistant", "content": "Penne all'arrabbiata."}],
                           "rejected": [*DIALOGUE, {"role": "assistant", "content": "No."}]})
    explicit = data.normalize({"prompt": DIALOGUE, "chosen": "Penne all'arrabbiata.", "rejected": "No."})
    assert hh == conv == explicit and hh["prompt"] == DIALOGUE
    # the reward model's input: the chat template over every turn, not one user message holding a transcript
    ids = models.encode(tokenizer, [hh["prompt"]], [hh["chosen"]], max_length=512)[0]
    expected = tokenizer.apply_chat_template([*DIALOGUE, {"role": "assistant", "content": hh["chosen"]}], tokenize=False)
    assert tokenizer.decode(ids) == expected and "Human:" not in expected
    assert "<|im_start|>assistant\nSure: which kind?<|im_end|>\n<|im_start|>user\nSomething quick" in expected
    # PPO's prompt: the same turns, ending where the assistant starts to answer
    ppo_ids = models.chat_prompt_ids(tokenizer, [{"id": "d", "prompt": DIALOGUE}])[0]
    assert tokenizer.decode(ppo_ids) == tokenizer.apply_chat_template(DIALOGUE, add_generation_prompt=True,
                                                                      tokenize=False)
    # the response starts after the whole dialogue (where the FFN's response pooling begins)
    table = pairs.PairTable([DIALOGUE], [hh["chosen"]], [ids])
    start = features.response_starts(tokenizer, table)[0]
    assert tokenizer.decode(ids[start:]).startswith("Penne") and "quick with tomatoes" in tokenizer.decode(ids[:start])


def test_a_single_turn_stays_a_string_and_a_split_mixing_both_stores_messages(tmp_path):
    rows = [{"chosen": "\n\nHuman: Hi?\n\nAssistant: Hello!", "rejected": "\n\nHuman: Hi?\n\nAssistant: Go."},
            {"chosen": HH_PROMPT + "\n\nAssistant: Penne.", "rejected": HH_PROMPT + "\n\nAssistant: No."}]
    path = tmp_path / "hh.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert data.read_preference_jsonl(path)[0][0]["prompt"] == "Hi?"
    train = data.load_preferences(path)["train"]  # a column holds one type: the single turn as its one user message
    assert train["prompt"] == [[{"role": "user", "content": "Hi?"}], DIALOGUE]
    assert data.prompt_key(train["prompt"][0]) == "Hi?"  # the same prompt as the string, for groups and splits


# ---------------------------------------------------------------------------------------- the data contract
def test_data_without_gold_or_panel_trains_and_measures_and_says_what_is_not_available(tokenizer):
    """prompt / chosen / rejected only: accuracy and chapter 3's metrics with CIs; gold and the ceiling are None."""
    dataset = data.with_splits(data.read_preferences(PUBLIC / "hh_rlhf.jsonl", on_error="skip")[0], seed=0)
    assert set(dataset["train"].column_names) == set(data.REQUIRED)
    table = pairs.build_pairs(dataset, tokenizer, 64, {"train": 32, "val": 16, "test": 16})
    val = table.splits["val"]
    assert val.p_chosen is None and val.gold_chosen is None
    x = torch.randn(len(table), 8, generator=torch.Generator().manual_seed(0))
    net = reward.FeedForwardRM(8, hidden=8)
    result = reward.train(net, features.feature_reward_fn(net, x), table.splits["train"], val,
                          reward.TrainConfig(epochs=1, batch_size=8, eval_every=2), progress=False)
    assert result.history and all(row["val_gold_agreement"] is None for row in result.history)
    measured = reward.measure(features.feature_reward_fn(net, x), val, n_boot=50)
    assert 0 <= measured["accuracy"]["lo"] <= measured["accuracy"]["value"] <= measured["accuracy"]["hi"] <= 1
    assert measured["gold_agreement"] is None and metrics.bayes_ceiling(val.p_chosen) is None
    table3 = metrics.metric_table(measured["margins"], groups=val.group.numpy(), n_boot=50)
    assert {r["metric"] for r in table3} >= {"accuracy", "auc", "ece"} and all(np.isfinite(r["value"]) for r in table3)
    line = train_reward.describe_split("val", train_reward.measure_split(features.feature_reward_fn(net, x), val, 50, 0))
    assert "gold agreement not available" in line and "Bayes ceiling not available" in line


def test_splits_are_carved_out_of_train_by_prompt_and_seeded():
    rows = [{"prompt": f"q{i // 3}", "chosen": f"a{i}", "rejected": "b"} for i in range(60)]  # 3 pairs per prompt
    one = DatasetDict({"train": Dataset.from_list(rows)})
    cut = data.with_splits(one, 0.2, 0.1, seed=0)
    keys = {s: set(cut[s]["prompt"]) for s in cut}
    assert {s: len(k) for s, k in keys.items()} == {"train": 14, "val": 4, "test": 2}
    assert not keys["train"] & keys["val"] and not keys["train"] & keys["test"] and not keys["val"] & keys["test"]
    assert sum(len(cut[s]) for s in cut) == 60
    assert data.with_splits(one, 0.2, 0.1, seed=0)["val"]["prompt"] == cut["val"]["prompt"]
    assert data.with_splits(one, 0.2, 0.1, seed=1)["val"]["prompt"] != cut["val"]["prompt"]
    kept = DatasetDict({"train": Dataset.from_list(rows), "test": Dataset.from_list(rows[:3])})
    assert data.with_splits(kept, seed=0)["test"]["chosen"] == ["a0", "a1", "a2"]  # an existing split is kept as is


def test_ppo_prompt_files_of_text_lines_and_of_jsonl_dialogues(tmp_path):
    text = tmp_path / "prompts.txt"
    text.write_text("What is 2 + 2?\n\n  Name a colour.  \n")
    assert data.read_prompt_file(text) == [{"id": "prompts.txt:1", "prompt": "What is 2 + 2?"},
                                           {"id": "prompts.txt:3", "prompt": "Name a colour."}]
    lines = tmp_path / "prompts.jsonl"
    lines.write_text(json.dumps({"prompt": DIALOGUE, "topic": "food"}) + "\n" + json.dumps({"id": "x", "prompt": "Hi"}))
    assert data.read_prompt_file(lines) == [{"prompt": DIALOGUE, "topic": "food", "id": "prompts.jsonl:1"},
                                            {"id": "x", "prompt": "Hi"}]
    shipped = data.read_prompt_file(PUBLIC / "ppo_prompts.jsonl")
    assert len(shipped) > 20 and any(isinstance(r["prompt"], list) for r in shipped)


# --------------------------------------------------------------------------------- the public-format data
def test_public_format_files_are_what_the_script_writes_and_hold_real_bad_rows(tmp_path):
    spec = importlib.util.spec_from_file_location("make_public_format", data.DATA_DIR / "make_public_format.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    script.main(tmp_path)  # seeded: the committed files, byte for byte
    for name in ("hh_rlhf.jsonl", "conversational/train.jsonl", "conversational/test.jsonl", "ppo_prompts.jsonl"):
        assert (tmp_path / name).read_bytes() == (PUBLIC / name).read_bytes(), f"run python data/make_public_format.py ({name})"
    with pytest.raises(data.PreferenceDataError, match=r"hh_rlhf\.jsonl:\d+: (field 'chosen' is empty|"
                                                      r"fields 'chosen' and 'rejected' are identical)"):
        data.read_preferences(PUBLIC / "hh_rlhf.jsonl")
    for source in (PUBLIC / "hh_rlhf.jsonl", PUBLIC / "conversational"):
        dataset, skipped = data.read_preferences(source, on_error="skip")
        assert sum(skipped.values()) == 2 * script.N_BAD  # the empty answers and the identical ones
        prompts = [p for split in dataset.values() for p in split["prompt"]]
        assert sum(len(p) > 1 for p in prompts) > len(prompts) / 2  # mostly dialogues with an earlier exchange


# ------------------------------------------------------------------------------------- the entry points
def call(module: str, *args: str, env: dict, cwd) -> subprocess.CompletedProcess:
    out = subprocess.run([sys.executable, "-m", f"rlhf_lib.{module}", *args], capture_output=True, text=True, env=env,
                         timeout=300, cwd=cwd)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
    return out


@pytest.fixture(scope="module")
def own(tmp_path_factory):
    """`python -m rlhf_lib.train_reward --data data/public_format/hh_rlhf.jsonl --on-error skip` on a tiny base model,
    in the ci profile (its caps on the pairs), once for the module: (the run's stdout, the exported folder, helpers)."""
    root = tmp_path_factory.mktemp("own_data")
    base = root / "tiny_base"
    model, tokenizer = models.load_tiny_model(seed=0, layers=3)
    model.save_pretrained(base)
    tokenizer.save_pretrained(base)
    env = {**os.environ, "RLHF_ARTIFACTS": str(root / "artifacts"), "RLHF_PROFILE": "ci", "OMP_NUM_THREADS": "1"}
    sizes = ("--config", "ci", "--set", f"model.name={base}", "--set", "reward.max_length=64", "--set", "metrics.n_boot=50")
    out = call("train_reward", *sizes, "--data", str(PUBLIC / "hh_rlhf.jsonl"), "--on-error", "skip",
               "--save", str(root / "rm"), env=env, cwd=config.REPO_ROOT)
    return {"stdout": out.stdout, "rm": root / "rm", "root": root, "env": env, "sizes": sizes}


def test_train_reward_on_a_public_file_reports_rows_and_accuracy_with_cis(own):
    assert "246 rows read, 6 bad rows skipped" in own["stdout"]
    assert "val and test carved out of train by prompt" in own["stdout"]
    for split in ("val", "test"):
        assert f"  {split}: " in own["stdout"] and "(95% CI by prompt)" in own["stdout"]
    assert "gold agreement not available" in own["stdout"] and f"saved to {own['rm']}" in own["stdout"]
    assert "baseline, a linear probe on frozen features" in own["stdout"] and "this model minus the probe" in own["stdout"]
    info = json.loads((own["rm"] / "reward_info.json").read_text())
    for split in ("val", "test"):  # the model against the simplest baseline, on the same pairs
        diff = info["probe_baseline"][split]["model_minus_probe"]
        assert -1 <= diff["lo"] <= diff["value"] <= diff["hi"] <= 1
        assert "margins" not in info["figures"][split]
    assert info["data"]["bad_rows_skipped"] == 6 and info["data"]["carved_from_train"] == ["val", "test"]
    for split in ("val", "test"):
        acc = info["figures"][split]["accuracy"]
        assert 0 <= acc["lo"] <= acc["value"] <= acc["hi"] <= 1 and info["figures"][split]["gold_agreement"] is None
    config_json = json.loads((own["rm"] / "config.json").read_text())
    assert config_json["architectures"] == ["LlamaForSequenceClassification"] and len(config_json["id2label"]) == 1
    assert config_json["pad_token_id"] is not None and (own["rm"] / "model.safetensors").is_file()
    assert not list(own["rm"].glob("*.bin")) and not list(own["rm"].glob("*.pt"))


TRANSFORMERS_ONLY = r'''
import json, sys
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

path, cases = sys.argv[1], json.loads(sys.argv[2])
model = AutoModelForSequenceClassification.from_pretrained(path).eval()
tokenizer = AutoTokenizer.from_pretrained(path)
texts = [tokenizer.apply_chat_template(
    ([{"role": "user", "content": c["prompt"]}] if isinstance(c["prompt"], str) else c["prompt"])
    + [{"role": "assistant", "content": c["response"]}], tokenize=False) for c in cases]
batch = tokenizer(texts, add_special_tokens=False, truncation=True, padding=True, return_tensors="pt")
with torch.no_grad():
    scores = model(**batch).logits[:, 0].tolist()
assert not [m for m in sys.modules if m.split(".")[0] == "rlhf_lib"], "rlhf_lib was imported"
print(json.dumps(scores))
'''


def test_the_export_scores_the_same_with_transformers_alone(own, tmp_path):
    """A fresh process that imports only torch and transformers loads the folder and gives the library's scores:
    on a dialogue, a single turn, and an answer longer than max_length (cut from the left by the tokenizer)."""
    cases = [{"prompt": DIALOGUE, "response": "Penne with garlic and tomatoes."},
             {"prompt": "What is the capital of France?", "response": "Paris."},
             {"prompt": "Tell me a story.", "response": "Once upon a time " * 30}]
    out = subprocess.run([sys.executable, "-c", TRANSFORMERS_ONLY, str(own["rm"]), json.dumps(cases)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120, env=own["env"])
    assert out.returncode == 0, out.stderr[-3000:]
    alone = json.loads(out.stdout.strip().splitlines()[-1])
    rm, tok = reward.load_reward_model(own["rm"], device="cpu")
    ours = reward.score(rm, tok, [c["prompt"] for c in cases], [c["response"] for c in cases], max_length=64)
    np.testing.assert_allclose(alone, ours, atol=1e-5)


def test_train_ppo_on_the_own_reward_model_and_prompts_saves_a_policy_transformers_loads(own, tmp_path):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"prompt": p}) + "\n" for p in (DIALOGUE, "Name a fruit.", "Say hi.", "2+2?")))
    out_dir = tmp_path / "ppo"
    out = call("train_ppo", *own["sizes"], "--set", "ppo.max_new_tokens=8", "--reward-model", str(own["rm"]),
               "--prompts", str(prompts), "--output-dir", str(out_dir), env=own["env"], cwd=config.REPO_ROOT)
    history = json.loads((out_dir / "ppo_history.json").read_text())
    assert len(history) == config.load("ci").ppo.steps and "no reward model" not in out.stdout
    info = json.loads((out_dir / "ppo_policy" / "ppo_info.json").read_text())
    assert info["reward_model"] == str(own["rm"]) and info["prompts"] == str(prompts)
    policy = AutoModelForCausalLM.from_pretrained(out_dir / "ppo_policy", use_safetensors=True)
    assert not any("lora" in name for name, _ in policy.named_parameters())  # the adapters are merged in
    with torch.no_grad():
        assert torch.isfinite(policy(torch.tensor([[1, 2, 3]])).logits).all()


@pytest.mark.parametrize("arch", ["lora", "ffn"])
def test_the_other_archs_on_own_data(own, artifacts, arch):
    """lora: a standard folder with the adapters merged in; ffn: rlhf_lib's own format, which the loader PPO uses refuses."""
    cfg = config.load("ci", model__name=str(own["root"] / "tiny_base"), reward__max_length=64, reward__ffn_layer=2,
                      reward__max_train_pairs=16, reward__max_eval_pairs=8, metrics__n_boot=20)
    path = train_reward.train_and_save(cfg, artifacts / arch, source=data.DATA_DIR / "public_format" / "conversational",
                                       arch=arch, on_error="skip")
    info = json.loads((path / "reward_info.json").read_text())
    assert info["arch"] == arch and info["data"]["bad_rows_skipped"] == 6 and info["data"]["carved_from_train"] == ["val"]
    assert 0 <= info["figures"]["test"]["accuracy"]["value"] <= 1
    if arch == "ffn":
        assert (path / "ffn.safetensors").is_file() and not (path / "model.safetensors").exists()
        with pytest.raises(ValueError, match="holds a feedforward reward model"):
            reward.load_reward_model(path)
        return
    model = AutoModelForSequenceClassification.from_pretrained(path, use_safetensors=True)
    assert not any("lora" in name for name, _ in model.named_parameters())
    rm, tok = reward.load_reward_model(path, device="cpu")
    assert np.isfinite(reward.score(rm, tok, [DIALOGUE], ["Penne."], max_length=64)).all()
