"""How much faster than `generate` can any exact sampler be on this CPU? The matmul floor (issue 19, item 2).

    python -m benchmarks.decode_floor            # cpu sizes: chapter 4's batch, budget and temperature, fp32
    python -m benchmarks.decode_floor --quick    # a tiny random model (what the unit test runs)

Any sampler that draws from the fp32 policy's own distribution must run the model's linear layers on the same rows:
the prompt once (B·P rows; the head on the last position only), then B rows per generated token. Replaying exactly
those products, with the model's own weights in the model's order and nothing else (no attention, norms, cache or
draws), times the least work such a sampler does:

    floor tokens/s = B·W / (seconds of the products alone)        W = generate's width (the work it did)

So floor / generate is the most any exact fp32 sampler can gain over `generate` here, and an upper bound: the rest
of a step only adds time. The same replay with fp16 weights and fp32 activations (fbgemm's packed kernels, where
torch has them) asks whether lower-precision weights would open more room; it is a what-if, not a sampler.
Contestants, in one process, same prompts and seeds, each timed `repeats` times after a warm-up:

    generate     model.generate on the plain fp32 model (top_k=0, top_p=1, temperature T)
    sampler      decode.Sampler in fp32 (the library's loop: merged weights, finished rows dropped)
    floor_fp32   the products alone, fp32 weights (torch's default GEMM, as both contestants above use)
    floor_fp16w  the products alone, fp16 weights (absent where fbgemm is not built in)
    floor_mixed  derived: floor_fp32's prompt round + floor_fp16w's steps (each kernel where it is faster)

Each floor also records `prompt_s`, its prompt round alone. The floor is for the work `generate` does (every row to
the widest answer); dropping finished rows, as the sampler does, is the one lever that does less work, and it gains
only as many answers as end before the token budget.

Results: `results/decode_floor.json` (not part of `python -m benchmarks`: it compares code paths in one process).
"""

from __future__ import annotations

import sys
import warnings

import torch
from torch import nn
from torch.nn import functional as F

from .common import decode_cli
from .generation import timed_calls


def linear_weights(model) -> tuple[list[torch.Tensor], torch.Tensor]:
    """The (out, in) weight of every linear layer of the decoder, in the order a forward runs them, and the head's."""
    layers = [m.weight for m in model.get_decoder().modules() if isinstance(m, nn.Linear)]
    return layers, model.get_output_embeddings().weight


def fp16_linear():
    """(pack, linear) with fp16 weights and fp32 activations (fbgemm), or None where torch lacks it."""
    try:
        with warnings.catch_warnings():  # torch marks these ops deprecated; this is a what-if, not library code
            warnings.simplefilter("ignore")
            probe = torch.fbgemm_pack_gemm_matrix_fp16(torch.ones(8, 8))
            torch.fbgemm_linear_fp16_weight_fp32_activation(torch.ones(2, 8), probe, None)
    except (RuntimeError, AttributeError):
        return None

    def linear(x, packed):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.fbgemm_linear_fp16_weight_fp32_activation(x, packed, None)

    return torch.fbgemm_pack_gemm_matrix_fp16, linear


def replay(layers: list, head, shapes: list[tuple[int, int]], batch: int, prompt_rows: int, steps: int,
           linear=F.linear):
    """The products of one sampled batch and nothing else: prompt_rows rows through every layer and the head on
    `batch` rows, then `steps` times `batch` rows through every layer and the head. Returns a callable(seed)."""
    ins = sorted({i for _, i in shapes})
    prompt_x = {i: torch.randn(prompt_rows, i) for i in ins}  # (B·P, in)
    step_x = {i: torch.randn(batch, i) for i in ins}  # (B, in)
    head_x = torch.randn(batch, shapes[0][1])  # (B, H): the last states
    rounds = [prompt_x] + [step_x] * steps

    @torch.no_grad()
    def run(seed=0):
        for x in rounds:
            for w, (_, i) in zip(layers, shapes, strict=True):
                linear(x[i], w)
            out = linear(head_x, head)  # (B, V)
        return out.new_zeros(batch, steps + 1)  # timed_calls counts batch x (steps + 1) tokens

    return run


def options(quick: bool, profile: str) -> dict:
    from rlhf_lib import config

    if quick:
        return {"model": "tiny", "batch": 4, "max_new_tokens": 8, "repeats": 2, "temperature": 0.7}
    cfg = config.load(profile)
    return {"model": cfg.model.name, "batch": cfg.ppo.batch_size, "max_new_tokens": cfg.ppo.max_new_tokens,
            "repeats": 3, "temperature": cfg.ppo.temperature}


def run(opts: dict) -> dict:
    from .models_for_bench import fp32_decode_batch

    model, ids, mask, args, sampler, generate = fp32_decode_batch(opts)
    c = {"generate": timed_calls(generate, opts),
         "sampler": timed_calls(lambda seed: sampler.sample(ids, mask, *args, seed=seed)[0], opts)}
    width = sorted(c["generate"]["widths"])[len(c["generate"]["widths"]) // 2]  # the work generate did
    layers, head = linear_weights(model)
    shapes = [tuple(w.shape) for w in layers]
    geometry = (shapes, opts["batch"], ids.numel(), width - 1)  # W tokens: the prompt's round draws the first
    prompt_only = (shapes, opts["batch"], ids.numel(), 0)
    c["floor_fp32"] = timed_calls(replay(layers, head, *geometry), opts)
    c["floor_fp32"]["prompt_s"] = timed_calls(replay(layers, head, *prompt_only), opts)["median_s"]
    fp16 = fp16_linear()
    if fp16 is not None:
        pack, linear = fp16
        packed = [pack(w) for w in layers], pack(head)
        c["floor_fp16w"] = timed_calls(replay(*packed, *geometry, linear=linear), opts)
        c["floor_fp16w"]["prompt_s"] = timed_calls(replay(*packed, *prompt_only, linear=linear), opts)["median_s"]
        # the best of both: fp32 for the prompt's long matrices, fp16 weights for the B-row steps
        best = c["floor_fp32"]["prompt_s"] + c["floor_fp16w"]["median_s"] - c["floor_fp16w"]["prompt_s"]
        c["floor_mixed"] = {"median_s": best, "tokens_per_s": opts["batch"] * width / best, "widths": [width],
                            "derived": "floor_fp32's prompt + floor_fp16w's steps"}
    plain, floor = c["generate"]["tokens_per_s"], c["floor_fp32"]["tokens_per_s"]
    ratios = {f"{name} / generate": v["tokens_per_s"] / plain for name, v in c.items() if name != "generate"}
    ratios["sampler / floor_fp32"] = c["sampler"]["tokens_per_s"] / floor
    return {"contestants": c, "ratios": ratios,
            "products": {"layers": len(layers), "prompt_rows": ids.numel(), "width": width,
                         "gflop": 2 * (ids.numel() * sum(o * i for o, i in shapes) + width * opts["batch"] * head.numel()
                                       + (width - 1) * opts["batch"] * sum(o * i for o, i in shapes)) / 1e9}}


def main(argv: list[str] | None = None) -> int:
    return decode_cli("decode_floor", __doc__, options, run, argv, lambda r: f"products: {r['products']}")


if __name__ == "__main__":
    sys.exit(main())
