"""Chapter 5's non-language applications: sprites, melodies and the shared token-sequence RLHF machinery."""

import numpy as np
import pytest
import torch

from rlhf_lib import annotate, ppo
from rlhf_lib.apps import melody, seqrl, sprites


# ============================================================================================ sprites
def _sprite(rows: list[str]) -> list[int]:
    """A sprite from 8 strings of 8 digits (colour indices)."""
    return sprites.to_tokens(np.array([[int(c) for c in r] for r in rows]))


FACE = _sprite(["00000000", "00111100", "01211210", "01111110", "01133110", "00111100", "00000000", "00000000"])
LOPSIDED = _sprite(["00000000", "01110000", "01211000", "01111100", "00113000", "00011000", "00000000", "00000000"])
SPECKLES = _sprite(["10000002", "00030000", "00000400", "01000000", "00005000", "30000000", "00200001", "00000000"])
BLANK = [sprites.N_SPECIAL] * sprites.N_PIXELS


def test_sprite_tokens_round_trip():
    grid = np.arange(64).reshape(8, 8) % sprites.N_COLOURS
    assert (sprites.to_grid(sprites.to_tokens(grid)) == grid).all()
    assert sprites.render(FACE).shape == (8, 8, 3)
    assert sprites.to_grid(FACE[:10]).shape == (8, 8)  # a short sequence is padded with background
    with pytest.raises(ValueError, match="colours"):
        sprites.to_tokens(np.full((8, 8), 9))


def test_sprite_gold_on_hand_made_examples():
    face, lop, speck, blank = (sprites.gold_components(s) for s in (FACE, LOPSIDED, SPECKLES, BLANK))
    assert face["symmetry"] == 1.0 and lop["symmetry"] < 0.8
    assert face["connected"] == 1.0 and speck["connected"] < 0
    assert blank["coverage"] == -1.0 and blank["symmetry"] == -1.0  # blank is not "perfectly symmetric"
    assert face["colours"] == 1.0 and blank["colours"] == -1.0
    assert sprites.gold_components(FACE[:-1])["wellformed"] == -1.0
    u = [sprites.gold_utility(s) for s in (FACE, LOPSIDED, SPECKLES, BLANK)]
    assert u[0] > u[1] > max(u[2], u[3])
    assert sprites.gold_utility(FACE) > sprites.gold_utility(FACE[:-3])


def test_procedural_sprites_are_mixed_quality():
    seqs, kinds = sprites.procedural(300, seed=0)
    assert all(len(s) == 64 for s in seqs)
    gold = np.array([sprites.gold_utility(s) for s in seqs])
    kinds = np.array(kinds)
    assert gold[kinds == "symmetric figure"].mean() > gold[kinds == "noise"].mean() + 1
    assert gold.std() > 0.8


def test_sprite_prompts_and_relevance():
    red_cross = sprites.prompt_tokens("red", "cross")
    assert sprites.split_prompt(red_cross + FACE) == (("red", "cross"), FACE)
    assert sprites.split_prompt(FACE) == (None, FACE)
    assert sprites.prompt_text(("blue", "figure")) == "a symmetric blue figure"
    assert sprites.prompt_text(("red", "cross")) == "a red cross"
    with pytest.raises(ValueError, match="colour"):
        sprites.prompt_tokens("purple", "cross")
    cross = sprites.to_tokens(sprites.follow_prompt(np.random.default_rng(0), ("red", "cross")))
    assert (sprites.to_grid(red_cross + cross) == sprites.to_grid(cross)).all()  # the prompt is no pixel
    asked = sprites.gold_components(red_cross + cross)
    assert asked["hue"] > 0.5 and asked["shape"] > 0.3 and asked["wellformed"] == 1.0
    wrong_colour = sprites.gold_components(sprites.prompt_tokens("blue", "cross") + cross)
    assert wrong_colour["hue"] == -1.0 and wrong_colour["shape"] == asked["shape"]
    as_figure = sprites.gold_components(sprites.prompt_tokens("red", "figure") + cross)
    assert as_figure["shape"] == as_figure["symmetry"]
    assert sprites.gold_components(cross)["hue"] == sprites.gold_components(cross)["shape"] == 0.0  # no prompt
    assert sprites.gold_utility(red_cross + cross) > sprites.gold_utility(sprites.prompt_tokens("blue", "cross") + cross)
    # a face is no plus sign; a prompt word in the pixels is a malformed sprite
    assert sprites.gold_components(red_cross + FACE)["shape"] < asked["shape"]
    assert sprites.gold_components(red_cross + FACE[:-1] + [red_cross[0]])["wellformed"] == -1.0


