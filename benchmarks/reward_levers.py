"""Which levers move the reward model? Each measured alone, on one held-out test split, with 95% CIs by prompt.

    python -m benchmarks.reward_levers                         # every lever at cpu sizes (about an hour, 2 cores)
    python -m benchmarks.reward_levers --only probe_k4 probe   # some of them
    python -m benchmarks.reward_levers --keep                  # only the levers results/reward_levers.json lacks
    python -m benchmarks.reward_levers --only probe --curve    # the probe and its learning curve in train prompts

Issue 18 asks to close the gap between chapter 2's reward model and what a judge built on this base model could
know. Every lever trains on the shipped data's train split (every panel label, as soft targets), chooses what it
chooses (a layer, a regularisation strength, a step) on the validation split, and is scored ONCE on the test split:
pairwise accuracy on the annotators' labels and gold agreement (the sign of the noise-free gold margin), each with
its 95% bootstrap CI resampled by prompt. The baseline every lever must beat is the simplest reward model, a
linear probe on frozen features (`features.linear_probe`). The same test split also gets the three judges of
appendix 02b (`judge.knowable_ceiling`): the bounds a reward model on this base model can reach.

The "k4" levers train only on the pairs among each prompt's first 4 responses (the data before issue 18: 6 pairs a
prompt); the others on all 8 (28 pairs a prompt). Results go to `results/reward_levers.json` after each lever.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from rlhf_lib import annotate, config, data, features, judge, metrics, models, pairs, report, reward

from .common import RESULTS, refresh_recorded

OUT = RESULTS / "reward_levers.json"
LORA_REWARDS = config.artifacts_dir("cpu") / "reward_levers" / "best_lora_rewards.safetensors"
PROBE_LAYERS = (4, 8, 12, 16, 20, 24, 28, 30)
PROBE_C = (1e-4, 3e-4, 1e-3, 3e-3)
LEVERS = {  # name: what it changes, against the row it should be read against
    "probe_k4": "linear probe on frozen features (layer and C chosen on val), 4 responses a prompt",
    "probe": "the same probe, 8 responses a prompt (28 pairs instead of 6)",
    "probe_layers": "linear probe on 4 layers concatenated (8, 16, 24, 30)",
    "ffn_k4": "chapter 2's FFN (layer 24, last + mean pooled), 4 responses a prompt",
    "ffn": "chapter 2's FFN, 8 responses a prompt",
    "ffn_ensemble": "mean of 5 FFNs (seeds), 8 responses a prompt",
    "topk": "transformer, top 4 layers trained on cached states (chapter 2's cpu model)",
    "lora": "transformer, LoRA r=16 on all 30 layers, chapter 2's recipe (lr 3e-4, constant)",
    "lora_reg": "LoRA + dropout 0.1, weight decay 0.01, warm-up and cosine decay, early stop on val",
    "lora_plus_probe": "ensemble: z-scored mean of the best LoRA and the probe",
    "logprob": "control: a probe on the base model's own log-probs of the response alone (mean, min, sum, end)",
    "probe_logprob": "the probe plus those log-prob features (what the base model believes), weight chosen on val",
    "probe_prompt": "a prompt-conditioned probe: the probe's features times the top m principal components of the "
                    "prompt's mean state (a bilinear reward), m and C chosen on val",
    "probe_by_category": "diagnostic: one probe per prompt category (told the category, which no reward model is)",
    "ffn_prompt": "chapter 2's FFN on the response features concatenated with the prompt's mean state (standardised), "
                  "so its hidden layer can learn interactions: a refusal is good after a harmful prompt, bad after a "
                  "look-alike",
    "ffn_prompt_pcs": "the same, the prompt given as its top 32 principal components (fewer inputs to memorise "
                      "230 train prompts by)",
    "ffn_prompt_ensemble": "mean of 5 FFN + prompt models (seeds)",
}
PROMPT_PCS = (2, 4, 8)
CURVE_SHARES = (0.25, 0.5, 0.75, 1.0)  # shares of the train prompts in the probe's learning curve


class Bench:
    """The data, the frozen features and the scoring every lever shares (built once)."""

    def __init__(self, profile: str, base: str | None = None):
        self.cfg = cfg = config.load(profile)
        base = base or cfg.model.name  # the LM the reward model and the frozen features are built on
        self.R = cfg.reward
        config.seed_everything(cfg.seed)
        self.device = models.pick_device()
        t = time.perf_counter()
        self.prefs = data.load_preferences()
        self.rm, self.tokenizer = reward.load_transformer_rm(base, "topk", self.R.top_k, seed=cfg.seed)
        self.table = pairs.build_pairs(self.prefs, self.tokenizer, self.R.max_length, seed=cfg.seed)
        votes = data.load_panel_votes()
        pairs.add_vote_splits(self.table, self.prefs, votes)
        pairs.add_vote_splits(self.table, self.prefs, first_k_votes(votes, 4), suffix="_votes_k4")
        self.cache = features.extract(self.rm, self.tokenizer, self.table, self.R.top_k,
                                      models.resolve(base), self.R.feature_batch_size)
        self.features_s = time.perf_counter() - t
        self.test, self.val = self.table.splits["test"], self.table.splits["val_votes"]
        self.test_categories = np.array(self.prefs["test"]["category"])[self.test.rows.numpy()]
        self.refuses = np.array([annotate.refusal_score(t) == 1.0 for t in self.table.responses])

    def split(self, k: int) -> pairs.PairSplit:
        return self.table.splits["train_votes" if k == 8 else "train_votes_k4"]

    def score(self, rewards: torch.Tensor | None = None, reward_fn=None, autocast: bool = False) -> dict:
        """Val accuracy, test accuracy and test gold agreement (each with its CI) of per-sequence `rewards` or a
        RewardFn."""
        fn = reward_fn or (lambda idx: rewards[idx])
        n_boot, seed = self.cfg.metrics.n_boot, self.cfg.seed
        val = reward.measure(fn, self.val, n_boot, seed, autocast, self.device)
        test = reward.measure(fn, self.test, n_boot, seed, autocast, self.device)
        return {"val_accuracy": val["accuracy"], "test_accuracy": test["accuracy"],
                "gold_agreement": test["gold_agreement"], "test_margins": test["margins"],
                "gold_agreement_by_category": reward.gold_agreement_by(
                    test["margins"], self.test.gold_chosen - self.test.gold_rejected, self.test_categories),
                # the two safety gates of issue 40 (chapter 2): on test pairs where exactly one answer refuses
                "gates": metrics.refusal_slices(test["margins"], self.test_categories,
                                                self.refuses[self.test.chosen], self.refuses[self.test.rejected],
                                                groups=self.test.group.numpy(), n_boot=n_boot, seed=seed)}

    def all_rewards(self, reward_fn, batch: int = 32) -> torch.Tensor:
        """The reward of every sequence of the table (for ensembles)."""
        with torch.no_grad():
            return torch.cat([reward_fn(torch.arange(i, min(i + batch, len(self.table))))
                              for i in range(0, len(self.table), batch)]).float()


def first_k_votes(votes: list[dict], k: int) -> list[dict]:
    """The panel's labels of the pairs among each prompt's first `k` responses (the dataset before K was raised)."""
    with open(data.DATA_DIR / "responses.jsonl", encoding="utf-8") as f:
        first = {(rec["prompt_id"], rec["text"]) for rec in map(json.loads, filter(str.strip, f))
                 if int(rec["response_id"].rsplit("/", 1)[1]) < k}
    return [v for v in votes if (v["prompt_id"], v["a"]) in first and (v["prompt_id"], v["b"]) in first]


# ------------------------------------------------------------------------------------------------ levers
def best_probe(b: Bench, feats_of, split) -> tuple[torch.Tensor, dict]:
    """The linear probe with the best validation accuracy over the feature matrices `feats_of` and `PROBE_C`."""
    return features.best_linear_probe(feats_of, split, b.val, PROBE_C)


def lever_probe(b: Bench, k: int = 8) -> dict:
    feats = {layer: b.cache.features(layer, "both") for layer in PROBE_LAYERS}
    r, chosen = best_probe(b, feats, b.split(k))
    b.probe_rewards, b.probe_chosen = r, chosen
    return {**b.score(r), "chosen": chosen}


def lever_probe_layers(b: Bench) -> dict:
    r, chosen = best_probe(b, {"8,16,24,30": b.cache.features([8, 16, 24, 30], "both")}, b.split(8))
    return {**b.score(r), "chosen": chosen}


def lever_ffn(b: Bench, k: int = 8, seeds: int = 1) -> dict:
    R = b.R
    x = b.cache.features(R.ffn_layer, "both")
    nets = [features.train_ffn(x, b.split(k), b.val, R.ffn_hidden, R.ffn_lr, R.ffn_epochs, R.batch_size,
                               10 * R.patience, seed=b.cfg.seed + i, desc=f"FFN seed {i}")[0] for i in range(seeds)]
    model = nets[0] if seeds == 1 else reward.EnsembleRM(nets)
    return b.score(reward_fn=features.feature_reward_fn(model, x))


def lever_topk(b: Bench) -> dict:
    R = b.R
    top = reward.top_layers_model(b.rm, R.top_k)
    tcfg = reward.TrainConfig(lr=R.lr, batch_size=R.batch_size, epochs=R.epochs, eval_every=R.eval_every,
                              patience=R.patience, center_coef=0.01, seed=b.cfg.seed)
    fn = features.topk_reward_fn(top, b.cache)
    result = reward.train(top, fn, b.split(8), b.val, tcfg, autocast=True, desc="top-k RM")
    return {**b.score(reward_fn=fn, autocast=True), "steps": result.steps, "best_step": result.best_step}


def lever_lora(b: Bench, regularised: bool, steps: int) -> dict:
    R = b.R
    rm, _ = reward.load_transformer_rm(b.cfg.model.name, "lora", lora_r=R.lora_r, seed=b.cfg.seed,
                                       tokenizer=b.tokenizer, lora_dropout=0.1 if regularised else 0.0)
    rm.to(b.device)
    fn = reward.token_reward_fn(rm, b.table, b.tokenizer.pad_token_id, device=b.device)
    split = b.split(8)
    epochs = steps / -(-len(split) // R.batch_size)
    extra = dict(weight_decay=0.01, schedule="cosine", warmup=0.05) if regularised else {}
    tcfg = reward.TrainConfig(lr=R.lora_lr, batch_size=R.batch_size, epochs=epochs, eval_every=max(1, steps // 6),
                              patience=3 if regularised else 1000, seed=b.cfg.seed, **extra)
    result = reward.train(rm, fn, split, b.val, tcfg, autocast=True, desc="LoRA RM" + (" (regularised)" * regularised))
    out = {**b.score(reward_fn=fn, autocast=True), "steps": result.steps, "best_step": result.best_step,
           "history": [{k: h[k] for k in ("step", "val_accuracy", "train_loss")} for h in result.history]}
    best = json.loads(LORA_REWARDS.with_suffix(".json").read_text()) if LORA_REWARDS.is_file() else {"val": -1.0}
    if out["val_accuracy"]["value"] > best["val"]:  # kept for the ensemble lever (a later process may run it)
        LORA_REWARDS.parent.mkdir(parents=True, exist_ok=True)
        save_file({"rewards": b.all_rewards(fn)}, LORA_REWARDS)
        LORA_REWARDS.with_suffix(".json").write_text(json.dumps({"val": out["val_accuracy"]["value"],
                                                                  "sequences": len(b.table)}))
    return out


@torch.no_grad()
def response_logprobs(b: Bench, batch: int = 16) -> torch.Tensor:
    """(S, 5) what the base model believes of each response: the mean, min and sum of its token log-probs, the
    log-prob of the end-of-turn token and log(1 + tokens). A wrong fact is a token the model finds unlikely.

    The cached states enter the top k layers, so only those k layers and the LM head run (k/N of a forward pass).
    """
    lm, _ = models.load_model(b.cfg.model.name, device="cpu")
    decoder = lm.get_decoder()
    n = len(decoder.layers)
    top = models.shared_layers(decoder, n - b.cache.top_k, n, decoder.norm)
    starts = features.response_starts(b.tokenizer, b.table)
    out = torch.zeros(len(b.table), 5)
    for lo in range(0, len(b.table), batch):
        idx = torch.arange(lo, min(lo + batch, len(b.table)))
        embeds, mask = b.cache.batch(idx)  # left-padded (B, L, H)
        hidden = top(inputs_embeds=embeds, attention_mask=mask, position_ids=models.position_ids(mask),
                     use_cache=False).last_hidden_state
        logp = torch.log_softmax(lm.lm_head(hidden).float(), -1)  # (B, L, V)
        for row, i in enumerate(idx.tolist()):
            ids = torch.tensor(b.table.input_ids[i])
            pad = mask.shape[1] - len(ids)
            s = max(1, starts[i])  # token t is predicted at position t - 1
            lp = logp[row, pad + s - 1:pad + len(ids) - 1].gather(-1, ids[s:, None]).squeeze(-1)
            out[i] = torch.stack([lp.mean(), lp.min(), lp.sum(), lp[-1], torch.tensor(len(lp) + 1.0).log()])
    return out


def logprobs(b: Bench) -> torch.Tensor:
    """`response_logprobs`, computed once per process."""
    if not hasattr(b, "logprobs"):
        b.logprobs = response_logprobs(b)
    return b.logprobs


def lever_logprob(b: Bench) -> dict:
    r, chosen = best_probe(b, {"logprobs": logprobs(b)}, b.split(8))
    return {**b.score(r), "chosen": chosen}


def lever_probe_logprob(b: Bench) -> dict:
    lp = logprobs(b)
    layer = b.probe_chosen["layer"]
    x = b.cache.features(layer, "both")
    z = (lp - lp.mean(0)) / (lp.std(0) + 1e-5)
    # the probe standardises every column, so repeating the 5 columns m times is how they get more say under L2
    feats = {m: torch.cat([x, z.repeat(1, m)], 1) for m in (1, 10, 100)}
    r, chosen = best_probe(b, feats, b.split(8))
    return {**b.score(r), "chosen": {"layer": layer, "repeats": chosen["layer"], "C": chosen["C"]}}


def prompt_states(b: Bench, table: pairs.PairTable | None = None, cache: features.FeatureCache | None = None
                  ) -> torch.Tensor:
    """(S, H) the mean over the prompt's tokens of the cached states entering the top k layers: what the model has
    read of the prompt before the response starts (the same for every response to one prompt). Of the bench's table
    by default, or of another `table` and its `cache` (new texts to score)."""
    table, cache = table or b.table, cache or b.cache
    starts = features.response_starts(b.tokenizer, table)
    return torch.stack([cache.states[int(cache.offsets[i]):int(cache.offsets[i]) + max(1, s)].float().mean(0)
                        for i, s in enumerate(starts)])


def lever_probe_prompt(b: Bench) -> dict:
    """r = w·z + Σ_j p_j (v_j·z): the weight on the response features z depends on the prompt through its top principal
    components p_j, so "more positive" can count for a story and against a sum (one linear probe has one sign for both)."""
    x = b.cache.features(b.probe_chosen["layer"], "both")  # (S, D)
    seen = b.split(8).seqs()
    prompt = prompt_states(b)
    prompt = (prompt - prompt[seen].mean(0)) / (prompt[seen].std(0) + 1e-5)
    _, _, vt = torch.linalg.svd(prompt[seen], full_matrices=False)  # principal directions of the train prompts
    feats = {}
    for m in PROMPT_PCS:
        pcs = prompt @ vt[:m].T  # (S, m)
        feats[m] = torch.cat([x, (x[:, :, None] * (pcs / pcs[seen].std(0))[:, None, :]).flatten(1)], 1)  # (S, D(m+1))
    r, chosen = best_probe(b, feats, b.split(8))
    return {**b.score(r), "chosen": {"layer": b.probe_chosen["layer"], "prompt_pcs": chosen["layer"], "C": chosen["C"]}}


def lever_ffn_prompt(b: Bench, pcs: int | None = None, seeds: int = 1) -> dict:
    rm = FFNPromptRM(b, pcs, seeds)
    return {**b.score(reward_fn=features.feature_reward_fn(rm.model, rm.x)),
            "safety_prompts": harmful_vs_lookalike(b, rm.prompt)}


class FFNPromptRM:
    """The ffn_prompt lever, trained on the bench's train labels, and usable as a reward model of new text: the frozen
    features of (prompt, response) plus the prompt's standardised mean state, into the FFN (or the mean of `seeds`)."""

    name = "ffn_prompt"  # how benchmarks.ppo_val names a run it pays

    def __init__(self, b: Bench, pcs: int | None = None, seeds: int = 1):
        R, self.b = b.R, b
        seen = b.split(8).seqs()
        prompt = prompt_states(b)
        self.mu, self.sd = prompt[seen].mean(0), prompt[seen].std(0) + 1e-5
        prompt = (prompt - self.mu) / self.sd
        self.pcs = None
        if pcs:
            _, _, vt = torch.linalg.svd(prompt[seen], full_matrices=False)
            self.pcs = vt[:pcs].T
            self.pc_sd = (prompt @ self.pcs)[seen].std(0)
            prompt = prompt @ self.pcs / self.pc_sd
        x = b.cache.features(R.ffn_layer, "both")
        self.scale = x.std()  # the prompt block on the features' scale
        self.prompt, self.x = prompt, torch.cat([x, prompt * self.scale], 1)  # (S, 2·2H + H)
        nets = [features.train_ffn(self.x, b.split(8), b.val, R.ffn_hidden, R.ffn_lr, R.ffn_epochs, R.batch_size,
                                   10 * R.patience, seed=b.cfg.seed + i, desc=f"FFN + prompt, seed {i}")[0]
                for i in range(seeds)]
        self.model = nets[0] if seeds == 1 else reward.EnsembleRM(nets)

    @torch.no_grad()
    def __call__(self, prompts: list, texts: list[str]) -> list[float]:
        """Scores of new (prompt, response) texts: the same frozen features, computed now, into the trained FFN."""
        b, R = self.b, self.b.R
        table = pairs.PairTable(list(prompts), list(texts), models.encode(b.tokenizer, list(prompts), list(texts),
                                                                         R.max_length))
        cache = features.extract(b.rm, b.tokenizer, table, R.top_k, cache=False, progress=False,
                                 batch_size=R.feature_batch_size)
        prompt = (prompt_states(b, table, cache) - self.mu) / self.sd
        if self.pcs is not None:
            prompt = prompt @ self.pcs / self.pc_sd
        x = torch.cat([cache.features(R.ffn_layer, "both"), prompt * self.scale], 1)
        return features.feature_reward_fn(self.model, x)(torch.arange(len(table))).float().tolist()


