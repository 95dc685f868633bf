"""Chapter 4's choices, made on VAL prompts (issue 40): samples per prompt, the baseline, epochs, steps, and the
gold-as-reward control.

    python -m benchmarks.ppo_val                                  # the default variants, cpu profile, seed 0
    python -m benchmarks.ppo_val --variants "k1 value" "k4 loo" --set ppo.steps=24
    python -m benchmarks.ppo_val --gold                           # also each variant trained on the gold itself
    RLHF_SEED=1 python -m benchmarks.ppo_val --variants "k1 value" --gold   # another seed, kept beside seed 0

Each variant trains chapter 4's run headless (`train_ppo.prepare` + `ppo.train`, the profile's `ppo.*` rows with
the variant's changes, at EQUAL episodes: `ppo.steps` x `ppo.batch_size`) and is judged on every val prompt of the
preference task (never the test split) against the reference at the training budget, at the ample budget, and
the brevity baseline, with 95% CIs by prompt, plus refusal recall, over-refusal, answer accuracy and the
length-controlled win. A variant's name is "k<samples per prompt> <baseline>" with optional "e<epochs>" (e.g.
"k4 loo e2"). Writes results/ppo_val.json after each variant.
"""

from __future__ import annotations

import argparse
import json
import sys

from rlhf_lib import config, data, judge, launch, models, ppo, reward, train_ppo

from .common import RESULTS
from .seeds import train_and_judge

# the SFT start of the runs recorded before runs named theirs (231 demonstrations, 1 epoch)
OLD_START = "SmolLM2-135M-SFT-epochs1.0-lr0.0003-batch_size8-lora_r8-max_length256-seed0-demos47ef8c6b34"


def parse_variant(name: str) -> dict:
    changes = {}
    for part in name.split():
        if part.startswith("k"):
            changes["samples_per_prompt"] = int(part[1:])
        elif part in ("value", "loo"):
            changes["baseline"] = part
        elif part.startswith("e"):
            changes["epochs"] = int(part[1:])
        else:
            raise ValueError(f"variant {name!r}: unknown part {part!r} (k<N>, value|loo, e<N>)")
    return changes


def oversample(s, times: dict[str, int]) -> None:
    """Repeat the train prompts of some categories in PPO's prompt list (`times`: {category: copies}), so a step's
    batch draws them more often: more episodes of those prompts at equal total episodes."""
    keep = [i for i, r in enumerate(s.prompts) for _ in range(times.get(r["category"], 1))]
    s.prompts, s.ids = [s.prompts[i] for i in keep], [s.ids[i] for i in keep]


def run_variant(cfg, name: str, gold: bool, rm=None, times: dict[str, int] | None = None) -> dict:
    """One variant trained and judged on val; paid by chapter 2's reward model, the gold (`gold`), or `rm` (a scorer
    of (prompts, texts), e.g. `reward_levers.FFNPromptRM`); `times` oversamples categories (`oversample`)."""
    config.seed_everything(cfg.seed)
    s = train_ppo.prepare(cfg, models.pick_device())
    s.run = ppo.PPOConfig(**{**vars(s.run), **parse_variant(name)})
    oversample(s, times or {})
    reward_fn = s.reward_fn
    if gold or rm is not None:  # normalised on the reference's samples, as train_ppo does for chapter 2's model
        norm = judge.stratified(s.prompts, 2 * cfg.ppo.batch_size, seed=1)
        ref = judge.sample(s.ac, norm, s.run, s.tokenizer, seed=1, reference=True, batch_size=cfg.ppo.batch_size)
    if gold:  # the control: the same run paid by the hidden gold itself
        reward_fn = judge.gold_reward_fn(s.tokenizer, *judge.reward_normaliser(ref["gold"]))
    elif rm is not None:
        mean, std = judge.reward_normaliser(rm([r["prompt"] for r in ref["records"]], ref["texts"]))
        reward_fn = reward.scored_text_fn(rm, s.tokenizer, mean, std)
    out = train_and_judge(cfg, s, reward_fn, None, records=data.preference_prompts("val"))  # val only, never test
    return {"variant": variant_name(name, gold, rm.name if rm is not None else None, times),
            "oversampled": times or {}, "changes": parse_variant(name), "episodes": s.run.steps * s.run.batch_size,
            "start": start_model(cfg), **out}


