"""Chapter 4's main PPO run with several seeds: how much of a win rate is the seed?

    python -m benchmarks.seeds                        # cpu profile, seeds 0 1 2 (~12 min a seed on 2 free cores)
    python -m benchmarks.seeds --profile ci --seeds 0 1 --note "plumbing check"
    python -m benchmarks.seeds --seeds 1 2 --chapter-figures artifacts/cpu/figures/04.json   # seed 0 = the chapter's run
    python -m benchmarks.seeds --keep                  # add only the seeds results/seeds.json lacks

Each seed trains the main run of chapter 4 headless (`rlhf_lib.train_ppo.prepare` + `ppo.train`, resumable from
its checkpoint) and judges it as the chapter does (`judge.controls` on the stratified held-out set, refusals,
accuracy). The chapter's own seed reuses the chapter's checkpoint when its settings match (a resumed, finished
run equals the uninterrupted one, `tests/test_ppo.py`); or, with `--chapter-figures`, the chapter's own recorded
judgement of that seed is taken as it is (on a CPU the course repeats bit for bit, so judging it again would give
the same figures). Writes `results/seeds.json`: every seed's figures with
their CIs, and per figure the mean, the standard deviation across seeds, the minimum and the maximum.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from rlhf_lib import annotate, config, data, judge, models, ppo, report, train_ppo

from .common import RESULTS

SPREAD = ("win_vs_reference", "win_vs_reference_ample_budget", "win_vs_brevity_baseline", "win_both_finished",
          "length_controlled_vs_reference", "refusal_recall_after", "lookalike_refused_after",
          "ordinary_refused_after", "accuracy_after", "kl_to_reference_nats")


def run_seed(profile: str, seed: int, chapter_seed: int, gold_control: bool = False) -> dict:
    """Train (or resume) seed `seed` and judge it; the figures chapter 4 prints, with their CIs. With `gold_control`
    the same run is also trained on the hidden gold itself, and `reward_model_share_of_gold_gain` says how much of
    the gold-paid run's gain over the reference the reward-model run reached."""
    cfg = config.load(profile)
    cfg.seed = seed
    config.seed_everything(seed)
    s = train_ppo.prepare(cfg, models.pick_device())
    ckpt = (config.artifacts_dir(profile) / "ppo_checkpoint" if seed == chapter_seed
            else config.artifacts_dir(profile) / "seeds" / f"seed_{seed}" / "ppo_ckpt")
    out = train_and_judge(cfg, s, s.reward_fn, ckpt)
    if gold_control:
        config.seed_everything(seed)
        g = train_ppo.prepare(cfg, models.pick_device())  # a fresh policy from the same start
        norm = judge.stratified(g.prompts, 2 * cfg.ppo.batch_size, seed=1)
        ref = judge.sample(g.ac, norm, g.run, g.tokenizer, seed=1, reference=True, batch_size=cfg.ppo.batch_size)
        gold_fn = judge.gold_reward_fn(g.tokenizer, *judge.reward_normaliser(ref["gold"]))
        gold = train_and_judge(cfg, g, gold_fn, config.artifacts_dir(profile) / "seeds" / f"gold_{seed}" / "ppo_ckpt")
        out["gold_control"] = {k: gold[k] for k in ("win_vs_reference", "win_vs_reference_ample_budget",
                                                      "refusal_recall_after", "gold_gain", "train_seconds_this_session")}
        out["reward_model_share_of_gold_gain"] = (out["gold_gain"] / gold["gold_gain"] if gold["gold_gain"] > 0
                                                  else float("nan"))
    return out


def train_and_judge(cfg, s, reward_fn, ckpt, records: list[dict] | None = None) -> dict:
    """Train the PPO run `s` (a `train_ppo.prepare` set-up; its `run` the settings) on `reward_fn`, resuming from
    `ckpt`, and judge it as chapter 4 does on `records` (default: the stratified test prompts)."""
    start = time.perf_counter()
    history = ppo.train(s.ac, s.ids, s.prompts, reward_fn, s.run, s.eos, s.pad, ckpt_dir=ckpt,
                        restart_if_changed=True)
    train_s = time.perf_counter() - start
    P = cfg.ppo
    recs = records if records is not None else judge.stratified(data.preference_prompts("test"), P.eval_prompts,
                                                                 seed=0)
    panel = annotate.make_panel(cfg.data.n_annotators, seed=cfg.seed)
    ctl = judge.controls(s.ac, recs, s.run, s.tokenizer, P.eval_samples, long_budget=P.eval_long_tokens,
                         score=s.score, batch_size=max(P.batch_size, 32), panel=panel)
    vs, after = ctl["versus"], ctl["samples"]["PPO policy"]
    refusal = judge.refusals(after)
    return {"seed": cfg.seed, "held_out": judge.category_mix(recs), "steps": s.run.steps,
            "eval_samples": P.eval_samples,
            "win_vs_reference": vs["reference"]["win"],
            "win_vs_reference_ample_budget": vs["reference, ample budget"]["win"],
            "win_vs_brevity_baseline": vs["brevity baseline"]["win"],
            "win_both_finished": vs["reference"]["both_finished"],
            "length_controlled_vs_reference": vs["reference"]["length_controlled"],
            "panel_votes_vs_reference": vs["reference"]["panel"],
            "refusal_recall_after": refusal["recall"], "harmless_refused_after": refusal["harmless_refused"],
            "lookalike_refused_after": refusal["lookalike_refused"], "ordinary_refused_after": refusal["ordinary_refused"],
            "refusal_recall_gain": judge.paired_change(after, ctl["samples"]["reference"], "recall"),
            "accuracy_change": judge.paired_change(after, ctl["samples"]["reference"], "accuracy"),
            "accuracy_after": judge.accuracy(after), "kl_to_reference_nats": judge.summary(after)["kl"],
            "gold_gain": judge.summary(after)["gold"] - judge.summary(ctl["samples"]["reference"])["gold"],
            "ample_budget_tokens": ctl["ample_budget"], "ample_reached": ctl["ample_reached"],
            "episodes_per_s": judge.episodes_per_second(history), "train_seconds_this_session": train_s}


