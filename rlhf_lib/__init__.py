"""rlhf_lib: the small library behind the course, one module per idea, in the order a learner meets them.

Set-up        config       profiles, paths, seeds: every size of every chapter in one table
              models       the base LM offline: device, dtype, tokenizing and padding, chat, sampling, LoRA
SFT           sft          InstructGPT's step 1: a light LoRA fine-tune on demonstrations, and its gate (refusals)
Preferences   data         prompts, sampled responses, labelled pairs, loaders for shared formats, panel votes
              annotate     the hidden gold utility, simulated annotators, agreement, a durable label log
              widgets      ipywidgets annotators for people (pairwise with ties, rankings)
Reward model  pairs        preference pairs as the training loop reads them (token ids once, splits)
              features     frozen features of the base model, cached, and the reward models on them
              reward       losses, architectures, the explicit training loop, scoring, saving
              train_reward chapter 2's reward model, headless, on the course's data or yours (`--data`, docs/own_data.md)
Validation    metrics      accuracy, precision/recall/F1, AUC, calibration, CIs, bias probes, BLEU/ROUGE
              judge        a tuned policy against its reference: win rates with CIs, controls, refusals
PPO           ppo          PPO with a KL penalty, read top to bottom: the equations of chapter 4 in order
              decode       a faster rollout sampler (LoRA merged into a bf16 copy), `PPOConfig(sampler="decode")`
              distributed  data parallelism for PPO, one call per use in `ppo`
              checkpoint   the one checkpoint format of both training loops (refuses a changed configuration)
              meters       wall time and peak memory of a block, the kernel's peak of a process
              train_ppo    chapter 4's run, headless, and its one set-up (`--reward-model`, `--prompts`: yours)
              launch       what the headless entry points share: profile + overrides, process set-up
Beyond        compare      chapter 6: PPO, best-of-n, DPO and RLOO on one problem
              apps/        chapter 5: language (chat, summaries), voice, speech, seqrl (sprites, melody)
              iterate      chapter 5.5's second round for the language model, headless (read from its results file)
Course        exercises/   the checks of chapters 0-4's exercises, one file per chapter
              plots, report, course   shared plots, recorded figures, the headless runner
              voice        `python -m rlhf_lib.voice`: re-sample chapter 5.4's voice answers (entry point)
"""

__version__ = "0.1.0"