def variant_name(name: str, gold: bool, rm_name: str | None = None, times: dict[str, int] | None = None) -> str:
    """The recorded name of a run: the variant, the categories it oversampled, and what paid it, e.g.
    "k1 value lookalike x2 (gold as reward)"."""
    paid = " (gold as reward)" if gold else f" ({rm_name} reward)" if rm_name else ""
    return name + "".join(f" {cat} x{n}" for cat, n in sorted((times or {}).items())) + paid


def start_model(cfg) -> str:
    """The SFT model's cache name (its settings and demonstrations' digest): the reference and PPO's start."""
    return config.sft_dir(config.sft_settings(cfg)).name


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", default="cpu", choices=config.PROFILES)
    p.add_argument("--variants", nargs="+", default=["k1 value", "k4 value", "k4 loo"])
    p.add_argument("--gold", action="store_true", help="also train each variant on the gold utility (the control)")
    p.add_argument("--gold-only", action="store_true", help="only the gold-as-reward control of each variant")
    p.add_argument("--rm", choices=["ffn_prompt"], default=None,
                   help="pay the run with a reward-model lever of benchmarks.reward_levers instead of chapter 2's "
                        "(ffn_prompt: 5 FFNs on the SFT model's features plus the prompt state)")
    p.add_argument("--oversample", nargs="*", default=[], metavar="CATEGORY=N",
                   help="repeat a category's train prompts N times in PPO's prompt list (equal episodes)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a config override, as train_ppo")
    p.add_argument("--note", default="", help="what else ran on the machine")
    args = p.parse_args(argv)
    cfg = launch.load_run(args.profile, args.set, None)
    out = RESULTS / "ppo_val.json"
    todo = [(name, gold) for name in args.variants
            for gold in ((True,) if args.gold_only else (False, True) if args.gold else (False,))]
    runs = json.loads(out.read_text())["runs"] if out.is_file() else []  # earlier variants are kept, reruns replace
    times = {cat: int(n) for cat, n in (x.split("=") for x in args.oversample)}
    names = {variant_name(n, g, args.rm, times) for n, g in todo}
    runs = [r for r in runs if r["seed"] != cfg.seed  # RLHF_SEED=1 ... adds seeds beside the earlier ones
            or r.get("start", OLD_START) != start_model(cfg)  # ... and another SFT start beside the earlier one
            or r["variant"] not in names]
    rm = None
    if args.rm == "ffn_prompt":
        from .reward_levers import Bench, FFNPromptRM
        rm = FFNPromptRM(Bench(args.profile, models.SMOLLM2_SFT), seeds=5)
    for name, gold in todo:
        print(f"[ppo_val] {name}{' (gold)' if gold else ''} ...", flush=True)
        runs.append({**run_variant(cfg, name, gold, None if gold else rm, times), "overrides": args.set,
                     "note": args.note})
        r = runs[-1]
        print(f"[ppo_val] {r['variant']}: vs reference {judge.ci_text(r['win_vs_reference'])}, vs ample "
              f"{judge.ci_text(r['win_vs_reference_ample_budget'])}, vs brevity "
              f"{judge.ci_text(r['win_vs_brevity_baseline'])}, refusal recall "
              f"{judge.ci_text(r['refusal_recall_after'])}, {r['train_seconds_this_session']:.0f} s", flush=True)
        out.write_text(json.dumps({"benchmark": "ppo_val", "profile": cfg.profile, "runs": runs},
                                  indent=2, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
