"""Chapter 0's exercises: a profile with an override, sampling temperature, top-p, the log-probability of an answer."""

from __future__ import annotations

from functools import lru_cache

import torch

from .registry import Wrong, _call, _exercise, _expect, _number, _tensor


@lru_cache(maxsize=1)
def _tiny():
    from .. import models

    model, tokenizer = models.load_tiny_model(seed=0)
    return model.eval(), tokenizer


@_exercise("00.1", "a profile with an override")
def _profile(cfg) -> str:
    from .. import config

    _expect(hasattr(cfg, "profile") and hasattr(cfg, "model"), "pass the object that `config.load(...)` returns")
    _expect(cfg.profile == "cpu", f"this is the {cfg.profile!r} profile: ask for it by name, config.load('cpu', ...)")
    _expect(cfg.model.probe_samples == 8, f"model.probe_samples is {cfg.model.probe_samples}, not 8: "
                                          f"override it with model__probe_samples=8")
    want = config.load("cpu", model__probe_samples=8)
    differ = [key for key in config.TABLE
              if getattr(getattr(cfg, key.split(".")[0]), key.split(".")[1], None)
              != getattr(getattr(want, key.split(".")[0]), key.split(".")[1])]
    _expect(not differ, f"other settings differ from the cpu profile: {', '.join(differ[:4])}")
    return "the cpu profile with 8 samples per probe question; every other size is the profile's"


@_exercise("00.2", "sampling temperature")
def _softmax_t(fn) -> str:
    g = torch.Generator().manual_seed(0)
    for t in (1.0, 0.3, 2.5):
        logits = torch.randn(50, generator=g) * 3
        got = _tensor(_call(fn, logits.clone(), t, name=f"softmax_t(logits, {t})"), (50,), f"softmax_t(logits, {t})")
        _expect(abs(got.sum().item() - 1) < 1e-4, f"with T={t} the probabilities sum to {got.sum().item():.4f}, not 1")
        want = torch.softmax(logits.double() / t, -1)
        if not torch.allclose(got, want, atol=1e-5):
            if torch.allclose(got, torch.softmax(logits.double() * t, -1), atol=1e-5):
                raise Wrong(f"with T={t} you multiplied the logits by T: divide them by T (a high T flattens)")
            if torch.allclose(got, torch.softmax(logits.double(), -1), atol=1e-5):
                raise Wrong(f"with T={t} the result ignores T: softmax(logits / T)")
            raise Wrong(f"with T={t} the probabilities differ from softmax(logits / T) by up to "
                        f"{(got - want).abs().max().item():.2g}")
    big = torch.tensor([1000.0, 999.0, -5.0])
    got = _call(fn, big.clone(), 1.0, name="softmax_t([1000, 999, -5], 1)")
    _expect(isinstance(got, torch.Tensor) and bool(torch.isfinite(got).all()),
            "logits of 1000 give NaN or inf: exp(1000) overflows; subtract the largest logit first "
            "(the result does not change)")
    _expect(torch.allclose(got.double(), torch.softmax(big.double(), -1), atol=1e-5),
            "wrong probabilities for the logits [1000, 999, -5]")
    return "softmax(logits / T) for T = 0.3, 1, 2.5, and stable for logits of 1000"


def _top_p_reference(probs: torch.Tensor, p: float) -> torch.Tensor:
    order = torch.argsort(probs, descending=True)
    cum = torch.cumsum(probs[order], 0)
    keep = int((cum < p).sum()) + 1  # the token that crosses p is kept
    out = torch.zeros_like(probs)
    out[order[:keep]] = probs[order[:keep]]
    return out / out.sum()


@_exercise("00.3", "top-p (nucleus) filtering")
def _top_p(fn) -> str:
    cases = [(torch.tensor([0.1, 0.6, 0.05, 0.25]), 0.7), (torch.tensor([0.1, 0.6, 0.05, 0.25]), 0.5)]
    g = torch.Generator().manual_seed(1)
    for p in (0.9, 0.95, 0.5, 1.0):
        cases.append((torch.softmax(torch.randn(30, generator=g) * 2, -1), p))
    for probs, p in cases:
        probs = probs.double()
        want = _top_p_reference(probs, p)
        got = _tensor(_call(fn, probs.clone(), p, name=f"top_p_filter(probs, {p})"), tuple(probs.shape),
                      f"top_p_filter(probs, {p})")
        kept, want_kept = int((got > 0).sum()), int((want > 0).sum())
        _expect(abs(got.sum().item() - 1) < 1e-4, f"with p={p} the kept probabilities sum to {got.sum().item():.3f}: "
                                                  f"renormalise them to sum to 1")
        if kept != want_kept:
            hint = ("include the token whose probability takes the total past p" if kept == want_kept - 1 else
                    "keep only the most likely tokens, stopping as soon as their total reaches p")
            raise Wrong(f"with p={p} you kept {kept} tokens, expected {want_kept}: {hint}")
        _expect(torch.equal(got > 0, want > 0), f"with p={p} you kept the wrong tokens: keep the MOST likely ones, and "
                                                f"return them at their original positions (not sorted)")
        _expect(torch.allclose(got, want, atol=1e-6), f"with p={p} the kept probabilities are not the originals "
                                                      f"divided by their sum")
    return "keeps the smallest set of most likely tokens reaching p, renormalised, in the original order"


def _answer_logprobs(model, tokenizer, question: str, answer: str) -> dict[str, float]:
    """The right value, and the values of two common mistakes (for hints)."""
    from ..models import chat_prompt

    prompt = tokenizer(chat_prompt(tokenizer, question), add_special_tokens=False)["input_ids"]
    tokens = tokenizer(answer, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([prompt + tokens])
    with torch.no_grad():
        logp = model(ids).logits[0].double().log_softmax(-1)  # (L, V)
    target = ids[0, len(prompt):]
    right = logp[len(prompt) - 1:-1].gather(-1, target[:, None]).squeeze(-1)  # logits at t predict token t+1
    unshifted = logp[len(prompt):].gather(-1, target[:, None]).squeeze(-1)
    return {"sum": right.sum().item(), "mean": right.mean().item(), "unshifted": unshifted.sum().item()}


@_exercise("00.4", "log-probability of an answer")
def _logprob(fn) -> str:
    model, tokenizer = _tiny()
    for question, answer in [("What is the capital of France?", "Paris."), ("What is 17 + 25?", "It is 42."),
                             ("Say hello.", "Hello there, my friend!")]:
        ref = _answer_logprobs(model, tokenizer, question, answer)
        got = _number(_call(fn, model, tokenizer, question, answer, name="answer_logprob"),
                      f"answer_logprob(..., {question!r}, {answer!r})")
        if abs(got - ref["sum"]) > 1e-3 * max(1.0, abs(ref["sum"])):
            if abs(got - ref["mean"]) < 1e-3:
                raise Wrong("that is the MEAN log-probability per token: sum them (log p(y|x) = sum_t log p(y_t|...))")
            if abs(got - ref["unshifted"]) < 1e-3 * max(1.0, abs(ref["unshifted"])):
                raise Wrong("off by one position: the logits at position t predict token t + 1, so the answer's "
                            "first token is scored by the logits of the LAST prompt token")
            raise Wrong(f"for {answer!r} you got {got:.4f}, expected {ref['sum']:.4f}: score only the answer's tokens, "
                        f"tokenized on their own and appended to the tokenized chat prompt")
    return "log p(answer | question) of the tiny model, summed over the answer's tokens"


