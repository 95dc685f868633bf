"""The machine's measured matmul rate, fp32 and bf16: the ceiling every other figure is compared with (the FLOP bound).

A transformer's forward pass costs about 2 FLOPs per parameter per token (a backward pass twice that), so
tokens/s <= rate / (2 x parameters). Measured at the sizes our models use (SmolLM2: hidden 576, MLP 1536) and
at a large square size, with the benchmark's thread count. bf16 is what the course runs where the hardware has it
natively (GPUs; CPUs with AVX512-BF16 or AMX, `models.bf16_is_fast`); elsewhere it is emulated and slower.
"""

from __future__ import annotations

import time

import torch

from .common import median


def options(quick: bool, profile: str) -> dict:
    return {"repeats": 3 if quick else 7, "shapes": [[16, 576, 1536], [256, 576, 1536], [2048, 2048, 2048]]
            if not quick else [[16, 64, 128], [256, 256, 256]]}


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


CONTESTANTS = {"fp32_matmul": matmul, "bf16_matmul": matmul_bf16}
RATIOS: list = []
