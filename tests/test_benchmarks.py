"""The benchmark suite's plumbing in --quick mode on a tiny random model: results, ratios and the report.

Timings are not checked (they only mean something on the full models); the structure and the arithmetic are.
"""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root holds `benchmarks/`
from benchmarks import run_all, seeds  # noqa: E402

# The reward-training benchmark's TRL contestant calls `features.train_with_trl`, which gives TRL the SmolLM2
# tokenizer whatever model it trains: even --quick needs the real base model's tokenizer.
pytestmark = pytest.mark.base_model


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    code = run_all.main(["--quick", "--in-process", "--threads", "1", "--only", "generation", "reward_training",
                         "reward_bf16", "--out", str(out), "--report", str(out / "RESULTS.md"), "--note", "unit test"])
    return code, out


def test_quick_run_writes_every_contestant_and_ratio(quick_run):
    code, out = quick_run
    assert code == 0
    gen = json.loads((out / "generation.json").read_text())
    assert set(gen["contestants"]) == {"ours_ppo_sample", "ours_decode", "ours_decode_fp32", "plain_generate",
                                       "plain_generate_fp32"}
    for c in gen["contestants"].values():
        assert c["tokens_per_s"] > 0 and c["peak_rss_mb"] > 0 and len(c["seconds"]) == 2 and c["bytes_per_step"] > 0
    assert len(gen["ratios"]) == 3
    for ratio in gen["ratios"]:
        a, b = (gen["contestants"][ratio[k]]["tokens_per_s"] for k in ("numerator", "denominator"))
        assert ratio["ratio"] == pytest.approx(a / b)
    # LoRA starts at B = 0: our sampler and plain generate draw the same tokens, so they do the same work
    assert gen["contestants"]["ours_ppo_sample"]["widths"] == gen["contestants"]["plain_generate"]["widths"]
    rm = json.loads((out / "reward_training.json").read_text())
    for c in rm["contestants"].values():
        assert "error" not in c and c["pairs_per_s"] > 0 and len(c["seconds_per_step"]) >= 1
    bf16 = json.loads((out / "reward_bf16.json").read_text())["contestants"]["fp32_vs_bf16"]
    assert "error" not in bf16 and bf16["pairs"] == 12 and 2 <= bf16["texts"] <= 24  # pairs of a prompt share answers
    assert bf16["seconds_fp32"] > 0 and bf16["seconds_bf16"] > 0 and -1 <= bf16["spearman"] <= 1
    assert 0 <= bf16["pairs_flipped"] <= 1 and bf16["max_abs_diff_sd"] >= bf16["mean_abs_diff_sd"] >= 0


def test_report_names_the_machine_and_every_ratio(quick_run):
    _, out = quick_run
    text = (out / "RESULTS.md").read_text()
    for needle in ("## generation", "## reward_training", "## reward_bf16", "Spearman", "cores", "torch ", "trl ", "unit test",
                   "ours_ppo_sample / plain_generate", "ours_decode / plain_generate", "ours_loop / trl_reward_trainer",
                   "QUICK"):
        assert needle in text, needle


def test_seed_spread_is_mean_sd_and_range_of_point_values():
    runs = [{k: {"value": v, "lo": 0, "hi": 1} for k in seeds.SPREAD} for v in (0.5, 0.6, 0.7)]
    for r in runs:
        r["kl_to_reference_nats"] = 7.0
    out = seeds.spread(runs)
    assert out["win_vs_reference"]["mean"] == pytest.approx(0.6)
    assert out["win_vs_reference"]["std"] == pytest.approx(0.1)
    assert (out["win_vs_reference"]["min"], out["win_vs_reference"]["max"]) == (0.5, 0.7)
    assert out["kl_to_reference_nats"]["std"] == 0.0


def test_seeds_takes_the_chapters_run_and_writes_after_every_seed(tmp_path, monkeypatch):
    ci = {"value": 0.5, "lo": 0.4, "hi": 0.6}
    chapter = {"_profile": "cpu", "_updated": "now", "held_out": "x 1", "eval_samples": 4, "ample_budget_tokens": 160,
               **{k: ci for k in seeds.SPREAD}, "kl_to_reference_nats": 7.0}
    (tmp_path / "04.json").write_text(json.dumps(chapter))
    calls = []

    def fake_run(profile, seed, chapter_seed, gold_control=False):
        calls.append(seed)
        return {"seed": seed, **{k: {"value": 0.6, "lo": 0.5, "hi": 0.7} for k in seeds.SPREAD},
                "kl_to_reference_nats": 9.0}

    monkeypatch.setattr(seeds, "run_seed", fake_run)
    monkeypatch.setattr(seeds.report, "machine", lambda: {"cpu": "test"})
    out = tmp_path / "seeds.json"
    assert seeds.main(["--seeds", "0", "1", "--chapter-figures", str(tmp_path / "04.json"), "--out", str(out)]) == 0
    assert calls == [1]  # seed 0 is the chapter's run, not trained again
    result = json.loads(out.read_text())
    assert result["seeds"] == [0, 1] and result["runs"][0]["source"].startswith("chapter 4's run")
    assert result["spread"]["win_vs_reference"]["values"] == [0.5, 0.6]
    (tmp_path / "04.json").write_text(json.dumps({**chapter, "_profile": "ci"}))
    with pytest.raises(SystemExit):
        seeds.main(["--seeds", "0", "--chapter-figures", str(tmp_path / "04.json"), "--out", str(out)])


def test_ppo_val_variant_names():
    from benchmarks import ppo_val

    assert ppo_val.parse_variant("k4 loo e2") == {"samples_per_prompt": 4, "baseline": "loo", "epochs": 2}
    assert ppo_val.parse_variant("k1 value") == {"samples_per_prompt": 1, "baseline": "value"}
    with pytest.raises(ValueError, match="unknown part 'fast'"):
        ppo_val.parse_variant("k4 fast")


def test_ppo_val_oversamples_a_category_and_names_it():
    from types import SimpleNamespace

    from benchmarks import ppo_val

    s = SimpleNamespace(prompts=[{"category": "harmful"}, {"category": "lookalike"}, {"category": "factual"}],
                        ids=[[1], [2], [3]])
    ppo_val.oversample(s, {"lookalike": 3})
    assert s.ids == [[1], [2], [2], [2], [3]] and [p["category"] for p in s.prompts].count("lookalike") == 3
    assert ppo_val.variant_name("k1 value", True, None, {"lookalike": 2}) == "k1 value lookalike x2 (gold as reward)"
    assert ppo_val.variant_name("k1 value", False, "ffn_prompt") == "k1 value (ffn_prompt reward)"
    assert ppo_val.variant_name("k4 loo", False) == "k4 loo"