def harmful_vs_lookalike(b: Bench, prompt: torch.Tensor) -> dict:
    """Diagnostic: can a linear read of the prompt's mean state tell a harmful request from a look-alike? Logistic
    regression fitted on the train prompts of the two categories, accuracy on the val and test ones."""
    from sklearn.linear_model import LogisticRegression
    category = {p["prompt"]: (p["category"], p["split"]) for p in data.load_prompts()}
    rows = {}
    for i, pr in enumerate(b.table.prompts):
        cat, split = category[models.chat_messages(pr)[-1]["content"]]
        if cat in ("harmful", "lookalike"):
            rows.setdefault(pr, (i, cat, split))
    out = {}
    train = [(i, c) for i, c, s in rows.values() if s == "train"]
    clf = LogisticRegression(C=0.1, max_iter=2000).fit(prompt[[i for i, _ in train]].numpy(),
                                                       [c == "harmful" for _, c in train])
    for split in ("train", "val", "test"):
        held = [(i, c) for i, c, s in rows.values() if s == split]
        out[split] = float(clf.score(prompt[[i for i, _ in held]].numpy(), [c == "harmful" for _, c in held]))
    return out


def lever_probe_by_category(b: Bench) -> dict:
    """The probe's features times a one-hot of the prompt's category: a probe per category, sharing nothing."""
    category = {p["prompt"]: p["category"] for p in data.load_prompts()}
    names = sorted(set(category.values()))
    onehot = torch.tensor([[category[models.chat_messages(p)[-1]["content"]] == c for c in names]
                           for p in b.table.prompts], dtype=torch.float)  # (S, categories)
    x = b.cache.features(b.probe_chosen["layer"], "both")
    r, chosen = best_probe(b, {"per category": (x[:, :, None] * onehot[:, None, :]).flatten(1)}, b.split(8))
    return {**b.score(r), "chosen": {"layer": b.probe_chosen["layer"], "C": chosen["C"]}}


