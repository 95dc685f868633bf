"""The models and prompts the benchmarks share: SmolLM2 (default) or a tiny random Llama (`--quick`)."""

from __future__ import annotations

import torch


def load_base(opts: dict, dtype: torch.dtype | None = None):
    """(causal LM, tokenizer) in `dtype`; by default bf16 where the hardware runs it natively, else fp32."""
    from rlhf_lib import models
    from rlhf_lib.models import bf16_is_fast

    if opts["model"] == "tiny":
        return models.load_tiny_model(seed=0, layers=opts.get("layers", 4))
    fast = bf16_is_fast("cuda" if torch.cuda.is_available() else "cpu")
    return models.load_model(opts["model"], dtype=dtype or (torch.bfloat16 if fast else torch.float32))


def tiny_reward_model():
    """(a tiny random LlamaForSequenceClassification with one score, its tokenizer): the --quick reward model."""
    from transformers import LlamaForSequenceClassification

    from rlhf_lib import models

    tiny, tokenizer = models.load_tiny_model(seed=0, layers=2)
    torch.manual_seed(0)
    tiny.config.num_labels = 1
    model = LlamaForSequenceClassification(tiny.config)
    model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def prompt_ids(tokenizer, n: int) -> tuple[list[list[int]], list[dict]]:
    """The chat-template token ids of the first `n` training prompts of the course (and their records)."""
    from rlhf_lib import data, models

    prompts = data.load_prompts("train")[:n]
    return models.chat_prompt_ids(tokenizer, prompts), prompts


def n_params(model, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def fp32_decode_batch(opts: dict):
    """What the one-process decode benchmarks share: the fp32 model (frozen), the left-padded prompts (ids, mask),
    `decode.Sampler.sample`'s arguments after them, the sampler, and plain `generate` as a callable(seed) -> response
    ids (B, R) with the same sampling (temperature T, no top-k/top-p)."""
    from rlhf_lib import decode, models

    model, tok = load_base(opts, torch.float32)
    model.eval().requires_grad_(False)
    ids, mask = models.pad_batch(prompt_ids(tok, opts["batch"])[0], tok.pad_token_id, side="left")
    args = (opts["max_new_tokens"], opts["temperature"], tok.eos_token_id, tok.pad_token_id)

    @torch.no_grad()
    def generate(seed):
        torch.manual_seed(seed)
        return model.generate(input_ids=ids, attention_mask=mask, do_sample=True, temperature=opts["temperature"],
                              top_k=0, top_p=1.0, max_new_tokens=opts["max_new_tokens"], eos_token_id=tok.eos_token_id,
                              pad_token_id=tok.pad_token_id)[:, ids.shape[1]:]

    return model, ids, mask, args, decode.Sampler(model, dtype=torch.float32), generate
