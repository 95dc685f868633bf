"""The reward model: losses, metrics, architectures, an explicit training loop, scoring and saving.

A reward model maps (prompt, response) to one number r. Trained on pairs where people preferred
`chosen` over `rejected`, it learns r so that P(chosen > rejected) = sigmoid(r_chosen - r_rejected)
(Bradley-Terry). Its inputs are the pairs of `rlhf_lib.pairs` (token ids from `models.encode`).
Read top to bottom:
  losses (Bradley-Terry, MSE, centering) -> metrics (pairwise accuracy, gold agreement; the Bayes ceiling is
  `metrics.bayes_ceiling`) -> architectures (feedforward, ensemble, transformer, its rewards, the top-k view)
  -> the training loop (config, optimizer, evaluation, checkpoints, each epoch's pair order, the loop)
  -> reward functions on token ids
  -> use: scoring text, saving, fingerprinting and loading the trained model.

Two architectures, as in the course text:
  * `FeedForwardRM`: a small MLP on frozen, cached features of the base model (`rlhf_lib.features`);
  * a transformer RM: the base model with a scalar head (`AutoModelForSequenceClassification`,
    `num_labels=1`), with only its top `k` layers trained ("topk": exact, on cached activations of the
    frozen bottom layers) or LoRA adapters on every layer ("lora").
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm.auto import tqdm

from . import checkpoint, models
from .config import artifacts_dir
from .metrics import bootstrap_ci
from .models import bf16_is_fast
from .pairs import PairSplit, PairTable

if TYPE_CHECKING:
    from .ppo import ResponseScoreFn

REWARD_DIR = "reward_model"  # artifacts/reward_model/: the chapter-2 artifact chapter 4 loads


# ============================================================================================ losses
def _check_pair(r_chosen, r_rejected) -> None:
    """Rewards of a batch of pairs: two float tensors of one shape. (B,) against (B, 1) would broadcast to a
    (B, B) table of every chosen against every rejected, a loss that runs but means nothing."""
    for name, r in (("r_chosen", r_chosen), ("r_rejected", r_rejected)):
        if not isinstance(r, torch.Tensor) or not r.is_floating_point():
            raise TypeError(f"{name} must be a float tensor of rewards, got "
                            f"{r.dtype if isinstance(r, torch.Tensor) else type(r).__name__}")
    if r_chosen.shape != r_rejected.shape:
        raise ValueError(f"r_chosen has shape {tuple(r_chosen.shape)} but r_rejected {tuple(r_rejected.shape)}: "
                         f"one reward per pair on each side")


def _weighted_mean(x: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    return x.mean() if weight is None else (weight * x).sum() / weight.sum().clamp(min=1e-12)


def bradley_terry_loss(r_chosen: torch.Tensor, r_rejected: torch.Tensor,
                       margin: torch.Tensor | float | None = None, target: torch.Tensor | None = None,
                       weight: torch.Tensor | None = None) -> torch.Tensor:
    """-log sigmoid(r_c - r_r - m): the cross-entropy of the Bradley-Terry model on pairs.

    Only the difference r_c - r_r matters, so a reward is defined up to a constant. `margin` m (TRL's
    "margin" column, as in Llama 2) asks for a wider gap where people preferred more strongly.

    Several labels per pair: `target` t is the share of the pair's labels that chose `chosen` and `weight`
    the number of labels. The loss -[t log sigma(d) + (1 - t) log sigma(-d)], weighted by the label count,
    is exactly the BT loss summed over every label separately (a soft-label cross-entropy).
    """
    _check_pair(r_chosen, r_rejected)
    delta = r_chosen - r_rejected  # (B,)
    if margin is not None:
        delta = delta - margin
    nll = -F.logsigmoid(delta)  # logsigmoid is the numerically stable log(sigmoid(x))
    if target is not None:
        nll = target * nll + (1 - target) * -F.logsigmoid(-delta)
    return _weighted_mean(nll, weight)


def mse_loss(r_chosen: torch.Tensor, r_rejected: torch.Tensor, target: torch.Tensor | None = None,
             weight: torch.Tensor | None = None) -> torch.Tensor:
    """Pointwise regression of each response onto its label: chosen -> +1, rejected -> -1.

    The natural "scalar score" a pair gives each response. It is the wrong target for preference
    data: the same mediocre answer is +1 against a bad one and -1 against a good one, so the regression
    is pulled to the middle, and it spends capacity on absolute levels that never matter.
    With several labels per pair (`target` t = share for chosen) the targets are the mean labels +-(2t - 1).
    """
    y = torch.ones_like(r_chosen) if target is None else 2 * target - 1
    return 0.5 * (_weighted_mean((r_chosen - y) ** 2, weight) + _weighted_mean((r_rejected + y) ** 2, weight))


def center_penalty(r_chosen: torch.Tensor, r_rejected: torch.Tensor) -> torch.Tensor:
    """mean((r_c + r_r)^2): pulls the rewards' mean to 0 (TRL's `center_rewards_coefficient` term).

    BT leaves the level of r free; centred rewards are easier to read and to feed to PPO.
    """
    return ((r_chosen + r_rejected) ** 2).mean()


def reward_loss(r_chosen, r_rejected, kind: str = "bt", margin=None, center_coef: float = 0.0,
                target: torch.Tensor | None = None, weight: torch.Tensor | None = None) -> torch.Tensor:
    """The training loss: "bt" (Bradley-Terry) or "mse", plus an optional centering term.

    `target` / `weight`: share of labels for chosen and number of labels, for pairs with several labels.
    """
    if kind == "bt":
        loss = bradley_terry_loss(r_chosen, r_rejected, margin, target, weight)
    elif kind == "mse":
        loss = mse_loss(r_chosen, r_rejected, target, weight)
    else:
        raise ValueError(f"loss kind {kind!r} is not 'bt' or 'mse'")
    if center_coef:
        loss = loss + center_coef * center_penalty(r_chosen, r_rejected)
    return loss


# =========================================================================================== metrics
def _np(x) -> np.ndarray:
    """A float array of rewards or labels; NaN, inf or no values at all raise here, instead of counting silently."""
    arr = x.detach().float().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x, dtype=float)
    if arr.size == 0:
        raise ValueError("no rewards or labels (an empty split?): nothing to measure")
    if not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValueError(f"value [{bad}] is {arr.flat[bad]}: rewards and labels must be finite (a NaN reward means "
                         f"the model diverged or its input holds NaN)")
    return arr


def pairwise_accuracy(r_chosen, r_rejected, target=None, weight=None) -> float:
    """Fraction of pairs where the model ranks the annotator's choice higher (ties count half).

    With several labels per pair (`target` = share for chosen, `weight` = label count): the fraction of
    all LABELS the model agrees with, the same number as if every label were its own pair.
    """
    delta = _np(r_chosen) - _np(r_rejected)
    hit = (delta > 0) + 0.5 * (delta == 0)
    if target is None:
        return float(np.mean(hit))
    t = _np(target)
    hit = t * hit + (1 - t) * (1 - hit)
    w = np.ones_like(t) if weight is None else _np(weight)
    return float(np.sum(w * hit) / np.sum(w))


def gold_agreement(r_chosen, r_rejected, gold_chosen, gold_rejected) -> float | None:
    """Fraction of pairs where sign(model margin) == sign(noise-free gold margin); gold ties excluded.

    None (not available) when there is no gold utility (`gold_chosen` None): data of your own has none.
    """
    if gold_chosen is None or gold_rejected is None:
        return None
    return order_agreement(_np(r_chosen) - _np(r_rejected), _np(gold_chosen) - _np(gold_rejected))


def order_agreement(margins, truth, strict: bool = True) -> float:
    """Share of pairs a reward model orders like `truth` (the gold's margin, or the panel's share for a minus 1/2):
    sign(margin r_a − r_b) == sign(truth), pairs where truth is 0 left out, NaN when every pair is. The one
    reward-model accuracy of the course: `gold_agreement` (so `evaluate`), `apps.seqrl.rm_accuracy` and
    `iterate.rm_accuracy_on` are it. A margin of exactly 0 orders nothing, so it is wrong; `strict=False` reads it as
    preferring b (the model "prefers a" only when its margin is > 0), as chapter 5's sequence domains do."""
    m, t = (x.detach().float().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x, dtype=float)
            for x in (margins, truth))
    keep = t != 0
    if not keep.any():
        return float("nan")
    said = np.sign(m[keep]) if strict else np.where(m[keep] > 0, 1.0, -1.0)
    return float(np.mean(said == np.sign(t[keep])))


