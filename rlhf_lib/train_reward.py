"""Chapter 2's reward model, headless, on the course's preference data or on yours.

    python -m rlhf_lib.train_reward --config cpu                      # our explicit loop (reward.train)
    python -m rlhf_lib.train_reward --config cpu --engine trl         # TRL's RewardTrainer, same data and model
    python -m rlhf_lib.train_reward --data my_prefs.jsonl --on-error skip    # your own data (docs/own_data.md)
    python -m rlhf_lib.train_reward --data Anthropic/hh-rlhf --arch lora     # a hub dataset (online learners)
    accelerate launch --num_processes 2 --cpu -m rlhf_lib.train_reward --config ci --engine trl
    accelerate launch --multi_gpu --num_processes 4 -m rlhf_lib.train_reward --config gpu --engine trl

`--data` reads any format of `data.normalize` (TRL explicit or conversational, HH-RLHF) as one JSONL file, a folder
of train/val/test.jsonl, a folder saved by `datasets` or a hub id; only prompt / chosen / rejected are needed. A
missing val or test split is carved out of train by prompt, a seeded share of the prompts each (`--val-fraction`,
`--test-fraction`). `--on-error skip` skips bad rows (an empty answer, identical answers, broken JSON) and counts them.

`--arch`: topk (the default: the top-k layers of the base model, trained exactly on cached states of the frozen
bottom), lora (LoRA adapters on every layer, merged when saved) or ffn (an MLP on frozen pooled features). topk and
lora write a standard `AutoModelForSequenceClassification` folder: safetensors, num_labels=1, the pad token in its
config, and a tokenizer that pads on the right and cuts from the left at `reward.max_length`, so transformers alone
loads it and scores with it (docs/own_data.md shows how). An ffn has no such form (it mean-pools the response): it is
saved in rlhf_lib's own format (`ffn.safetensors` + `reward_info.json`), which PPO does not read.

Our loop is the course's single-process reference; data parallelism comes from TRL's trainer (an HF `Trainer`:
under `accelerate launch` it wraps the model in DistributedDataParallel and shards the pairs), so `--engine trl`
(topk only) is the one to launch on several processes. The frozen features are extracted once, by the main process,
and cached for the others. Writes `<output_dir>/reward_model` (what `reward.load_reward_model` reads), or
`<output_dir>/reward_model-<data name>` with `--data` (`--save` chooses), and prints the validation and test accuracy
with 95% CIs by prompt. `load_or_train()` is the same recipe in-process, for the chapters that need chapter 2's
model when it is missing.
"""

from __future__ import annotations

import contextlib
import copy
import json
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import save_file

from . import config, data, features, judge, launch, metrics, models, pairs, reward

ARCHS = ("ffn", "topk", "lora")


def main(argv: list[str] | None = None) -> int:
    p = launch.parser(__doc__)
    p.add_argument("--engine", choices=("ours", "trl"), default="ours")
    p.add_argument("--data", default=None, metavar="PATH_OR_HUB_ID",
                   help="preference data of your own: a JSONL file, a folder of train/val/test.jsonl, a folder saved "
                        "by datasets, or a hub id (default: the course's dataset, with every panel label)")
    p.add_argument("--arch", choices=ARCHS, default="topk", help="the reward model (default: topk)")
    p.add_argument("--on-error", choices=("raise", "skip"), default="raise",
                   help="a bad row stops the run (raise, the default) or is skipped and counted (skip)")
    p.add_argument("--val-fraction", type=float, default=0.1, help="share of train's prompts carved out as val, "
                                                                   "when the data has no val split (default 0.1)")
    p.add_argument("--test-fraction", type=float, default=0.1, help="the same for test (default 0.1)")
    p.add_argument("--save", default=None, help="the folder the reward model goes to (default: <output-dir>/"
                                                "reward_model, or <output-dir>/reward_model-<data name> with --data)")
    args = p.parse_args(argv)
    if args.engine == "trl" and args.arch != "topk":
        p.error("--engine trl trains the topk arch only (TRL's RewardTrainer on the cached states)")
    name = reward.REWARD_DIR if args.data is None else f"{reward.REWARD_DIR}-{Path(args.data.rstrip('/')).stem}"
    try:  # settings and paths are refused here, before anything loads (the data: first thing in train_and_save)
        cfg = launch.load_run(args.config, args.set, args.output_dir)
        save = Path(args.save) if args.save else cfg.output_dir / name
        launch.check_writable(save, "--save")
        data.check_fractions(args.val_fraction, args.test_fraction)
    except (ValueError, FileNotFoundError) as err:
        p.error(str(err))
    state = launch.process_state()
    if args.engine == "ours" and state.num_processes > 1:
        raise SystemExit("--engine ours is the single-process loop of chapter 2; launch several processes with "
                         "--engine trl (TRL's RewardTrainer is data parallel under accelerate)")
    try:
        train_and_save(cfg, save, args.engine, state, source=args.data, arch=args.arch, on_error=args.on_error,
                       fractions=(args.val_fraction, args.test_fraction))
    except data.PreferenceDataError as err:  # the user's data: the message names the file, line and field
        raise SystemExit(f"error: {err}") from None
    state.wait_for_everyone()
    return 0


