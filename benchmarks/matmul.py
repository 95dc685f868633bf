"""The machine's ceilings: matmul rate, fp32 and bf16 (the FLOP bound), and memory bandwidth (the decode bound).

A transformer's forward pass costs about 2 FLOPs per parameter per token (a backward pass twice that), so
tokens/s <= rate / (2 x parameters). Measured at the sizes our models use (SmolLM2: hidden 576, MLP 1536) and
at a large square size, with the benchmark's thread count. bf16 is what the course runs where the hardware has it
natively (GPUs; CPUs with AVX512-BF16 or AMX, `models.bf16_is_fast`); elsewhere it is emulated and slower.
Sampling one token for a batch of B reads every weight once, so it is also bound by memory traffic:
steps/s <= bandwidth / (bytes of weights), tokens/s <= B x that (`stream`; half the bytes in bf16).
"""

from __future__ import annotations

import time

import torch

from .common import median


def options(quick: bool, profile: str) -> dict:
    return {"repeats": 3 if quick else 7, "shapes": [[16, 576, 1536], [256, 576, 1536], [2048, 2048, 2048]]
            if not quick else [[16, 64, 128], [256, 256, 256]], "stream_elements": 1 << (20 if quick else 25)}


def matmul(opts: dict, dtype: torch.dtype = torch.float32) -> dict:
    out = {}
    for m, k, n in opts["shapes"]:
        a, b = torch.randn(m, k, dtype=dtype), torch.randn(k, n, dtype=dtype)
        reps = max(1, int(2e9 / (2 * m * k * n)))  # about 2 GFLOP per timing
        a @ b
        seconds = []
        for _ in range(opts["repeats"]):
            start = time.perf_counter()
            for _ in range(reps):
                a @ b
            seconds.append((time.perf_counter() - start) / reps)
        out[f"{m}x{k}x{n}"] = 2 * m * k * n / median(seconds) / 1e9
    return {"gflops": out, "best_gflops": max(out.values()), "threads": torch.get_num_threads()}


def matmul_bf16(opts: dict) -> dict:
    return matmul(opts, torch.bfloat16)


def stream(opts: dict) -> dict:
    """Memory bandwidth, STREAM-style: copy (a = b) and triad (a = b + s·c) on arrays far larger than the caches.

    Decoding reads every weight once per step, so bandwidth / (bytes of weights) bounds its steps/s.
    Bytes counted as STREAM does: 2 arrays per copy, 3 per triad (no write-allocate traffic).
    """
    n = opts.get("stream_elements", 1 << 25)  # 128 MiB per fp32 array
    a, b, c = (torch.rand(n) for _ in range(3))
    out = {}
    for name, fn, arrays in (("copy", lambda: a.copy_(b), 2), ("triad", lambda: torch.add(b, c, alpha=3.0, out=a), 3)):
        fn()
        seconds = []
        for _ in range(opts["repeats"]):
            start = time.perf_counter()
            fn()
            seconds.append(time.perf_counter() - start)
        out[name] = arrays * 4 * n / median(seconds) / 1e9  # GB/s
    return {"gb_per_s": out, "best_gb_per_s": max(out.values()), "threads": torch.get_num_threads()}


CONTESTANTS = {"fp32_matmul": matmul, "bf16_matmul": matmul_bf16, "stream": stream}
RATIOS: list = []