def gold_agreement_by(margins, gold_margins, labels) -> dict[str, float]:
    """Gold agreement of margins r_c - r_r within each label of `labels` (a prompt category, say): pairs with a gold tie
    left out, a margin of exactly 0 counting half (a judge that cannot tell is right half the time). No CIs: read a
    small group's figure only for large gaps."""
    margins, gold, labels = np.asarray(margins), np.asarray(gold_margins), np.asarray(labels)
    keep = gold != 0
    sides = np.where(margins[keep] == 0, 0.5, np.sign(margins[keep]) == np.sign(gold[keep]))
    return {str(c): float(sides[labels[keep] == c].mean()) for c in sorted(set(labels[keep]))}


# ===================================================================================== architectures
class BlockNorm(nn.Module):
    """LayerNorm applied to each of `blocks` equal slices of the input: (B, blocks * d) -> same shape.

    Features concatenated from several layers live on very different scales (the residual stream grows
    with depth); normalising each block alone keeps a large-norm layer from drowning the others.
    """

    def __init__(self, dim: int, blocks: int = 1):
        super().__init__()
        if dim % blocks:
            raise ValueError(f"{dim} features do not split into {blocks} equal blocks")
        self.blocks = blocks
        self.norm = nn.LayerNorm(dim // blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.unflatten(-1, (self.blocks, -1))).flatten(-2)


class FeedForwardRM(nn.Module):
    """Architecture (a): an MLP from a frozen feature vector to one reward. (B, D) -> (B,)

    `blocks`: the input is that many concatenated feature blocks, each normalised on its own.
    """

    def __init__(self, dim: int, hidden: int = 256, dropout: float = 0.1, blocks: int = 1):
        super().__init__()
        self.net = nn.Sequential(
            # hidden states of LMs have a few huge dimensions; normalise them first
            nn.LayerNorm(dim) if blocks == 1 else BlockNorm(dim, blocks),
            nn.Dropout(dropout),
            nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout),
            nn.Linear(hidden, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


class EnsembleRM(nn.Module):
    """The mean reward of several reward models (e.g. FFNs trained from different seeds). (B, D) -> (B,)

    Averaging members whose errors differ cuts the variance part of the error: a cheap, standard way to a
    better and less exploitable reward model.
    """

    def __init__(self, members: Sequence[nn.Module]):
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([m(x) for m in self.members]).mean(0)


def load_transformer_rm(name: str | None = models.SMOLLM2, arch: str = "topk", top_k: int = 2,
                        lora_r: int = 16, seed: int = 0, tokenizer=None, lora_dropout: float = 0.0):
    """Architecture (b): the base LM with a scalar head, prepared for training; returns (model, tokenizer).

    arch="topk": everything frozen but the top `top_k` decoder layers, the final norm and the head.
    arch="lora": LoRA adapters (peft) on every attention and MLP projection, plus the head.
    arch="full": every weight trains (GPU only, in practice).
    """
    from transformers import AutoModelForSequenceClassification

    tokenizer = tokenizer or models.load_tokenizer(name)
    torch.manual_seed(seed)  # the new head is random: seed it so runs repeat
    model = AutoModelForSequenceClassification.from_pretrained(
        models.resolve(name), num_labels=1, dtype=torch.float32, use_safetensors=True, trust_remote_code=False)
    model.config.pad_token_id = tokenizer.pad_token_id  # where the model finds the last real token
    if arch == "topk":
        model.requires_grad_(False)
        for module in (*model.model.layers[-top_k:], model.model.norm, model.score):
            module.requires_grad_(True)
    elif arch == "lora":
        from peft import LoraConfig, get_peft_model

        config = LoraConfig(r=lora_r, lora_alpha=2 * lora_r, lora_dropout=lora_dropout, task_type="SEQ_CLS",
                            target_modules=list(models.LORA_TARGETS))
        model = get_peft_model(model, config)  # the "score" head is trained fully (modules_to_save)
    elif arch != "full":
        raise ValueError(f"arch {arch!r} is not 'topk', 'lora' or 'full'")
    return model, tokenizer


def backbone(model):
    """The decoder (embeddings, layers, norm) and the scalar head of a seq-cls model, peft-wrapped or not."""
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    return inner.model, inner.score


def sequence_rewards(model, attention_mask: torch.Tensor, input_ids: torch.Tensor | None = None,
                     inputs_embeds: torch.Tensor | None = None) -> torch.Tensor:
    """Rewards of a padded batch, read at the last real token (any padding side). -> (B,)

    We find that token from the attention mask, not from `pad_token_id`: SmolLM2 pads with its
    end-of-turn token, which also appears inside every conversation.
    """
    decoder, head = backbone(model)
    hidden = decoder(input_ids=input_ids, inputs_embeds=inputs_embeds, attention_mask=attention_mask,
                     position_ids=models.position_ids(attention_mask), use_cache=False).last_hidden_state  # (B, L, H)
    last = models.last_token_index(attention_mask)  # (B,)
    return head(hidden[torch.arange(hidden.shape[0]), last]).squeeze(-1).float()  # (B,)


def top_layers_model(model, top_k: int):
    """A `top_k`-layer seq-cls model that SHARES the top layers, norm and head of `model`.

    Fed with the cached hidden states of the frozen bottom layers (`inputs_embeds`) it computes exactly
    what the full model computes, at top_k/N of the cost; training it trains `model` in place. The decoder is
    `models.shared_layers`, the trick PPO's frozen bottom uses too (`models.split_decoder`).
    """
    from transformers import AutoModelForSequenceClassification

    n = len(model.model.layers)
    if not 0 < top_k <= n:
        raise ValueError(f"top_k must be between 1 and {n} for a {n}-layer model (got {top_k})")
    config = copy.deepcopy(model.config)
    config.num_hidden_layers = top_k
    if getattr(config, "layer_types", None):
        config.layer_types = config.layer_types[-top_k:]
    with torch.device("meta"):  # no memory for weights we are about to replace
        top = AutoModelForSequenceClassification.from_config(config)
    top.model = models.shared_layers(model.model, n - top_k, n, model.model.norm)
    top.score = model.score
    return top


# ===================================================================================== training loop
# A `RewardFn` maps a batch of sequence indices (into a PairTable) to their rewards on the CPU, (N,) -> (N,). It hides
# what the model reads: cached features (FFN), cached activations (top-k) or token ids (LoRA).
RewardFn = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class TrainConfig:
    """Everything that shapes one training run (saved with each checkpoint)."""

    loss: str = "bt"             # "bt" | "mse"
    optimizer: str = "adamw"     # "adamw" | "sgd"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9        # SGD only
    batch_size: int = 16         # pairs per step
    epochs: float = 10           # passes over the training pairs; a fraction stops part-way (0.5: half an epoch)
    eval_every: int = 20         # steps between validation passes
    patience: int = 4            # evaluations without a better val accuracy before stopping
    margin: float | None = None
    center_coef: float = 0.0
    grad_clip: float = 1.0
    group_by_prompt: bool = True  # batch the pairs of a prompt together: K responses give K(K-1)/2 pairs
    schedule: str = "constant"   # learning rate over the run: "constant" | "cosine" (to 0 at the last step)
    warmup: float = 0.0          # share of the steps over which the learning rate rises linearly from 0
    eval_batch_size: int = 64    # sequences per no-grad scoring batch
    seed: int = 0

    def __post_init__(self):
        """Reject settings that would fail deep inside the loop (a batch size of 0 divides by zero)."""
        if self.loss not in ("bt", "mse"):
            raise ValueError(f"TrainConfig.loss={self.loss!r} is not 'bt' or 'mse'")
        if self.optimizer not in ("adamw", "sgd"):
            raise ValueError(f"TrainConfig.optimizer={self.optimizer!r} is not 'adamw' or 'sgd'")
        if self.schedule not in ("constant", "cosine"):
            raise ValueError(f"TrainConfig.schedule={self.schedule!r} is not 'constant' or 'cosine'")
        if isinstance(self.warmup, bool) or not isinstance(self.warmup, int | float) or not 0 <= self.warmup < 1:
            raise ValueError(f"TrainConfig.warmup must be a share of the steps in [0, 1), got {self.warmup!r}")
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, int | float) or not math.isfinite(self.epochs) \
                or self.epochs <= 0:
            raise ValueError(f"TrainConfig.epochs must be a number > 0, got {self.epochs!r}")
        for name in ("batch_size", "eval_every", "patience", "eval_batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"TrainConfig.{name} must be an integer >= 1, got {value!r}")
        for name in ("lr", "weight_decay", "momentum", "grad_clip", "center_coef"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise ValueError(f"TrainConfig.{name} must be a finite number >= 0, got {value!r}")


@dataclass
class TrainResult:
    history: list[dict]          # one row per evaluation: step, epoch, train/val loss and accuracy, seconds
    best_val_accuracy: float
    best_step: int
    steps: int
    seconds: float
    stopped_early: bool


def lr_at(step: int, total: int, cfg: TrainConfig) -> float:
    """The learning rate of step `step` (0-based) of `total`: linear warm-up, then constant or cosine decay.

    A function of the step alone (no scheduler object), so a resumed run follows the same schedule exactly.
    """
    n_warm = int(cfg.warmup * total)
    if step < n_warm:
        return cfg.lr * (step + 1) / n_warm
    if cfg.schedule == "cosine":
        return cfg.lr * 0.5 * (1 + math.cos(math.pi * (step - n_warm) / max(1, total - n_warm)))
    return cfg.lr


def make_optimizer(params, cfg: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in params if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters (requires_grad is False everywhere)")
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    raise ValueError(f"optimizer {cfg.optimizer!r} is not 'adamw' or 'sgd'")


@torch.no_grad()
def score_split(reward_fn: RewardFn, split: PairSplit, batch_size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """Rewards (r_chosen, r_rejected) of every pair, each unique sequence scored once."""
    if len(split) == 0:
        raise ValueError("the split has no pairs: nothing to score")
    seqs = split.seqs()
    rewards = torch.cat([reward_fn(seqs[i:i + batch_size]) for i in range(0, len(seqs), batch_size)])
    lookup = torch.zeros(int(seqs.max()) + 1)
    lookup[seqs] = rewards.float()
    return lookup[split.chosen], lookup[split.rejected]


def _take(x: torch.Tensor | None, rows: torch.Tensor) -> torch.Tensor | None:
    return None if x is None else x[rows]


def evaluate(reward_fn: RewardFn, split: PairSplit, cfg: TrainConfig) -> dict[str, float]:
    """Loss, pairwise accuracy (over every label, for a split with several per pair) and gold agreement."""
    r_c, r_r = score_split(reward_fn, split, cfg.eval_batch_size)
    return {
        "loss": float(reward_loss(r_c, r_r, cfg.loss, cfg.margin, cfg.center_coef, split.target, split.weight)),
        "accuracy": pairwise_accuracy(r_c, r_r, split.target, split.weight),
        "gold_agreement": gold_agreement(r_c, r_r, split.gold_chosen, split.gold_rejected),
    }


def figures_with_ci(split: PairSplit, margins, n_boot: int = 1000, seed: int = 0, rows=None) -> dict[str, dict]:
    """`evaluate`'s accuracy and gold agreement of the margins r_c − r_r of `split` (or of its pairs `rows`), each
    {value, lo, hi} with its 95% bootstrap CI resampled by prompt (chapter 3: pairs of one prompt are not independent).
    Gold agreement is None (not available) on a split without gold utilities."""
    n = len(split)
    has_gold = split.gold_chosen is not None and split.gold_rejected is not None
    cols = [np.asarray(margins), np.ones(n) if split.target is None else split.target.numpy(),
            np.ones(n) if split.weight is None else split.weight.numpy(),
            (split.gold_chosen - split.gold_rejected).numpy() if has_gold else np.zeros(n)]
    rows = slice(None) if rows is None else rows

    def stat(d, target, weight, gold):
        zero = np.zeros(len(d))
        out = {"accuracy": pairwise_accuracy(d, zero, target, weight)}
        return {**out, "gold_agreement": gold_agreement(d, zero, gold, zero)} if has_gold else out

    figures = bootstrap_ci(stat, *(c[rows] for c in cols), n_boot=n_boot, seed=seed, groups=split.group.numpy()[rows])
    return figures if has_gold else {**figures, "gold_agreement": None}


def measure(reward_fn: RewardFn, split: PairSplit, n_boot: int = 1000, seed: int = 0, autocast: bool = False,
            device: torch.device | str = "cpu") -> dict:
    """One model on one split: `figures_with_ci` and the margins. `autocast` as in the model's training run, so that
    on the validation split it reproduces the loop's best validation accuracy exactly."""
    with models.autocast(device, enabled=autocast and bf16_is_fast(device)):
        r_c, r_r = score_split(reward_fn, split)
    margins = (r_c - r_r).numpy()
    return {**figures_with_ci(split, margins, n_boot, seed), "margins": margins}


def accuracy_difference(split: PairSplit, margins_a, margins_b, n_boot: int = 1000, seed: int = 0) -> dict:
    """Accuracy of margins a minus that of margins b on the same pairs of `split`, {value, lo, hi} with its 95% CI by
    prompt. Paired: each resample draws the same prompts for both models, so the interval is far tighter than two
    separate ones, and it answers the question asked: does model a beat model b on this data?"""
    n = len(split)
    target = np.ones(n) if split.target is None else split.target.numpy()
    weight = np.ones(n) if split.weight is None else split.weight.numpy()

    def stat(a, b, t, w):
        zero = np.zeros(len(a))
        return pairwise_accuracy(a, zero, t, w) - pairwise_accuracy(b, zero, t, w)

    return bootstrap_ci(stat, np.asarray(margins_a), np.asarray(margins_b), target, weight, n_boot=n_boot, seed=seed,
                        groups=split.group.numpy())


def difference_verdict(diff: dict, prompts: int) -> str:
    """What an `accuracy_difference` says, in words: which side of 0 its interval lies on (one prompt: nothing)."""
    if prompts < 2:
        return "cannot tell on one prompt (no interval)"
    if diff["lo"] > 0:
        return "beats it"
    if diff["hi"] < 0:
        return "does worse"
    return "does not beat it (the interval holds 0: this data cannot tell them apart)"


# A checkpoint of this loop (`checkpoint.save`): the file names below, the loop state and torch's RNG state (dropout
# draws from it), and the TrainConfig. Resuming refuses a checkpoint made with another TrainConfig, except for
# `epochs`: a run may be extended (its pair orders depend on (seed, epoch) only), every other field changes the run.
WEIGHTS_FILE = "weights.safetensors"
FREE_FIELDS = ("epochs",)


def epoch_order(split: PairSplit, cfg: TrainConfig, epoch: int) -> torch.Tensor:
    """The order of the pairs in one epoch, a function of (seed, epoch) only: resuming replays it exactly.

    With `group_by_prompt` the pairs of each prompt stay next to each other (prompts shuffled): a batch
    then holds few distinct responses, and each is run through the model once however many pairs it is
    in (InstructGPT trains on all K-choose-2 pairs of a prompt as one batch element for that reason).
    """
    g = torch.Generator().manual_seed(cfg.seed * 1000 + epoch)
    order = torch.randperm(len(split), generator=g)
    if cfg.group_by_prompt and split.group is not None:
        n_groups = int(split.group.max()) + 1
        rank = torch.randperm(n_groups, generator=g)  # a random position for every prompt
        order = order[torch.sort(rank[split.group[order]], stable=True).indices]
    return order


def train(model: nn.Module, reward_fn: RewardFn, train_split: PairSplit, val_split: PairSplit,
          cfg: TrainConfig, ckpt_dir: str | Path | None = None, resume: bool = True,
          stop_after: int | None = None, autocast: bool = False, desc: str = "train RM",
          progress: bool = True, order: Callable[[int], torch.Tensor] | None = None, dedupe: bool = True,
          reseed: bool = True, early_stopping: bool = True,
          extra_figures: Callable[[], dict] | None = None) -> TrainResult:
    """Train a reward model with the loop written out: forward, loss, backward, step, evaluate, repeat. The course's
    one reward-model loop: chapter 2's models and chapter 5's sequence domains (`apps.seqrl.train_reward_model`).

    Every `eval_every` steps: validation loss and pairwise accuracy, a checkpoint in `ckpt_dir/last`
    and, when val accuracy improved, the weights in `ckpt_dir/best.safetensors`. Training stops after
    `patience` evaluations without improvement (early stopping) and ends with the best weights loaded.
    With `resume`, a run continues from `ckpt_dir/last` and ends exactly where an uninterrupted run ends; a
    checkpoint made with another `TrainConfig` (any field but `epochs`) is refused with
    `checkpoint.CheckpointMismatchError`, naming what changed. `stop_after` simulates an interruption after
    that many steps (for tests and demos).

    What chapter 5's small sequence models do otherwise (each default is chapter 2's): `order(epoch)` gives an
    epoch's pair order (default `epoch_order`, a function of (seed, epoch), so a resumed run replays it; a stateful
    order cannot resume); `dedupe=False` scores every pair's two sides in batch order instead of each unique sequence
    once (the same rewards, but dropout draws its masks per row); `reseed=False` leaves torch's RNG as the caller set
    it; `early_stopping=False` trains every step and keeps the last weights; `extra_figures()` adds its figures to
    every evaluation row.
    """
    for name, split in (("train_split", train_split), ("val_split", val_split)):
        if len(split) == 0:
            raise ValueError(f"{name} has no pairs: nothing to {'train on' if name == 'train_split' else 'validate on'}")
    ckpt_dir = Path(ckpt_dir) if ckpt_dir else None
    optimizer = make_optimizer(model.parameters(), cfg)
    if reseed:
        torch.manual_seed(cfg.seed)
    loop = _resume(ckpt_dir, model, optimizer, cfg) if resume else _fresh_loop()
    best = checkpoint.trainable_state(model) if loop["best_acc"] < 0 else _load_best(ckpt_dir, model)
    steps_per_epoch = math.ceil(len(train_split) / cfg.batch_size)
    total = max(1, math.ceil(cfg.epochs * steps_per_epoch))
    start = time.perf_counter() - loop["seconds"]
    device = next(model.parameters()).device
    device_ctx = models.autocast(device, enabled=autocast and bf16_is_fast(device))  # bf16 where it pays
    bar = tqdm(total=total, initial=loop["step"], desc=desc, disable=not progress)
    order_of, order = order, (-1, None)  # (epoch, its pair order): computed once per epoch
    while loop["step"] < total and not loop["done"]:
        epoch, in_epoch = divmod(loop["step"], steps_per_epoch)
        if order[0] != epoch:
            order = (epoch, epoch_order(train_split, cfg, epoch) if order_of is None else order_of(epoch))
        rows = order[1][in_epoch * cfg.batch_size:(in_epoch + 1) * cfg.batch_size]
        model.train()
        # ---- forward: one reward per unique sequence of the batch (a response is in several pairs)
        both = torch.cat([train_split.chosen[rows], train_split.rejected[rows]])
        seqs, where = torch.unique(both, return_inverse=True) if dedupe else (both, slice(None))
        with device_ctx:
            r = reward_fn(seqs)[where]  # (2B,)
        r_c, r_r = r.float().chunk(2)  # (B,), (B,)
        # ---- loss
        target, weight = _take(train_split.target, rows), _take(train_split.weight, rows)
        loss = reward_loss(r_c, r_r, cfg.loss, cfg.margin, cfg.center_coef, target, weight)
        if not torch.isfinite(loss):
            bar.close()
            raise checkpoint.NonFiniteLossError(
                f"loss is {loss.item()} at step {loop['step']} (epoch {epoch}): training stopped. Lower the "
                f"learning rate (now {cfg.lr}) or check the inputs; the last good checkpoint is "
                f"{ckpt_dir / 'last' if ckpt_dir else 'not saved (no ckpt_dir)'}")
        # ---- backward and step
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], cfg.grad_clip)
        for group in optimizer.param_groups:
            group["lr"] = lr_at(loop["step"], total, cfg)
        optimizer.step()
        # ---- bookkeeping: the training figures, then every `eval_every` steps evaluate, early-stop, checkpoint
        loop["step"] += 1
        _add_to_window(loop["window"], loss, r_c, r_r, target, weight)
        bar.update(1)
        if loop["step"] % cfg.eval_every == 0 or loop["step"] == total:
            model.eval()
            with device_ctx:
                val = evaluate(reward_fn, val_split, cfg)
            extra = extra_figures() if extra_figures is not None else {}
            best = _after_evaluation(val, loop, best, model, optimizer, cfg, ckpt_dir, steps_per_epoch, start, bar,
                                     extra, early_stopping)
        if stop_after is not None and loop["step"] >= stop_after and loop["step"] < total and not loop["done"]:
            bar.close()
            return TrainResult(loop["history"], loop["best_acc"], loop["best_step"], loop["step"],
                               time.perf_counter() - start, stopped_early=False)
    bar.close()
    if early_stopping:
        checkpoint.load_trainable_state(model, best)
    model.eval()
    return TrainResult(loop["history"], loop["best_acc"], loop["best_step"], loop["step"],
                       time.perf_counter() - start, stopped_early=loop["done"])


# ---------------------------------------------------------------------------- the loop's bookkeeping
def _fresh_loop() -> dict:
    """The loop's state at step 0 (all of it in the checkpoint): window = train loss sum, accuracy sum, steps."""
    return {"step": 0, "best_acc": -1.0, "best_step": 0, "bad_evals": 0, "history": [], "seconds": 0.0,
            "done": False, "window": [0.0, 0.0, 0]}


def _resume(ckpt_dir: Path | None, model, optimizer, cfg: TrainConfig) -> dict:
    """The loop state (weights, optimizer, RNG restored) of `ckpt_dir/last`, or a fresh one where there is none."""
    if not (ckpt_dir and checkpoint.exists(ckpt_dir / "last")):
        return _fresh_loop()
    loop = checkpoint.load(ckpt_dir / "last", model, optimizer, cfg, WEIGHTS_FILE, free=FREE_FIELDS, rng=True)["loop"]
    print(f"resumed from {ckpt_dir / 'last'} at step {loop['step']}")
    return loop


def _add_to_window(window: list, loss, r_c, r_r, target, weight) -> None:
    """Add one step's loss and accuracy to the running sums the next evaluation row averages."""
    window[0] += loss.item()
    window[1] += pairwise_accuracy(r_c.detach(), r_r.detach(), target, weight)
    window[2] += 1


def _after_evaluation(val: dict, loop: dict, best: dict, model, optimizer, cfg: TrainConfig, ckpt_dir: Path | None,
                      steps_per_epoch: int, start: float, bar, extra: dict | None = None,
                      early_stopping: bool = True) -> dict[str, torch.Tensor]:
    """Log an evaluation (with the `extra` figures), keep the best weights (and save them), count evaluations without
    improvement (early stopping, unless off), write the checkpoint; returns the best weights so far."""
    w = loop["window"]
    row = {"step": loop["step"], "epoch": loop["step"] / steps_per_epoch,
           "train_loss": w[0] / w[2], "train_accuracy": w[1] / w[2],
           "val_loss": val["loss"], "val_accuracy": val["accuracy"],
           "val_gold_agreement": val["gold_agreement"], "seconds": time.perf_counter() - start, **(extra or {})}
    loop["history"].append(row)
    loop["window"] = [0.0, 0.0, 0]
    if val["accuracy"] > loop["best_acc"]:
        loop.update(best_acc=val["accuracy"], best_step=loop["step"], bad_evals=0)
        best = checkpoint.trainable_state(model)
        if ckpt_dir:
            ckpt_dir.mkdir(parents=True, exist_ok=True)
            save_file(best, ckpt_dir / "best.safetensors")
    else:
        loop["bad_evals"] += 1
        loop["done"] = early_stopping and loop["bad_evals"] >= cfg.patience
    bar.set_postfix(train_loss=f"{row['train_loss']:.3f}", val_acc=f"{val['accuracy']:.3f}")
    loop["seconds"] = time.perf_counter() - start
    if ckpt_dir:
        checkpoint.save(ckpt_dir / "last", model, optimizer, cfg, {"loop": loop}, WEIGHTS_FILE, rng=True)
    return best


def _load_best(ckpt_dir: Path | None, model) -> dict[str, torch.Tensor]:
    if ckpt_dir and (ckpt_dir / "best.safetensors").is_file():
        return load_file(ckpt_dir / "best.safetensors")
    return checkpoint.trainable_state(model)


# ==================================================================================== reward functions
def token_reward_fn(model, table: PairTable, pad_id: int, device="cpu") -> RewardFn:
    """RewardFn for a transformer RM that reads token ids (LoRA / full fine-tuning)."""

    def fn(idx: torch.Tensor) -> torch.Tensor:
        ids, mask = models.pad_batch([table.input_ids[i] for i in idx.tolist()], pad_id, side="right")
        return sequence_rewards(model, mask.to(device), input_ids=ids.to(device)).cpu()

    return fn


# ================================================================= use: score, save, fingerprint, load
@torch.no_grad()
def score(model, tokenizer, prompts: Sequence[str], responses: Sequence[str], batch_size: int = 16,
          max_length: int = 512, progress: bool = False) -> list[float]:
    """Rewards of (prompt, response) pairs as Python floats: chat template, left-cut, batched by length."""
    if isinstance(prompts, str) or isinstance(responses, str):
        raise TypeError("score() takes lists of prompts and responses; wrap a single one in a list")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    context = getattr(model.config, "max_position_embeddings", None)
    if context and max_length > context:
        raise ValueError(f"max_length={max_length} is longer than the model's context of {context} tokens; "
                         f"use max_length <= {context} (longer inputs are then cut from the left)")
    if len(prompts) == len(responses) == 0:
        return []
    ids = models.encode(tokenizer, prompts, responses, max_length)
    device = next(model.parameters()).device
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))  # similar lengths together: less padding
    out = [0.0] * len(ids)
    was_training = model.training
    model.eval()
    for start in tqdm(range(0, len(order), batch_size), desc="scoring", disable=not progress):
        chunk = order[start:start + batch_size]
        batch, mask = models.pad_batch([ids[i] for i in chunk], tokenizer.pad_token_id, side="right")
        with models.autocast(device, enabled=device.type == "cuda"):
            rewards = sequence_rewards(model, mask.to(device), input_ids=batch.to(device))
        for i, value in zip(chunk, rewards.tolist(), strict=True):
            out[i] = float(value)
    model.train(was_training)
    return out


def save_reward_model(model, tokenizer, path: str | Path | None = None, info: dict | None = None) -> Path:
    """`save_pretrained` (safetensors) of the full seq-cls model (LoRA merged in) + tokenizer + info."""
    path = Path(path or artifacts_dir() / REWARD_DIR)
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    model.save_pretrained(path, safe_serialization=True)
    tokenizer.save_pretrained(path)
    (path / "reward_info.json").write_text(json.dumps(info or {}, indent=1, default=str))
    return path


def fingerprint(path: str | Path | None = None) -> str:
    """A short hash of a saved reward model's weights: PPO checkpoints record it, so a run against one reward model
    is never resumed against another (chapter 2 run again, a model swapped in by hand)."""
    weights = Path(path or artifacts_dir() / REWARD_DIR) / "model.safetensors"
    if not weights.is_file():
        raise FileNotFoundError(f"no reward model weights at {weights}")
    return models.file_digest(weights)[:16]


def trained_max_length(path: str | Path | None = None, default: int = 512) -> int:
    """The `max_length` a saved reward model was trained at (its reward_info.json, default: chapter 2's artifact), else
    `default`: PPO scores with it as it was trained."""
    info = Path(path or artifacts_dir() / REWARD_DIR) / "reward_info.json"
    return (json.loads(info.read_text()) if info.is_file() else {}).get("max_length") or default


def check_reward_folder(path: str | Path | None = None) -> Path:
    """The folder of a reward model `load_reward_model` can load, checked from its files alone (no weights read),
    so that a command line refuses a wrong `--reward-model` before it loads the policy: not an ffn folder, weights in
    safetensors, a sequence-classification config with one label, and no custom code (`auto_map`: never run)."""
    path = Path(path or artifacts_dir() / REWARD_DIR)
    if (path / "ffn.safetensors").is_file():
        raise ValueError(f"{path} holds a feedforward reward model (`--arch ffn`, rlhf_lib's own format on frozen "
                         f"features), not a sequence-classification model: train one with --arch topk or lora")
    if not (path / "model.safetensors").is_file():
        raise FileNotFoundError(f"no reward model at {path} (run notebook 02, `python -m rlhf_lib.train_reward`, "
                                f"or call train_reward.load_or_train())")
    # a causal LM's folder would load too, with a random score head and only a warning: refuse it here
    cfg = json.loads((path / "config.json").read_text()) if (path / "config.json").is_file() else {}
    kind = cfg.get("architectures") or ["?"]
    if not kind[0].endswith("ForSequenceClassification") or len(cfg.get("id2label") or {0: ""}) != 1:
        raise ValueError(f"{path / 'config.json'}: architectures {kind} with {len(cfg.get('id2label') or {})} label(s) "
                         f"is not a reward model (a ...ForSequenceClassification with num_labels=1)")
    models.check_no_custom_code(path)
    if not any((path / f).is_file() for f in TOKENIZER_FILES):  # was an OSError from transformers, after the weights
        raise FileNotFoundError(f"{path}: no tokenizer files ({', '.join(TOKENIZER_FILES)}): the reward model reads "
                                f"text through its tokenizer; save it into the folder (tokenizer.save_pretrained(...)), "
                                f"as train_reward does")
    return path


TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "vocab.txt", "spiece.model")