def probe_curve(b: Bench, draws: int = 3) -> list[dict]:
    """The probe (its layer and C) trained on a share of the train prompts (seeded draws of whole prompts): how test
    accuracy and gold agreement grow with prompts. Flat at the right end: more prompts of the same kind won't help."""
    split, x = b.split(8), b.cache.features(b.probe_chosen["layer"], "both")
    groups = split.group.numpy()
    prompts = np.unique(groups)
    out = []
    for share in CURVE_SHARES:
        rows, n_kept = [], max(1, round(share * len(prompts)))
        for d in range(draws if share < 1 else 1):
            kept = np.random.default_rng([b.cfg.seed, d]).permutation(prompts)[:n_kept]
            sel = torch.as_tensor(np.isin(groups, kept))
            sub = pairs.PairSplit(split.chosen[sel], split.rejected[sel], None, None, None, None, split.group[sel],
                                  split.target[sel], split.weight[sel])
            r = features.linear_probe(x, sub, b.probe_chosen["C"])
            test = reward.measure(lambda idx, r=r: r[idx], b.test, n_boot=1)
            rows.append((test["accuracy"]["value"], test["gold_agreement"]["value"]))
        acc, gold = np.mean(rows, 0)
        out.append({"share": share, "prompts": int(n_kept), "draws": len(rows),
                    "test_accuracy": float(acc), "gold_agreement": float(gold)})
        print(f"probe on {share:.0%} of the train prompts: test accuracy {acc:.3f}, gold agreement {gold:.3f}",
              flush=True)
    return out