def read_data(source: str | Path | None, on_error: str = "raise", fractions: tuple[float, float] = (0.1, 0.1),
              seed: int = 0):
    """(train / val / test DatasetDict, what was read): chapter 1's dataset when `source` is None, else yours through
    `data.read_preferences` and `data.with_splits` (val and test carved out of train by prompt where missing)."""
    if source is None:
        return data.load_preferences(), {"source": str(data.default_source())}
    dataset, skipped = data.read_preferences(source, on_error)
    have = {"val" if name == "validation" else name for name in dataset}
    full = data.with_splits(dataset, *fractions, seed=seed)
    data.check_eval_splits(full)
    read = {"source": str(source), "rows_read": sum(map(len, dataset.values())) + sum(skipped.values()),
            "bad_rows_skipped": sum(skipped.values()), "pairs": {s: len(full[s]) for s in full},
            "carved_from_train": [s for s in ("val", "test") if s not in have],
            "also_in_train": {s: len(hits) for s, hits in data.split_overlap(full).items()}}
    carved = f"; {' and '.join(read['carved_from_train'])} carved out of train by prompt (seed {seed})" \
        if read["carved_from_train"] else ""
    print(f"data {source}: {read['rows_read']} rows read, {read['bad_rows_skipped']} bad rows skipped"
          f"{' (--on-error skip)' if read['bad_rows_skipped'] else ''}; pairs "
          f"{' / '.join(f'{s} {n}' for s, n in read['pairs'].items())}{carved}")
    return full, read