def test_procedural_prompted_sprites_follow_their_prompt_half_of_the_time():
    seqs, kinds = sprites.procedural(400, seed=0, prompted=True)
    assert all(len(s) == 66 and sprites.split_prompt(s)[0] in sprites.PROMPTS for s in seqs)
    follows = np.array(kinds) == "follows prompt"
    assert 0.4 < follows.mean() < 0.6
    hue = np.array([sprites.gold_components(s)["hue"] for s in seqs])
    assert hue[follows].mean() > hue[~follows].mean() + 0.8


def test_grid_figure_draws():
    import matplotlib
    matplotlib.use("Agg")
    fig = sprites.grid_figure([FACE, LOPSIDED, SPECKLES], ncols=2, scores=[1.0, 2.0, 3.0])
    assert len(fig.axes) == 4


# ============================================================================================= melodies
def test_melody_tokens_round_trip():
    pitches = [60, None, 84, 67]
    assert melody.to_pitches(melody.to_tokens(pitches)) == pitches
    assert melody.describe(melody.to_tokens(pitches)) == "C4 - C6 G4"
    assert max(melody.to_tokens([84])) == melody.VOCAB_SIZE - 1
    with pytest.raises(ValueError, match="outside"):
        melody.to_tokens([59])


def test_melody_gold_on_hand_made_examples():
    good = melody.to_tokens([60, 62, 64, 65, 67, 65, 64, 62, 64, 65, 67, 69, 67, 64, 62, 60])
    chromatic = melody.to_tokens([61, 75, 66, 80, 63, 70, None, 78, 68, 61, 82, 73, 66, None, 70, 63])
    one_note = melody.to_tokens([60] * 16)
    unresolved = good[:-1] + melody.to_tokens([62])
    g = melody.gold_components(good)
    assert g["in_key"] == 1.0 and g["resolution"] == 1.0 and g["shape"] > 0.9 and g["variety"] == 1.0
    assert melody.gold_components(chromatic)["in_key"] < 0 and melody.gold_components(chromatic)["shape"] == -1.0
    assert melody.gold_components(one_note)["variety"] == -1.0
    assert melody.gold_components(unresolved)["resolution"] == -1.0
    assert melody.gold_components(good[:12])["wellformed"] == -1.0
    silent = melody.gold_components(melody.to_tokens([None] * 16))
    assert silent["rests"] == -1.0 and silent["leaps"] == silent["minor"] == -1.0  # every listener can score it
    u = {k: melody.gold_utility(s) for k, s in (("good", good), ("chrom", chromatic), ("one", one_note),
                                                 ("unres", unresolved))}
    assert u["good"] > u["unres"] > u["chrom"] and u["good"] > u["one"]


def test_two_listeners_prefer_opposite_melodies():
    steps_home = melody.to_tokens([60, 62, 64, 65, 67, 65, 64, 62, 64, 65, 67, 69, 67, 64, 62, 60])  # steps, ends on C
    leaps_minor = melody.to_tokens([69, 64, 72, 67, 76, 71, 69, 62, 72, 65, 69, 74, 64, 60, 76, 69])  # A-C-E beats, ends on A
    c, a = melody.gold_components(steps_home), melody.gold_components(leaps_minor)
    assert a["leaps"] > 0 > c["leaps"] and a["minor"] == 1.0 and c["minor"] < 0.5
    classic, adventurous = melody.listener_gold("classic"), melody.listener_gold("adventurous")
    assert classic(steps_home) > classic(leaps_minor) and adventurous(leaps_minor) > adventurous(steps_home)
    assert classic(steps_home) == melody.gold_utility(steps_home)  # the classic listener is chapter 5.3's gold
    with pytest.raises(ValueError, match="adventurous"):
        melody.listener_gold("jazz")


def test_synth_and_piano_roll_shapes():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    toks = melody.to_tokens([69, None, 81])  # A4, rest, A5
    audio = melody.synth(toks, sr=8000, note_s=0.25)
    assert audio.shape == (3 * 2000,) and audio.dtype == np.float32
    assert np.abs(audio).max() <= 1.0
    assert np.abs(audio[2000:4000]).max() == 0  # the rest is silence
    spectrum = np.abs(np.fft.rfft(audio[:2000]))
    assert abs(np.argmax(spectrum) * 8000 / 2000 - 440) <= 4  # A4 sounds at 440 Hz
    assert melody.synth_many([toks, toks], sr=8000, gap_s=0.5).shape == (2 * 6000 + 2 * 4000,)
    fig, ax = plt.subplots()
    melody.piano_roll(ax, toks)
    assert len(ax.patches) == 2  # two notes, the rest draws nothing


