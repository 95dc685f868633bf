"""Frozen features of the base model, computed once and cached, and the reward models trained on them.

One forward pass of the frozen base model over every unique (prompt, response) gives us
  * pooled features of every layer (last token and mean over the response) for the feedforward RM;
  * the hidden states entering the top `k` layers, token by token, for the transformer RM: training
    only the top k layers on these cached states is EXACT (the bottom layers are frozen, so their
    output never changes) and costs k/N of a full forward/backward pass.
The cache lives in `artifacts/<profile>/reward_cache/` (or the run's output folder), keyed by a hash of the model's
weights (their bytes, not their size), the texts, their token ids and k.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from tqdm.auto import tqdm

from . import models
from .config import artifacts_dir
from .pairs import PairSplit, PairTable
from .reward import FeedForwardRM, TrainConfig, sequence_rewards, train


@dataclass
class FeatureCache:
    """pooled: (S, N+1, 2, H) last-token and response-mean of every layer's output (0 = embeddings);
    states: (T, H) the input of layer N-k for every token of every sequence, flat; offsets: (S+1,)."""

    pooled: torch.Tensor
    states: torch.Tensor
    offsets: torch.Tensor
    top_k: int

    def features(self, layer: int | Sequence[int], kind: str = "both") -> torch.Tensor:
        """Feature matrix (S, D) of one layer or several (concatenated): "last", "mean" or "both", float32.

        Different layers know different things (lower: surface form, language; middle: content; top: what
        the next token will be), so a concatenation of a few layers is a richer input than the last one.
        """
        layers = [layer] if isinstance(layer, int) else list(layer)
        x = self.pooled[:, layers].float()  # (S, L, 2, H)
        if kind not in ("last", "mean", "both"):
            raise ValueError(f"feature kind {kind!r} is not 'last', 'mean' or 'both'")
        x = {"last": x[:, :, :1], "mean": x[:, :, 1:], "both": x}[kind]
        return x.flatten(1)  # (S, L * {1,2} * H), blocks of H: layer by layer, last before mean

    def batch(self, idx: torch.Tensor, dtype=torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
        """Left-padded cached states of sequences `idx`: (inputs_embeds (B, L, H), attention_mask (B, L))."""
        rows = [self.states[int(self.offsets[i]):int(self.offsets[i + 1])] for i in idx.tolist()]
        return models.pad_batch(rows, 0.0, side="left", dtype=dtype)


def _key(model_path: str, table: PairTable, top_k: int, model=None) -> str:
    """A short hash of everything the cache depends on, by content: the weights (`models.weights_digest` of the model
    folder, hashed once per file change; the loaded model's own tensors when there is no local folder, a hub id),
    the texts, their token ids and k. Weights swapped for others of the same size are another key, not a stale hit."""
    h = hashlib.sha256()
    weights = models.weights_digest(model_path) if model_path else None
    if weights is None and model is not None:
        weights = _tensor_digest(model)
    h.update(f"{weights}|{top_k}".encode())
    h.update(json.dumps([table.prompts, table.responses, table.input_ids]).encode())
    return h.hexdigest()[:16]


def _tensor_digest(model) -> str:
    """sha256 of a loaded model's tensors (names and bytes), for a model that has no weights file to hash."""
    h = hashlib.sha256()
    for name, t in model.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def response_starts(tokenizer, table: PairTable) -> list[int]:
    """Index of the first response token in each (left-cut) sequence: where response pooling begins."""
    starts = []
    for prompt, response, ids in zip(table.prompts, table.responses, table.input_ids, strict=True):
        n_prefix = len(tokenizer(models.chat_prompt(tokenizer, prompt), add_special_tokens=False)["input_ids"])
        n_full = len(tokenizer(models.conversation_text(tokenizer, prompt, response), add_special_tokens=False)["input_ids"])
        starts.append(max(0, n_prefix - (n_full - len(ids))))  # the left cut removed n_full - len(ids) tokens
    return starts


@torch.no_grad()
def extract(model, tokenizer, table: PairTable, top_k: int, model_path: str = "", batch_size: int = 16,
            cache: bool = True, progress: bool = True, cache_dir: str | Path | None = None) -> FeatureCache:
    """Run the frozen decoder of `model` (a seq-cls or causal LM) once over every sequence of `table`.

    Batches are right-padded: with causal attention, later pads never change earlier tokens, so each
    sequence's states equal those of an unpadded pass. bf16 autocast where the hardware runs it natively
    (`models.bf16_is_fast`); the cache itself is stored in bf16 either way, in `cache_dir` (default
    `artifacts/<profile>/reward_cache`; a headless run passes its own output folder), keyed by content (`_key`).
    """
    folder = Path(cache_dir) if cache_dir is not None else artifacts_dir() / "reward_cache"
    path = folder / f"features-{_key(model_path, table, top_k, model) if cache else 'none'}.safetensors"
    if cache and path.is_file():
        t = load_file(path)
        return FeatureCache(t["pooled"], t["states"], t["offsets"], top_k)
    decoder = model.get_base_model().model if hasattr(model, "get_base_model") else model.model
    n_layers = len(decoder.layers)
    device = next(decoder.parameters()).device
    starts = torch.tensor(response_starts(tokenizer, table))
    lengths = torch.tensor([len(s) for s in table.input_ids])
    offsets = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)])
    hidden = decoder.config.hidden_size
    pooled = torch.zeros(len(table), n_layers + 1, 2, hidden, dtype=torch.bfloat16)
    states = torch.zeros(int(offsets[-1]), hidden, dtype=torch.bfloat16)
    order = sorted(range(len(table)), key=lambda i: len(table.input_ids[i]))  # less padding
    for b in tqdm(range(0, len(order), batch_size), desc="frozen features", disable=not progress):
        idx = order[b:b + batch_size]
        ids, mask = models.pad_batch([table.input_ids[i] for i in idx], tokenizer.pad_token_id, side="right")
        with models.autocast(device, enabled=models.bf16_is_fast(device)):
            out = decoder(input_ids=ids.to(device), attention_mask=mask.to(device),
                          position_ids=models.position_ids(mask).to(device), output_hidden_states=True,
                          use_cache=False)
        hs = torch.stack(out.hidden_states, 1).float().cpu()  # (B, N+1, L, H)
        for row, i in enumerate(idx):
            n = len(table.input_ids[i])
            start = min(int(starts[i]), n - 1)
            pooled[i, :, 0] = hs[row, :, n - 1].to(torch.bfloat16)                 # last token
            pooled[i, :, 1] = hs[row, :, start:n].mean(1).to(torch.bfloat16)       # response mean
            states[offsets[i]:offsets[i + 1]] = hs[row, n_layers - top_k, :n].to(torch.bfloat16)
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_file({"pooled": pooled, "states": states, "offsets": offsets}, path)
    return FeatureCache(pooled, states, offsets, top_k)