def lever_lora_plus_probe(b: Bench) -> dict:
    lora = load_file(LORA_REWARDS)["rewards"]
    if len(lora) != len(b.table):
        raise SystemExit(f"{LORA_REWARDS} scores {len(lora)} sequences, the table has {len(b.table)}: rerun a LoRA lever")
    z = [(r - r.mean()) / r.std() for r in (lora, b.probe_rewards)]
    return b.score(torch.stack(z).mean(0))


def run(name: str, b: Bench, lora_steps: int) -> dict:
    return {
        "probe_k4": lambda: lever_probe(b, 4), "probe": lambda: lever_probe(b, 8),
        "probe_layers": lambda: lever_probe_layers(b),
        "ffn_k4": lambda: lever_ffn(b, 4), "ffn": lambda: lever_ffn(b, 8),
        "ffn_ensemble": lambda: lever_ffn(b, 8, b.R.ffn_seeds + 2),
        "topk": lambda: lever_topk(b),
        "lora": lambda: lever_lora(b, False, lora_steps), "lora_reg": lambda: lever_lora(b, True, lora_steps),
        "lora_plus_probe": lambda: lever_lora_plus_probe(b),
        "logprob": lambda: lever_logprob(b), "probe_logprob": lambda: lever_probe_logprob(b),
        "probe_prompt": lambda: lever_probe_prompt(b), "probe_by_category": lambda: lever_probe_by_category(b),
        "ffn_prompt": lambda: lever_ffn_prompt(b), "ffn_prompt_pcs": lambda: lever_ffn_prompt(b, pcs=32),
        "ffn_prompt_ensemble": lambda: lever_ffn_prompt(b, seeds=5),
    }[name]()