# ======================================================================================= shared machinery
def test_panel_agreement_is_in_the_human_range():
    for module in (sprites, melody):
        seqs, _ = module.procedural(400, seed=1)
        panel = annotate.make_panel(5, seed=0, temperature=module.RATER_TEMPERATURE,
                                    weights={module.DOMAIN: module.GOLD_WEIGHTS})
        pairs = seqrl.label_pairs(panel, module.DOMAIN, seqs, 400, module.gold_components, module.gold_utility)
        stats = seqrl.panel_stats(pairs)
        assert 0.65 <= stats["agreement"] <= 0.77, (module.DOMAIN, stats)
        assert 0.02 < stats["ties"] < 0.3
        assert stats["votes_agree_with_gold"] > 0.7
        assert ((pairs.target >= 0) & (pairs.target <= 1)).all() and pairs.weight.max() <= 5
    # prompted sprites, compared within a prompt as chapter 5.2 does: relevance must not make the raters too unanimous
    seqs, _ = sprites.procedural(400, seed=1, prompted=True)
    panel = annotate.make_panel(5, seed=0, temperature=sprites.RATER_TEMPERATURE,
                                weights={sprites.DOMAIN: sprites.GOLD_WEIGHTS})
    groups = [tuple(s[:2]) for s in seqs]
    pairs = seqrl.label_pairs(panel, sprites.DOMAIN, seqs, 400, sprites.gold_components, sprites.gold_utility,
                              groups=groups)
    assert all(a[:2] == b[:2] for a, b in zip(*pairs.sides(), strict=True))  # same prompt in every pair
    assert 0.65 <= seqrl.panel_stats(pairs)["agreement"] <= 0.77, seqrl.panel_stats(pairs)


def test_reward_model_learns_a_simple_preference():
    """Sequences with more of token 4 are preferred: a trained RM orders fresh pairs by that."""
    rng = np.random.default_rng(0)
    seqs = [list(rng.choice([3, 4, 5], size=8, p=[(1 - q) / 2, q, (1 - q) / 2])) for q in rng.uniform(0, 1, 300)]

    def comps(s):
        return {"fours": s.count(4) / 8}

    panel = annotate.make_panel(3, seed=0, temperature=1.0, weights={"toy": {"fours": 6.0}})
    pairs = seqrl.label_pairs(panel, "toy", seqs, 600, comps, lambda s: s.count(4) / 8, seed=0)
    train, val = pairs.split(500)
    rm = seqrl.SeqRewardModel(6, max_len=10, dim=16, layers=1, seed=0)
    before = seqrl.rm_accuracy(rm, val)["acc_gold"]
    log = seqrl.train_reward_model(rm, train, val, epochs=8, lr=3e-3, progress=False)
    assert log[-1]["acc_gold"] > 0.8 and log[-1]["acc_gold"] > before + 0.1
    assert log[-1]["train_loss"] < log[0]["train_loss"]


def test_pretraining_lowers_the_loss_and_samples_are_well_formed():
    seqs, _ = melody.procedural(256, seed=0)
    model = seqrl.tiny_llama(melody.VOCAB_SIZE, hidden=32, layers=1, max_len=32)
    losses = seqrl.pretrain(model, [[seqrl.BOS, *s, seqrl.EOS] for s in seqs], epochs=6, batch_size=32, lr=1e-2,
                            progress=False)
    assert np.mean(losses[-4:]) < np.mean(losses[:4]) - 0.8
    samples, kl = seqrl.generate(model, 64, melody.MAX_NEW_TOKENS, seed=0)
    assert np.mean([len(s) == melody.LENGTH for s in samples]) > 0.5  # it learned where a melody ends
    assert all(k == pytest.approx(0.0, abs=1e-4) for k in kl)  # a bare model is its own reference
    with pytest.raises(ValueError, match="outside the vocabulary"):
        seqrl.pretrain(model, [[seqrl.BOS, 99]], progress=False)


