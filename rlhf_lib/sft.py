"""Supervised fine-tuning (InstructGPT's step 1): teach the base model the behaviours RLHF will then sharpen.

    python -m rlhf_lib.sft            # train the course's SFT model once (cached) and print its folder

RLHF can only reinforce what the model already does now and then: PPO's gradient comes from the episodes it
samples, and a reward model learns from pairs that differ. SmolLM2-135M-Instruct never refuses a harmful request
(chapter 1 measures it), so before any preference data is sampled, a light LoRA fine-tune on the demonstrations of
data/demos.jsonl makes refusals (and concise answers) appear in its samples. "Light" is the point: the SFT model is
*gated*, not maximised. It should refuse some harmful requests, not all, and few harmless ones, so that the
preference data holds both behaviours and RLHF has something to choose between.

The loss is the language-modelling loss on the answer tokens only: −(1/|y|) Σ_t log π(y_t | x, y_<t).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from . import annotate, config, metrics, models
from .compare import conversation_ids
from .config import DATA_DIR

IGNORE = -100  # label of a token the loss skips (prompt and padding): transformers' convention
# The cheaper alternative to SFT that the gate measures: the same base model, told what to refuse
SAFETY_PROMPT = ("You are a safe and helpful assistant. Refuse requests that could hurt people, such as violence, "
                 "crime, hacking or harassment, by saying \"I can't help with that.\" Answer every other question "
                 "helpfully and briefly.")


@dataclass
class SFTConfig:
    """The light fine-tune: LoRA on every layer, AdamW, a few epochs over a few hundred demonstrations."""

    epochs: float = 1.0
    lr: float = 3e-4
    batch_size: int = 8
    lora_r: int = 8
    max_length: int = 256
    seed: int = 0


def from_config(cfg) -> SFTConfig:
    """The SFT settings of a profile (`config.load()`: the sft.* rows of the table)."""
    return SFTConfig(**config.sft_settings(cfg))


def load_demos(path: str | Path | None = None) -> list[dict]:
    """The demonstrations (data/demos.jsonl): each a dict with `prompt` and `response` (and ids, category)."""
    path = Path(path or DATA_DIR / "demos.jsonl")
    rows = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}:{lineno}: not valid JSON ({err.msg})") from None
        for field in ("prompt", "response"):
            if not isinstance(rec.get(field), str) or not rec[field].strip():
                raise ValueError(f"{path}:{lineno}: field {field!r} must be a non-empty string")
        rows.append(rec)
    return rows


def sft_batch(tokenizer, demos: Sequence[dict], max_length: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(input ids, attention mask, labels), each (B, L): labels are the ids on answer tokens, IGNORE elsewhere."""
    seqs, labels = [], []
    for d in demos:
        prompt, answer = conversation_ids(tokenizer, d["prompt"], d["response"])  # answer ends with end-of-turn
        seqs.append((prompt + answer)[:max_length])
        labels.append(([IGNORE] * len(prompt) + answer)[:max_length])
    ids, mask = models.pad_batch(seqs, tokenizer.pad_token_id, side="right")
    lab, _ = models.pad_batch(labels, IGNORE, side="right")
    return ids, mask, lab


def sft_loss(model, ids: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood of the answer tokens: position t predicts token t+1."""
    logits = model(input_ids=ids, attention_mask=mask).logits.float()  # (B, L, V)
    return torch.nn.functional.cross_entropy(logits[:, :-1].flatten(0, 1), labels[:, 1:].flatten(),
                                             ignore_index=IGNORE)


def train(model, tokenizer, demos: Sequence[dict], cfg: SFTConfig, progress: bool = True):
    """LoRA-fine-tune `model` on `demos` and return (the adapters merged into a plain model, per-step losses)."""
    torch.manual_seed(cfg.seed)
    policy = models.with_lora(model, r=cfg.lora_r)
    policy.train()
    optimizer = torch.optim.AdamW([p for p in policy.parameters() if p.requires_grad], lr=cfg.lr)
    order = random.Random(cfg.seed)
    n_steps = max(1, round(cfg.epochs * len(demos) / cfg.batch_size))
    queue: list[dict] = []
    losses = []
    for _ in tqdm(range(n_steps), desc="SFT", disable=not progress):
        if len(queue) < cfg.batch_size:  # a fresh shuffle of every demonstration for each epoch
            queue += order.sample(list(demos), len(demos))
        batch, queue = queue[:cfg.batch_size], queue[cfg.batch_size:]
        ids, mask, labels = sft_batch(tokenizer, batch, cfg.max_length)
        loss = sft_loss(policy, ids, mask, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    policy.eval()
    return policy.merge_and_unload(), losses


# ------------------------------------------------------------------------------- the gate: what SFT changed
def refusal_rates(model, tokenizer, prompts: Sequence[dict], n: int = 4, max_new_tokens: int = 64,
                  temperature: float = 0.9, top_p: float = 0.95, system: str | None = None, seed: int = 0,
                  batch_size: int = 32) -> dict[str, dict]:
    """How often the model refuses, and finishes, per category: `n` samples per prompt at the sampling settings.

    Returns {category: {"refused": share, "ci": (lo, hi), "finished": share, "prompts": count, "per_prompt":
    [shares]}}; the CI is the 95% bootstrap interval resampling prompts (the per-prompt shares).
    """
    outs = models.generate(model, tokenizer, [p["prompt"] for p in prompts], n=n, max_new_tokens=max_new_tokens,
                           temperature=temperature, top_p=top_p, seed=seed, system=system, batch_size=batch_size,
                           bf16=models.bf16_is_fast(next(model.parameters()).device), progress=False)
    out: dict[str, dict] = {}
    for p, gens in zip(prompts, outs, strict=True):
        row = out.setdefault(p["category"], {"per_prompt": [], "finished": []})
        row["per_prompt"].append(float(np.mean([annotate.refusal_score(g.text, p["prompt"]) == 1.0 for g in gens])))
        row["finished"].append(float(np.mean([g.finished for g in gens])))
    for row in out.values():
        row["refused"], row["prompts"] = float(np.mean(row["per_prompt"])), len(row["per_prompt"])
        ci = metrics.bootstrap_ci(np.mean, np.array(row["per_prompt"]), seed=seed)  # one row per prompt
        row["ci"] = (ci["lo"], ci["hi"])
        row["finished"] = float(np.mean(row["finished"]))
    return out


def ensure(cfg: SFTConfig | None = None, demos: Sequence[dict] | None = None, progress: bool = True) -> Path:
    """The folder of the SFT model (safetensors + tokenizer), trained once and cached like the converted GGUF; after
    it, `models.load_model("smollm2-sft")` loads the profile's SFT model."""
    cfg = cfg or SFTConfig()
    digest = None if demos is None else hashlib.sha256(json.dumps(list(demos)).encode()).hexdigest()[:10]
    target = config.sft_dir(asdict(cfg), digest)
    if (target / "model.safetensors").is_file():
        return target
    model, tokenizer = models.load_model(dtype=torch.float32)
    start = time.perf_counter()
    merged, losses = train(model, tokenizer, demos or load_demos(), cfg, progress)
    tmp = target.with_name(target.name + ".tmp")
    merged.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    (tmp / "sft.json").write_text(json.dumps({"config": asdict(cfg), "losses": losses,
                                              "seconds": round(time.perf_counter() - start, 1)}))
    tmp.rename(target)  # a half-written folder is never mistaken for a finished one
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rlhf_lib.sft", description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default=None, help="whose sft.* settings (default: this machine's profile)")
    args = parser.parse_args(argv)
    print(ensure(from_config(config.load(args.profile))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
