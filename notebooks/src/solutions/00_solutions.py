# %% [markdown]
# # Chapter 0 — worked solutions to the exercises
#
# Try the exercises at the end of `00_setup_and_base_model.ipynb` before reading on. Every solution ends with
# the check the exercise gives you (`exercises.check`, which prints ✅ or ❌ and why); CI runs this notebook,
# so each check here is known to accept a right answer.

# %%
import torch

from rlhf_lib import config, exercises, models

# %% [markdown]
# ## 00.1 A profile with an override
#
# `config.load` takes the profile by name; an override uses the table's dotted name with `__` for the dot.

# %%
cfg = config.load("cpu", model__probe_samples=8)
print(cfg.profile, cfg.model)
assert exercises.check("00.1", cfg)

# %% [markdown]
# ## 00.2 Sampling temperature
#
# Divide the logits by $T$, then take the softmax. Subtracting the largest logit first changes nothing
# (the factor $e^{-\max}$ cancels between numerator and denominator) but keeps `exp` from overflowing.

# %%
def softmax_t(logits, temperature):
    z = logits / temperature
    z = z - z.max()  # exp(1000) is inf; exp(0) is not
    e = torch.exp(z)
    return e / e.sum()


logits = torch.tensor([2.0, 1.0, 0.0, -1.0])
for t in (0.3, 1.0, 2.5):
    print(f"T={t}:", [round(p, 3) for p in softmax_t(logits, t).tolist()])
assert exercises.check("00.2", softmax_t)

# %% [markdown]
# ## 00.3 Top-p (nucleus) filtering
#
# Sort the probabilities, keep every token until their running total reaches $p$ (the token that crosses
# $p$ is kept), put the kept probabilities back at their positions, and renormalise.

# %%
def top_p_filter(probs, p):
    sorted_probs, order = torch.sort(probs, descending=True)
    keep = int((torch.cumsum(sorted_probs, 0) < p).sum()) + 1
    out = torch.zeros_like(probs)
    out[order[:keep]] = sorted_probs[:keep]
    return out / out.sum()


print(top_p_filter(torch.tensor([0.1, 0.6, 0.05, 0.25]), 0.7))  # keeps 0.6 and 0.25
assert exercises.check("00.3", top_p_filter)

# %% [markdown]
# ## 00.4 The log-probability of an answer
#
# One forward pass over prompt + answer gives, at every position $t$, the distribution of token $t+1$. The
# answer's first token is therefore scored by the logits of the *last prompt token*, and so on; the sum of
# the log-probabilities of the answer's tokens is $\log \pi(y \mid x)$, the quantity PPO's ratio and KL
# penalty are built from in chapter 4.

# %%
def answer_logprob(model, tokenizer, question, answer):
    prompt = tokenizer(models.chat_prompt(tokenizer, question), add_special_tokens=False)["input_ids"]
    tokens = tokenizer(answer, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([prompt + tokens], device=model.device)
    with torch.no_grad():
        logp = model(ids).logits[0].float().log_softmax(-1)  # (L, V)
    scored = logp[len(prompt) - 1:-1].gather(-1, ids[0, len(prompt):, None])  # (answer tokens, 1)
    return scored.sum().item()


assert exercises.check("00.4", answer_logprob)

# %% [markdown]
# The same function on the real base model: it finds the right answer far more likely than a wrong one.

# %%
model, tokenizer = models.load_model()
for answer in ("The capital of France is Paris.", "The capital of France is Lyon."):
    print(f"{answer_logprob(model, tokenizer, 'What is the capital of France?', answer):8.2f}  {answer}")