# ============================================================================= reward fns on the cache
def feature_reward_fn(ffn, features: torch.Tensor):
    """RewardFn of a feedforward RM: look up each sequence's cached feature vector."""
    return lambda idx: ffn(features[idx])


def topk_reward_fn(top_model, cache: FeatureCache):
    """RewardFn of the top-k transformer RM: run its k layers on the cached bottom-layer states."""
    device = next(top_model.parameters()).device

    def fn(idx: torch.Tensor) -> torch.Tensor:
        embeds, mask = cache.batch(idx)
        return sequence_rewards(top_model, mask.to(device), inputs_embeds=embeds.to(device)).cpu()

    return fn


# ============================================================== reward models on frozen features
def linear_probe(feats: torch.Tensor, split: PairSplit, C: float = 3e-4, target=None, weight=None) -> torch.Tensor:
    """The simplest reward model, and the baseline every other must beat: r = w·z on standardised features z.

    w is fitted by logistic regression on the differences z_c - z_r of every label of `split` (soft targets
    where a pair has several labels), L2-regularised by `C` (smaller: stronger). Seconds with scikit-learn.
    `target` / `weight` (arrays, one per pair) replace the split's share of labels for `chosen` and their number.
    Returns the reward of EVERY sequence of the table, (S,).
    """
    from sklearn.linear_model import LogisticRegression  # imported here: only the probe needs scikit-learn

    seen = split.seqs()
    z = (feats - feats[seen].mean(0)) / (feats[seen].std(0) + 1e-5)  # (S, D)
    d = (z[split.chosen] - z[split.rejected]).numpy()  # (P, D)
    t = np.asarray(target, float) if target is not None else (np.ones(len(d)) if split.target is None
                                                                else split.target.numpy())
    w = np.asarray(weight, float) if weight is not None else (np.ones(len(d)) if split.weight is None
                                                              else split.weight.numpy())
    # P(c > r) = sigmoid(w·d): each pair as (d, 1) with weight t and (d, 0) with weight 1 - t, and mirrored as
    # (-d, 0) and (-d, 1) (the same loss), so both classes are always there and no intercept is needed
    one, zero = np.ones(len(d)), np.zeros(len(d))
    xs, ys = np.concatenate([d, -d, d, -d]), np.r_[one, zero, zero, one]
    ws = np.r_[t * w, t * w, (1 - t) * w, (1 - t) * w] / 2
    keep = ws > 0
    clf = LogisticRegression(C=C, fit_intercept=False, max_iter=300).fit(xs[keep], ys[keep], sample_weight=ws[keep])
    return torch.as_tensor(z.numpy() @ clf.coef_[0], dtype=torch.float)


PROBE_C = (1e-4, 3e-4, 1e-3)  # the L2 strengths a probe chooses among (smaller C: stronger)


def layer_features(cache: FeatureCache, layers: Sequence[int]) -> dict[int, torch.Tensor]:
    """{layer: last + mean pooled features (S, 2H)} of each of `layers`; a layer past the model's last is read as the
    last (a small model has fewer layers than a profile names)."""
    n_layers = cache.pooled.shape[1] - 1
    return {layer: cache.features(layer, "both") for layer in sorted({min(int(layer), n_layers) for layer in layers})}


