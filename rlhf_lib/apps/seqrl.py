"""RLHF on small token sequences: the machinery chapter 5's image and music applications share.

A domain (sprites, melodies) supplies tokens, procedural data and a gold utility made of named components; this
module supplies the rest of the loop, the same for every domain:

    tiny_llama        a small LlamaForCausalLM over the domain's own vocabulary (a valid `rlhf_lib.ppo` policy)
    pretrain          next-token training on procedurally generated sequences (the "pre-trained generator")
    generate          samples: every episode's prompt is BOS, or BOS and a domain prompt (e.g. a sprite's
                      colour and shape words); a sample is returned as prompt + response, what the gold judges
    label_pairs       a panel of raters (chapter 1's `annotate.make_panel`, with the domain's gold weights as
                      `weights={domain: weights}`) compares pairs -> labels (A / B / tie) and soft targets, in
                      the course's one pair container `pairs.PairSplit`
    SeqRewardModel    a small bidirectional transformer that scores a whole sequence
    train_reward_model  the Bradley-Terry loss on the panel's soft labels, in chapter 2's loop (`reward.train`)
    reward_fn         the reward model as a `ppo.ResponseScoreFn`, normalised on the reference's samples

Token ids 0, 1, 2 are EOS, PAD and BOS in every domain; the domain's own symbols start at 3.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .. import annotate, judge, metrics, models, ppo, reward
from ..pairs import PairSplit

EOS, PAD, BOS = 0, 1, 2
N_SPECIAL = 3


# ========================================================================================= the generator
def tiny_llama(vocab_size: int, hidden: int = 64, layers: int = 2, heads: int = 4, max_len: int = 128,
               seed: int = 0):
    """A randomly initialised LlamaForCausalLM over `vocab_size` custom tokens (EOS 0, PAD 1, BOS 2)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(vocab_size=vocab_size, hidden_size=hidden, intermediate_size=2 * hidden,
                         num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
                         max_position_embeddings=max_len, bos_token_id=BOS, eos_token_id=EOS, pad_token_id=PAD,
                         tie_word_embeddings=False)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).eval()
    model.generation_config.pad_token_id = PAD
    model.generation_config.eos_token_id = EOS
    return model


def _check_sequences(seqs: Sequence[Sequence[int]], vocab_size: int, what: str) -> None:
    for i, s in enumerate(seqs):
        if len(s) == 0:
            raise ValueError(f"{what} {i} is empty")
        bad = [t for t in s if not 0 <= int(t) < vocab_size]
        if bad:
            raise ValueError(f"{what} {i} holds token {bad[0]} outside the vocabulary [0, {vocab_size})")


