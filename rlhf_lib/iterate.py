"""The language model's second round of feedback, headless: too long for notebook 5.5's cpu budget, so it runs here
and 5.5 shows its recorded figures (`compare_with_reference`).

    python -m rlhf_lib.iterate --config cpu             # round 1 resumes train_ppo's checkpoint when it exists
    python -m rlhf_lib.iterate --config cpu --record    # also writes the reference reference_runs/recorded/iterate_lm.json

Read top to bottom, `main` is the course text's step 3, "continue iterating with updated human feedback":
1. **round 1**: chapter 4's PPO run (`train_ppo.prepare`, `ppo.train`) against chapter 2's reward model RM1, resumed
   from `<artifacts>/ppo_ckpt` (what `python -m rlhf_lib.train_ppo` writes) when it is there;
2. **round-2 feedback**: the round-1 policy answers `apps.iter_lm_prompts` train prompts `apps.iter_lm_samples`
   times (at `apps.iter_lm_temperature`: a tuned policy often repeats one answer, and a duplicate is no pair);
   chapter 1's panel (same annotators, same gold) labels every pair of distinct answers to a prompt;
3. **refresh**: RM2, chapter 2's recipe (`train_reward.train_and_save`, every panel label) on RM1's own train pairs
   plus the new ones, validated and tested on chapter 1's val and test splits;
4. **round 2**: PPO continues from the round-1 policy with RM2, and, as the control, with the stale RM1: the same
   steps (`apps.iter_lm_steps`), seed, prompts and KL target (`apps.iter_lm_target_kl`: the KL reference stays the
   base model, so round 2's KL is the distance of both rounds); each reward model normalised on the round-1
   policy's answers;
5. **judge**: the reference, round 1 and both round-2 policies answer the same stratified test prompts
   (`ppo.eval_prompts`, `apps.iter_lm_eval_samples` answers each) with the same seeds; gold win rates with 95% CIs
   by prompt, the KL each spent, the both-finished control; RM1's and RM2's accuracy vs the gold on pairs of
   round-1 answers to `apps.iter_lm_val_prompts` val prompts (where the policy now lives).

Writes `<artifacts>/iterate_lm/` (round-2 data, RM2, the round-2 checkpoints) and its `results.json`.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from . import (
    annotate,
    config,
    data,
    judge,
    launch,
    metrics,
    pairs,
    ppo,
    report,
    reward,
    train_ppo,
    train_reward,
)

RESULTS = "results.json"
REFERENCE = report.RECORDED_DIR / "iterate_lm.json"  # the recorded run notebook 5.5 and benchmarks/RESULTS.md show
POLICIES = ("reference", "round 1", "round 2, refreshed RM2", "round 2, stale RM1")
MATCHES = (("round 1", "reference"), ("round 2, refreshed RM2", "reference"), ("round 2, stale RM1", "reference"),
           ("round 2, refreshed RM2", "round 1"), ("round 2, stale RM1", "round 1"),
           ("round 2, refreshed RM2", "round 2, stale RM1"))


def policy_answers(ac, records: list[dict], run: ppo.PPOConfig, tokenizer, k: int, seed: int, tag: str,
                   temperature: float | None = None):
    """`k` answers of the policy to each record (at `temperature`, default the run's), in chapter 1's response
    format {prompt_id: [{response_id, text, finished}]} (ids `<prompt>/<tag>-<j>`, apart from the shipped ones)."""
    if temperature is not None:
        run = dataclasses.replace(run, temperature=temperature)
    judged = judge.sample(ac, records, run, tokenizer, n_samples=k, seed=seed)
    responses: dict[str, list[dict]] = {}
    for rec, text, done in zip(judged["records"], judged["texts"], judged["finished"], strict=True):
        group = responses.setdefault(rec["id"], [])
        group.append({"prompt_id": rec["id"], "response_id": f"{rec['id']}/{tag}-{len(group)}", "text": text,
                      "finished": bool(done)})
    return responses


def write_round2_data(folder: Path, source: Path, train_cap: int | None, seed: int, new_rows: list[dict],
                      new_pairs: list[dict], new_responses: dict[str, list[dict]]) -> Path:
    """Chapter 1's layout (preferences/{train,val,test}.jsonl, annotations.jsonl, responses.jsonl) in `folder`: RM1's
    train pairs (the `train_cap` whole prompts chapter 2 kept) plus `new_rows`, chapter 1's val and test, every panel
    label so far and the new answers. Returns the preference folder, for `train_reward.train_and_save(source=...)`."""
    prefs = data.load_preferences(source)
    columns = prefs["train"].column_names
    out = folder / "preferences"
    for split in prefs:
        rows = [dict(r) for r in prefs[split]]
        if split == "train":
            rows = [rows[i] for i in pairs.capped_rows(prefs["train"]["prompt"], train_cap, seed)]
            rows += [{c: r[c] for c in columns} for r in new_rows if r["split"] == "train"]
        data._write_jsonl(out / f"{split}.jsonl", rows)
    old_log = source.parent / "annotations.jsonl"
    old = [rec for _, rec in data.iter_jsonl(old_log)] if old_log.is_file() else []
    data._write_jsonl(folder / "annotations.jsonl", old + new_pairs)
    # the shipped data/responses.jsonl is always read beside these; a local chapter-1 build's answers are copied
    local = source.parent / "responses.jsonl"
    old_answers = [rec for _, rec in data.iter_jsonl(local, torn_tail=True)] \
        if local.is_file() and local.resolve() != (data.DATA_DIR / "responses.jsonl").resolve() else []
    data._write_jsonl(folder / "responses.jsonl", old_answers + [r for rs in new_responses.values() for r in rs])
    return out


def rm_accuracy_on(score, prompts_by_id: dict[str, dict], responses: dict[str, list[dict]], pairs_: list[dict],
                   n_boot: int, seed: int) -> dict:
    """Share of `pairs_` (annotated answers) a reward model orders like the gold (`reward.order_agreement`), gold ties
    left out, with its 95% CI by prompt: how well it ranks answers of the policy that produced them."""
    text = data.response_texts(responses)
    kept = [p for p in pairs_ if p["gold_a"] != p["gold_b"]]
    prompts = [prompts_by_id[p["prompt_id"]]["prompt"] for p in kept]
    s_a = np.array(score(prompts, [text[p["a"]] for p in kept]))
    s_b = np.array(score(prompts, [text[p["b"]] for p in kept]))
    gold = np.array([p["gold_a"] - p["gold_b"] for p in kept])
    ci = metrics.bootstrap_ci(lambda m, g: reward.order_agreement(m, g, strict=False), s_a - s_b, gold,
                              n_boot=n_boot, seed=seed, groups=[p["prompt_id"] for p in kept])
    return {**ci, "pairs": len(kept), "prompts": len({p["prompt_id"] for p in kept})}


def normalised_reward(rm_path: Path, s, answers: list[str], prompts: list[str], max_length: int):
    """A PPO reward function of the reward model at `rm_path`, normalised (mean 0, std 1) on `answers`, the
    round-1 policy's answers to `prompts`: a round-1 answer scores about 0 under either reward model. Also returns
    the raw scorer. `max_length`: the reward model's, unless its reward_info.json says otherwise. Loads the model and
    sets it up as `train_ppo.prepare` does (`judge.normalised_text_reward`)."""
    rm, rm_tok = reward.load_reward_model(rm_path, str(next(s.ac.parameters()).device))
    fn, score, _ = judge.normalised_text_reward(rm, rm_tok, s.tokenizer, prompts, answers,
                                                reward.trained_max_length(rm_path, max_length))
    return fn, score


def run(cfg, out: Path) -> dict:
    """Both rounds, the refresh and the judging (module docstring); returns the results `main` writes."""
    A, P, t0 = cfg.apps, cfg.ppo, time.perf_counter()
    seconds: dict[str, float] = {}
    config.seed_everything(cfg.seed)
    device = launch.process_state().device
    rm1_path = config.artifacts_dir() / reward.REWARD_DIR  # what train_ppo.prepare loads (trains when missing)

    # 1. round 1: chapter 4's run against RM1 (chapter 2's model, trained first if missing), as train_ppo runs it
    s = train_ppo.prepare(cfg, device)
    hist1 = ppo.train(s.ac, s.ids, s.prompts, s.reward_fn, s.run, s.eos, s.pad, ckpt_dir=cfg.output_dir / "ppo_ckpt",
                      restart_if_changed=True)  # as chapter 4: a checkpoint against another reward model is redone
    seconds["round 1"] = sum(h["seconds"] for h in hist1)
    round1 = s.ac  # kept as it is: each round-2 run trains a copy

    # 2. round-2 feedback: the panel compares pairs of the round-1 policy's own answers
    t = time.perf_counter()
    feedback_prompts = judge.stratified(s.prompts, A.iter_lm_prompts, seed=2)
    answers = policy_answers(round1, feedback_prompts, s.run, s.tokenizer, A.iter_lm_samples, seed=2, tag="round2",
                             temperature=A.iter_lm_temperature)
    panel = annotate.make_panel(cfg.data.n_annotators, seed=cfg.seed)  # chapter 1's annotators
    new_pairs = data.annotate_pairs(feedback_prompts, answers, panel, seed=cfg.seed + 1)
    new_rows = data.to_preference_rows(feedback_prompts, answers, new_pairs)
    val_prompts = judge.stratified(data.preference_prompts("val"), A.iter_lm_val_prompts, seed=3)
    val_answers = policy_answers(round1, val_prompts, s.run, s.tokenizer, A.iter_lm_samples, seed=3, tag="round2val",
                                 temperature=A.iter_lm_temperature)
    val_pairs = data.annotate_pairs(val_prompts, val_answers, panel, seed=cfg.seed + 2)
    seconds["feedback"] = time.perf_counter() - t

    # 3. refresh: RM2 on RM1's train pairs plus the new ones (chapter 2's recipe, every panel label)
    t = time.perf_counter()
    source = data.default_source()
    prefs2 = write_round2_data(out / "data", source, pairs.split_caps(cfg.reward, chapter=True)["train"], cfg.seed,
                               new_rows, new_pairs, answers)
    rm2_path, digest = out / "reward_model_round2", hashlib.sha256((prefs2 / "train.jsonl").read_bytes()).hexdigest()
    stamp = rm2_path / "round2_train.sha256"  # a rerun reuses RM2 only if its training pairs are the same
    if not (stamp.is_file() and stamp.read_text() == digest):
        train_reward.train_and_save(cfg, rm2_path, source=prefs2)
        stamp.write_text(digest)
    seconds["refresh"] = time.perf_counter() - t

    # 4. round 2 from the round-1 policy: the refreshed RM2, and the stale RM1 as the control
    norm = judge.stratified(s.prompts, 2 * P.batch_size, seed=1)
    norm_answers = judge.sample(round1, norm, s.run, s.tokenizer, seed=1)["texts"]
    norm_prompts = [r["prompt"] for r in norm]
    scorers, policies, histories = {}, {"round 1": round1}, {"round 1": hist1}
    for name, rm, path in (("round 2, refreshed RM2", "RM2", rm2_path), ("round 2, stale RM1", "RM1", rm1_path)):
        t = time.perf_counter()
        reward_fn, scorers[rm] = normalised_reward(path, s, norm_answers, norm_prompts, cfg.reward.max_length)
        run2 = train_ppo.profile_ppo_config(cfg, autocast=s.run.autocast, reward_id=reward.fingerprint(path),
                                            seed=cfg.seed + 1, target_kl=A.iter_lm_target_kl, steps=A.iter_lm_steps)
        ac = copy.deepcopy(round1)
        tag = "refreshed" if rm == "RM2" else "stale"
        histories[name] = ppo.train(ac, s.ids, s.prompts, reward_fn, run2, s.eos, s.pad,
                                    ckpt_dir=out / f"round2-{tag}_ckpt", restart_if_changed=True)
        policies[name] = ac
        seconds[name] = time.perf_counter() - t

    # 5. judge every policy on the same stratified test prompts and seeds (chapter 4's held-out set)
    t = time.perf_counter()
    eval_recs = judge.stratified(data.preference_prompts("test"), P.eval_prompts, seed=0)
    n_eval = A.iter_lm_eval_samples
    judged = {"reference": judge.sample(round1, eval_recs, s.run, s.tokenizer, n_eval, reference=True)}
    for name, ac in tqdm(policies.items(), desc="judging"):
        judged[name] = judge.sample(ac, eval_recs, s.run, s.tokenizer, n_eval)
    for j in judged.values():  # the mean score under each reward model: proxy against gold
        prompts = [r["prompt"] for r in j["records"]]
        j["rm_scores"] = {rm: float(np.mean(fn(prompts, j["texts"]))) for rm, fn in scorers.items()}
    n_boot = cfg.metrics.n_boot
    prompts_by_id = {p["id"]: p for p in val_prompts}
    rm_tuned = {rm: rm_accuracy_on(fn, prompts_by_id, val_answers, val_pairs, n_boot, cfg.seed)
                for rm, fn in scorers.items()}
    seconds["judge"] = time.perf_counter() - t
    seconds["total"] = time.perf_counter() - t0

    def rm_info(path):
        return json.loads((path / "reward_info.json").read_text()).get("figures", {})

    return {
        "profile": cfg.profile, "machine": report.machine(), "date": time.strftime("%Y-%m-%d"),
        "sizes": {"round1_steps": len(hist1), "round2_steps": A.iter_lm_steps, "batch_size": P.batch_size,
                  "max_new_tokens": P.max_new_tokens, "round2_target_kl": A.iter_lm_target_kl,
                  "feedback_prompts": len(feedback_prompts), "val_prompts": len(val_prompts),
                  "answers_per_prompt": A.iter_lm_samples, "feedback_temperature": A.iter_lm_temperature,
                  "eval_prompts": len(eval_recs), "eval_samples": n_eval, "bf16": bool(s.run.autocast)},
        "held_out": judge.category_mix(eval_recs), "feedback_mix": judge.category_mix(feedback_prompts),
        "feedback": {"pairs": len(new_pairs), "train_rows": len(new_rows),
                     **{k: round(v, 4) for k, v in data.agreement_stats(new_pairs).items()}},
        "reward_models": {"RM1": {"path": str(rm1_path), "chapter1_test": rm_info(rm1_path).get("test"),
                                  "round1_answers": rm_tuned["RM1"]},
                          "RM2": {"path": str(rm2_path), "chapter1_test": rm_info(rm2_path).get("test"),
                                  "round1_answers": rm_tuned["RM2"]}},
        "policies": {name: {**judge.summary(j), "rm_scores": j["rm_scores"]} for name, j in judged.items()},
        "versus": {f"{a} vs {b}": _match(judge.versus(judged[a], judged[b], n_boot, cfg.seed)) for a, b in MATCHES},
        "final_beta": {name: h[-1]["beta"] for name, h in histories.items() if h},
        "seconds": {k: round(v) for k, v in seconds.items()},
    }


def _match(v: dict) -> dict:
    return {"win": v["win"], "both_finished": v["both_finished"], "n": v["n"], "prompts": v["prompts"]}


# ==================================================================================== reading the results
def load(path: str | Path | None = None) -> dict | None:
    """A results file: yours (`<artifacts>/iterate_lm/results.json`) by default, None when it does not exist."""
    path = Path(path or config.artifacts_dir() / "iterate_lm" / RESULTS)
    return json.loads(path.read_text()) if path.is_file() else None


def describe_run(res: dict) -> str:
    """The results as a learner reads them: sizes, the new feedback, both reward models, every match with its CI."""
    s = res["sizes"]
    lines = [f"profile {res['profile']}, PPO steps: round 1 {s['round1_steps']}, round 2 {s['round2_steps']} "
             f"(KL target {s['round2_target_kl']} nats); judged on {s['eval_prompts']} test prompts x "
             f"{s['eval_samples']} answers ({res['held_out']})",
             f"round-2 feedback: {s['feedback_prompts']} train prompts x {s['answers_per_prompt']} answers of the "
             f"round-1 policy at temperature {s['feedback_temperature']}, {res['feedback']['pairs']} pairs labelled "
             f"(duplicates dropped; panel agreement "
             f"{res['feedback']['pairwise_agreement']:.1%}, ties {res['feedback']['tie_rate']:.1%})", ""]
    for name, rm in res["reward_models"].items():
        test = rm["chapter1_test"]
        on_test = f"chapter 1's test pairs: accuracy {judge.ci_text(test['accuracy'], pct=False)}, gold agreement " \
                  f"{judge.ci_text(test['gold_agreement'])}" if test else "chapter 1's test pairs: not recorded"
        lines.append(f"{name:22s} {on_test}; round-1 answers (val prompts, {rm['round1_answers']['pairs']} pairs): "
                     f"vs gold {judge.ci_text(rm['round1_answers'])}")
    lines.append("")
    for name, p in res["policies"].items():
        scores = "  ".join(f"{rm} {v:+.2f}" for rm, v in p["rm_scores"].items())
        lines.append(f"{name:24s} gold {p['gold']:+.3f}  KL {p['kl']:5.2f} nats  finished {p['finished']:.0%}  "
                     f"{p['words']:.0f} words  {scores}")
    lines.append("")
    for match, v in res["versus"].items():
        lines.append(f"{match:46s} win rate {judge.ci_text(v['win'])}; both finished "
                     f"{judge.ci_text(v['both_finished'])} on {v['both_finished']['n']} of {v['n']}")
    lines.append("time: " + ", ".join(f"{k} {v} s" for k, v in res["seconds"].items()))
    return "\n".join(lines)


def compare_with_reference(mine: str | Path | None = None, reference: str | Path = REFERENCE) -> str:
    """The reference run (committed) and, when you ran `python -m rlhf_lib.iterate`, yours: the key win rates of
    your run vs the reference run side by side."""
    ref, yours = load(reference), load(mine)
    if ref is None:
        raise FileNotFoundError(f"no reference results at {reference}: run python -m rlhf_lib.iterate --record")
    lines = [f"reference run ({ref['date']}, {report._where(ref['machine'])}):", describe_run(ref)]
    if yours is None:
        lines += ["", "your run: none yet (python -m rlhf_lib.iterate --config cpu writes "
                      f"{config.artifacts_dir() / 'iterate_lm' / RESULTS})"]
    else:
        lines += ["", f"{'your run vs reference run':46s} {'yours':>24s} {'reference':>24s}"]
        for match in ref["versus"]:
            if match in yours["versus"]:
                lines.append(f"{match:46s} {judge.ci_text(yours['versus'][match]['win']):>24s} "
                             f"{judge.ci_text(ref['versus'][match]['win']):>24s}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = launch.parser(__doc__)
    p.add_argument("--record", action="store_true", help=f"also write the reference results file {REFERENCE}")
    p.add_argument("--note", default=None, help="the conditions of the run, recorded with it (e.g. '2 free cores')")
    args = p.parse_args(argv)
    try:  # settings and paths are refused before a model loads
        cfg = launch.load_run(args.config, args.set, args.output_dir)
        launch.check_writable(cfg.output_dir / "iterate_lm", "--output-dir")
    except (ValueError, FileNotFoundError) as err:
        p.error(str(err))
    out = cfg.output_dir / "iterate_lm"
    out.mkdir(parents=True, exist_ok=True)
    res = run(cfg, out)
    if args.note:
        res["conditions"] = args.note
    (out / RESULTS).write_text(json.dumps(res, indent=1))
    if args.record:
        REFERENCE.parent.mkdir(parents=True, exist_ok=True)
        REFERENCE.write_text(json.dumps(res, indent=1))
    print(describe_run(res))
    print(f"results written to {out / RESULTS}" + (f" and {REFERENCE}" if args.record else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