def train_and_save(cfg, path: str | Path, engine: str = "ours", state=None, source: str | Path | None = None,
                   arch: str = "topk", on_error: str = "raise", fractions: tuple[float, float] = (0.1, 0.1),
                   chapter: bool = False) -> Path:
    """Chapter 2's recipe at the sizes of `cfg` (`config.load`): a reward model (`arch` topk, lora or ffn), Bradley-Terry,
    AdamW, early-stopped on val accuracy; measured on val and test; saved to `path`.

    `source`: None for chapter 1's dataset, or data of your own (`read_data`; bad rows skipped and counted with
    `on_error="skip"`, `fractions` of the prompts carved out for a missing val / test). Trained on every panel label
    where the data has chapter 1's label log (`data.load_panel_votes`: its annotations.jsonl beside the preference
    folder, as chapter 1 and `rlhf_lib.iterate` write), else on its one label a pair.
    Engine "trl" (topk only) also writes to `cfg.output_dir`, as `launch.load_run` sets it. `state`: accelerate's
    process state under a launcher (None: one process). `chapter`: train on the pairs a chapter's notebook keeps
    (`pairs.split_caps`: the cpu profile sub-samples train), as the chapters that need chapter 2's model do.
    """
    if arch not in ARCHS:
        raise ValueError(f"arch {arch!r} is not one of {', '.join(ARCHS)}")
    if engine == "trl" and arch != "topk":
        raise ValueError("engine 'trl' trains the topk arch only")
    launch.check_writable(path, "the reward model's folder")  # before training, not after it
    main_process = state is None or state.is_main_process
    processes = 1 if state is None else state.num_processes
    config.seed_everything(cfg.seed)
    r = cfg.reward
    prefs, read = read_data(source, on_error, fractions, cfg.seed)
    model, tokenizer = reward.load_transformer_rm(cfg.model.name, "lora" if arch == "lora" else "topk", r.top_k,
                                                  lora_r=r.lora_r, seed=cfg.seed)
    table = pairs.build_pairs(prefs, tokenizer, r.max_length, pairs.split_caps(r, chapter), seed=cfg.seed)
    votes = data.load_panel_votes(source)  # every panel label, where the data has chapter 1's label log beside it
    if votes and engine == "ours":  # soft targets; TRL takes one label per pair
        pairs.add_vote_splits(table, prefs, votes)
    tr, va = ("train_votes", "val_votes") if "train_votes" in table.splits else ("train", "val")
    # the frozen features: the ffn's and top-k's inputs, and the linear-probe baseline's (LoRA's B = 0: still frozen)
    with state.main_process_first() if state is not None else contextlib.nullcontext():  # main extracts, others read
        cache = features.extract(model, tokenizer, table, r.top_k, models.resolve(cfg.model.name),
                                 r.feature_batch_size, progress=main_process, cache_dir=_cache_dir(cfg))
    probe, probe_chosen = features.best_linear_probe(features.layer_features(cache, r.probe_layers), table.splits[tr],
                                                     table.splits[va])
    if arch == "lora":  # reads token ids
        trained, fn = model, reward.token_reward_fn(model, table, tokenizer.pad_token_id)
        tcfg = _train_config(r, cfg.seed, lr=r.lora_lr, epochs=r.lora_epochs or r.epochs, center_coef=0.01)
    else:
        if arch == "topk":
            trained = reward.top_layers_model(model, r.top_k)
            fn = features.topk_reward_fn(trained, cache)
            tcfg = _train_config(r, cfg.seed, lr=r.lr, epochs=r.epochs, center_coef=0.01)
        else:
            trained, fn, tcfg = _ffn(cache, r, len(table.splits[tr]), cfg.seed)
    start = time.perf_counter()
    if engine == "ours":
        result = reward.train(trained, fn, table.splits[tr], table.splits[va], tcfg, autocast=True,
                              desc=f"train RM ({arch})")
        val_accuracy = result.best_val_accuracy
    else:
        trainer = features.train_with_trl(trained, cache, table, tcfg, epochs=r.trl_epochs,
                                          output_dir=cfg.output_dir / "trl_reward", eval_steps=None)
        val_accuracy = None
        if main_process:
            with torch.no_grad():
                rc, rr = reward.score_split(fn, table.splits["val"])
            val_accuracy = reward.pairwise_accuracy(rc, rr)
        del trainer
    seconds = time.perf_counter() - start
    path = Path(path)
    if main_process:
        figures = {s: measure_split(fn, table.splits[s], cfg.metrics.n_boot, cfg.seed) for s in ("val", "test")
                   if s in table.splits}
        margins = {s: f.pop("margins") for s, f in figures.items()}  # for the baseline, not for reward_info.json
        baseline = probe_baseline(probe, probe_chosen, margins, table, cfg.metrics.n_boot, cfg.seed)
        info = {"arch": arch, "top_k": r.top_k, "max_length": r.max_length, "profile": cfg.profile,
                "engine": engine, "processes": processes, "seconds": seconds, "val_accuracy": val_accuracy,
                "data": read, "figures": figures, "probe_baseline": baseline, "trained_by": "rlhf_lib.train_reward"}
        if arch == "ffn":
            path = launch.save_or_rescue(lambda to: save_ffn(trained, to, {
                **info, "base_model": cfg.model.name, "ffn_layer": r.ffn_layer, "ffn_hidden": r.ffn_hidden}),
                path, "the reward model")
        else:
            path = launch.save_or_rescue(lambda to: reward.save_reward_model(
                model, scoring_tokenizer(tokenizer, r.max_length), to, {**info, "score_with_transformers": SCORE_HOWTO}),
                path, "the reward model")
        print(f"reward model ({arch}, {engine}, {processes} process(es), {seconds:.0f} s, val accuracy "
              f"{val_accuracy:.3f}) saved to {path}")
        for split, f in figures.items():
            print("  " + describe_split(split, f))
        print("  " + describe_baseline(baseline))
        if arch == "ffn":
            print("  (--arch ffn: rlhf_lib's own format, ffn.safetensors; a folder transformers loads needs "
                  "--arch topk or lora)")
    return path