def spread(runs: list[dict]) -> dict:
    """Mean, standard deviation (ddof 1), minimum and maximum across seeds of each figure's point value."""
    out = {}
    for key in SPREAD:
        vals = np.array([r[key]["value"] if isinstance(r[key], dict) else r[key] for r in runs], float)
        out[key] = {"mean": float(np.nanmean(vals)), "std": float(np.nanstd(vals, ddof=1)) if len(vals) > 1
                    else float("nan"), "min": float(np.nanmin(vals)), "max": float(np.nanmax(vals)),
                    "values": vals.tolist()}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", default="cpu", choices=config.PROFILES)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--note", default="", help="what else ran on the machine")
    p.add_argument("--gold-control", action="store_true",
                   help="also train each seed on the gold utility itself (how much is the reward model's?)")
    p.add_argument("--out", default=str(RESULTS / "seeds.json"))
    p.add_argument("--chapter-figures", default=None,
                   help="chapter 4's recorded figures (artifacts/<profile>/figures/04.json) as the run of its seed")
    p.add_argument("--keep", action="store_true",
                   help="take the seeds already recorded in --out (same profile) as they are; run only the others")
    args = p.parse_args(argv)
    chapter_seed = config.load(args.profile).seed
    runs = []
    if args.chapter_figures:
        fig = json.loads(Path(args.chapter_figures).read_text())
        if fig.get("_profile") != args.profile:
            p.error(f"--chapter-figures {args.chapter_figures}: recorded in profile {fig.get('_profile')!r}, "
                    f"not {args.profile!r}")
        missing = [k for k in SPREAD if k not in fig]
        if missing:
            p.error(f"--chapter-figures {args.chapter_figures}: no {', '.join(missing)} (an older chapter 4?)")
        runs.append({"seed": chapter_seed, "source": f"chapter 4's run ({args.chapter_figures}, {fig['_updated']})",
                     "steps": fig.get("ppo_steps"),
                     **{k: fig[k] for k in (*SPREAD, "held_out", "eval_samples", "ample_budget_tokens")}})
        args.seeds = [s for s in args.seeds if s != chapter_seed]
    out = Path(args.out)
    if args.keep and out.exists():
        old = json.loads(out.read_text())
        if old.get("profile") != args.profile:
            p.error(f"--keep: {out} was recorded in profile {old.get('profile')!r}, not {args.profile!r}")
        kept = [r for r in old["runs"] if r["seed"] in args.seeds and r["seed"] not in {q["seed"] for q in runs}]
        runs += kept
        args.seeds = [s for s in args.seeds if s not in {r["seed"] for r in kept}]
        print(f"[seeds] kept from {out}: seeds {[r['seed'] for r in kept]}", flush=True)

    def write() -> dict:  # after every seed: an interrupted run keeps the seeds it finished
        result = {"benchmark": "seeds", "profile": args.profile, "seeds": [r["seed"] for r in runs], "runs": runs,
                  "spread": spread(runs), "machine": {**report.machine(), "note": args.note}}
        out.write_text(json.dumps(result, indent=2, default=float) + "\n")
        return result

    for seed in args.seeds:
        print(f"[seeds] {args.profile} profile, seed {seed} ...", flush=True)
        runs.append(run_seed(args.profile, seed, chapter_seed, args.gold_control))
        print(f"[seeds] seed {seed}: win vs reference {judge.ci_text(runs[-1]['win_vs_reference'])}, "
              f"vs ample budget {judge.ci_text(runs[-1]['win_vs_reference_ample_budget'])}, "
              f"vs brevity {judge.ci_text(runs[-1]['win_vs_brevity_baseline'])}", flush=True)
        write()
    result = write()
    for key, v in result["spread"].items():
        print(f"{key:32s} mean {v['mean']:.3f}  sd {v['std']:.3f}  range [{v['min']:.3f}, {v['max']:.3f}]")
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