def load_reward_model(path: str | Path | None = None, device: str | None = None, dtype: torch.dtype = torch.float32):
    """(model, tokenizer) of the reward model saved at `path` (default: chapter 2's artifact), in `dtype`.

    Later chapters load it through `train_reward.load_or_train()`, which trains a small one first when it is missing.
    bf16 halves the bytes each score reads; benchmarks/reward_bf16.py measures what it changes in the rewards.
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    path = check_reward_folder(path)
    model = AutoModelForSequenceClassification.from_pretrained(path, use_safetensors=True, dtype=dtype,
                                                               trust_remote_code=False)
    tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
    model.config.pad_token_id = tokenizer.pad_token_id
    model.to(models.pick_device(device)).eval()
    return model, tokenizer


# ================================================================ use: the reward model as PPO's score
def normalised(scores, mean: float, std: float) -> list[float]:
    """PPO's score from raw reward-model scores: (s − mean) / std, with mean and std measured on the reference's samples
    (`judge.reward_normaliser`), so a typical starting answer scores 0. In the scores' own precision (float32 scores
    stay float32). Every reward function of the course normalises through here, chapter 5's sequence domains too."""
    return ((np.asarray(scores) - mean) / std).tolist()


def scored_text_fn(score_texts: Callable[[list, list[str]], Sequence[float]], tokenizer, mean: float = 0.0,
                   std: float = 1.0) -> ResponseScoreFn:
    """The reward model → PPO's score for a text policy, whatever the reward model: decode each response, score
    (the prompt record's words, text) pairs with `score_texts`, normalise. `text_reward_fn` (chapter 2's
    sequence-classification model) and `apps.language.reward_fn` (a feature reward model) are it."""

    def fn(meta: list[dict], responses: list[list[int]]) -> list[float]:
        texts = [tokenizer.decode(r, skip_special_tokens=True).strip() for r in responses]
        return normalised(score_texts([m["prompt"] for m in meta], texts), mean, std)

    return fn


def text_reward_fn(rm, rm_tokenizer, tokenizer, mean: float = 0.0, std: float = 1.0, max_length: int = 512,
                   batch_size: int = 16) -> ResponseScoreFn:
    """A `ppo.ResponseScoreFn` for a text policy: decode each response, score it with the reward model, normalise.

    `rm` is a sequence-classification reward model (chapter 2's); the prompt records carry the user's words.
    """
    return scored_text_fn(lambda prompts, texts: score(rm, rm_tokenizer, prompts, texts, batch_size=batch_size,
                                                       max_length=max_length), tokenizer, mean, std)


def trl_reward_fn(rm, rm_tokenizer, mean: float = 0.0, std: float = 1.0, max_length: int = 512):
    """The same reward-model score, normalised, in the signature of TRL's online trainers (GRPO, RLOO).

    TRL passes conversational prompts and completions (lists of messages); we score the last user turn and the
    completion's text.
    """

    def fn(prompts, completions, **kwargs) -> list[float]:
        user = [p[-1]["content"] if isinstance(p, list) else p for p in prompts]
        texts = [c[-1]["content"] if isinstance(c, list) else c for c in completions]
        return normalised(score(rm, rm_tokenizer, user, texts, max_length=max_length), mean, std)

    return fn