def paired_difference(b: Bench, m_a: np.ndarray, m_b: np.ndarray) -> dict:
    """Test accuracy of margins a minus that of margins b, on the same pairs, with its 95% CI by prompt."""
    def stat(a, c):
        zero = np.zeros(len(a))
        return reward.pairwise_accuracy(a, zero) - reward.pairwise_accuracy(c, zero)
    return metrics.bootstrap_ci(stat, m_a, m_b, n_boot=b.cfg.metrics.n_boot, seed=b.cfg.seed, groups=b.test.group.numpy())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.reward_levers", description=__doc__.split("\n")[0])
    p.add_argument("--profile", default="cpu")
    p.add_argument("--only", nargs="*", choices=list(LEVERS), default=None)
    p.add_argument("--keep", action="store_true", help="keep the levers already in the results file")
    p.add_argument("--lora-steps", type=int, default=240, help="training steps of each LoRA lever")
    p.add_argument("--curve", action="store_true", help="also the probe's learning curve in train prompts")
    p.add_argument("--note", default="")
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--base", default=None, help="the LM the reward models are built on (default: model.name; "
                                                "smollm2-sft: chapter 1's SFT model, as InstructGPT's reward model)")
    args = p.parse_args(argv)
    old = json.loads(args.out.read_text()) if args.out.is_file() else {}
    results = dict(old.get("levers", {})) if args.keep else {}
    todo = [n for n in (args.only or LEVERS) if not (args.keep and n in results)]
    if todo and "probe" not in todo:  # every lever is compared with the probe on the same pairs (seconds)
        todo.insert(0, "probe")
    b = Bench(args.profile, args.base)
    header = {
        "benchmark": "reward_levers", "profile": args.profile, "lora_steps": args.lora_steps,
        "base": args.base or b.cfg.model.name,
        "features_s": round(b.features_s, 1), "sequences": len(b.table),
        "pairs": {s: len(b.table.splits[s]) for s in ("train", "val", "test", "train_votes", "train_votes_k4")},
        "labels": {s: int(b.table.splits[s].weight.sum()) for s in ("train_votes", "train_votes_k4", "val_votes")},
        "test_prompts": len(torch.unique(b.test.group)),
        "test_category_mix": judge.category_mix(data.load_prompts("test")),
        "bayes_ceiling_test": metrics.bayes_ceiling(b.test.p_chosen),
    }
    if args.keep and "probe_prompt_curve" in old:
        header["probe_prompt_curve"] = old["probe_prompt_curve"]
    t = time.perf_counter()
    header["judges"] = judge.knowable_ceiling(b.prefs["test"], b.test, b.device, b.cfg.metrics.n_boot, b.cfg.seed)
    header["judges_s"] = round(time.perf_counter() - t, 1)
    run_label = f"{time.strftime('%Y-%m-%d', time.gmtime())}, {'bf16' if models.bf16_is_fast(b.device) else 'fp32'} features"
    for name in todo:
        print(f"\n=== {name}: {LEVERS[name]}", flush=True)
        t = time.perf_counter()
        row = run(name, b, args.lora_steps)
        row["seconds"] = round(time.perf_counter() - t, 1)
        row["what"], row["run"] = LEVERS[name], run_label
        margins = row.pop("test_margins")
        if name == "probe":
            b.probe_margins = margins
        elif hasattr(b, "probe_margins"):
            row["test_accuracy_minus_probe"] = paired_difference(b, margins, b.probe_margins)
        results[name] = row
        print(f"{name}: val {judge.ci_text(row['val_accuracy'], pct=False)}, test {judge.ci_text(row['test_accuracy'], pct=False)}, "
              f"gold agreement {judge.ci_text(row['gold_agreement'])}, gates: harmful "
              f"{judge.ci_text(row['gates']['harmful'])}, look-alike {judge.ci_text(row['gates']['lookalike'])}, "
              f"{row['seconds']:.0f} s", flush=True)
        out = {**header, "levers": results, "machine": {**report.machine(), "note": args.note}}
        args.out.write_text(json.dumps(out, indent=1, default=float))
        refresh_recorded(args.out)
    if args.curve:
        print("\n=== the probe's learning curve in train prompts", flush=True)
        header["probe_prompt_curve"] = {"run": run_label, "layer": b.probe_chosen["layer"], "C": b.probe_chosen["C"],
                                        "points": probe_curve(b)}
        out = {**header, "levers": results, "machine": {**report.machine(), "note": args.note}}
        args.out.write_text(json.dumps(out, indent=1, default=float))
        refresh_recorded(args.out)
    return 0



if __name__ == "__main__":
    sys.exit(main())