def best_linear_probe(feats_of: dict, train_split: PairSplit, val_split: PairSplit,
                      Cs: Sequence[float] = PROBE_C) -> tuple[torch.Tensor, dict]:
    """The baseline: `linear_probe` on each feature matrix of `feats_of` (a layer's, from `layer_features`, or any
    (S, D)) and each C; the one with the best validation accuracy (over every label of `val_split`).
    Returns (reward of every sequence (S,), {"layer": its key in feats_of, "C": C})."""
    from .reward import pairwise_accuracy  # the probe's margins are scored like any reward model's

    best = (-1.0, None, None)
    for key, x in feats_of.items():
        for c in Cs:
            r = linear_probe(x, train_split, c)
            acc = pairwise_accuracy(r[val_split.chosen], r[val_split.rejected], val_split.target, val_split.weight)
            if acc > best[0]:
                best = (acc, r, {"layer": key, "C": float(c)})
    return best[1], best[2]


def train_ffn(feats: torch.Tensor, train_split: PairSplit, val_split: PairSplit, hidden: int = 256, lr: float = 1e-3,
              epochs: float = 20, batch_size: int = 16, patience: int = 20, seed: int = 0, loss: str = "bt",
              optimizer: str = "adamw", blocks: int = 1, desc: str = "FFN", progress: bool = True):
    """A fresh `FeedForwardRM` trained by the explicit loop (`reward.train`) on cached features `feats` (S, D),
    about 40 validation passes in all, early-stopped on validation accuracy; returns (model in eval mode, result)."""
    torch.manual_seed(seed)
    net = FeedForwardRM(feats.shape[1], hidden=hidden, blocks=blocks)
    steps = math.ceil(epochs * math.ceil(len(train_split) / batch_size))
    tc = TrainConfig(loss=loss, optimizer=optimizer, lr=lr, weight_decay=0.01, batch_size=batch_size, epochs=epochs,
                     eval_every=max(1, steps // 40), patience=patience, seed=seed)
    result = train(net, feature_reward_fn(net, feats), train_split, val_split, tc, desc=desc, progress=progress)
    return net.eval(), result


# ================================================================================ the library path: TRL
class CachedStateCollator:
    """A collator for TRL's RewardTrainer: pairs of sequence indices -> cached states of the top-k model.

    Each example holds `chosen_ids=[i]`, `rejected_ids=[j]` (indices into the cache, not token ids), so
    TRL's own tokenisation is skipped; we return what its `compute_loss` passes to the model: chosen
    rows first, then rejected rows, left-padded so the model's last position is the last real token.
    """

    def __init__(self, cache: FeatureCache):
        self.cache = cache

    def __call__(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        idx = torch.tensor([e["chosen_ids"][0] for e in examples] + [e["rejected_ids"][0] for e in examples])
        embeds, mask = self.cache.batch(idx)
        return {"inputs_embeds": embeds, "attention_mask": mask, "position_ids": models.position_ids(mask)}


def train_with_trl(top_model, cache: FeatureCache, table: PairTable, cfg: TrainConfig, epochs: float,
                   output_dir: str | Path, eval_steps: int | None = 25, bf16: bool = True, train: str = "train",
                   val: str = "val"):
    """Train `top_model` with `trl.RewardTrainer` on the pairs of split `train`; returns the trainer.

    TRL's loss takes ONE label per pair: a split with several labels per pair (`pairs.add_vote_splits`)
    is given as its pairs with the majority label (`chosen` is the side with more votes).
    """
    from datasets import Dataset
    from trl import RewardConfig, RewardTrainer

    def as_dataset(split):
        return Dataset.from_dict({"chosen_ids": [[int(i)] for i in split.chosen],
                                  "rejected_ids": [[int(i)] for i in split.rejected]})

    tokenizer = models.load_tokenizer()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    args = RewardConfig(
        output_dir=str(output_dir), learning_rate=cfg.lr, per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.batch_size, num_train_epochs=epochs,
        eval_strategy="steps" if eval_steps else "no", eval_steps=eval_steps, logging_steps=eval_steps or 10,
        save_strategy="no", report_to="none", seed=cfg.seed, bf16=bf16 and models.bf16_is_fast(device),
        use_cpu=device == "cpu", max_grad_norm=cfg.grad_clip,
        weight_decay=cfg.weight_decay, center_rewards_coefficient=cfg.center_coef or None,
        remove_unused_columns=False, dataloader_num_workers=0, disable_tqdm=False, max_length=None,
    )
    trainer = RewardTrainer(model=top_model, args=args, train_dataset=as_dataset(table.splits[train]),
                            eval_dataset=as_dataset(table.splits[val]), processing_class=tokenizer,
                            data_collator=CachedStateCollator(cache))
    trainer.train()
    return trainer