def _cache_dir(cfg) -> Path | None:
    """Where a headless run keeps its frozen features: with its outputs (`--output-dir`), not in the repository's
    artifacts; None (the profile's artifacts) in-process, where `config.load` names no output folder."""
    out = getattr(cfg, "output_dir", None)
    return Path(out) / "reward_cache" if out is not None else None


def _train_config(r, seed: int, **changes) -> reward.TrainConfig:
    """The loop's settings from the profile's `reward.*` rows; `changes` set the arch's own (lr, epochs, ...)."""
    settings = dict(batch_size=r.batch_size, eval_every=r.eval_every, patience=r.patience, seed=seed)
    return reward.TrainConfig(**{**settings, **changes})


def _ffn(cache: features.FeatureCache, r, n_train: int, seed: int):
    """Chapter 2's feedforward RM on the pooled features of layer `reward.ffn_layer`: (model, reward fn, settings)."""
    n_layers = cache.pooled.shape[1] - 1
    if not 0 <= r.ffn_layer <= n_layers:
        raise ValueError(f"reward.ffn_layer={r.ffn_layer}, but the base model has {n_layers} layers: choose one with "
                         f"--set reward.ffn_layer=K, 0 <= K <= {n_layers}")
    x = cache.features(r.ffn_layer, "both")  # (S, 2H): last-token and response-mean hidden states
    torch.manual_seed(seed)
    net = reward.FeedForwardRM(x.shape[1], hidden=r.ffn_hidden)
    steps = r.ffn_epochs * -(-n_train // r.batch_size)
    tcfg = _train_config(r, seed, lr=r.ffn_lr, weight_decay=0.01, epochs=r.ffn_epochs,
                         eval_every=max(1, steps // 40), patience=10 * r.patience)  # chapter 2's FFN settings
    return net, features.feature_reward_fn(net, x), tcfg


def measure_split(fn: reward.RewardFn, split: pairs.PairSplit, n_boot: int, seed: int) -> dict:
    """One split's figures: accuracy and gold agreement {value, lo, hi} with 95% CIs by prompt (`reward.measure`),
    chapter 3's AUC-ROC and ECE (points: `metrics.metric_table` gives their CIs, at the price of a scikit-learn call
    per resample), the Bayes ceiling and the margins r_c - r_r; gold agreement and the ceiling are None where the data
    lacks what they need."""
    m = reward.measure(fn, split, n_boot, seed, autocast=True)
    return {"pairs": len(split), "accuracy": m["accuracy"], "gold_agreement": m["gold_agreement"],
            "auc": metrics.classification_metrics(m["margins"])["auc"],
            "ece": metrics.expected_calibration_error(m["margins"]),
            "bayes_ceiling": metrics.bayes_ceiling(split.p_chosen), "margins": m["margins"]}


def probe_baseline(probe: torch.Tensor, chosen: dict, margins: dict, table: pairs.PairTable, n_boot: int,
                   seed: int) -> dict:
    """The simplest reward model against the trained one (its `margins` r_c - r_r by split): on each split, the linear
    probe's accuracy and the trained model's minus the probe's on the same pairs (`reward.accuracy_difference`), CIs
    by prompt."""
    out = {"probe": chosen}
    for name, model_margins in margins.items():
        split = table.splits[name]
        m = (probe[split.chosen] - probe[split.rejected]).numpy()
        out[name] = {"probe_accuracy": reward.figures_with_ci(split, m, n_boot, seed)["accuracy"],
                     "model_minus_probe": reward.accuracy_difference(split, model_margins, m, n_boot, seed),
                     "prompts": len(torch.unique(split.group))}
    return out


def describe_baseline(baseline: dict) -> str:
    """One line: does the trained model beat the linear probe on the test split (else on val)?"""
    name = "test" if "test" in baseline else "val"
    b, d = baseline[name], baseline[name]["model_minus_probe"]
    verdict = reward.difference_verdict(d, b["prompts"])
    p = b["probe_accuracy"]
    return (f"baseline, a linear probe on frozen features (layer {baseline['probe']['layer']}, C "
            f"{baseline['probe']['C']:g}): {name} accuracy {judge.ci_text(p, pct=False)}; "
            f"this model minus the probe {d['value']:+.3f} [{d['lo']:+.3f}, {d['hi']:+.3f}]: it {verdict}")


def describe_split(split: str, f: dict) -> str:
    """One line of a split's figures from `measure_split`, saying which need what the data does not have."""
    gold = (judge.ci_text(f["gold_agreement"], pct=False) if f["gold_agreement"] is not None
            else "not available (no gold_chosen / gold_rejected)")
    ceiling = f"{f['bayes_ceiling']:.3f}" if f["bayes_ceiling"] is not None else "not available (no p_chosen)"
    return (f"{split}: {f['pairs']} pairs, accuracy {judge.ci_text(f['accuracy'], pct=False)} (95% CI by prompt), AUC {f['auc']:.3f}, "
            f"ECE {f['ece']:.3f}; gold agreement {gold}; Bayes ceiling {ceiling}")


# How a saved folder scores with transformers alone (recorded in its reward_info.json, shown in docs/own_data.md).
SCORE_HOWTO = ("model = AutoModelForSequenceClassification.from_pretrained(path); tokenizer = "
               "AutoTokenizer.from_pretrained(path); text = tokenizer.apply_chat_template(messages + [{'role': "
               "'assistant', 'content': answer}], tokenize=False); reward = model(**tokenizer(text, "
               "add_special_tokens=False, truncation=True, return_tensors='pt')).logits[0, 0]")


def scoring_tokenizer(tokenizer, max_length: int):
    """A copy of the tokenizer that pads and cuts as `reward.score` does: pads on the right (positions 0, 1, ... from
    the first token, as in training) and cuts from the left at `max_length` (the end, where the reward is read, stays)."""
    tokenizer = copy.deepcopy(tokenizer)
    settings = {"padding_side": "right", "truncation_side": "left", "model_max_length": max_length}
    for key, value in settings.items():
        setattr(tokenizer, key, value)
        tokenizer.init_kwargs[key] = value  # what save_pretrained writes to tokenizer_config.json
    return tokenizer


def save_ffn(net: reward.FeedForwardRM, path: str | Path, info: dict) -> Path:
    """An ffn reward model in rlhf_lib's own format: its weights (`ffn.safetensors`) and `reward_info.json`."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, path / "ffn.safetensors")
    (path / "reward_info.json").write_text(json.dumps(info, indent=1, default=str))
    return path


def load_or_train(path: str | Path | None = None, device: str | None = None, dtype: torch.dtype = torch.float32):
    """(model, tokenizer) of chapter 2's reward model (`reward.load_reward_model`) in `dtype`, trained first when it
    is missing.

    What later chapters call, so each runs without chapter 2 having run: the missing model is trained by
    `train_and_save` at this profile's sizes (a few minutes on a CPU). PPO scores in `models.fast_dtype` (bf16 where
    native: `benchmarks.reward_bf16` measures what that changes in the rewards); validation stays in fp32.
    """
    path = Path(path or config.artifacts_dir() / reward.REWARD_DIR)
    if not (path / "model.safetensors").is_file():
        print(f"no reward model at {path}: training a small one (this profile's sizes) ...")
        train_and_save(config.load(), path, chapter=True)
    return reward.load_reward_model(path, device, dtype)


if __name__ == "__main__":
    sys.exit(main())