def test_pretrained_generator_is_saved_and_reloaded(tmp_path):
    seqs = [[seqrl.BOS, *s, seqrl.EOS] for s in melody.procedural(32, seed=0)[0]]
    args = (seqs, melody.VOCAB_SIZE, 16, 1, 1)
    model, losses = seqrl.pretrained_generator(tmp_path / "g", *args, max_len=32, progress=False)
    again, none = seqrl.pretrained_generator(tmp_path / "g", *args, max_len=32, progress=False)
    assert losses and none is None
    for p, q in zip(model.parameters(), again.parameters(), strict=True):
        assert torch.equal(p, q)
    _, retrained = seqrl.pretrained_generator(tmp_path / "g", seqs, melody.VOCAB_SIZE, 16, 1, 2, max_len=32,
                                              progress=False)
    assert retrained  # other sizes: trained again, not the stale model


def test_ppo_config_reads_the_rows_and_the_domain_length():
    from rlhf_lib import config

    apps = config.load("ci").apps
    for module, prefix in ((sprites, "img_"), (melody, "mus_")):
        cfg = seqrl.ppo_config(apps, prefix, module.MAX_NEW_TOKENS)
        assert cfg.max_new_tokens == module.MAX_NEW_TOKENS  # the whole sequence and its EOS fit
        assert cfg.steps == getattr(apps, prefix + "ppo_steps") and cfg.batch_size == apps.seq_ppo_batch_size
        assert cfg.temperature == 1.0 and cfg.target_kl is None
    images, music = (seqrl.ppo_config(apps, p, 10) for p in ("img_", "mus_"))
    assert images.lr == apps.img_ppo_lr and images.missing_eos_penalty == apps.img_missing_eos_penalty
    assert music.lr == apps.seq_ppo_lr and music.missing_eos_penalty is None  # no rows of its own: the shared ones


def test_generate_samples_at_the_temperature_it_is_given():
    """Near T = 0 sampling is greedy: two seeds draw the same sequences; at T = 1 they differ."""
    ac = seqrl.actor_critic(seqrl.tiny_llama(sprites.VOCAB_SIZE, hidden=16, layers=1, max_len=80, seed=0))
    prompts = [sprites.prompt_tokens(*sprites.PROMPTS[0])] * 4
    cold = [seqrl.generate(ac, 4, 12, seed=s, prompts=prompts, temperature=1e-3)[0] for s in (0, 1)]
    warm = [seqrl.generate(ac, 4, 12, seed=s, prompts=prompts)[0] for s in (0, 1)]
    assert cold[0] == cold[1] and warm[0] != warm[1]


def test_short_ppo_run_raises_the_gold_score_of_a_tiny_model():
    """The whole loop in miniature: PPO on a gold-based reward (a perfect reward model) raises the gold of a tiny,
    untrained melody model, and pays for it in KL."""
    model = seqrl.tiny_llama(melody.VOCAB_SIZE, hidden=32, layers=1, max_len=32, seed=0)
    ac = seqrl.actor_critic(model)

    def reward(meta, responses):
        return [melody.gold_components(seqrl.strip_eos(r))["in_key"] for r in responses]

    cfg = ppo.PPOConfig(steps=12, batch_size=16, minibatch_size=8, epochs=2, lr=5e-3, beta=0.01, temperature=1.0,
                        max_new_tokens=melody.MAX_NEW_TOKENS, autocast=False, missing_eos_penalty=None)
    history, gold_log = seqrl.train_ppo(ac, reward, cfg, lambda s: melody.gold_components(s)["in_key"], progress=False)
    assert np.mean([g["gold"] for g in gold_log[-3:]]) > np.mean([g["gold"] for g in gold_log[:3]]) + 0.15
    ev = seqrl.compare(ac, lambda s: melody.gold_components(s)["in_key"], 64, melody.MAX_NEW_TOKENS, seed=5)
    assert ev["win_rate"] > 0.55 and ev["kl"] > 0.05


def test_compare_gives_the_win_rate_with_its_bootstrap_ci_over_pairs():
    from rlhf_lib import judge, metrics

    ac = seqrl.actor_critic(seqrl.tiny_llama(melody.VOCAB_SIZE, hidden=16, layers=1, max_len=32, seed=0))
    gold = lambda s: melody.gold_components(s)["in_key"]  # noqa: E731
    ev = seqrl.compare(ac, gold, 32, melody.MAX_NEW_TOKENS, seed=5, n_boot=200)
    assert set(ev["win"]) == {"value", "lo", "hi"} and ev["win_rate"] == ev["win"]["value"]
    assert ev["win"]["lo"] <= ev["win"]["value"] <= ev["win"]["hi"] and ev["win"]["lo"] < ev["win"]["hi"]
    # the pairs are independent samples: a plain bootstrap over pairs, no groups
    assert ev["win"] == metrics.bootstrap_ci(judge.win_rate, ev["gold_t"], ev["gold_b"], n_boot=200, seed=5)
    flat = seqrl.compare(ac, lambda s: 0.0, 8, melody.MAX_NEW_TOKENS, seed=5, n_boot=50)
    assert flat["win"] == {"value": 0.5, "lo": 0.5, "hi": 0.5}  # every pair a tie