def pretrain(model, sequences: Sequence[Sequence[int]], epochs: int = 3, batch_size: int = 64, lr: float = 3e-3,
             seed: int = 0, progress: bool = True) -> list[float]:
    """Next-token cross-entropy on `sequences` (each BOS ... EOS); returns the loss of every step.

    This is the "pre-training" of chapter 5's generators: seconds to a minute on a CPU for a few thousand
    short sequences. AdamW with a linear decay to 0.
    """
    _check_sequences(sequences, model.config.vocab_size, "training sequence")
    gen = torch.Generator().manual_seed(seed)
    n_steps = epochs * ((len(sequences) + batch_size - 1) // batch_size)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1 - s / max(1, n_steps))
    losses: list[float] = []
    model.train()
    bar = tqdm(total=n_steps, desc="pre-training", disable=not progress)
    for _ in range(epochs):
        for idx in torch.randperm(len(sequences), generator=gen).split(batch_size):
            ids, mask = models.pad_batch([sequences[i] for i in idx], PAD)  # (B, L) right-padded
            labels = ids.masked_fill(mask == 0, -100)
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            losses.append(loss.item())
            bar.update()
            bar.set_postfix(loss=f"{loss.item():.3f}")
    bar.close()
    model.eval()
    return losses


def ppo_config(section, prefix: str, max_new_tokens: int, seed: int = 0, **changes) -> ppo.PPOConfig:
    """A `ppo.PPOConfig` from chapter 5's `apps.*` rows: `{prefix}ppo_steps` and `{prefix}beta` for the domain,
    `seq_ppo_*` shared unless the domain has its own `{prefix}ppo_lr`; `max_new_tokens` is the domain's sequence
    length plus EOS. Fixed β, fp32, sampling at T = 1 (the generator's own distribution). No EOS penalty unless the
    domain has a `{prefix}missing_eos_penalty` row: otherwise a malformed sequence is the gold utility's business,
    and the reward model learns it from the raters."""
    values = dict(steps=getattr(section, f"{prefix}ppo_steps"), beta=getattr(section, f"{prefix}beta"),
                  batch_size=section.seq_ppo_batch_size, minibatch_size=section.seq_ppo_minibatch,
                  epochs=section.seq_ppo_epochs, lr=getattr(section, f"{prefix}ppo_lr", section.seq_ppo_lr),
                  target_kl=None, temperature=1.0, max_new_tokens=max_new_tokens, autocast=False,
                  missing_eos_penalty=getattr(section, f"{prefix}missing_eos_penalty", None), seed=seed,
                  save_every=10_000)
    values.update(changes)
    return ppo.PPOConfig(**values)


def train_ppo(ac: ppo.ActorCritic, reward_function: ppo.ResponseScoreFn, cfg: ppo.PPOConfig,
              gold: Callable[[Sequence[int]], float], progress: bool = True,
              prompts: Sequence[Sequence[int]] | None = None) -> tuple[list[dict], list[dict]]:
    """`ppo.train` on generation from [BOS] (or from [BOS, *prompt] for each of `prompts`, drawn at random each
    step; the reward function gets the prompt as its meta); returns PPO's log and the gold log."""
    gold_log: list[dict] = []
    prefixes = [list(p) for p in prompts] if prompts else [[]] * cfg.batch_size
    history = ppo.train(ac, [[BOS, *p] for p in prefixes], prefixes, reward_function, cfg, EOS, PAD,
                        progress=progress, callback=gold_tracker(gold, gold_log))
    return history, gold_log


def pretrained_generator(path: str | Path, sequences: Sequence[Sequence[int]], vocab_size: int, hidden: int,
                         layers: int, epochs: int, max_len: int = 128, seed: int = 0,
                         progress: bool = True) -> tuple[nn.Module, list[float] | None]:
    """The generator pre-trained on `sequences` (each BOS ... EOS): loaded from `path` when an earlier run saved
    one with the same sizes, else built, trained and saved there (safetensors). Returns (model, losses or None)."""
    from transformers import LlamaForCausalLM

    path = Path(path)
    info = {"vocab_size": vocab_size, "hidden": hidden, "layers": layers, "epochs": epochs, "n": len(sequences),
            "seed": seed}
    if (path / "model.safetensors").is_file() and (path / "pretrain.json").is_file():
        saved = json.loads((path / "pretrain.json").read_text())
        if saved.get("info") == info:
            return LlamaForCausalLM.from_pretrained(path, use_safetensors=True, trust_remote_code=False).eval(), None
    model = tiny_llama(vocab_size, hidden, layers, max_len=max_len, seed=seed)
    losses = pretrain(model, sequences, epochs=epochs, seed=seed, progress=progress)
    model.save_pretrained(path, safe_serialization=True)
    (path / "pretrain.json").write_text(json.dumps({"info": info, "losses": losses}))
    return model, losses


def actor_critic(policy) -> ppo.ActorCritic:
    """Full fine-tuning of a small policy with a frozen copy of it as π_ref and a value head on its states."""
    return ppo.ActorCritic(policy, ref_policy=copy.deepcopy(policy))


def generate(ac_or_model, n: int, max_new_tokens: int, seed: int = 0, reference: bool = False,
             batch_size: int = 128, prompts: Sequence[Sequence[int]] | None = None,
             temperature: float = 1.0) -> tuple[list[list[int]], list[float]]:
    """`n` samples at temperature T (1: the model's own distribution) -> (prompt + response token lists without
    EOS, KL per sample, both log-probabilities taken at T).

    Each episode starts from [BOS], or from [BOS, *prompts[i]] (`prompts`: n domain prompts, which each sample keeps
    in front). Give an `ActorCritic` to sample the policy (or its reference) and measure Σ_t log π − log π_ref; a
    bare model is wrapped on the fly (KL 0).
    """
    ac = ac_or_model if isinstance(ac_or_model, ppo.ActorCritic) else actor_critic(ac_or_model)
    cfg = ppo.PPOConfig(max_new_tokens=max_new_tokens, temperature=temperature, autocast=False)
    prefixes = [list(p) for p in prompts] if prompts is not None else [[]] * n
    if len(prefixes) != n:
        raise ValueError(f"generate: {n} samples need {n} prompts (got {len(prefixes)})")
    ids, _, kl = judge.sample_with_kl(ac, [[BOS, *p] for p in prefixes], cfg, EOS, PAD, seed=seed,
                                    reference=reference, batch_size=batch_size)
    return [p + strip_eos(r) for p, r in zip(prefixes, ids, strict=True)], kl


def strip_eos(tokens: Sequence[int]) -> list[int]:
    """A sampled response without its EOS (and anything after it)."""
    tokens = list(tokens)
    return tokens[:tokens.index(EOS)] if EOS in tokens else tokens


# ============================================================================================ the panel
def label_pairs(panel: list[annotate.Annotator], domain: str, seqs: Sequence[Sequence[int]], n_pairs: int,
                components: Callable[[Sequence[int]], dict[str, float]], gold: Callable[[Sequence[int]], float],
                seed: int = 0, groups: Sequence | None = None) -> PairSplit:
    """Draw `n_pairs` random pairs of different sequences from `seqs` and let every rater of the panel judge each.

    Returns a `pairs.PairSplit` that carries its sequences: `chosen` is side a, `rejected` side b, `target` the share
    of non-tie votes for a (0.5 when every rater tied), `weight` their number, `labels` (B, K) each rater's verdict.

    `groups` (one key per sequence, e.g. its prompt): both sequences of a pair come from the same group, as people
    compare two images made for the same prompt.
    """
    if len(seqs) < 2:
        raise ValueError(f"need at least two sequences to make pairs (got {len(seqs)})")
    rng = np.random.default_rng(seed)
    comps = [components(s) for s in seqs]
    record = {"category": domain}
    members: dict = {}
    for i, g in enumerate(groups if groups is not None else [0] * len(seqs)):
        members.setdefault(g, []).append(i)
    pools = [m for m in members.values() if len(m) >= 2]
    if not pools:
        raise ValueError("no group holds two sequences to make a pair of")
    a_idx, b_idx, rows = [], [], []
    for _ in range(n_pairs):
        pool = pools[int(rng.integers(len(pools)))] if len(pools) > 1 else pools[0]
        i, j = rng.choice(pool, size=2, replace=False)
        a_idx.append(i)
        b_idx.append(j)
        rows.append([r.compare(record, comps[i], comps[j]) for r in panel])
    labels = np.array(rows, dtype=object).reshape(n_pairs, len(panel))
    n_a, n_b = (labels == annotate.A).sum(1), (labels == annotate.B).sum(1)
    weight = (n_a + n_b).astype(float)
    target = np.where(weight > 0, n_a / np.maximum(weight, 1), 0.5)
    gold_all = np.array([gold(s) for s in seqs])
    sides = [list(seqs[i]) for i in a_idx] + [list(seqs[j]) for j in b_idx]
    return PairSplit(torch.arange(n_pairs), torch.arange(n_pairs, 2 * n_pairs), None,
                     torch.as_tensor(gold_all[a_idx]), torch.as_tensor(gold_all[b_idx]),
                     target=torch.as_tensor(target), weight=torch.as_tensor(weight), labels=labels, sequences=sides)


def panel_stats(pairs: PairSplit) -> dict[str, float]:
    """How people-like the panel is: pairwise agreement on non-tie votes, tie share, and agreement with gold."""
    decided = pairs.labels != annotate.TIE
    gold_sign = np.sign((pairs.gold_chosen - pairs.gold_rejected).numpy())[:, None]
    vote_sign = np.where(pairs.labels == annotate.A, 1, -1)
    with_gold = (vote_sign == gold_sign)[decided & (gold_sign != 0)]
    return {"agreement": annotate.pairwise_agreement(pairs.labels), "ties": float((~decided).mean()),
            "votes_agree_with_gold": float(with_gold.mean()) if with_gold.size else float("nan"),
            "fleiss_kappa": annotate.fleiss_kappa(pairs.labels)}


# ======================================================================================= the reward model
class SeqRewardModel(nn.Module):
    """A small bidirectional transformer over a whole sequence -> one scalar reward.

    Token and learned position embeddings, `layers` encoder blocks, mean-pooling over the real tokens, a linear
    head. Bidirectional, unlike the generator: the reward model sees the finished sequence at once.
    """

    def __init__(self, vocab_size: int, max_len: int, dim: int = 64, layers: int = 2, heads: int = 4,
                 dropout: float = 0.1, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.max_len = max_len
        self.tok = nn.Embedding(vocab_size, dim)
        self.pos = nn.Embedding(max_len, dim)
        block = nn.TransformerEncoderLayer(dim, heads, 2 * dim, dropout, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, 1)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """ids, mask (B, L) -> rewards (B,)."""
        ids, mask = ids[:, :self.max_len], mask[:, :self.max_len]
        x = self.tok(ids) + self.pos(torch.arange(ids.shape[1], device=ids.device))  # (B, L, D)
        x = self.norm(self.encoder(x, src_key_padding_mask=mask == 0))
        pooled = (x * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)  # (B, D)
        return self.head(pooled).squeeze(-1)

    @torch.no_grad()
    def score(self, seqs: Sequence[Sequence[int]], batch_size: int = 256) -> np.ndarray:
        """Rewards of token lists (BOS and EOS added here, as in training)."""
        self.eval()
        out = []
        for start in range(0, len(seqs), batch_size):
            ids, mask = models.pad_batch([_framed(s) for s in seqs[start:start + batch_size]], PAD)
            out.append(self(ids, mask))
        return torch.cat(out).numpy() if out else np.zeros(0)


def _framed(seq: Sequence[int]) -> list[int]:
    return [BOS, *seq, EOS]


def train_reward_model(model: SeqRewardModel, train: PairSplit, val: PairSplit | None = None, epochs: int = 10,
                       batch_size: int = 64, lr: float = 1e-3, seed: int = 0, progress: bool = True) -> list[dict]:
    """Bradley-Terry training on the panel's soft labels in the course's one loop (`reward.train`): target = share of
    votes for A, weight = number of non-tie votes, so a 3-2 split teaches less than a 5-0 verdict. This wrapper builds
    the model's inputs and the domains' recipe: AdamW with weight decay 0.01, one running shuffle, every epoch trained
    (no early stopping, the last weights kept). Returns per-epoch logs (train loss; val accuracy against the panel
    majority and against gold when `val` is given)."""
    if len(train) == 0:
        raise ValueError("no training pairs")
    fit = train.take(np.flatnonzero(train.weight.numpy() > 0))  # pairs every rater called a tie carry no BT signal
    held = val if val is not None and len(val) else None
    both = fit + (held if held is not None else fit)  # one list of sequences for the reward function to index
    fit, check = both.take(slice(0, len(fit))), both.take(slice(len(fit), None))
    fit = dataclasses.replace(fit, target=fit.target.float(), weight=fit.weight.float())  # the loss in fp32

    def rewards(idx: torch.Tensor) -> torch.Tensor:
        ids, mask = models.pad_batch([_framed(both.sequences[i]) for i in idx.tolist()], PAD)
        return model(ids, mask)  # (N,)

    gen = torch.Generator().manual_seed(seed)
    steps = math.ceil(len(fit) / batch_size)
    cfg = reward.TrainConfig(lr=lr, weight_decay=0.01, batch_size=batch_size, epochs=epochs, eval_every=max(1, steps),
                             grad_clip=1.0, group_by_prompt=False, seed=seed)
    result = reward.train(model, rewards, fit, check, cfg, desc="reward model", progress=progress,
                          order=lambda epoch: torch.randperm(len(fit), generator=gen), dedupe=False, reseed=False,
                          early_stopping=False, extra_figures=(lambda: rm_accuracy(model, held)) if held is not None else None)
    return [{"epoch": round(h["epoch"]), "train_loss": h["train_loss"],
             **{k: h[k] for k in ("acc_panel", "acc_gold") if k in h}} for h in result.history]


def rm_accuracy(model: SeqRewardModel, pairs: PairSplit, n_boot: int | None = None, seed: int = 0) -> dict:
    """How often the reward model orders a pair like the panel's majority, and like the gold utility (ties left out):
    `reward.order_agreement`, a zero margin read as preferring b. With `n_boot`, each is {value, lo, hi} with its 95%
    bootstrap CI over the pairs (every pair is two independent samples: no prompts to group by)."""
    a, b = pairs.sides()
    margin = model.score(a) - model.score(b)

    def stat(m, panel, gold):
        return {"acc_panel": reward.order_agreement(m, panel, strict=False),
                "acc_gold": reward.order_agreement(m, gold, strict=False)}

    columns = (margin, np.sign(pairs.target.numpy() - 0.5), np.sign((pairs.gold_chosen - pairs.gold_rejected).numpy()))
    return stat(*columns) if n_boot is None else metrics.bootstrap_ci(stat, *columns, n_boot=n_boot, seed=seed)


def reward_fn(model: SeqRewardModel, reference_samples: Sequence[Sequence[int]]) -> tuple[ppo.ResponseScoreFn, float, float]:
    """The reward model as a `ppo.ResponseScoreFn` on (s − μ)/σ, with μ, σ measured on the reference's samples.

    Normalised like every reward function of the course (`judge.reward_normaliser`, `reward.normalised`); what stays
    here is what a token domain differs in: no text to decode, each response scored whole with its domain prompt."""
    mean, std = judge.reward_normaliser(model.score(reference_samples))

    def fn(meta, responses):  # meta: each episode's domain prompt (a list of tokens, maybe empty) or None
        seqs = [list(m or []) + strip_eos(r) for m, r in zip(meta, responses, strict=True)]
        return reward.normalised(model.score(seqs), mean, std)

    return fn, mean, std


# ============================================================================================ evaluation
def gold_tracker(gold: Callable[[Sequence[int]], float], log: list[dict]):
    """A `ppo.train` callback that appends the mean gold utility of each rollout batch to `log` (free: the
    gold is a Python function), so the proxy (reward-model score) and the gold can be plotted side by side."""
    def callback(step, stats, batch):
        prefixes = [[t for t in row if t not in (PAD, BOS)] for row in batch.ids[:, :batch.n_prompt].tolist()]
        golds = [gold(p + strip_eos(r)) for p, r in zip(prefixes, batch.responses, strict=True)]
        log.append({"step": step + 1, "gold": float(np.mean(golds)), "rm": stats["objective/scores"],
                    "kl": stats["objective/kl"]})
    return callback


def compare(ac: ppo.ActorCritic, gold: Callable[[Sequence[int]], float], n: int, max_new_tokens: int,
            seed: int = 100, rm: SeqRewardModel | None = None, n_boot: int = 1000,
            prompts: Sequence[Sequence[int]] | None = None) -> dict:
    """Sample `n` sequences from the tuned policy and `n` from the reference; gold-judged win rate (ties split)
    with its 95% bootstrap CI ("win": {value, lo, hi}), KL per sequence, mean gold (and reward-model score) of each.

    Without prompts every pair (i-th tuned sample, i-th reference sample) is independent of the others, so the CI
    resamples pairs (chapter 3's bootstrap). With `prompts` (n of them, the same for both models) the i-th samples
    answer the same prompt and the CI resamples prompts (chapter 3's bootstrap by prompt).
    """
    tuned, kl = generate(ac, n, max_new_tokens, seed=seed, prompts=prompts)
    base, _ = generate(ac, n, max_new_tokens, seed=seed + 1, reference=True, prompts=prompts)
    g_t, g_b = np.array([gold(s) for s in tuned]), np.array([gold(s) for s in base])
    groups = None if prompts is None else np.array([str(list(p)) for p in prompts])
    win = metrics.bootstrap_ci(judge.win_rate, g_t, g_b, n_boot=n_boot, seed=seed, groups=groups)
    out = {"win": win, "win_rate": win["value"], "kl": float(np.mean(kl)), "gold_tuned": float(g_t.mean()),
           "gold_base": float(g_b.mean()), "tuned": tuned, "base": base, "gold_t": g_t, "gold_b": g_b}
    if rm is not None:
        out["rm_tuned"], out["rm_base"] = float(rm.score(tuned).mean()), float(rm.score(base).mean())
    return out