def test_prompted_generation_keeps_the_prompt_and_compare_resamples_prompts():
    from rlhf_lib import judge, metrics

    ac = seqrl.actor_critic(seqrl.tiny_llama(sprites.VOCAB_SIZE, hidden=16, layers=1, max_len=80, seed=0))
    prompts = [sprites.prompt_tokens(*sprites.PROMPTS[i % 4]) for i in range(16)]
    samples, _ = seqrl.generate(ac, 16, 8, seed=0, prompts=prompts)
    assert all(s[:2] == p for s, p in zip(samples, prompts, strict=True))
    with pytest.raises(ValueError, match="prompts"):
        seqrl.generate(ac, 3, 8, prompts=prompts)
    gold = lambda s: sprites.gold_components(s)["hue"] + 0.1 * len(s)  # noqa: E731
    ev = seqrl.compare(ac, gold, 16, 8, seed=5, n_boot=200, prompts=prompts)
    groups = np.array([str(p) for p in prompts])
    assert ev["win"] == metrics.bootstrap_ci(judge.win_rate, ev["gold_t"], ev["gold_b"], n_boot=200, seed=5,
                                             groups=groups)
    # PPO on prompts: the reward function sees each episode's prompt as its meta
    seen = []

    def reward(meta, responses):
        seen.extend(tuple(m) for m in meta)
        return [0.0] * len(responses)

    cfg = ppo.PPOConfig(steps=1, batch_size=8, minibatch_size=8, epochs=1, temperature=1.0, max_new_tokens=4,
                        autocast=False, missing_eos_penalty=None)
    _, gold_log = seqrl.train_ppo(ac, reward, cfg, lambda s: float(len(s)), progress=False, prompts=prompts[:4])
    assert set(seen) <= {tuple(p) for p in prompts[:4]} and len(seen) == 8
    assert gold_log[0]["gold"] >= 2  # the gold judged prompt + response


def test_pair_split_carries_its_sequences_through_split_and_add():
    """Chapter 5's pairs live in `pairs.PairSplit`: split and + keep every pair's two sequences and verdicts."""
    seqs = [[3 + i % 3, 4] for i in range(30)]
    panel = annotate.make_panel(3, seed=0, temperature=1.0, weights={"toy": {"fours": 6.0}})
    pairs = seqrl.label_pairs(panel, "toy", seqs, 20, lambda s: {"fours": s.count(4) / 2}, lambda s: s.count(3), seed=0)
    first, rest = pairs.split(12)
    assert (len(first), len(rest)) == (12, 8)
    joined = rest + first
    a, b = pairs.sides()
    assert joined.sides() == (a[12:] + a[:12], b[12:] + b[:12])
    assert (joined.labels == np.concatenate([pairs.labels[12:], pairs.labels[:12]])).all()
    assert torch.equal(joined.target, torch.cat([pairs.target[12:], pairs.target[:12]]))


def test_the_domains_reward_model_trains_in_chapter_2s_loop(monkeypatch):
    """One reward-model loop: seqrl.train_reward_model builds inputs and settings, `reward.train` runs every step."""
    from rlhf_lib import reward

    calls = []
    real = reward.train
    monkeypatch.setattr(reward, "train", lambda *a, **k: calls.append(k) or real(*a, **k))
    seqs = [[3 + i % 3, 4, 3 + i % 2] for i in range(40)]
    panel = annotate.make_panel(3, seed=0, temperature=1.0, weights={"toy": {"fours": 6.0}})
    pairs = seqrl.label_pairs(panel, "toy", seqs, 60, lambda s: {"fours": s.count(4) / 3}, lambda s: s.count(3), seed=0)
    train, val = pairs.split(50)
    log = seqrl.train_reward_model(seqrl.SeqRewardModel(6, max_len=6, dim=8, layers=1), train, val, epochs=2,
                                   batch_size=16, progress=False)
    assert len(calls) == 1 and calls[0]["early_stopping"] is False
    assert [h["epoch"] for h in log] == [1, 2] and {"train_loss", "acc_panel", "acc_gold"} <= set(log[-1])
